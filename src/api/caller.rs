//! The [`Caller`] as an extractor, and the guard that makes a route need one.
//!
//! API Gateway runs an authorizer only on the route it matched. The catch-all `$default` route
//! stays public (preflights, and the function's own 404/405/307 need it), and so a request
//! can reach an API route past the authorizer: a `HEAD /mixed` matches no `GET /mixed` route
//! at API Gateway, lands on `$default`, and the router answers it from the `GET` handler.
//! With a JWT authorizer configured, the API routes therefore check for a caller themselves
//! ([`require_caller`]): any authorizer's will do, since only API Gateway may invoke the
//! function, and it has checked the token.

use axum::extract::{FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::context::{Caller, TransportContext};
use super::error::ApiError;

/// `caller: Caller` in a handler: the request's caller, or FastAPI's 401
/// (`{"detail":"Not authenticated"}`, `www-authenticate: Bearer`) when no authorizer ran.
impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        caller_of(parts).ok_or_else(|| ApiError::NotAuthenticated.into_response())
    }
}

/// `caller: Option<Caller>` in a handler: the request's caller, if an authorizer ran.
impl<S: Send + Sync> OptionalFromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(caller_of(parts))
    }
}

fn caller_of(parts: &Parts) -> Option<Caller> {
    parts
        .extensions
        .get::<TransportContext>()
        .and_then(|transport| transport.caller.clone())
}

/// Route middleware: the request goes on only with a [`Caller`] (the extractor answers the
/// 401 otherwise).
pub(crate) async fn require_caller(_caller: Caller, request: Request, next: Next) -> Response {
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use axum::Router;
    use axum::body::Body;
    use axum::http::Method;
    use axum::routing::get;

    use super::*;
    use crate::api::context::Authorizer;
    use crate::api::tests::app_with;
    use crate::telemetry::capture::Capture;

    fn jwt_caller() -> Caller {
        Caller {
            authorizer: Authorizer::Jwt,
            subject: Some("user-1".into()),
            claims: BTreeMap::from([("sub".into(), "user-1".into())]),
            scopes: vec!["read".into()],
        }
    }

    fn request(method: Method, uri: &str, caller: Option<Caller>) -> Request {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        request.extensions_mut().insert(TransportContext {
            caller,
            ..TransportContext::default()
        });
        request
    }

    /// The status, the `WWW-Authenticate` challenge and the body of `app`'s answer.
    async fn send(app: &Router, request: Request) -> (u16, Option<String>, String) {
        let answer = crate::testing::send(app, request).await;
        let challenge = answer.header("www-authenticate").map(str::to_owned);
        (answer.status, challenge, answer.body)
    }

    const JWT: [(&str, &str); 3] = [
        ("AUTH_JWT_ISSUER", "https://issuer.example"),
        ("AUTH_JWT_AUDIENCE", "api"),
        // The upstream is a closed port: a request that got past the guard answers 502.
        ("EXTERNAL_API_URL", "http://127.0.0.1:9/"),
    ];

    #[tokio::test]
    async fn the_extractor_answers_fastapis_401_without_a_caller() {
        let app = Router::new()
            .route(
                "/me",
                get(async |caller: Caller| caller.subject.unwrap_or_default()),
            )
            .route(
                "/maybe",
                get(async |caller: Option<Caller>| format!("{:?}", caller.map(|c| c.authorizer))),
            );
        assert_eq!(
            send(&app, request(Method::GET, "/me", None)).await,
            (
                401,
                Some("Bearer".into()),
                r#"{"detail":"Not authenticated"}"#.into()
            )
        );
        assert_eq!(
            send(&app, request(Method::GET, "/me", Some(jwt_caller()))).await,
            (200, None, "user-1".into())
        );
        assert_eq!(
            send(&app, request(Method::GET, "/maybe", None)).await.2,
            "None"
        );
        assert_eq!(
            send(&app, request(Method::GET, "/maybe", Some(jwt_caller())))
                .await
                .2,
            "Some(Jwt)"
        );
    }

    #[tokio::test]
    async fn with_a_jwt_authorizer_the_api_routes_need_a_caller_head_included() {
        let app = app_with(&JWT);
        for path in ["/call-external-api", "/calculate/7", "/mixed"] {
            for method in [Method::GET, Method::HEAD] {
                let (status, challenge, _) = send(&app, request(method.clone(), path, None)).await;
                assert_eq!(
                    (status, challenge.as_deref()),
                    (401, Some("Bearer")),
                    "{method} {path}"
                );
            }
        }
        assert_eq!(
            send(
                &app,
                request(Method::GET, "/calculate/7", Some(jwt_caller()))
            )
            .await
            .2,
            r#"{"number":7,"result":43160950}"#
        );
        assert_eq!(
            send(
                &app,
                request(Method::GET, "/call-external-api", Some(jwt_caller()))
            )
            .await
            .0,
            502
        );
        // The document, its pages, and the function's own answers for unknown requests stay
        // public: API Gateway's $default route brings them without an authorizer.
        for (method, path, status) in [
            (Method::GET, "/openapi.json", 200),
            (Method::GET, "/docs", 200),
            (Method::GET, "/redoc", 200),
            (Method::POST, "/mixed", 405),
            (Method::GET, "/mixed/", 307),
            (Method::GET, "/nope", 404),
        ] {
            let answer = send(&app, request(method.clone(), path, None)).await;
            assert_eq!(answer.0, status, "{method} {path}");
        }
    }

    #[tokio::test]
    async fn without_one_the_routes_serve_anyone() {
        let app = app_with(&[]);
        assert_eq!(
            send(&app, request(Method::GET, "/calculate/7", None))
                .await
                .0,
            200
        );
    }

    #[tokio::test]
    async fn the_access_line_records_the_callers_subject_only() {
        let (capture, _guard) = Capture::json_subscriber("svc");
        let app = app_with(&JWT);
        send(
            &app,
            request(Method::GET, "/calculate/7", Some(jwt_caller())),
        )
        .await;
        send(&app, request(Method::GET, "/calculate/7", None)).await;
        let lines = capture.lines_as_json();
        let access: Vec<_> = lines.iter().filter(|l| l["message"] == "request").collect();
        assert_eq!(access.len(), 2, "{}", capture.text());
        assert_eq!(
            (&access[0]["caller"], &access[0]["status"]),
            (&"user-1".into(), &200.into())
        );
        assert!(!capture.text().contains("read"), "{}", capture.text());
        assert_eq!(access[1]["status"], 401);
        assert!(access[1].get("caller").is_none(), "{}", access[1]);
    }
}
