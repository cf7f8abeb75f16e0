//! The world outside the process that a request waits for: the external API ([`upstream`]),
//! DynamoDB ([`database`]) and the CPU ([`cpu`], where calculations run off the async
//! runtime). Each has its own error type, which the HTTP layer maps to an answer; nothing
//! here knows about HTTP requests or responses. Beside them, the one that no request waits
//! for: the OpenTelemetry collector the spans go to ([`collector`]).
//!
//! Every call to a network dependency follows one policy, [`dependency_call`]: bounded by its
//! own timeout and by the request's deadline, logged once with its duration and outcome,
//! counted in a metric when it fails, and inside its own span (a client span of the trace,
//! when tracing is on; failed when the call fails).

pub(crate) mod collector;
pub(crate) mod cpu;
pub(crate) mod database;
mod http_client;
pub(crate) mod upstream;

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tracing::Span;

use crate::telemetry::metrics::Metrics;

/// A network dependency's failure, and what that dependency's calls are logged and counted as.
pub(crate) trait DependencyError: std::fmt::Display {
    /// The `message` of each call's log line, e.g. `"upstream call"`.
    const CALL: &'static str;
    /// The metric counting failed calls, by [`kind`](Self::kind).
    const ERRORS_METRIC: &'static str;
    /// No answer within the `allowed_ms` the call had.
    fn timed_out(allowed_ms: u128) -> Self;
    /// A short stable name: the log line's `outcome` and the metric's `kind` dimension.
    fn kind(&self) -> &'static str;
}

/// One call to a dependency (the external API, the database): bounded by the earlier of
/// `timeout` from now and the request's `deadline` (then [`DependencyError::timed_out`]),
/// logged with its duration and outcome, and counted when it fails, inside `span` (the call's
/// span for traces, marked failed when the call fails). `call` is given the milliseconds it
/// is allowed.
pub(crate) async fn dependency_call<T, E, F>(
    metrics: &Metrics,
    timeout: Duration,
    deadline: Instant,
    span: Span,
    call: impl FnOnce(u128) -> F,
) -> Result<T, E>
where
    E: DependencyError,
    F: Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let until = deadline.min(started + timeout);
    let allowed_ms = until.saturating_duration_since(started).as_millis();
    let bounded = tokio::time::timeout_at(until, call(allowed_ms));
    let result = crate::telemetry::spans::within(span.clone(), bounded)
        .await
        .unwrap_or_else(|_| Err(E::timed_out(allowed_ms)));
    let duration_ms = crate::telemetry::millis(started.elapsed());
    match &result {
        Ok(_) => tracing::info!(duration_ms, outcome = "ok", "{}", E::CALL),
        Err(e) => {
            crate::telemetry::spans::failed(&span, e.kind());
            tracing::warn!(duration_ms, outcome = e.kind(), error = %e, "{}", E::CALL);
            metrics.failed_call(E::ERRORS_METRIC, e.kind());
        }
    }
    result
}
