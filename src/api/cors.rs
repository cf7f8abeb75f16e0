//! CORS: which browser apps on other origins may call the API and read its answers, as
//! Starlette's `CORSMiddleware` (FastAPI's) decides it, with tower-http's [`CorsLayer`] writing
//! the headers.
//!
//! CORS is the browser's rule, not access control: a disallowed origin's request is served as
//! usual, only without the headers that would let the page read the answer. Scripts, `curl`
//! and servers ignore CORS altogether.
//!
//! tower-http does the header work; this module adds what it leaves to the application:
//! - Only an `OPTIONS` with `Origin` and `Access-Control-Request-Method` is a preflight
//!   (tower-http takes every `OPTIONS` for one). Any other `OPTIONS` is routed (to its 405).
//! - A preflight is checked as Starlette checks it: a disallowed origin, method or header gets
//!   a 400 saying which (`Disallowed CORS origin`), the allowed one `200 OK`.
//! - A disallowed origin gets no CORS header at all (tower-http sends
//!   `Access-Control-Allow-Credentials` and `-Expose-Headers` whatever the origin), on a
//!   preflight or an actual request.
//! - Every answer carries `Vary: Origin`, since each depends on it, so that a cache never
//!   hands one origin's answer to another.
//! - `*` with credentials, which tower-http answers with a panic, is refused by `config` at
//!   start.
//!
//! The layer sits inside the access log (a preflight is logged like any request) and outside
//! everything that answers, the panic guard included: every answer to an allowed origin,
//! a 404, a 504 or a panic's 500, carries the headers.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, CONTENT_TYPE, ORIGIN, VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::{Layer, ServiceExt, service_fn};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use crate::config::{Allowed, CorsConfig};

/// One deployment's CORS policy.
#[derive(Debug, Clone)]
pub(crate) struct Cors {
    origins: Allowed<HeaderValue>,
    methods: Vec<Method>,
    headers: Allowed<axum::http::HeaderName>,
    /// Writes the headers of an allowed origin's answers.
    layer: CorsLayer,
}

impl Cors {
    /// The policy of `config` for routes that answer `methods`.
    pub(crate) fn new(config: &CorsConfig, methods: &[Method]) -> Self {
        let allow_origin = match &config.allow_origins {
            Allowed::Any => AllowOrigin::any(),
            Allowed::List(origins) => AllowOrigin::list(origins.iter().cloned()),
        };
        let allow_headers = match &config.allow_headers {
            // Starlette's `*`: whatever the preflight asks for, named back (a literal `*`
            // would not cover `Authorization`, nor work with credentials).
            Allowed::Any => AllowHeaders::mirror_request(),
            Allowed::List(headers) => AllowHeaders::list(headers.iter().cloned()),
        };
        let layer = CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_credentials(config.allow_credentials)
            .allow_methods(methods.to_vec())
            .allow_headers(allow_headers)
            .expose_headers(config.expose_headers.clone())
            .max_age(config.max_age)
            .vary([ORIGIN]);
        Self {
            origins: config.allow_origins.clone(),
            methods: methods.to_vec(),
            headers: config.allow_headers.clone(),
            layer,
        }
    }

    fn allows_origin(&self, origin: &HeaderValue) -> bool {
        match &self.origins {
            Allowed::Any => true,
            Allowed::List(origins) => origins.contains(origin),
        }
    }

    /// What an allowed preflight asks for that the policy does not allow, in Starlette's words.
    fn preflight_failures(&self, headers: &HeaderMap) -> Vec<&'static str> {
        let mut failures = Vec::new();
        let method = headers
            .get(ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|method| method.to_str().ok());
        if !self
            .methods
            .iter()
            .any(|allowed| Some(allowed.as_str()) == method)
        {
            failures.push("method");
        }
        if let (Allowed::List(allowed), Some(requested)) =
            (&self.headers, headers.get(ACCESS_CONTROL_REQUEST_HEADERS))
        {
            let all_allowed = requested.to_str().is_ok_and(|requested| {
                requested
                    .split(',')
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .all(|name| {
                        allowed
                            .iter()
                            .any(|a| a.as_str().eq_ignore_ascii_case(name))
                    })
            });
            if !all_allowed {
                failures.push("headers");
            }
        }
        failures
    }

    /// The headers tower-http puts on an actual (non-preflight) answer to `origin`. Asked with
    /// a probe `GET` rather than by passing the request through the layer, because tower-http
    /// would answer a non-preflight `OPTIONS` itself, and that one must reach the router.
    async fn answer_headers(&self, origin: HeaderValue) -> HeaderMap {
        let mut probe = Request::new(Body::empty());
        probe.headers_mut().insert(ORIGIN, origin);
        let empty =
            service_fn(async |_: Request| Ok::<_, Infallible>(Response::new(Body::empty())));
        let Ok(answer) = self.layer.layer(empty).oneshot(probe).await;
        answer.into_parts().0.headers
    }
}

