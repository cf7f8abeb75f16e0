//! Exactly one log line and one latency metric per request, whichever transport it came by
//! and however it ended (a 404, a panic's 500, an upstream 504), inside the request's span.
//!
//! The span ([`crate::telemetry::request_span`]) carries the request id, the trace id and the
//! cold-start flag: every line logged while the request is served has them, this one too.
//! With tracing on, the request is also the trace's server span (`telemetry::spans`): named
//! after the route template, with the method, the status, the caller's subject, the request
//! id and the cold-start flag, continuing the caller's trace, failed on a 5xx.
//!
//! The line carries the route *template* (`/calculate/{number}`, from axum's [`MatchedPath`]),
//! never the raw path, query, headers or body: nothing a client sends ends up in the logs. It
//! records who called under `caller` (the subject an authorizer established, never a token
//! or the claims), when an authorizer ran, and the front door's id of the request under
//! Powertools' `correlation_id`, to join this line with the front door's own access log. A
//! 500's line is an ERROR with the internal `error` that the client's body leaves out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use tracing::field::Empty;
use tracing::{Instrument, Span};

use super::context::TransportContext;
use super::error::InternalError;
use crate::telemetry::metrics::Metrics;
use crate::telemetry::spans;

/// The `route` of requests whose path matched no route (404s, and the trailing-slash
/// redirects of paths that only match without their slash).
pub(crate) const UNMATCHED: &str = "unmatched";

/// True until the first request of this process (execution environment) starts.
static COLD: AtomicBool = AtomicBool::new(true);

/// Times the request, serves it inside its span, logs it and records its metrics.
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
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let transport = request.extensions().get::<TransportContext>();
    let span = crate::telemetry::request_span(
        transport.and_then(|t| t.request_id.as_deref()),
        transport.and_then(|t| t.trace_header.as_deref()),
        cold_start,
    );
    let caller = transport
        .and_then(|t| t.caller.as_ref())
        .and_then(|caller| caller.subject.clone());
    let correlation_id = transport.and_then(|t| t.correlation_id.clone());
    let server = server_span(&method, matched.as_ref(), caller.as_deref(), cold_start);
    if !server.is_disabled() {
        server.record(
            "faas.invocation_id",
            transport.and_then(|t| t.request_id.as_deref()),
        );
        // Under Lambda, the invocation's trace header alone; locally, the request's headers.
        let lambda_trace = transport.map(|t| t.trace_header.as_deref());
        spans::continue_trace(&server, lambda_trace, request.headers());
    }

    let traced = server.clone();
    let served = async move {
        let response = next.run(request).await;
        let route = matched.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
        let status = response.status().as_u16();
        let elapsed = started.elapsed();
        let duration_ms = crate::telemetry::millis(elapsed);
        traced.record("http.response.status_code", status);
        if response.status().is_server_error() {
            spans::failed(&traced, response.status().as_str());
        }
        match response.extensions().get::<InternalError>() {
            Some(InternalError(error)) => {
                tracing::error!(
                    method = %method, route, status, duration_ms, caller, correlation_id, error,
                    "request"
                );
            }
            None => tracing::info!(
                method = %method, route, status, duration_ms, caller, correlation_id,
                "request"
            ),
        }
        metrics.request(route, status, elapsed);
        response
    };
    spans::within(server, served).instrument(span).await
}

/// The request's server span for traces: disabled, and free, when tracing is off.
fn server_span(
    method: &Method,
    matched: Option<&MatchedPath>,
    caller: Option<&str>,
    cold_start: bool,
) -> Span {
    tracing::info_span!(
        target: spans::TARGET,
        "request",
        "otel.name" = match matched {
            Some(route) => format!("{method} {}", route.as_str()),
            None => method.to_string(),
        },
        "otel.kind" = "server",
        "http.request.method" = method.as_str(),
        "http.route" = matched.map(MatchedPath::as_str),
        "http.response.status_code" = Empty,
        "enduser.id" = caller,
        "faas.invocation_id" = Empty,
        "faas.coldstart" = cold_start,
        "otel.status_code" = Empty,
        "error.type" = Empty,
    )
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
    use crate::api::error::ApiError;
    use crate::telemetry::capture::Capture;

    #[tokio::test]
    async fn a_500s_one_line_is_an_error_naming_why_and_its_request() {
        let (capture, _guard) = Capture::json_subscriber("svc");
        let app = Router::new()
            .route(
                "/broken",
                get(async || {
                    tracing::warn!("about to fail");
                    ApiError::Internal("it broke").into_response()
                }),
            )
            .layer(from_fn_with_state(Metrics::disabled(), access_log));
        let mut request = Request::get("/broken").body(Body::empty()).unwrap();
        request.extensions_mut().insert(TransportContext {
            request_id: Some("req-9".into()),
            ..TransportContext::default()
        });
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), 500);

        let lines = capture.lines_as_json();
        assert_eq!(lines.len(), 2, "{}", capture.text());
        assert_eq!(lines[0]["message"], "about to fail");
        assert_eq!(lines[0]["function_request_id"], "req-9");
        let access = &lines[1];
        assert_eq!(access["level"], "ERROR");
        assert_eq!(access["message"], "request");
        assert_eq!(access["route"], "/broken");
        assert_eq!(access["status"], 500);
        assert_eq!(access["error"], "it broke");
        assert_eq!(access["function_request_id"], "req-9");
    }
}
