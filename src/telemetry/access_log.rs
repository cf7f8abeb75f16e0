//! Exactly one log line and one latency metric per request, whichever transport it came by
//! and however it ended (a 404, a panic's 500, an upstream 504).
//!
//! The line carries the route *template* (`/calculate/{number}`), never the raw path, query,
//! headers or body: nothing a client sends ends up in the logs. A 500's line is an ERROR with
//! the internal `error` that the client's body leaves out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::metrics::Metrics;
use super::{INVOCATION, Invocation};
use crate::TransportContext;
use crate::error::InternalError;

/// The `route` of requests that matched no route (404s and trailing-slash redirects).
pub(crate) const UNMATCHED: &str = "unmatched";

/// True until the first request of this process (execution environment) starts.
static COLD: AtomicBool = AtomicBool::new(true);

/// The matched route template, carried from inside the router to [`access_log`] outside it.
#[derive(Clone)]
struct Route(MatchedPath);

/// Inner layer (`route_layer`): remembers which route served the request.
pub(crate) async fn remember_route(request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(matched) = matched {
        response.extensions_mut().insert(Route(matched));
    }
    response
}

/// Outer layer: times the request, sets up its [`Invocation`], logs it and records metrics.
pub(crate) async fn access_log(
    State(metrics): State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let cold_start = COLD.swap(false, Ordering::Relaxed);
    if cold_start {
        metrics.cold_start();
    }
    let method = request.method().clone();
    let transport = request.extensions().get::<TransportContext>();
    let invocation = Invocation {
        request_id: transport.and_then(|t| t.request_id.clone()),
        xray_trace_id: transport.and_then(|t| t.trace_header.clone()),
        cold_start,
    };

    INVOCATION
        .scope(invocation, async move {
            let response = next.run(request).await;
            let route = response
                .extensions()
                .get::<Route>()
                .map_or(UNMATCHED, |route| route.0.as_str());
            let status = response.status().as_u16();
            let elapsed = started.elapsed();
            let duration_ms = super::millis(elapsed);
            match response.extensions().get::<InternalError>() {
                Some(InternalError(error)) => {
                    tracing::error!(method = %method, route, status, duration_ms, error, "request");
                }
                None => tracing::info!(method = %method, route, status, duration_ms, "request"),
            }
            metrics.request(route, status, elapsed);
            response
        })
        .await
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::middleware::from_fn_with_state;
    use axum::response::IntoResponse;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;
    use crate::error::ApiError;
    use crate::telemetry::capture::Capture;

    #[tokio::test]
    async fn a_500s_one_line_is_an_error_naming_why() {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(capture.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = Router::new()
            .route(
                "/broken",
                get(async || ApiError::Internal("it broke").into_response()),
            )
            .layer(from_fn_with_state(Metrics::disabled(), access_log));
        let request = Request::get("/broken").body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), 500);

        let text = capture.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert!(lines[0].contains("ERROR"), "{text}");
        assert!(lines[0].contains("request"), "{text}");
        assert!(lines[0].contains("status=500"), "{text}");
        assert!(lines[0].contains("it broke"), "{text}");
    }
}
