//! CORS: which browser apps on other origins may call the API and read its answers, as
//! Starlette's `CORSMiddleware` (FastAPI's) decides it.
//!
//! CORS is the browser's rule, not access control: a disallowed origin's request is served as
//! usual, only without the headers that would let the page read the answer. Scripts, `curl`
//! and servers ignore CORS altogether.
//!
//! The policy is the validated `CORS_*` settings ([`CorsConfig`]) and the routes' methods, held
//! once in [`Cors`]; this module writes the headers from it (Starlette 1.10's rules):
//! - Only an `OPTIONS` with `Origin` and `Access-Control-Request-Method` is a preflight. It is
//!   answered here, never by a handler: `200 OK`, or Starlette's 400 saying what the policy
//!   does not allow (`Disallowed CORS origin, method, headers, private-network`). Any other
//!   `OPTIONS` is routed (to its 405).
//! - A preflight's answer carries Starlette's `Vary` (`Origin` and the three
//!   `Access-Control-Request-*` headers it depends on). A preflight asking for
//!   private-network access (`Access-Control-Request-Private-Network`) is allowed only with
//!   `CORS_ALLOW_PRIVATE_NETWORK=true`, and then answered
//!   `Access-Control-Allow-Private-Network: true`.
//! - An allowed origin's other answers carry `Access-Control-Allow-Origin`, and
//!   `-Allow-Credentials` and `-Expose-Headers` when set.
//! - A disallowed origin gets no CORS header at all (Starlette sends its fixed ones whatever
//!   the origin), on a preflight or an actual request.
//! - Every answer carries `Vary: Origin`, since each depends on it, so that a cache never
//!   hands one origin's answer to another.
//! - `*` with credentials is refused by `config` at start.
//!
//! The layer sits inside the access log (a preflight is logged like any request) and outside
//! everything that answers, the panic guard included: every answer to an allowed origin,
//! a 404, a 504 or a panic's 500, carries the headers.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, CONTENT_TYPE, ORIGIN, VARY,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::{Allowed, CorsConfig};

/// Asked for by a preflight from a public page to a private network (Private Network Access).
const REQUEST_PRIVATE_NETWORK: HeaderName =
    HeaderName::from_static("access-control-request-private-network");
const ALLOW_PRIVATE_NETWORK: HeaderName =
    HeaderName::from_static("access-control-allow-private-network");
/// Starlette's `Vary` of every preflight answer: what the answer depends on.
const PREFLIGHT_VARY: &str = "Origin, Access-Control-Request-Method, \
    Access-Control-Request-Headers, Access-Control-Request-Private-Network";
/// Starlette's preflight answers are plain text.
const TEXT: &str = "text/plain; charset=utf-8";

/// One deployment's CORS policy: the settings and the routes' methods, with the header values
/// that do not depend on the request written once.
#[derive(Debug)]
pub(crate) struct Cors {
    policy: CorsConfig,
    methods: Vec<Method>,
    allow_methods: HeaderValue,
    /// `None` with `CORS_ALLOW_HEADERS=*`: the preflight's own list is named back.
    allow_headers: Option<HeaderValue>,
    expose_headers: Option<HeaderValue>,
    max_age: HeaderValue,
}

impl Cors {
    /// The policy of `config` for routes that answer `methods`.
    pub(crate) fn new(config: &CorsConfig, methods: &[Method]) -> Self {
        let allow_headers = match &config.allow_headers {
            Allowed::Any => None,
            Allowed::List(headers) => joined(headers.iter().map(HeaderName::as_str)),
        };
        Self {
            policy: config.clone(),
            methods: methods.to_vec(),
            allow_methods: joined(methods.iter().map(Method::as_str))
                .unwrap_or(HeaderValue::from_static("")),
            allow_headers,
            expose_headers: joined(config.expose_headers.iter().map(HeaderName::as_str)),
            max_age: HeaderValue::from(config.max_age.as_secs()),
        }
    }

    fn allows_origin(&self, origin: &HeaderValue) -> bool {
        match &self.policy.allow_origins {
            Allowed::Any => true,
            Allowed::List(origins) => origins.contains(origin),
        }
    }

    /// `*` for any origin (never with credentials), else the origin itself.
    fn allow_origin(&self, origin: HeaderValue) -> HeaderValue {
        match self.policy.allow_origins {
            Allowed::Any => HeaderValue::from_static("*"),
            Allowed::List(_) => origin,
        }
    }

    /// What a preflight asks for that the policy does not allow, in Starlette's words and
    /// order (the origin, checked by the caller, comes first).
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
        if let (Allowed::List(allowed), Some(requested)) = (
            &self.policy.allow_headers,
            headers.get(ACCESS_CONTROL_REQUEST_HEADERS),
        ) {
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
        if headers.contains_key(REQUEST_PRIVATE_NETWORK) && !self.policy.allow_private_network {
            failures.push("private-network");
        }
        failures
    }

