//! OpenTelemetry spans, through `tracing`: the same spans the code opens anyway, turned into
//! OpenTelemetry's by `tracing-opentelemetry`, joined to the caller's trace, and queued for the
//! collector (`dependencies::collector` sends them).
//!
//! - **Which spans.** Only those with the target [`TARGET`]: the request's server span
//!   (`api::access_log`) and its children (the upstream call, the DynamoDB `GetItem`, the wait
//!   for a CPU slot, the calculation, each sleep). They carry OpenTelemetry's semantic
//!   conventions as fields; the log lines never show them (`json` reads this crate's spans
//!   only, and the log filter leaves this target out), and the log spans never become
//!   OpenTelemetry spans. The two are filtered apart, each layer with its own filter, so
//!   `AWS_LAMBDA_LOG_LEVEL=WARN` quiets the logs without stopping a single span.
//! - **Off costs nothing.** Without an endpoint no OpenTelemetry layer is installed and
//!   [`TARGET`] is filtered out for the whole process: each of these spans is then
//!   `Span::none()` at its call site (one cached check), their fields are never evaluated,
//!   and [`continue_trace`] and [`traceparent`] return at once.
//! - **Joined to Lambda's trace.** Under Lambda the server span's parent is the invocation's
//!   X-Ray header (from the runtime's context for that one invocation, never the process
//!   environment, which concurrent invocations would share), and new trace ids are X-Ray's
//!   shape (`opentelemetry-aws`'s id generator), so the spans appear under the function's own
//!   segment. The local server takes a W3C `traceparent`, else an `X-Amzn-Trace-Id`. A parent
//!   that is not sampled means nothing of that request is recorded or sent.
//! - **Current as OpenTelemetry contexts, not as `tracing` spans.** A span that covers awaits
//!   or the blocking pool is made current with [`within`] (its OpenTelemetry context attached
//!   while the future runs), never entered: the `tracing` span stack then keeps the log span
//!   `request` on top, which is what the log lines (here and on the blocking pool, where
//!   `telemetry::spawn_blocking` carries the current span) take their keys from. The log
//!   layer's own filter cannot see through a span it filters out to the one below it on
//!   another thread. [`spawn_blocking`](super::spawn_blocking) carries the OpenTelemetry
//!   context across too, so a calculation's span has its request's span as parent. Only
//!   short leaf spans (a sleep, the wait for a slot, the calculation itself) are entered.
//! - **Queued, not sent.** An ended span goes into a [`SpanQueue`] (a mutex and a push, on
//!   whichever thread ended it); when and how the queue is sent is the transport's decision:
//!   after each answer on classic Lambda, in batches elsewhere.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::context::FutureExt;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt, TracerProvider};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanData, SpanLimits, SpanProcessor};
use tracing::{Instrument, Span, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::registry::LookupSpan;

use crate::config::TraceSettings;

/// The target of every span meant for traces (and of nothing else).
pub(crate) const TARGET: &str = "otel";

/// The log filter's cap that keeps [`TARGET`] out of the logs (and, with tracing off, out of
/// the process).
pub(super) const LEFT_OUT_OF_LOGS: &str = "otel=off";

/// Whether an OpenTelemetry layer was built: until then (and with tracing off, for good)
/// [`current_context`] does nothing.
static ON: AtomicBool = AtomicBool::new(false);

/// At most this many ended spans wait for the collector; more are dropped (and counted). A
/// request makes about six; only a collector that stays away for long fills it.
const MAX_QUEUED: usize = 4096;

/// Ended spans waiting to be sent, shared by the layer that ends them and the collector
/// client that sends them.
#[derive(Clone, Debug, Default)]
pub struct SpanQueue(Arc<Mutex<Queued>>);

#[derive(Debug, Default)]
struct Queued {
    spans: Vec<SpanData>,
    dropped: u64,
}

impl SpanQueue {
    /// Everything queued so far, and how many spans were dropped since the last take.
    pub(crate) fn take(&self) -> (Vec<SpanData>, u64) {
        let mut queued = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let dropped = std::mem::take(&mut queued.dropped);
        (std::mem::take(&mut queued.spans), dropped)
    }

    fn push(&self, span: SpanData) {
        let mut queued = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if queued.spans.len() < MAX_QUEUED {
            queued.spans.push(span);
        } else {
            queued.dropped += 1;
        }
    }
}

/// The SDK's span processor: each sampled span, once ended, into the queue. Nothing is sent
/// from here (the SDK's own processors would export on a thread of their own, or block the
/// caller; neither fits a function whose environment is frozen between invocations).
#[derive(Debug)]
struct Enqueue(SpanQueue);

impl SpanProcessor for Enqueue {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &opentelemetry::Context) {}

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            self.0.push(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// The layer that turns [`TARGET`] spans into OpenTelemetry spans ending in `queue`, with its
/// own filter: it sees those spans and nothing else, whatever the log level.
///
/// Every setting the SDK would read from `OTEL_*` variables by itself (sampler, limits,
/// resource) is set here, so only what `config` read counts: spans follow their parent's
/// sampling decision (all are kept without one), with the SDK's default limits. The resource
/// (`service.name`) is the collector client's to add.
pub(super) fn layer<S>(settings: &TraceSettings, queue: &SpanQueue) -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    ON.store(true, Ordering::Relaxed);
    let provider = SdkTracerProvider::builder()
        .with_span_processor(Enqueue(queue.clone()))
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
        .with_id_generator(opentelemetry_aws::trace::XrayIdGenerator::default())
        .with_span_limits(SpanLimits::default())
        .with_resource(
            Resource::builder_empty()
                .with_service_name(settings.service.clone())
                .build(),
        )
        .build();
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(env!("CARGO_PKG_NAME")))
        // Source locations, thread ids, busy/idle counters and the target would be on every
        // span: bytes and work for nothing an operator reads in a trace.
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false)
        .with_target(false)
        .with_filter(Targets::new().with_target(TARGET, LevelFilter::TRACE))
}