/// The middleware: a preflight answered here, before any handler; every other request served
/// by the routes, with the CORS headers its origin gets.
pub(crate) async fn cors(State(cors): State<Arc<Cors>>, request: Request, next: Next) -> Response {
    let Some(origin) = request.headers().get(ORIGIN).cloned() else {
        return with_vary_origin(next.run(request).await);
    };
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    let allowed = cors.allows_origin(&origin);

    match (preflight, allowed) {
        (true, true) => {
            let failures = cors.preflight_failures(request.headers());
            // tower-http answers a preflight itself (200, its headers, no body): `next` is
            // never called.
            let Ok(answer) = cors.layer.layer(next).oneshot(request).await;
            let (mut parts, _) = answer.into_parts();
            if !failures.is_empty() {
                parts.status = StatusCode::BAD_REQUEST;
            }
            parts
                .headers
                .insert(CONTENT_TYPE, HeaderValue::from_static(TEXT));
            Response::from_parts(parts, Body::from(preflight_text(&failures)))
        }
        (true, false) => {
            let mut failures = vec!["origin"];
            failures.extend(cors.preflight_failures(request.headers()));
            with_vary_origin(
                (
                    StatusCode::BAD_REQUEST,
                    [(CONTENT_TYPE, HeaderValue::from_static(TEXT))],
                    preflight_text(&failures),
                )
                    .into_response(),
            )
        }
        (false, true) => {
            let headers = cors.answer_headers(origin).await;
            let mut response = next.run(request).await;
            response.headers_mut().extend(headers);
            response
        }
        (false, false) => with_vary_origin(next.run(request).await),
    }
}

/// Starlette's preflight answers are plain text.
const TEXT: &str = "text/plain; charset=utf-8";

/// `OK`, or Starlette's `Disallowed CORS origin, method, headers` (those that failed).
fn preflight_text(failures: &[&str]) -> String {
    if failures.is_empty() {
        "OK".to_owned()
    } else {
        format!("Disallowed CORS {}", failures.join(", "))
    }
}

