//! The HTTP layer: one [`Router`] for the seed's three routes, the OpenAPI document and the
//! docs pages, with FastAPI's answers for everything else; every failure mapped to its answer
//! in one place ([`error`]); and the middleware every request passes.
//!
//! Both transports (Lambda and the local server) feed requests into [`app`]; nothing here
//! knows which one is in use. What a transport knows beyond HTTP reaches the application as
//! one request extension, [`TransportContext`].
//!
//! Read bottom-up: `context` and `error` use nothing of the rest; the middleware
//! (`access_log`, `limits`, `deadline`) uses those; `routes` (with `openapi` and `docs`)
//! and `state` come last, and this file puts them together.

mod access_log;
mod context;
mod deadline;
mod docs;
pub(crate) mod error;
mod limits;
mod openapi;
mod routes;
mod state;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse;
use tower_http::catch_panic::CatchPanicLayer;

pub use context::TransportContext;
use error::ApiError;
pub use state::AppState;

/// The application, for either transport: the routes and, around each of them and the
/// fallback, the layers every request passes (outermost first): access log, size limits,
/// deadline, panic guard.
///
/// `Router::layer` wraps each route after routing, so every layer, the access log included,
/// sees which route matched, whatever the answer (a 405, a 504, a panic's 500).
pub fn app(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    let request_timeout = state.request_timeout;
    routes::router(state)
        // A panic anywhere below becomes this request's 500 JSON, and the process (with every
        // other request in flight) carries on.
        .layer(CatchPanicLayer::custom(|_panic| {
            ApiError::Internal("request handler panicked").into_response()
        }))
        .layer(from_fn_with_state(request_timeout, deadline::enforce))
        .layer(from_fn(limits::enforce))
        // Outermost, so that every request is logged once, panics, 404s and 504s included.
        .layer(from_fn_with_state(metrics, access_log::access_log))
}
