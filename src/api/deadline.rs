//! Every request has a deadline, and is answered (504) when it passes instead of running on.
//!
//! The deadline is `REQUEST_TIMEOUT_MS` after arrival (by default API Gateway's own limit),
//! and at most the transport's own deadline ([`TransportContext::deadline`], under Lambda the
//! invocation's) minus a safety margin: the function answers its own 504 rather than being
//! killed mid-request by Lambda, which would leave the client a bare 502 and the logs without
//! an access line.
//!
//! Handlers get it with the [`Deadline`] extractor and hand it to the dependencies: every call
//! to one (`dependencies::dependency_call`) shortens its timeout to fit, and a calculation
//! waits for a CPU slot at most until then. When it passes, the whole handler future is
//! dropped, which cancels its blocking work.

use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use super::context::TransportContext;
use super::error::ApiError;

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

impl<S: Send + Sync> FromRequestParts<S> for Deadline {
    type Rejection = ApiError;

    /// The deadline set by [`enforce`]. A handler served without that layer is a wiring bug,
    /// answered as one (a 500) rather than run without a bound.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Deadline>()
            .copied()
            .ok_or(ApiError::Internal("no deadline layer"))
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::middleware::from_fn_with_state;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn left(Deadline(at): Deadline) -> String {
        at.saturating_duration_since(Instant::now())
            .as_secs()
            .to_string()
    }

    #[tokio::test]
    async fn handlers_get_the_deadline_the_layer_set() {
        let app = Router::new()
            .route("/", get(left))
            .layer(from_fn_with_state(Duration::from_secs(60), enforce));
        let request = axum::extract::Request::new(Body::empty());
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = axum::body::to_bytes(response.into_body(), 100)
            .await
            .unwrap();
        assert!(matches!(&body[..], b"59" | b"60"), "{body:?}");
    }

    #[tokio::test]
    async fn without_the_layer_the_extractor_refuses_with_a_500() {
        let app = Router::new().route("/", get(left));
        let request = axum::extract::Request::new(Body::empty());
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), 500);
    }

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
