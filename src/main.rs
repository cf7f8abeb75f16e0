//! Entry point: read the configuration, set up logging (and tracing), start the async
//! runtime, pick the transport.

use std::process::ExitCode;

use lambda_async_api::config::LogConfig;
use lambda_async_api::telemetry::SpanQueue;
use lambda_async_api::{AppState, Config, SpanExport, app, lambda, server, telemetry};
use tokio::net::TcpListener;
use tokio::runtime::{Builder, Runtime};

fn main() -> ExitCode {
    // Read before logging is set up, because tracing is part of that set-up; an error in it
    // is logged once logging is, in the format asked for.
    let config = Config::from_env();
    // The Lambda crates' log caps apply under both transports: they only ever filter.
    let spans = telemetry::init(
        &LogConfig::from_env(),
        config.as_ref().ok().and_then(Config::traces),
        lambda::LOG_DIRECTIVES,
    );
    let config = match config {
        Ok(config) => config,
        Err(e) => {
            // A non-zero exit before the first `GET /next` is reported by Lambda as an init
            // failure, with this line in the function's log.
            tracing::error!("configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match async_runtime(&config) {
        Ok(runtime) => runtime.block_on(serve(config, spans)),
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

/// Serves with the transport the configuration names. With tracing on, the spans are sent
/// after each invocation on classic Lambda (which freezes the environment between two), and
/// in batches from a task of their own everywhere else.
async fn serve(
    config: Config,
    spans: Option<SpanQueue>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let export = config
        .traces()
        .zip(spans)
        .map(|(settings, queue)| SpanExport::new(settings, queue));
    let router = app(AppState::new(&config));
    if config.in_lambda {
        let flush_after_each = match export {
            Some(export) if !config.one_request_at_a_time() => {
                export.spawn_batches();
                None
            }
            export => export,
        };
        lambda::run(router, config.base_path, flush_after_each).await
    } else {
        if let Some(export) = &export {
            export.spawn_batches();
        }
        let listener = TcpListener::bind(config.listen).await?;
        server::run(listener, router, server::shutdown_signal()).await?;
        if let Some(export) = export {
            export.flush().await;
        }
        Ok(())
    }
}