fn with_vary_origin(mut response: Response) -> Response {
    response
        .headers_mut()
        .append(VARY, HeaderValue::from_static("origin"));
    response
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::header::{
        ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS,
        ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS,
        ACCESS_CONTROL_MAX_AGE, CONTENT_LENGTH,
    };
    use axum::routing::get;

    use super::*;
    use crate::api::error::ApiError;
    use crate::api::{AppState, app, with_layers};
    use crate::config::Config;
    use crate::telemetry::metrics::Metrics;
    use crate::testing::send;

    fn config(vars: &[(&str, &str)]) -> Config {
        Config::from_pairs(vars).unwrap()
    }

    const APP: &str = "https://app.example";
    const EVIL: &str = "https://evil.example";

    /// The app with CORS for `APP` and `vars`; the upstream is a closed port (502).
    fn app_with(vars: &[(&str, &str)]) -> Router {
        let mut all = vec![
            ("CORS_ALLOW_ORIGINS", APP),
            ("EXTERNAL_API_URL", "http://127.0.0.1:9/"),
        ];
        all.extend_from_slice(vars);
        crate::api::tests::app_with(&all)
    }

    /// `router`'s routes inside the app's layers, with CORS for `APP` (for handlers the app
    /// does not have: one that must never run, a panic, a 503).
    fn with_cors_for_app(router: Router) -> Router {
        with_layers(
            router,
            &config(&[("CORS_ALLOW_ORIGINS", APP)]),
            Metrics::disabled(),
        )
    }

    fn request(method: Method, uri: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).unwrap()
    }

    fn preflight(uri: &str, origin: &str, extra: &[(&str, &str)]) -> Request {
        let mut headers = vec![("origin", origin), ("access-control-request-method", "GET")];
        headers.extend_from_slice(extra);
        request(Method::OPTIONS, uri, &headers)
    }

    #[tokio::test]
    async fn off_changes_nothing() {
        let plain = app(AppState::new(&config(&[])));
        let answer = send(&plain, preflight("/mixed", APP, &[])).await;
        assert_eq!(answer.status, 405);
        let answer = send(&plain, request(Method::GET, "/mixed", &[("origin", APP)])).await;
        assert_eq!(answer.status, 200);
        assert!(answer.cors_headers().is_empty());
        assert_eq!(answer.header("vary"), None);
    }

    #[tokio::test]
    async fn an_allowed_preflight_is_answered_on_every_path_with_starlettes_headers() {
        let app = app_with(&[]);
        for path in ["/calculate/7", "/mixed", "/no/such/path", "/mixed/"] {
            let answer = send(&app, preflight(path, APP, &[])).await;
            assert_eq!((answer.status, answer.body.as_str()), (200, "OK"), "{path}");
            assert_eq!(answer.header("content-type"), Some(TEXT));
            assert_eq!(
                answer.header(ACCESS_CONTROL_ALLOW_ORIGIN.as_str()),
                Some(APP)
            );
            assert_eq!(
                answer.header(ACCESS_CONTROL_ALLOW_METHODS.as_str()),
                Some("GET,HEAD")
            );
            assert_eq!(
                answer.header(ACCESS_CONTROL_ALLOW_HEADERS.as_str()),
                Some("accept,accept-language,content-language,content-type")
            );
            assert_eq!(answer.header(ACCESS_CONTROL_MAX_AGE.as_str()), Some("600"));
            assert_eq!(answer.header("vary"), Some("origin"));
            assert_eq!(
                answer.header(ACCESS_CONTROL_ALLOW_CREDENTIALS.as_str()),
                None
            );
        }
    }

    #[tokio::test]
    async fn a_preflight_never_reaches_a_handler() {
        let router = with_cors_for_app(
            Router::new().route("/", get(async || -> &'static str { panic!("reached") })),
        );
        assert_eq!(send(&router, preflight("/", APP, &[])).await.status, 200);
        assert_eq!(send(&router, preflight("/", EVIL, &[])).await.status, 400);
    }

    #[tokio::test]
    async fn a_disallowed_preflight_gets_starlettes_400_saying_what() {
        let app = app_with(&[("CORS_ALLOW_CREDENTIALS", "true")]);
        let answer = send(&app, preflight("/mixed", EVIL, &[])).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (400, "Disallowed CORS origin")
        );
        assert!(answer.cors_headers().is_empty(), "{:?}", answer.headers);
        assert_eq!(answer.header("vary"), Some("origin"));

        let post = request(
            Method::OPTIONS,
            "/mixed",
            &[("origin", APP), ("access-control-request-method", "POST")],
        );
        let answer = send(&app, post).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (400, "Disallowed CORS method")
        );
        // The origin is allowed: the answer says so, as Starlette's does.
        assert_eq!(
            answer.header(ACCESS_CONTROL_ALLOW_ORIGIN.as_str()),
            Some(APP)
        );

        let nope = [("access-control-request-headers", "X-Nope-1, content-type")];
        let answer = send(&app, preflight("/mixed", APP, &nope)).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (400, "Disallowed CORS headers")
        );
        let answer = send(&app, preflight("/mixed", EVIL, &nope)).await;
        assert_eq!(answer.body, "Disallowed CORS origin, headers");
        let fine = [("access-control-request-headers", "Content-Type,accept")];
        assert_eq!(
            send(&app, preflight("/mixed", APP, &fine)).await.status,
            200
        );
    }

    #[tokio::test]
    async fn an_options_that_is_not_a_preflight_is_routed() {
        let app = app_with(&[]);
        let answer = send(&app, request(Method::OPTIONS, "/mixed", &[("origin", APP)])).await;
        assert_eq!(answer.status, 405);
        assert_eq!(answer.header("allow"), Some("GET,HEAD"));
        assert_eq!(
            answer.header(ACCESS_CONTROL_ALLOW_ORIGIN.as_str()),
            Some(APP)
        );
    }

    #[tokio::test]
    async fn an_allowed_origin_gets_the_headers_on_every_answer() {
        let app = app_with(&[
            ("CORS_ALLOW_CREDENTIALS", "true"),
            ("CORS_EXPOSE_HEADERS", "retry-after"),
            ("REQUEST_TIMEOUT_MS", "1000"),
        ]);
        let origin = [("origin", APP)];
        let mut big = request(Method::GET, "/mixed", &origin);
        big.headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from_static("1000000"));
        let mut many = request(Method::GET, "/calculate/1", &origin);
        for i in 0..200 {
            let name: axum::http::HeaderName = format!("x-h{i}").parse().unwrap();
            many.headers_mut()
                .insert(name, HeaderValue::from_static("v"));
        }
        let cases = [
            (request(Method::GET, "/calculate/7", &origin), 200),
            (request(Method::HEAD, "/calculate/7", &origin), 200),
            (request(Method::GET, "/mixed/", &origin), 307),
            (request(Method::GET, "/nope", &origin), 404),
            (request(Method::POST, "/mixed", &origin), 405),
            (big, 413),
            (request(Method::GET, "/calculate/abc", &origin), 422),
            (many, 431),
            (request(Method::GET, "/call-external-api", &origin), 502),
            (request(Method::GET, "/calculate/100000", &origin), 504),
        ];
        for (request, status) in cases {
            let what = format!("{} {}", request.method(), request.uri());
            let answer = send(&app, request).await;
            assert_eq!(answer.status, status, "{what}");
            assert_eq!(
                answer.header(ACCESS_CONTROL_ALLOW_ORIGIN.as_str()),
                Some(APP),
                "{what}"
            );
            assert_eq!(
                answer.header(ACCESS_CONTROL_ALLOW_CREDENTIALS.as_str()),
                Some("true"),
                "{what}"
            );
            assert_eq!(
                answer.header(ACCESS_CONTROL_EXPOSE_HEADERS.as_str()),
                Some("retry-after"),
                "{what}"
            );
            assert_eq!(answer.header("vary"), Some("origin"), "{what}");
        }

        // The answers only a broken or overloaded process gives: a panic's 500 and a 503.
        let router = with_cors_for_app(
            Router::new()
                .route("/panic", get(async || -> &'static str { panic!("boom") }))
                .route("/busy", get(async || ApiError::Busy)),
        );
        for (path, status) in [("/panic", 500), ("/busy", 503)] {
            let answer = send(&router, request(Method::GET, path, &origin)).await;
            assert_eq!(answer.status, status, "{path}");
            assert_eq!(
                answer.header(ACCESS_CONTROL_ALLOW_ORIGIN.as_str()),
                Some(APP),
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn a_disallowed_origin_is_served_without_any_cors_header() {
        let app = app_with(&[
            ("CORS_ALLOW_CREDENTIALS", "true"),
            ("CORS_EXPOSE_HEADERS", "retry-after"),
        ]);
        let answer = send(
            &app,
            request(Method::GET, "/calculate/7", &[("origin", EVIL)]),
        )
        .await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, r#"{"number":7,"result":43160950}"#);
        assert!(answer.cors_headers().is_empty(), "{:?}", answer.headers);
        assert_eq!(answer.header("vary"), Some("origin"));
        // No Origin (not a browser's cross-origin call): no CORS headers, the same Vary.
        let answer = send(&app, request(Method::GET, "/calculate/7", &[])).await;
        assert!(answer.cors_headers().is_empty());
        assert_eq!(answer.header("vary"), Some("origin"));
    }

    #[tokio::test]
    async fn any_origin_and_any_header() {
        let app = app(AppState::new(&config(&[
            ("CORS_ALLOW_ORIGINS", "*"),
            ("CORS_ALLOW_HEADERS", "*"),
        ])));
        let answer = send(
            &app,
            request(Method::GET, "/calculate/7", &[("origin", EVIL)]),
        )
        .await;
        assert_eq!(
            answer.header(ACCESS_CONTROL_ALLOW_ORIGIN.as_str()),
            Some("*")
        );
        let asks = [("access-control-request-headers", "x-anything,authorization")];
        let answer = send(&app, preflight("/calculate/7", EVIL, &asks)).await;
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.header(ACCESS_CONTROL_ALLOW_ORIGIN.as_str()),
            Some("*")
        );
        assert_eq!(
            answer.header(ACCESS_CONTROL_ALLOW_HEADERS.as_str()),
            Some("x-anything,authorization")
        );
    }

    #[tokio::test]
    async fn the_jwt_authorizer_adds_authorization_to_the_allowed_headers() {
        let app = app_with(&[
            ("AUTH_JWT_ISSUER", "https://issuer.example"),
            ("AUTH_JWT_AUDIENCE", "api"),
        ]);
        let asks = [("access-control-request-headers", "authorization")];
        let answer = send(&app, preflight("/calculate/7", APP, &asks)).await;
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.header(ACCESS_CONTROL_ALLOW_HEADERS.as_str()),
            Some("accept,accept-language,content-language,content-type,authorization")
        );
        // The 401 of a call without a caller is readable by the page.
        let answer = send(
            &app,
            request(Method::GET, "/calculate/7", &[("origin", APP)]),
        )
        .await;
        assert_eq!(answer.status, 401);
        assert_eq!(
            answer.header(ACCESS_CONTROL_ALLOW_ORIGIN.as_str()),
            Some(APP)
        );
    }
}
