//! The local transport: the same router as a plain HTTP/1.1 server, for `cargo run` and for
//! anything that is not Lambda.
//!
//! [`run`] takes a listener that is already bound and a future that says when to stop, as
//! mini-redis's `server::run` does: `main` binds the configured address and passes Ctrl-C or
//! SIGTERM ([`shutdown_signal`]); a test binds port 0 and passes a channel, and serves in its
//! own process.

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and lets
/// the requests in flight finish. The address is logged (useful with `PORT=0`).
pub async fn run(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down, finishing requests in flight");
        })
        .await?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM (what a process manager, or `docker stop`, sends).
pub async fn shutdown_signal() {
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
}
