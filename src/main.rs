//! Entry point: read the configuration, set up logging, start the async runtime, pick the
//! transport.

use std::process::ExitCode;

use lambda_async_api::config::LogConfig;
use lambda_async_api::{AppState, Config, app, lambda, server, telemetry};
use tokio::net::TcpListener;
use tokio::runtime::{Builder, Runtime};

fn main() -> ExitCode {
    // The Lambda crates' log caps apply under both transports: they only ever filter.
    telemetry::init(&LogConfig::from_env(), lambda::LOG_DIRECTIVES);
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            // A non-zero exit before the first `GET /next` is reported by Lambda as an init
            // failure, with this line in the function's log.
            tracing::error!("configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match async_runtime(&config) {
        Ok(runtime) => runtime.block_on(serve(config)),
        Err(e) => Err(format!("starting the async runtime failed: {e}").into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("stopped: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One thread when one request at a time is all there is (classic Lambda): the async work
/// shares it, the calculations go to the blocking pool either way, and the cold start spawns
/// no worker thread. Otherwise a worker per core.
fn async_runtime(config: &Config) -> std::io::Result<Runtime> {
    let mut builder = if config.one_request_at_a_time() {
        Builder::new_current_thread()
    } else {
        Builder::new_multi_thread()
    };
    builder.enable_all().build()
}

async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let router = app(AppState::new(&config));
    if config.in_lambda {
        lambda::run(router, config.base_path).await
    } else {
        let listener = TcpListener::bind(config.listen).await?;
        server::run(listener, router, server::shutdown_signal()).await?;
        Ok(())
    }
}