/// Makes `span` (a server span, not yet entered) continue the caller's trace: under Lambda
/// (`lambda_trace` is `Some`, the invocation's own X-Ray header, possibly absent) that alone;
/// on the local server (`None`) the request's `traceparent`, else its `x-amzn-trace-id`.
/// Nothing to continue: the span starts a trace of its own.
pub(crate) fn continue_trace(
    span: &Span,
    lambda_trace: Option<Option<&str>>,
    headers: &http::HeaderMap,
) {
    if span.is_disabled() {
        return;
    }
    let parent = match lambda_trace {
        Some(header) => {
            header.and_then(opentelemetry_aws::trace::xray_propagator::span_context_from_str)
        }
        None => {
            let from_w3c = TraceContextPropagator::new()
                .extract_with_context(&opentelemetry::Context::new(), &Headers(headers));
            let context = from_w3c.span().span_context().clone();
            if context.is_valid() {
                Some(context)
            } else {
                headers
                    .get("x-amzn-trace-id")
                    .and_then(|value| value.to_str().ok())
                    .and_then(opentelemetry_aws::trace::xray_propagator::span_context_from_str)
            }
        }
    };
    if let Some(parent) = parent.filter(SpanContext::is_valid) {
        // Only fails when the span has started already; it has not.
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(parent));
    }
}

/// The W3C `traceparent` naming `span` as the parent, for an outgoing request; `None` when
/// tracing is off.
pub(crate) fn traceparent(span: &Span) -> Option<String> {
    if span.is_disabled() {
        return None;
    }
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            span_context.trace_id(),
            span_context.span_id(),
            span_context.trace_flags().to_u8()
        )
    })
}

/// `future` with `span` as its current OpenTelemetry span (the parent of the spans opened
/// while it runs), without entering `span` as a `tracing` span (the module's doc says why).
/// `span` ends when `future` is done. With tracing off, `future` as it is.
pub(crate) async fn within<F: Future>(span: Span, future: F) -> F::Output {
    if span.is_disabled() {
        return future.await;
    }
    let context = span.context();
    let output = future.with_context(context).await;
    drop(span);
    output
}

/// The current OpenTelemetry context, to attach on another thread; `None` with tracing off.
pub(super) fn current_context() -> Option<opentelemetry::Context> {
    ON.load(Ordering::Relaxed)
        .then(opentelemetry::Context::current)
}

