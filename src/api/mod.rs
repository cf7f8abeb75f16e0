//! The HTTP layer: one [`Router`] for the seed's three routes, the OpenAPI document and the
//! docs pages, with FastAPI's answers for everything else; every failure mapped to its answer
//! in one place ([`error`]); and the middleware every request passes.
//!
//! Both transports (Lambda and the local server) feed requests into [`app`]; nothing here
//! knows which one is in use. What a transport knows beyond HTTP reaches the application as
//! one request extension, [`TransportContext`].
//!
//! Read bottom-up: `context` and `error` use nothing of the rest; the middleware
//! (`access_log`, `cors`, `compression`, `limits`, `deadline`) and the `caller` extractor use
//! those; `openapi` (the document's frame and helpers) and `docs` (the pages) know no route;
//! `routes` uses them, `state` comes last, and this file puts them together.

mod access_log;
mod caller;
mod compression;
mod context;
mod cors;
mod deadline;
mod docs;
pub(crate) mod error;
mod limits;
mod openapi;
mod routes;
mod state;

use std::sync::Arc;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

use crate::config::Config;
use crate::telemetry::metrics::Metrics;

pub use context::{Authorizer, Caller, TransportContext};
use cors::Cors;
use error::ApiError;
#[cfg(feature = "test-support")]
pub use routes::{RouteEntry, route_table};
pub use state::AppState;

/// The application, for either transport: the routes and, around each of them and the
/// fallback, the layers every request passes (outermost first): access log, CORS,
/// compression, size limits, deadline, panic guard.
///
/// `Router::layer` wraps each route after routing, so every layer, the access log included,
/// sees which route matched, whatever the answer (a 405, a 504, a panic's 500). Every path
/// has a route or the fallback, so a preflight too is answered by the CORS layer, on any path,
/// before a handler could see it.
pub fn app(state: AppState) -> Router {
    let config = state.config.clone();
    let metrics = state.metrics.clone();
    with_layers(routes::router(state), &config, metrics)
}

/// The layers of [`app`] around `router`'s routes and fallback, as `config` sets them.
fn with_layers(router: Router, config: &Config, metrics: Metrics) -> Router {
    let cors = config
        .cors
        .as_ref()
        .map(|cors| Arc::new(Cors::new(cors, &routes::METHODS)));
    router.layer(
        ServiceBuilder::new()
            // Outermost, so that every request is logged once, panics, 404s and 504s included.
            .layer(from_fn_with_state(metrics, access_log::access_log))
            // Outside every answer (a panic's 500 too), inside the log (a preflight is logged).
            .option_layer(cors.map(|cors| from_fn_with_state(cors, cors::cors)))
            // Outside every layer that answers, so that a 413, a 504 or a panic's 500 is judged
            // like the routes' answers; inside CORS, so that a preflight, which CORS answers
            // itself, never reaches the encoder, and CORS adds its `Vary: Origin` beside
            // `Vary: Accept-Encoding`.
            .option_layer(config.compression_min_bytes.map(compression::layer))
            .layer(from_fn(limits::enforce))
            .layer(from_fn_with_state(
                config.request_timeout,
                deadline::enforce,
            ))
            // A panic anywhere below becomes this request's 500 JSON, and the process (with
            // every other request in flight) carries on.
            .layer(CatchPanicLayer::custom(|_panic| {
                ApiError::Internal("request handler panicked").into_response()
            })),
    )
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::extract::Request;
    use axum::http::header::CONTENT_LENGTH;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;
    use crate::telemetry::capture::Capture;

    /// The `route` and `status` of the one access line that serving `request` wrote.
    async fn access_line(app: Router, request: Request) -> (String, u64) {
        let (capture, _guard) = Capture::json_subscriber("svc");
        app.oneshot(request).await.unwrap();
        let lines = capture.lines_as_json();
        let access: Vec<_> = lines.iter().filter(|l| l["message"] == "request").collect();
        assert_eq!(access.len(), 1, "{}", capture.text());
        let route = access[0]["route"].as_str().unwrap().to_owned();
        (route, access[0]["status"].as_u64().unwrap())
    }

    /// The app configured with `vars` alone, for the tests of this module and its layers.
    pub(super) fn app_with(vars: &[(&str, &str)]) -> Router {
        app(AppState::new(&Config::from_pairs(vars).unwrap()))
    }

    fn get_request(uri: &str) -> Request {
        Request::get(uri).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn the_access_line_names_the_matched_route_whatever_the_answer() {
        let post = Request::post("/mixed").body(Body::empty()).unwrap();
        assert_eq!(
            access_line(app_with(&[]), post).await,
            ("/mixed".into(), 405)
        );

        let mut big = get_request("/mixed");
        big.headers_mut()
            .insert(CONTENT_LENGTH, "1000000".parse().unwrap());
        assert_eq!(
            access_line(app_with(&[]), big).await,
            ("/mixed".into(), 413)
        );

        let mut many = get_request("/calculate/1");
        for i in 0..200 {
            let name: axum::http::HeaderName = format!("x-h{i}").parse().unwrap();
            many.headers_mut().insert(name, "v".parse().unwrap());
        }
        assert_eq!(
            access_line(app_with(&[]), many).await,
            ("/calculate/{number}".into(), 431)
        );

        let slow = app_with(&[("REQUEST_TIMEOUT_MS", "1")]);
        assert_eq!(
            access_line(slow, get_request("/calculate/100000")).await,
            ("/calculate/{number}".into(), 504)
        );

        let panicking =
            Router::new().route("/boom", get(async || -> &'static str { panic!("boom") }));
        let config = Config::from_pairs(&[("COMPRESSION", "off")]).unwrap();
        let panicking = with_layers(panicking, &config, Metrics::disabled());
        assert_eq!(
            access_line(panicking, get_request("/boom")).await,
            ("/boom".into(), 500)
        );
    }

    #[tokio::test]
    async fn only_a_path_that_matched_no_route_is_unmatched() {
        assert_eq!(
            access_line(app_with(&[]), get_request("/nope")).await,
            (access_log::UNMATCHED.into(), 404)
        );
        assert_eq!(
            access_line(app_with(&[]), get_request("/mixed/")).await,
            (access_log::UNMATCHED.into(), 307)
        );
    }
}
