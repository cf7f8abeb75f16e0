//! The Lambda transport: API Gateway (REST v1, HTTP API v2), Function URL, ALB and VPC
//! Lattice (v2) events into the one router, with `lambda_http::run_concurrent` so that Lambda
//! Managed Instances (`AWS_LAMBDA_MAX_CONCURRENCY=N`) get N invocations at once and classic
//! Lambda one.
//!
//! Everything Lambda-specific stops here: each invocation becomes one plain HTTP request
//! carrying one [`TransportContext`](crate::TransportContext) (request id, trace header,
//! deadline, public prefix, and the [`Caller`](crate::Caller) an API Gateway authorizer
//! established), and nothing below this module knows which transport is in use. This
//! directory is the only place that names `lambda_http` or `lambda_runtime`
//! (`tests/it/layers.rs` fails otherwise).
//!
//! An invocation passes the files in this order, one job each:
//!
//! 1. `mod.rs` (here): [`run`] serves the Runtime API's invocations, [`handle`] answers one.
//! 2. `request.rs`: the event as a request for the router: the routed path, the body, and in
//!    place of every `lambda_http` extension the one `TransportContext`, whose deadline is the
//!    invocation's.
//! 3. `path.rs`: the stage and the base path. API Gateway puts the stage in front of the path
//!    in some payloads and not in others; the request is routed on the path *without* the
//!    stage (so no setting is needed), and what stood in front of it is remembered
//!    (`TransportContext::public_prefix`) for redirects and `/openapi.json`. A custom
//!    domain's base path (its API mapping key) is handled like a stage when the payload says
//!    for sure (REST APIs), and with `BASE_PATH` set otherwise.
//! 4. `trace.rs`: the front door's id of the request (`correlation_id`), and the one check
//!    that lets a client-sent `x-amzn-trace-id` near the logs.
//! 5. `caller.rs`: who called, from whichever of the authorizers' shapes the event carries
//!    (REST API, HTTP API and Function URL, VPC Lattice), as one `Caller`.
//! 6. `response.rs`: the router's answer, buffered, as the response document Lambda returns.
//! 7. `flush.rs`: with tracing on under classic Lambda, the invocation's spans sent after its
//!    answer is posted and before the runtime asks for the next event (which lets Lambda
//!    freeze the environment).

mod caller;
mod flush;
mod path;
mod request;
mod response;
mod trace;

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::response::IntoResponse;
use lambda_http::{Body as LambdaBody, Request as LambdaRequest, Response, service_fn};
use tower::ServiceExt;

use crate::SpanExport;
use crate::api::error::ApiError;

/// Log filter directives for the Lambda crates, which `telemetry::init` applies whatever level
/// is asked: the runtime logs whole events (headers and bodies) at TRACE, and those must never
/// reach the logs.
pub const LOG_DIRECTIVES: &[&str] = &[
    "lambda_runtime=debug",
    "lambda_runtime_api_client=debug",
    "lambda_http=debug",
];

/// Serves the invocations the Runtime API hands out, for the life of the execution
/// environment. `base_path`: the custom domain's (`BASE_PATH`), if any. `flush_after_each`:
/// the spans to send after each answer (classic Lambda with tracing on); `None` adds nothing
/// to an invocation.
pub async fn run(
    router: Router,
    base_path: Option<String>,
    flush_after_each: Option<SpanExport>,
) -> Result<(), lambda_http::Error> {
    let base_path: Option<Arc<str>> = base_path.map(Arc::from);
    lambda_http::runtime_concurrent(service_fn(move |request| {
        handle(router.clone(), base_path.clone(), request)
    }))
    .layer(tower::util::option_layer(
        flush_after_each.map(flush::FlushAfterLayer),
    ))
    .run_concurrent()
    .await
}

/// One invocation: the event as a request for the router, its answer as the response
/// document. What [`run`] hands to the runtime for each event, and what the fixture tests
/// call. Never fails: every problem is an HTTP answer.
pub async fn handle(
    router: Router,
    base_path: Option<Arc<str>>,
    request: LambdaRequest,
) -> Result<Response<LambdaBody>, Infallible> {
    let response = match request::into_router_request(request, base_path.as_deref()) {
        Some(request) => {
            let Ok(response) = router.oneshot(request).await;
            response
        }
        None => ApiError::NotFound.into_response(),
    };
    Ok(response::into_lambda_response(response).await)
}

#[cfg(test)]
mod test_events;