    /// The answer to a preflight from `origin`, which no handler sees.
    fn preflight(&self, origin: HeaderValue, request: &HeaderMap) -> Response {
        let mut failures = Vec::new();
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(TEXT));
        headers.insert(VARY, HeaderValue::from_static(PREFLIGHT_VARY));
        if self.allows_origin(&origin) {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin(origin));
            if self.policy.allow_credentials {
                headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, true_value());
            }
            headers.insert(ACCESS_CONTROL_ALLOW_METHODS, self.allow_methods.clone());
            let allow_headers = match &self.allow_headers {
                Some(list) => Some(list.clone()),
                // Starlette's `*`: whatever the preflight asks for, named back (a literal `*`
                // would not cover `Authorization`, nor work with credentials).
                None => request.get(ACCESS_CONTROL_REQUEST_HEADERS).cloned(),
            };
            if let Some(allow_headers) = allow_headers {
                headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
            }
            headers.insert(ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
            if self.policy.allow_private_network && request.contains_key(REQUEST_PRIVATE_NETWORK) {
                headers.insert(ALLOW_PRIVATE_NETWORK, true_value());
            }
        } else {
            failures.push("origin");
        }
        failures.extend(self.preflight_failures(request));
        let (status, text) = if failures.is_empty() {
            (StatusCode::OK, "OK".to_owned())
        } else {
            let text = format!("Disallowed CORS {}", failures.join(", "));
            (StatusCode::BAD_REQUEST, text)
        };
        (status, headers, text).into_response()
    }

    /// The headers of an allowed origin's actual (non-preflight) answer.
    fn allow(&self, origin: HeaderValue, answer: &mut HeaderMap) {
        answer.insert(ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin(origin));
        if self.policy.allow_credentials {
            answer.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, true_value());
        }
        if let Some(expose) = &self.expose_headers {
            answer.insert(ACCESS_CONTROL_EXPOSE_HEADERS, expose.clone());
        }
    }
}

/// The middleware: a preflight answered here, before any handler; every other request served
/// by the routes, with the CORS headers its origin gets.
pub(crate) async fn cors(State(cors): State<Arc<Cors>>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(ORIGIN).cloned();
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    if let (Some(origin), true) = (&origin, preflight) {
        return cors.preflight(origin.clone(), request.headers());
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Some(origin) = origin.filter(|origin| cors.allows_origin(origin)) {
        cors.allow(origin, headers);
    }
    headers.append(VARY, HeaderValue::from_static("origin"));
    response
}

fn true_value() -> HeaderValue {
    HeaderValue::from_static("true")
}

/// `values` as one header value, comma-separated; `None` when there are none.
fn joined<'a>(values: impl Iterator<Item = &'a str>) -> Option<HeaderValue> {
    let joined = values.collect::<Vec<_>>().join(",");
    (!joined.is_empty())
        .then(|| HeaderValue::try_from(joined).ok())
        .flatten()
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
            assert_eq!(answer.header("vary"), Some(PREFLIGHT_VARY));
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
        assert_eq!(answer.header("vary"), Some(PREFLIGHT_VARY));

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

    /// Starlette 1.10's `Vary` on every preflight answer, allowed or not, whatever it asked.
    #[tokio::test]
    async fn a_preflight_answer_varies_as_starlettes() {
        assert_eq!(
            PREFLIGHT_VARY,
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, \
             Access-Control-Request-Private-Network"
        );
        let app = app_with(&[]);
        for request in [
            preflight("/mixed", APP, &[]),
            preflight("/mixed", EVIL, &[]),
            request(
                Method::OPTIONS,
                "/nope",
                &[("origin", APP), ("access-control-request-method", "POST")],
            ),
        ] {
            let answer = send(&app, request).await;
            let vary: Vec<_> = answer.headers.get_all("vary").iter().collect();
            assert_eq!(vary, [PREFLIGHT_VARY], "{}", answer.body);
        }
    }

    /// Starlette 1.10's `allow_private_network`, replayed against Starlette itself: a
    /// preflight that asks for private-network access (the header present, whatever its value)
    /// is refused unless the setting is on, and then answered with the allowing header.
    #[tokio::test]
    async fn private_network_access_is_starlettes_allow_private_network() {
        let asks = [("access-control-request-private-network", "true")];
        let off = app_with(&[]);
        let answer = send(&off, preflight("/mixed", APP, &asks)).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (400, "Disallowed CORS private-network")
        );
        assert_eq!(
            answer.header(ACCESS_CONTROL_ALLOW_ORIGIN.as_str()),
            Some(APP)
        );
        assert_eq!(answer.header(ALLOW_PRIVATE_NETWORK.as_str()), None);
        let answer = send(&off, preflight("/mixed", EVIL, &asks)).await;
        assert_eq!(answer.body, "Disallowed CORS origin, private-network");
        assert!(answer.cors_headers().is_empty(), "{:?}", answer.headers);

        let on = app_with(&[("CORS_ALLOW_PRIVATE_NETWORK", "true")]);
        for value in ["true", "false"] {
            let asks = [("access-control-request-private-network", value)];
            let answer = send(&on, preflight("/mixed", APP, &asks)).await;
            assert_eq!(
                (answer.status, answer.body.as_str()),
                (200, "OK"),
                "{value}"
            );
            assert_eq!(answer.header(ALLOW_PRIVATE_NETWORK.as_str()), Some("true"));
        }
        // Not asked for: not answered.
        let answer = send(&on, preflight("/mixed", APP, &[])).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header(ALLOW_PRIVATE_NETWORK.as_str()), None);
        // Allowed, beside another failure: said, as Starlette says it.
        let both = [
            ("access-control-request-private-network", "true"),
            ("access-control-request-method", "POST"),
        ];
        let answer = send(
            &on,
            request(
                Method::OPTIONS,
                "/mixed",
                &[("origin", APP), both[0], both[1]],
            ),
        )
        .await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (400, "Disallowed CORS method")
        );
        assert_eq!(answer.header(ALLOW_PRIVATE_NETWORK.as_str()), Some("true"));
        // Never on an actual answer.
        let answer = send(
            &on,
            request(Method::GET, "/mixed", &[("origin", APP), asks[0]]),
        )
        .await;
        assert_eq!(answer.header(ALLOW_PRIVATE_NETWORK.as_str()), None);
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
