//! Every request has a deadline, and is answered (504) when it passes instead of running on.
//!
//! Locally the deadline is `REQUEST_TIMEOUT_MS` after arrival (by default API Gateway's own
//! limit). Under Lambda it is also at most the invocation's deadline minus a safety
//! margin: the function answers its own 504 rather than being killed mid-request by Lambda,
//! which would leave the client a bare 502 and the logs without an access line.
//!
//! Work below the deadline gets it as a [`Deadline`] request extension: the upstream call
//! shortens its timeout to fit, and a calculation waits for a CPU slot at most until then.
//! When it passes, the whole handler future is dropped, which cancels its blocking work.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lambda_http::RequestExt;
use tokio::time::Instant;

use crate::config::DEFAULT_REQUEST_TIMEOUT_MS;
use crate::error::ApiError;

/// Kept free before Lambda's deadline to send the response and write the logs.
pub const LAMBDA_SAFETY_MARGIN: Duration = Duration::from_millis(250);

/// When the current request must be answered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(pub Instant);

/// Middleware: sets the request's [`Deadline`] and answers 504 when it passes.
pub async fn enforce(
    State(request_timeout): State<Duration>,
    mut request: Request,
    next: Next,
) -> Response {
    let now = Instant::now();
    let lambda_left = request
        .lambda_context_ref()
        .and_then(|context| time_left(context.deadline, SystemTime::now()));
    let at = deadline(now, request_timeout, lambda_left);
    request.extensions_mut().insert(Deadline(at));
    match tokio::time::timeout_at(at, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::DeadlineExceeded.into_response(),
    }
}

/// The earlier of `request_timeout` from now and Lambda's time left less the margin.
fn deadline(now: Instant, request_timeout: Duration, lambda_left: Option<Duration>) -> Instant {
    let local = now + request_timeout;
    match lambda_left {
        Some(left) => local.min(now + left.saturating_sub(LAMBDA_SAFETY_MARGIN)),
        None => local,
    }
}

/// Time left until a Lambda deadline (epoch milliseconds); `None` when there is none (0).
fn time_left(deadline_ms: u64, now: SystemTime) -> Option<Duration> {
    if deadline_ms == 0 {
        return None;
    }
    let now_ms = now.duration_since(UNIX_EPOCH).ok()?.as_millis();
    let left_ms = u128::from(deadline_ms).saturating_sub(now_ms);
    Some(Duration::from_millis(
        u64::try_from(left_ms).unwrap_or(u64::MAX),
    ))
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
    fn lambda_time_left_shortens_the_deadline_by_the_margin() {
        let now = Instant::now();
        let timeout = Duration::from_secs(29);
        assert_eq!(deadline(now, timeout, None), now + timeout);
        assert_eq!(
            deadline(now, timeout, Some(Duration::from_secs(3))),
            now + Duration::from_secs(3) - LAMBDA_SAFETY_MARGIN
        );
        // Plenty of Lambda time left: the request timeout still applies.
        assert_eq!(
            deadline(now, timeout, Some(Duration::from_secs(900))),
            now + timeout
        );
        // Almost out of time: answer at once rather than be killed.
        assert_eq!(
            deadline(now, timeout, Some(Duration::from_millis(100))),
            now
        );
    }

    #[test]
    fn time_left_reads_epoch_milliseconds() {
        let now = UNIX_EPOCH + Duration::from_millis(1_000_000);
        assert_eq!(
            time_left(1_002_500, now),
            Some(Duration::from_millis(2_500))
        );
        assert_eq!(time_left(999_000, now), Some(Duration::ZERO));
        assert_eq!(time_left(0, now), None);
    }
}
