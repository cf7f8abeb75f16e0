//! Every request has a deadline, and is answered (504) when it passes instead of running on.
//!
//! The deadline is `REQUEST_TIMEOUT_MS` after arrival (by default API Gateway's own limit),
//! and at most the transport's own deadline ([`TransportContext::deadline`], under Lambda the
//! invocation's) minus a safety margin: the function answers its own 504 rather than being
//! killed mid-request by Lambda, which would leave the client a bare 502 and the logs without
//! an access line.
//!
//! Work below the deadline gets it as a [`Deadline`] request extension: every call to a
//! dependency ([`dependency_call`]) shortens its timeout to fit, and a calculation waits for a
//! CPU slot at most until then. When it passes, the whole handler future is dropped, which
//! cancels its blocking work.

use std::future::Future;
use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use crate::TransportContext;
use crate::config::DEFAULT_REQUEST_TIMEOUT_MS;
use crate::error::ApiError;
use crate::telemetry::metrics::Metrics;

/// Kept free before the transport's deadline to send the response and write the logs.
pub(crate) const SAFETY_MARGIN: Duration = Duration::from_millis(250);

/// When the current request must be answered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadline(pub(crate) Instant);

/// Middleware: sets the request's [`Deadline`] and answers 504 when it passes.
pub(crate) async fn enforce(
    State(request_timeout): State<Duration>,
    mut request: Request,
    next: Next,
) -> Response {
    let transport = request
        .extensions()
        .get::<TransportContext>()
        .and_then(|transport| transport.deadline);
    let at = deadline(Instant::now(), request_timeout, transport);
    request.extensions_mut().insert(Deadline(at));
    match tokio::time::timeout_at(at, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::DeadlineExceeded.into_response(),
    }
}

/// The earlier of `request_timeout` from now and the transport's deadline less the margin,
/// but never before now.
fn deadline(now: Instant, request_timeout: Duration, transport: Option<Instant>) -> Instant {
    let local = now + request_timeout;
    match transport {
        Some(transport) => {
            let latest = transport.checked_sub(SAFETY_MARGIN).unwrap_or(now).max(now);
            local.min(latest)
        }
        None => local,
    }
}

/// A dependency's failure, and what that dependency's calls are logged and counted as.
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
/// logged with its duration and outcome, and counted when it fails. `call` is given the
/// milliseconds it is allowed.
pub(crate) async fn dependency_call<T, E, F>(
    metrics: &Metrics,
    timeout: Duration,
    deadline: Instant,
    call: impl FnOnce(u128) -> F,
) -> Result<T, E>
where
    E: DependencyError,
    F: Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let until = deadline.min(started + timeout);
    let allowed_ms = until.saturating_duration_since(started).as_millis();
    let result = tokio::time::timeout_at(until, call(allowed_ms))
        .await
        .unwrap_or_else(|_| Err(E::timed_out(allowed_ms)));
    let duration_ms = crate::telemetry::millis(started.elapsed());
    match &result {
        Ok(_) => tracing::info!(duration_ms, outcome = "ok", "{}", E::CALL),
        Err(e) => {
            tracing::warn!(duration_ms, outcome = e.kind(), error = %e, "{}", E::CALL);
            metrics.failed_call(E::ERRORS_METRIC, e.kind());
        }
    }
    result
}

impl<S: Send + Sync> FromRequestParts<S> for Deadline {
    type Rejection = ApiError;

    /// The deadline set by [`enforce`]; a router used without it gets the default
    /// `REQUEST_TIMEOUT_MS` from now.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Deadline>()
            .copied()
            .unwrap_or_else(|| {
                Deadline(Instant::now() + Duration::from_millis(DEFAULT_REQUEST_TIMEOUT_MS))
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transports_deadline_shortens_the_request_timeout_by_the_margin() {
        let now = Instant::now();
        let timeout = Duration::from_secs(29);
        let left = |ms| Some(now + Duration::from_millis(ms));
        assert_eq!(deadline(now, timeout, None), now + timeout);
        assert_eq!(
            deadline(now, timeout, left(3_000)),
            now + Duration::from_secs(3) - SAFETY_MARGIN
        );
        // Plenty of transport time left: the request timeout still applies.
        assert_eq!(deadline(now, timeout, left(900_000)), now + timeout);
        // Almost out of time, or already past it: answer at once rather than be killed.
        assert_eq!(deadline(now, timeout, left(100)), now);
        assert_eq!(deadline(now + timeout, timeout, left(0)), now + timeout);
    }
}
