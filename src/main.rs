//! Entry point: read the configuration, set up logging, pick the transport.

use std::process::ExitCode;

use lambda_async_api::config::LogConfig;
use lambda_async_api::{AppState, Config, app, lambda, server, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
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
    let router = app(AppState::new(&config));
    let outcome = if config.in_lambda {
        lambda::run(router).await
    } else {
        server::run(router, config.listen).await.map_err(Into::into)
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("stopped: {e}");
            ExitCode::FAILURE
        }
    }
}
