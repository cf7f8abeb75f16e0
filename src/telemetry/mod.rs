//! Logs and metrics, the way operations teams using Powertools expect them on Lambda.
//!
//! - [`init`] sets up `tracing`: one JSON object per line when Lambda's log format is JSON
//!   (`json::JsonLines`), human-readable lines otherwise, filtered by the level asked for
//!   with the dependencies' caps on top (`filter`).
//! - [`request_span`] is the one request context: every line logged while a request is
//!   served, on the async runtime or on the blocking pool ([`spawn_blocking`]), carries its
//!   fields (`function_request_id`, `xray_trace_id`, `cold_start`).
//! - `metrics` writes CloudWatch Embedded Metric Format lines.
//! - [`spans`]: OpenTelemetry spans, when an OTLP endpoint is set; the only thing held in
//!   memory for later ([`SpanQueue`]), sent by the transport's schedule (after each answer on
//!   classic Lambda, before the environment is frozen).
//! - Logs and metrics go straight to stdout, one `write` per line: nothing of them is
//!   buffered, so nothing is lost when Lambda freezes or stops the environment, and no
//!   extension is needed for them (the ADOT collector layer is one, for spans only, and only
//!   when asked for).

#[cfg(any(test, feature = "test-support"))]
pub mod capture;
mod filter;
mod json;
pub(crate) mod metrics;
pub(crate) mod spans;

pub use spans::SpanQueue;

use std::io::IsTerminal;
use std::time::Duration;

use tracing::{Dispatch, Span, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::FilterExt;
use tracing_subscriber::fmt::time::SystemTime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogConfig, LogFormat, TraceSettings};

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

/// Installs the global subscriber (once, at start; cheap: no I/O) and a panic hook that
/// reports panics through it, so that even those stay one JSON object per line.
/// `transport_caps` are the transport's own `target=level` ceilings, applied like the
/// dependencies' caps, whatever level is asked.
///
/// With `traces` (an OTLP endpoint is set) the OpenTelemetry layer is installed too, and the
/// queue its spans end in is returned for the collector client. The log filters then become
/// the log lines' own (a per-layer filter) rather than the whole subscriber's, so that the
/// log level does not decide which spans exist; without `traces` they stay global, as cheap
/// as before, and the spans meant for traces are filtered out with them.
pub fn init(
    config: &LogConfig,
    traces: Option<&TraceSettings>,
    transport_caps: &[&str],
) -> Option<SpanQueue> {
    let (asked, not_understood) = filter::asked(&config.level);
    let caps = filter::caps(
        DEPENDENCY_CAPS
            .iter()
            .chain(transport_caps)
            .chain([&spans::LEFT_OUT_OF_LOGS])
            .copied(),
    );
    let (installed, queue) = match traces {
        None => {
            let subscriber = tracing_subscriber::registry().with(asked).with(caps);
            (subscriber.with(lines(config)).try_init(), None)
        }
        Some(settings) => {
            let queue = SpanQueue::default();
            let subscriber = tracing_subscriber::registry()
                .with(lines(config).with_filter(asked.and(caps)))
                .with(spans::layer(settings, &queue));
            (subscriber.try_init(), Some(queue))
        }
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
    queue
}

/// The layer writing log lines to stdout, in the format asked for.
fn lines<S>(config: &LogConfig) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stdout);
    match config.format {
        LogFormat::Json => lines
            .fmt_fields(json::JsonFields)
            .event_format(json::JsonLines::new(config.service.clone()))
            .boxed(),
        // CloudWatch stamps every line itself; locally, a time helps.
        LogFormat::Text if config.in_lambda => lines
            .with_target(false)
            .without_time()
            .with_ansi(false)
            .boxed(),
        LogFormat::Text => lines
            .with_target(false)
            .with_timer(SystemTime)
            .with_ansi(std::io::stdout().is_terminal())
            .boxed(),
    }
}

/// The span of one request, with Powertools' keys: every line logged inside it carries them.
///
/// At ERROR level, so that it is there whatever level is asked: a WARN line of a failed
/// upstream call must still name its request when only warnings are logged.
pub(crate) fn request_span(
    request_id: Option<&str>,
    xray_trace_id: Option<&str>,
    cold_start: bool,
) -> Span {
    tracing::error_span!(
        "request",
        function_request_id = request_id,
        xray_trace_id,
        cold_start
    )
}

/// [`tokio::task::spawn_blocking`] inside the caller's span: lines that `job` logs on the
/// blocking pool name the request like those logged on the runtime, and spans it opens for
/// traces are children of the caller's. Neither the span, the subscriber (a test's is the
/// calling thread's only) nor the OpenTelemetry context crosses threads by itself.
pub(crate) fn spawn_blocking<T, F>(job: F) -> tokio::task::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let span = Span::current();
    let dispatch = tracing::dispatcher::get_default(Dispatch::clone);
    // With tracing on, the trace's current span too: what `job` opens is its child.
    let context = spans::current_context();
    tokio::task::spawn_blocking(move || {
        let _attached = context.map(opentelemetry::Context::attach);
        tracing::dispatcher::with_default(&dispatch, || span.in_scope(job))
    })
}

/// Milliseconds with microsecond precision, as logged in `duration_ms`.
pub(crate) fn millis(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 1e6).round() / 1e3
}
