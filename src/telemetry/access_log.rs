//! Exactly one log line and one latency metric per request, whichever transport it came by
//! and however it ended (a 404, a panic's 500, an upstream 504).
//!
//! The line carries the route *template* (`/calculate/{number}`), never the raw path, query,
//! headers or body: nothing a client sends ends up in the logs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::metrics::Metrics;
use super::{INVOCATION, Invocation};
use crate::TransportContext;

/// The `route` of requests that matched no route (404s and trailing-slash redirects).
pub const UNMATCHED: &str = "unmatched";

/// True until the first request of this process (execution environment) starts.
static COLD: AtomicBool = AtomicBool::new(true);

/// The matched route template, carried from inside the router to [`access_log`] outside it.
#[derive(Clone)]
struct Route(MatchedPath);

/// Inner layer (`route_layer`): remembers which route served the request.
pub async fn remember_route(request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(matched) = matched {
        response.extensions_mut().insert(Route(matched));
    }
    response
}

/// Outer layer: times the request, sets up its [`Invocation`], logs it and records metrics.
pub async fn access_log(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
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
            tracing::info!(method = %method, route, status, duration_ms, "request");
            metrics.request(route, status, elapsed);
            response
        })
        .await
}
