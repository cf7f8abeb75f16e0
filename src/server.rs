//! The local transport: the same router as a plain HTTP/1.1 server, for `cargo run` and for
//! anything that is not Lambda. Stops accepting on Ctrl-C or SIGTERM and lets requests in
//! flight finish.

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

/// Binds `addr` and serves until a shutdown signal; the bound address is logged (useful with
/// `PORT=0`).
pub async fn run(router: Router, addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("shut down cleanly");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received, finishing requests in flight");
}