/// Marks `span` failed, with `kind` as its `error.type` (the span must declare both fields).
pub(crate) fn failed(span: &Span, kind: &str) {
    span.record("otel.status_code", "error");
    span.record("error.type", kind);
}

/// `tokio::time::sleep`, as a span of its own.
pub(crate) async fn sleep(duration: Duration) {
    let span = tracing::info_span!(
        target: TARGET,
        "sleep",
        "sleep.duration_ms" = duration.as_millis() as u64
    );
    tokio::time::sleep(duration).instrument(span).await;
}

/// Request headers as the W3C propagator reads them.
struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::SpanKind;
    use reqwest::Url;
    use tracing::Instrument;
    use tracing_subscriber::filter::FilterExt;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::telemetry::capture::{Capture, keep_every_call_site_wanted};
    use crate::telemetry::json::{JsonFields, JsonLines};

    const XRAY: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=1:r:0";

    /// A subscriber as `init` installs it with tracing on, logging at `level` into a capture,
    /// its spans ending in the returned queue.
    fn traced(level: &str) -> (Capture, SpanQueue, tracing::subscriber::DefaultGuard) {
        keep_every_call_site_wanted();
        let settings = TraceSettings {
            endpoint: Url::parse("http://127.0.0.1:9/v1/traces").unwrap(),
            service: "svc".into(),
            timeout: Duration::from_millis(100),
        };
        let (capture, queue) = (Capture::default(), SpanQueue::default());
        let filter = super::super::filter::asked(level)
            .0
            .and(super::super::filter::caps([LEFT_OUT_OF_LOGS]));
        let lines = tracing_subscriber::fmt::layer()
            .fmt_fields(JsonFields)
            .event_format(JsonLines::new("svc".into()))
            .with_writer(capture.clone())
            .with_filter(filter);
        let subscriber = tracing_subscriber::registry()
            .with(lines)
            .with(layer(&settings, &queue));
        let guard = tracing::subscriber::set_default(subscriber);
        (capture, queue, guard)
    }

    /// A request's spans as `access_log` opens them, continuing `lambda_trace` or `headers`.
    async fn request(lambda_trace: Option<Option<&str>>, headers: &http::HeaderMap) {
        let request = crate::telemetry::request_span(Some("req-1"), Some(XRAY), false);
        let server = tracing::info_span!(
            target: TARGET, "request",
            "otel.name" = "GET /mixed", "otel.kind" = "server",
            "otel.status_code" = tracing::field::Empty, "error.type" = tracing::field::Empty,
        );
        continue_trace(&server, lambda_trace, headers);
        let traced = server.clone();
        let served = async move {
            sleep(Duration::from_millis(1)).await;
            // As `dependencies::cpu` runs a calculation.
            let _ = crate::telemetry::spawn_blocking(|| {
                let _running = tracing::info_span!(target: TARGET, "calculation").entered();
                tracing::warn!("on the blocking pool");
            })
            .await;
            failed(&traced, "500");
        };
        within(server, served).instrument(request).await;
    }

    fn by_name<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span {name}: {spans:#?}"))
    }

    #[tokio::test]
    async fn spans_continue_the_invocations_trace_whatever_the_log_level() {
        let (capture, queue, _guard) = traced("warn");
        request(Some(Some(XRAY)), &http::HeaderMap::new()).await;
        let (spans, dropped) = queue.take();
        assert_eq!((spans.len(), dropped), (3, 0), "{spans:#?}");
        let server = by_name(&spans, "GET /mixed");
        assert_eq!(
            server.span_context.trace_id().to_string(),
            "5759e988bd862e3fe1be46a994272793"
        );
        assert_eq!(server.parent_span_id.to_string(), "53995c3f42cd8ad8");
        assert!(server.parent_span_is_remote);
        assert_eq!(server.span_kind, SpanKind::Server);
        assert!(matches!(
            server.status,
            opentelemetry::trace::Status::Error { .. }
        ));
        for child in ["sleep", "calculation"] {
            let child = by_name(&spans, child);
            assert_eq!(child.parent_span_id, server.span_context.span_id());
            assert_eq!(
                child.span_context.trace_id(),
                server.span_context.trace_id()
            );
        }
        // The log line has the request's keys and none of the spans' fields.
        let lines = capture.lines_as_json();
        assert_eq!(lines.len(), 1, "{}", capture.text());
        assert_eq!(lines[0]["function_request_id"], "req-1");
        assert!(lines[0].get("otel.name").is_none(), "{}", lines[0]);
    }

    #[tokio::test]
    async fn an_unsampled_parent_records_nothing() {
        let (_capture, queue, _guard) = traced("info");
        let unsampled =
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0";
        request(Some(Some(unsampled)), &http::HeaderMap::new()).await;
        assert!(queue.take().0.is_empty());
    }

    #[tokio::test]
    async fn locally_traceparent_then_the_xray_header_else_a_trace_of_its_own() {
        let (_capture, queue, _guard) = traced("info");
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        headers.insert("x-amzn-trace-id", XRAY.parse().unwrap());
        request(None, &headers).await;
        let (spans, _) = queue.take();
        let server = by_name(&spans, "GET /mixed");
        assert_eq!(
            server.span_context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(server.parent_span_id.to_string(), "00f067aa0ba902b7");

        headers.remove("traceparent");
        request(None, &headers).await;
        let (spans, _) = queue.take();
        let server = by_name(&spans, "GET /mixed");
        assert_eq!(server.parent_span_id.to_string(), "53995c3f42cd8ad8");

        // Under Lambda the request's own headers are not read.
        request(Some(None), &headers).await;
        let (spans, _) = queue.take();
        let server = by_name(&spans, "GET /mixed");
        assert_eq!(server.parent_span_id, opentelemetry::trace::SpanId::INVALID);
        let started = u64::from_str_radix(&server.span_context.trace_id().to_string()[..8], 16);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(
            now.abs_diff(started.unwrap()) < 300,
            "an X-Ray-shaped trace id"
        );
    }

    #[test]
    fn traceparent_names_the_span_and_nothing_when_off() {
        let off = tracing::info_span!(target: TARGET, "off");
        assert_eq!(traceparent(&off), None);
        let (_capture, _queue, _guard) = traced("info");
        let span = tracing::info_span!(target: TARGET, "call");
        let header = traceparent(&span).unwrap();
        let context = span.context();
        let ids = context.span().span_context().clone();
        assert_eq!(
            header,
            format!("00-{}-{}-01", ids.trace_id(), ids.span_id())
        );
    }

    /// With tracing off `init` installs the log filters globally, with [`LEFT_OUT_OF_LOGS`]
    /// among the caps: a span for traces is then disabled where it is opened, whatever the
    /// level asked, and the log lines are as before.
    #[test]
    fn off_the_spans_for_traces_are_never_opened() {
        keep_every_call_site_wanted();
        let capture = Capture::default();
        let subscriber = tracing_subscriber::registry()
            .with(super::super::filter::asked("trace").0)
            .with(super::super::filter::caps([LEFT_OUT_OF_LOGS]))
            .with(
                tracing_subscriber::fmt::layer()
                    .fmt_fields(JsonFields)
                    .event_format(JsonLines::new("svc".into()))
                    .with_writer(capture.clone()),
            );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(target: TARGET, "request", "otel.name" = "GET /");
            assert!(span.is_disabled());
            assert_eq!(traceparent(&span), None);
            crate::telemetry::request_span(Some("req-1"), None, false)
                .in_scope(|| tracing::info!("logged"));
        });
        let lines = capture.lines_as_json();
        assert_eq!(lines.len(), 1, "{}", capture.text());
        assert_eq!(lines[0]["function_request_id"], "req-1");
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        use opentelemetry::trace::{Span as _, Tracer as _};
        let queue = SpanQueue::default();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(Enqueue(queue.clone()))
            .build();
        let tracer = provider.tracer("test");
        for _ in 0..MAX_QUEUED + 2 {
            tracer.start("span").end();
        }
        let (spans, dropped) = queue.take();
        assert_eq!((spans.len(), dropped), (MAX_QUEUED, 2));
        assert_eq!(queue.take().0.len(), 0);
    }
}
