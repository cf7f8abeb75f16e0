//! Logs and metrics, the way operations teams using Powertools expect them on Lambda.
//!
//! - [`init`] sets up `tracing`: one JSON object per line when Lambda's log format is JSON
//!   (`json::JsonLines`), human-readable lines otherwise.
//! - `access_log` writes exactly one line per request and its `metrics` (CloudWatch
//!   Embedded Metric Format).
//! - Everything goes straight to stdout, one `write` per line: nothing is buffered, so nothing
//!   is lost when Lambda freezes or stops the environment, and no extension (which would add a
//!   round trip to every cold start) is needed to flush anything.

pub(crate) mod access_log;
#[cfg(test)]
mod capture;
mod filter;
mod json;
pub(crate) mod metrics;

use std::io::IsTerminal;
use std::time::Duration;

use tracing_subscriber::fmt::time::SystemTime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogConfig, LogFormat};

/// Dependencies log below this level only: the HTTP stacks log headers at TRACE, which may
/// not reach the logs, whatever level is asked. (The transports bring their own.)
const DEPENDENCY_CAPS: &[&str] = &[
    "hyper=info",
    "hyper_util=info",
    "reqwest=info",
    "rustls=info",
    "h2=info",
    "tower=info",
    "tower_http=info",
    "axum=info",
];

/// Tracks one request for the log lines written while serving it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Invocation {
    /// The transport's request id (`function_request_id`); none on the local server.
    pub(crate) request_id: Option<String>,
    /// The transport's trace header (`xray_trace_id`).
    pub(crate) xray_trace_id: Option<String>,
    /// Whether this is the first request this process serves.
    pub(crate) cold_start: bool,
}

tokio::task_local! {
    /// The request being served by the current task, for the JSON log lines.
    pub(crate) static INVOCATION: Invocation;
}

/// Installs the global subscriber (once, at start; cheap: no I/O) and a panic hook that
/// reports panics through it, so that even those stay one JSON object per line.
/// `transport_caps` are the transport's own filter directives, applied like
/// the dependencies' own caps, whatever level is asked.
pub fn init(config: &LogConfig, transport_caps: &[&str]) {
    let (filter, not_understood) = filter::build(
        &config.level,
        DEPENDENCY_CAPS.iter().chain(transport_caps).copied(),
    );
    let builder = tracing_subscriber::fmt().with_writer(std::io::stdout);
    let installed = match config.format {
        LogFormat::Json => builder
            .event_format(json::JsonLines::new(config.service.clone()))
            .finish()
            .with(filter)
            .try_init(),
        // CloudWatch stamps every line itself; locally, a time helps.
        LogFormat::Text if config.in_lambda => builder
            .with_target(false)
            .without_time()
            .with_ansi(false)
            .finish()
            .with(filter)
            .try_init(),
        LogFormat::Text => builder
            .with_target(false)
            .with_timer(SystemTime)
            .with_ansi(std::io::stdout().is_terminal())
            .finish()
            .with(filter)
            .try_init(),
    };
    if installed.is_ok() {
        std::panic::set_hook(Box::new(|info| {
            tracing::error!(panic = %info, "panic");
        }));
        if let Some(e) = not_understood {
            tracing::warn!(
                "log level {:?} not understood ({e}): logging at info",
                config.level
            );
        }
    }
}

/// Milliseconds with microsecond precision, as logged in `duration_ms`.
pub(crate) fn millis(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 1e6).round() / 1e3
}
