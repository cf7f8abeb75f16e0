//! The HTTP contract: one [`Router`] for the three routes of the seed and the OpenAPI
//! document, all declared in [`table`], plus FastAPI's answers for everything else (404, 405
//! with `allow`, and the trailing-slash 307). Each route's module owns its handler and its
//! OpenAPI operation, with the schemas of its answers.
//!
//! A route is its module and its entry in [`table`]; the rest follows from the table or is
//! held against it by a test. The deployment templates route each API route (one that is in
//! the document) to the function with the JWT authorizer, and `tests/routes.json` lists them
//! for the scripts that cannot read Rust; `tests/it/route_list.rs` fails when either of them
//! and the table disagree.

mod calculate;
mod external;
mod mixed;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use serde_json::Value;

use super::caller::require_caller;
use super::context::TransportContext;
use super::docs::DocsPages;
use super::error::ApiError;
use super::openapi;
use super::state::AppState;

/// Every route, each declared once: the router, the trailing-slash redirect, the 405's `allow`
/// and the OpenAPI document are all built from this table. Adding a route is one entry here
/// (and its handler); its document entry, or [`Doc::Excluded`], is a required argument. The
/// API routes (not excluded) also need their template routes and their line in
/// `tests/routes.json`: `tests/it/route_list.rs` names what is missing.
/// `docs`: the pages of `/docs` and `/redoc`, if served (not with `DOCS=off`: then both are
/// unknown paths).
pub(crate) fn table(docs: Option<&Arc<DocsPages>>) -> Vec<Route> {
    let mut routes = vec![
        Route::get(
            "/call-external-api",
            external::call_external_api,
            Doc::Operation(external::operation),
        ),
        Route::get(
            "/calculate/{number}",
            calculate::calculate,
            Doc::Operation(calculate::operation),
        ),
        Route::get(
            "/mixed",
            mixed::read_mixed,
            Doc::Operation(mixed::operation),
        ),
        Route::get("/openapi.json", openapi_json, Doc::Excluded),
    ];
    if let Some(pages) = docs {
        let (swagger_ui, redoc) = (Arc::clone(pages), Arc::clone(pages));
        routes.extend([
            Route::get(
                "/docs",
                async move || swagger_ui.swagger_ui(),
                Doc::Excluded,
            ),
            Route::get("/redoc", async move || redoc.redoc(), Doc::Excluded),
        ]);
    }
    routes
}

/// The methods every route answers: each is a `GET` ([`Route::get`] is the one way to declare
/// one), which answers `HEAD` too. What a CORS preflight may ask for.
pub(crate) const METHODS: [Method; 2] = [Method::GET, Method::HEAD];

/// One route: its path template, its method and handler, and its OpenAPI entry.
pub(crate) struct Route {
    pub(crate) path: &'static str,
    /// The method of `handler` (`GET` also answers `HEAD`); the document's key for it.
    pub(crate) method: Method,
    handler: MethodRouter<AppState>,
    pub(crate) doc: Doc,
}

/// A route's entry in `/openapi.json`, or the explicit opt-out (FastAPI's
/// `include_in_schema=False`): every route must say which.
pub(crate) enum Doc {
    /// The OpenAPI operation object and the schemas of its answers, for the deployment's
    /// settings. Such a route is one of the API's: behind a JWT authorizer it needs a caller.
    Operation(fn(&openapi::Settings) -> openapi::Operation),
    /// Left out of the document: the document itself, documentation pages.
    Excluded,
}

impl Route {
    /// A `GET` (and so `HEAD`) route. Any other method gets FastAPI's 405 body, with the
    /// `allow` header axum derives from the methods routed (`GET,HEAD`).
    fn get<H, T>(path: &'static str, handler: H, doc: Doc) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        Self {
            path,
            method: Method::GET,
            handler: get(handler).fallback(async || ApiError::MethodNotAllowed),
            doc,
        }
    }
}

/// One route of [`table`] as the tests outside the crate see it.
#[cfg(feature = "test-support")]
pub struct RouteEntry {
    /// `GET`, ...
    pub method: String,
    /// The path template, `/calculate/{number}`.
    pub path: &'static str,
    /// The `operationId` of its document entry (empty if it has none); `None` for a
    /// [`Doc::Excluded`] route, which is not one of the API's: it stays public behind a JWT
    /// authorizer.
    pub operation_id: Option<String>,
}

/// Every route of [`table`] with the docs pages served, in its order: what
/// `tests/it/route_list.rs` holds the templates and `tests/routes.json` against.
#[cfg(feature = "test-support")]
pub fn route_table() -> Vec<RouteEntry> {
    let settings = openapi::Settings {
        max_number: 0,
        bearer_auth: false,
    };
    let pages = DocsPages::new("https://assets.example");
    table(Some(&pages))
        .into_iter()
        .map(|route| RouteEntry {
            method: route.method.to_string(),
            path: route.path,
            operation_id: match route.doc {
                Doc::Operation(operation) => Some(
                    operation(&settings).object["operationId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                ),
                Doc::Excluded => None,
            },
        })
        .collect()
}

/// The routes of [`table`] and the fallback, with the state they share. With a JWT
/// authorizer configured, the API's operations (the routes in the document) answer only a
/// request with a caller; the document and its pages stay public.
pub(crate) fn router(state: AppState) -> Router {
    let routes = table(state.docs.as_ref());
    let known = known_paths(&routes);
    routes
        .into_iter()
        .fold(Router::new(), |router, route| {
            let handler = match route.doc {
                // `route_layer`: only the routed methods; a `POST` still gets its 405.
                Doc::Operation(_) if state.callers_required => {
                    route.handler.route_layer(from_fn(require_caller))
                }
                _ => route.handler,
            };
            router.route(route.path, handler)
        })
        .fallback(move |request: Request| not_found_or_redirect(known.clone(), request))
        .with_state(state)
}

/// The OpenAPI document, built once per process on first request. Behind a public prefix (an
/// API Gateway stage) it names that prefix as its server, as FastAPI's `root_path` does, so
/// that clients built from it (Swagger UI's "Try it out") call `/prod/calculate/7`.
async fn openapi_json(State(state): State<AppState>, request: Request) -> Response {
    let document = state.openapi.get_or_init(|| {
        let settings = openapi::Settings {
            max_number: state.max_number,
            bearer_auth: state.callers_required,
        };
        // The pages are left out of the document whether served or not.
        openapi_document(&table(None), &settings)
    });
    let prefix = TransportContext::public_prefix_of(&request);
    let body = if prefix.is_empty() {
        document.to_string()
    } else {
        let mut document = document.clone();
        document["servers"] = serde_json::json!([{ "url": prefix }]);
        document.to_string()
    };
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The OpenAPI document of the operations of `routes` (those not [`Doc::Excluded`]).
fn openapi_document(routes: &[Route], settings: &openapi::Settings) -> Value {
    let operations = routes.iter().filter_map(|route| match route.doc {
        Doc::Operation(operation) => Some((route.path, &route.method, operation(settings))),
        Doc::Excluded => None,
    });
    openapi::document(operations, settings)
}

/// The path templates [`router`] serves, matched as axum matches them (axum's own matcher,
/// `matchit`): what the trailing-slash redirect looks a path up in.
fn known_paths(routes: &[Route]) -> Arc<matchit::Router<()>> {
    let mut known = matchit::Router::new();
    for route in routes {
        // The table's paths are distinct templates: axum's router, built from the same
        // paths, would have refused a conflict first.
        let _ = known.insert(route.path, ());
    }
    Arc::new(known)
}

/// Whether `path` is one that [`router`] serves. Starlette routes on the decoded path, so a
/// segment hiding a `/` matches nothing there.
fn is_known(known: &matchit::Router<()>, path: &str) -> bool {
    known.at(path).is_ok() && !path.split('/').any(|raw| decode_segment(raw).contains('/'))
}

/// Starlette's `redirect_slashes`: a path that is only unknown because of trailing slashes is
/// sent, with its query and for any method (307 keeps it), to the path without them.
async fn not_found_or_redirect(known: Arc<matchit::Router<()>>, request: Request) -> Response {
    let uri = request.uri();
    let stripped = uri.path().trim_end_matches('/');
    if stripped.is_empty() || stripped.len() == uri.path().len() || !is_known(&known, stripped) {
        return ApiError::NotFound.into_response();
    }
    let prefix = TransportContext::public_prefix_of(&request);
    let location = match uri.query() {
        Some(query) => format!("{prefix}{stripped}?{query}"),
        None => format!("{prefix}{stripped}"),
    };
    match HeaderValue::try_from(location) {
        Ok(location) => (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response(),
        Err(_) => ApiError::NotFound.into_response(),
    }
}

/// A path segment as Starlette sees it: percent-decoded, invalid UTF-8 replaced by U+FFFD.
pub(crate) fn decode_segment(raw: &str) -> std::borrow::Cow<'_, str> {
    percent_encoding::percent_decode_str(raw).decode_utf8_lossy()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Method;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    use tower_http::catch_panic::CatchPanicLayer;

    /// The same panic guard as [`crate::api::app`], around routes that panic.
    fn panicking_app() -> Router {
        Router::new()
            .route("/panic", get(async || -> &'static str { panic!("boom") }))
            .route(
                "/blocking-panic",
                get(async || -> Result<(), ApiError> {
                    crate::dependencies::cpu::run_cancellable(|_| -> Option<()> { panic!("boom") })
                        .await?;
                    Ok(())
                }),
            )
            .route("/ok", get(async || "fine"))
            .layer(CatchPanicLayer::custom(|_panic| {
                ApiError::Internal("request handler panicked").into_response()
            }))
    }

    async fn call(app: &Router, method: Method, uri: &str) -> (StatusCode, String) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_panic_is_one_requests_500_and_serving_goes_on() {
        let app = panicking_app();
        for path in ["/panic", "/blocking-panic"] {
            let (status, body) = call(&app, Method::GET, path).await;
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
            assert_eq!(body, r#"{"detail":"Internal Server Error"}"#);
        }
        assert_eq!(
            call(&app, Method::GET, "/ok").await,
            (StatusCode::OK, "fine".into())
        );
    }

    #[test]
    fn decodes_like_starlette() {
        assert_eq!(decode_segment("1%2F2"), "1/2");
        assert_eq!(decode_segment("%207"), " 7");
        assert_eq!(decode_segment("%FF"), "\u{FFFD}");
        assert_eq!(decode_segment("7"), "7");
    }
}

/// The document built from the route table.
#[cfg(test)]
mod document_tests {
    use serde_json::json;

    use super::*;
    use crate::api::openapi::Settings;

    fn doc(max_number: u64) -> Value {
        document_with(max_number, false)
    }

    fn document_with(max_number: u64, bearer_auth: bool) -> Value {
        openapi_document(
            &table(Some(&DocsPages::new("https://a.example"))),
            &Settings {
                max_number,
                bearer_auth,
            },
        )
    }

    #[test]
    fn a_jwt_authorizer_adds_the_bearer_scheme_to_every_operation_and_nothing_else() {
        let (plain, bearer) = (doc(7), document_with(7, true));
        assert!(!plain.to_string().contains("security"));
        assert_eq!(
            bearer["components"]["securitySchemes"],
            json!({ "HTTPBearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } })
        );
        let mut without = bearer.clone();
        for (_, item) in without["paths"].as_object_mut().unwrap() {
            let operation = item["get"].as_object_mut().unwrap();
            assert_eq!(
                operation.remove("security"),
                Some(json!([{ "HTTPBearer": [] }]))
            );
            let responses = operation["responses"].as_object_mut().unwrap();
            assert!(responses.remove("401").is_some());
        }
        let components = without["components"].as_object_mut().unwrap();
        components.remove("securitySchemes");
        components["responses"]
            .as_object_mut()
            .unwrap()
            .remove("NotAuthenticated");
        assert_eq!(without, plain);
    }

    #[test]
    fn documents_exactly_the_routed_paths_not_excluded_under_their_method() {
        let doc = doc(100_000);
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        let mut documented: Vec<&str> = paths.keys().map(String::as_str).collect();
        documented.sort_unstable();
        let mut routed: Vec<&str> = table(None)
            .iter()
            .filter(|route| matches!(route.doc, Doc::Operation(_)))
            .map(|route| route.path)
            .collect();
        routed.sort_unstable();
        assert_eq!(documented, routed);
        // The list written out apart from the table: tests/it/route_list.rs holds it, and the
        // templates, against the table's API routes.
        let listed: Value =
            serde_json::from_str(include_str!("../../../tests/routes.json")).unwrap();
        let mut listed: Vec<&str> = listed["routes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|route| route["path"].as_str().unwrap())
            .collect();
        listed.sort_unstable();
        assert_eq!(
            documented, listed,
            "the document's paths, tests/routes.json's"
        );
        for (path, item) in paths {
            let methods: Vec<&String> = item.as_object().unwrap().keys().collect();
            assert_eq!(methods, ["get"], "{path}");
            assert!(item["get"]["operationId"].is_string(), "{path}");
        }
    }

    #[test]
    fn the_schemas_routes_bring_are_their_own_and_never_given_two_ways() {
        let settings = Settings {
            max_number: 7,
            bearer_auth: false,
        };
        let shared = openapi::document([], &settings)["components"]["schemas"].clone();
        let mut brought = std::collections::BTreeMap::new();
        for route in table(None) {
            let Doc::Operation(operation) = route.doc else {
                continue;
            };
            for (name, schema) in operation(&settings).schemas {
                assert!(
                    shared.get(name).is_none(),
                    "{} brings shared {name}",
                    route.path
                );
                if let Some(other) = brought.insert(name, schema.clone()) {
                    assert_eq!(other, schema, "{name}: two routes give it differently");
                }
            }
        }
        assert!(brought.contains_key("Calculation"), "{brought:?}");
        let all = doc(7)["components"]["schemas"].as_object().unwrap().len();
        assert_eq!(all, shared.as_object().unwrap().len() + brought.len());
    }

    #[test]
    fn every_reference_resolves_and_the_limit_is_the_configured_one() {
        let doc = doc(42);
        assert_eq!(
            doc["paths"]["/calculate/{number}"]["get"]["parameters"][0]["schema"]["maximum"],
            42
        );
        let text = doc.to_string();
        for reference in text.split("\"$ref\":\"#/").skip(1) {
            let pointer = reference.split('"').next().unwrap();
            assert!(
                doc.pointer(&format!("/{pointer}")).is_some(),
                "dangling $ref {pointer}"
            );
        }
    }
}
