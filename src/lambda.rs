//! The Lambda transport: API Gateway (REST v1, HTTP API v2), Function URL, ALB and VPC
//! Lattice (v2) events into the one router, with `lambda_http::run_concurrent` so that Lambda
//! Managed Instances (`AWS_LAMBDA_MAX_CONCURRENCY=N`) get N invocations at once and classic
//! Lambda one.
//!
//! Everything Lambda-specific stops here: each invocation becomes one plain HTTP request
//! carrying one [`TransportContext`] (request id, trace header, deadline, public prefix, and
//! the [`Caller`] an API Gateway authorizer established), and nothing below this module knows
//! which transport is in use.
//!
//! The adapter's one real job is the path. API Gateway puts the stage in front of it in some
//! payloads and not in others; we route on the path *without* the stage (so no environment
//! setting is needed) and remember what stood in front of it
//! ([`TransportContext::public_prefix`]) for redirects and `/openapi.json`.
//!
//! A custom domain's base path (its API mapping key) is reported by REST APIs in
//! `requestContext.path` for sure, and handled like a stage with no setting. Elsewhere AWS's
//! payloads do not say for sure whether the path carries it, so with `BASE_PATH` set a request
//! that came through a custom domain is routed without the base path when its path starts
//! with it, and as it is otherwise; either way the client's URL had it, so it is put back.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::header::CONTENT_ENCODING;
use axum::http::uri::PathAndQuery;
use axum::http::{Extensions, StatusCode};
use axum::response::IntoResponse;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayProxyRequestContext, ApiGatewayRequestAuthorizer,
};
use lambda_http::request::RequestContext;
use lambda_http::{Body as LambdaBody, Request as LambdaRequest, RequestExt, Response, service_fn};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::api::error::ApiError;
use crate::api::{Authorizer, Caller, TransportContext};

/// Log filter directives for the Lambda crates, which `telemetry::init` applies whatever level
/// is asked: the runtime logs whole events (headers and bodies) at TRACE, and those must never
/// reach the logs.
pub const LOG_DIRECTIVES: &[&str] = &[
    "lambda_runtime=debug",
    "lambda_runtime_api_client=debug",
    "lambda_http=debug",
];

/// Serves the invocations the Runtime API hands out, for the life of the execution
/// environment. `base_path`: the custom domain's (`BASE_PATH`), if any.
pub async fn run(router: Router, base_path: Option<String>) -> Result<(), lambda_http::Error> {
    let base_path: Option<Arc<str>> = base_path.map(Arc::from);
    lambda_http::run_concurrent(service_fn(move |request| {
        handle(router.clone(), base_path.clone(), request)
    }))
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
    let response = match into_router_request(request, base_path.as_deref()) {
        Some(request) => {
            let Ok(response) = router.oneshot(request).await;
            response
        }
        None => ApiError::NotFound.into_response(),
    };
    Ok(into_lambda_response(response).await)
}

/// Where a request is routed, and what the client's URL had in front of that.
#[derive(Debug, PartialEq, Eq)]
struct RoutedPath<'a> {
    path: &'a str,
    prefix: &'a str,
}

/// Where `request` is routed: behind its stage, and behind `base_path` when it came through
/// a custom domain.
fn routed_path<'a>(request: &'a LambdaRequest, base_path: Option<&'a str>) -> RoutedPath<'a> {
    let routed = behind_the_stage(request);
    match base_path {
        Some(base_path) if through_custom_domain(request) => RoutedPath {
            path: strip_path_prefix(routed.path, base_path).unwrap_or(routed.path),
            prefix: base_path,
        },
        _ => routed,
    }
}

/// `path` without `prefix` in front, when it starts with it as whole segments (`/api/x` and
/// `/api` without `/api`; not `/apix`).
fn strip_path_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    match path.strip_prefix(prefix)? {
        "" => Some("/"),
        rest if rest.starts_with('/') => Some(rest),
        _ => None,
    }
}

/// Whether the client called a custom domain: `requestContext.domainName` is not API
/// Gateway's own host (`{api-id}.execute-api.{region}.amazonaws.com`) nor a Function URL's.
fn through_custom_domain(request: &LambdaRequest) -> bool {
    let domain = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.domain_name.as_deref(),
        Some(RequestContext::ApiGatewayV2(context)) => context.domain_name.as_deref(),
        _ => None,
    };
    domain
        .is_some_and(|domain| !domain.contains(".execute-api.") && !domain.contains(".lambda-url."))
}

fn behind_the_stage(request: &LambdaRequest) -> RoutedPath<'_> {
    // v1 and ALB: the resource path (never the stage). v2: `rawPath`, which starts with
    // `/{stage}` when the stage is not `$default`.
    let raw = request.raw_http_path();
    let raw = if raw.is_empty() { "/" } else { raw };
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => {
            // `requestContext.path` is the path the client used: stage (or a custom domain's
            // base path) included.
            let prefix = context
                .path
                .as_deref()
                .and_then(|client_path| client_path.strip_suffix(raw))
                .unwrap_or("");
            RoutedPath { path: raw, prefix }
        }
        Some(RequestContext::ApiGatewayV2(context)) => {
            let stage = context.stage.as_deref().unwrap_or("$default");
            if stage == "$default" {
                return RoutedPath {
                    path: raw,
                    prefix: "",
                };
            }
            match strip_path_prefix(raw, &format!("/{stage}")) {
                Some(path) => RoutedPath {
                    path,
                    prefix: &raw[..=stage.len()],
                },
                None => RoutedPath {
                    path: raw,
                    prefix: "",
                },
            }
        }
        _ => RoutedPath {
            path: raw,
            prefix: "",
        },
    }
}

/// Characters a URI path cannot carry as they are (WHATWG's path percent-encode set). `%` is
/// left alone: paths arrive percent-encoded already, and are decoded per segment by the routes.
const PATH_UNSAFE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The invocation as a request for the router: the routed path, and in place of every
/// `lambda_http` extension the one [`TransportContext`].
fn into_router_request(
    request: LambdaRequest,
    base_path: Option<&str>,
) -> Option<axum::extract::Request> {
    let RoutedPath { path, prefix } = routed_path(&request, base_path);
    let path = utf8_percent_encode(path, PATH_UNSAFE).to_string();
    let lambda = request.lambda_context_ref();
    let transport = TransportContext {
        request_id: lambda.map(|context| context.request_id.clone()),
        trace_header: lambda.and_then(|context| context.xray_trace_id.clone()),
        deadline: lambda.and_then(|context| {
            time_left(context.deadline, SystemTime::now()).map(|left| Instant::now() + left)
        }),
        public_prefix: prefix.to_owned(),
        caller: request.request_context_ref().and_then(caller),
        correlation_id: correlation_id(&request),
    };
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let path_and_query = PathAndQuery::try_from(path_and_query).ok()?;

    let (mut parts, body) = request.into_parts();
    parts.uri = path_and_query.into();
    parts.extensions = Extensions::new();
    parts.extensions.insert(transport);
    let body = match body {
        LambdaBody::Text(text) => axum::body::Body::from(text),
        LambdaBody::Binary(bytes) => axum::body::Body::from(bytes),
        _ => axum::body::Body::empty(),
    };
    Some(axum::extract::Request::from_parts(parts, body))
}

/// The front door's id of the request, to join the access line with the front door's own
/// log: API Gateway's `requestContext.requestId`; behind ALB, the `x-amzn-trace-id` it adds,
/// which a client can send too, so it is kept only in the X-Ray header's form.
fn correlation_id(request: &LambdaRequest) -> Option<String> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV1(context) => context.request_id.clone(),
        RequestContext::ApiGatewayV2(context) => context.request_id.clone(),
        _ => request
            .headers()
            .get("x-amzn-trace-id")
            .and_then(|value| value.to_str().ok())
            .filter(|value| is_trace_header(value))
            .map(str::to_owned),
    }
}

/// An X-Ray trace header: `Key=Value` fields split by `;` (letters and digits, and `-` in the
/// values), at most 256 bytes, one of them `Root=1-{8 hex digits}-{24 hex digits}`.
fn is_trace_header(value: &str) -> bool {
    let fields_ok = value.split(';').all(|field| {
        field.split_once('=').is_some_and(|(key, value)| {
            !key.is_empty()
                && key.bytes().all(|b| b.is_ascii_alphanumeric())
                && !value.is_empty()
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
    });
    let has_root = value.split(';').any(|field| {
        let Some(root) = field.strip_prefix("Root=") else {
            return false;
        };
        let parts: Vec<&str> = root.split('-').collect();
        matches!(parts.as_slice(), ["1", time, id]
            if time.len() == 8 && id.len() == 24
                && time.bytes().chain(id.bytes()).all(|b| b.is_ascii_hexdigit()))
    });
    value.len() <= 256 && fields_ok && has_root
}

/// Who called, from what the authorizer API Gateway ran put in the event: REST APIs (v1)
/// carry a Cognito authorizer's claims, a Lambda authorizer's `principalId` and context, or
/// the IAM caller in `identity`; HTTP APIs and Function URLs (v2) a JWT authorizer's claims
/// and scopes, IAM, or a Lambda authorizer's context; a VPC Lattice service with IAM auth its
/// caller's principal. ALB runs no authorizer.
fn caller(context: &RequestContext) -> Option<Caller> {
    match context {
        RequestContext::ApiGatewayV1(context) => rest_api_caller(context),
        RequestContext::ApiGatewayV2(context) => http_api_caller(context.authorizer.as_ref()?),
        // A Lattice service with IAM auth has checked the caller's signature.
        RequestContext::VpcLattice(context) => {
            let identity = context.identity.as_ref()?;
            if identity.identity_type.as_deref() != Some("AWS_IAM") {
                return None;
            }
            Some(Caller {
                authorizer: Authorizer::Iam,
                subject: Some(identity.principal.clone()?),
                claims: BTreeMap::new(),
                scopes: Vec::new(),
            })
        }
        _ => None,
    }
}

fn rest_api_caller(context: &ApiGatewayProxyRequestContext) -> Option<Caller> {
    let fields = &context.authorizer.fields;
    if let Some(serde_json::Value::Object(claims)) = fields.get("claims") {
        return Some(Caller {
            authorizer: Authorizer::Cognito,
            subject: claims
                .get("sub")
                .and_then(|sub| sub.as_str())
                .map(str::to_owned),
            claims: claims.clone().into_iter().collect(),
            scopes: Vec::new(),
        });
    }
    if let Some(principal) = fields.get("principalId").and_then(|p| p.as_str()) {
        let context = fields
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "principalId" | "integrationLatency"))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        return Some(Caller {
            authorizer: Authorizer::Lambda,
            subject: Some(principal.to_owned()),
            claims: context,
            scopes: Vec::new(),
        });
    }
    let arn = context.identity.user_arn.as_ref()?;
    Some(Caller {
        authorizer: Authorizer::Iam,
        subject: Some(arn.clone()),
        claims: BTreeMap::new(),
        scopes: Vec::new(),
    })
}

fn http_api_caller(authorizer: &ApiGatewayRequestAuthorizer) -> Option<Caller> {
    if let Some(jwt) = &authorizer.jwt {
        return Some(Caller {
            authorizer: Authorizer::Jwt,
            subject: jwt.claims.get("sub").cloned(),
            claims: jwt
                .claims
                .iter()
                .map(|(key, value)| (key.clone(), value.clone().into()))
                .collect(),
            scopes: jwt.scopes.clone().unwrap_or_default(),
        });
    }
    if let Some(iam) = &authorizer.iam {
        return Some(Caller {
            authorizer: Authorizer::Iam,
            subject: iam.user_arn.clone(),
            claims: BTreeMap::new(),
            scopes: Vec::new(),
        });
    }
    if authorizer.fields.is_empty() {
        return None;
    }
    Some(Caller {
        authorizer: Authorizer::Lambda,
        subject: None,
        claims: authorizer
            .fields
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
        scopes: Vec::new(),
    })
}

/// 2001-09-09 in epoch milliseconds: every real invocation deadline is later.
const EPOCH_MS_FLOOR: u64 = 1_000_000_000_000;

/// Time left until a Lambda deadline (epoch milliseconds); `None` when there is none (0).
///
/// A value below [`EPOCH_MS_FLOOR`] is read as the time left itself: cargo-lambda's emulator
/// (`cargo lambda watch`, 1.9) sends its timeout there (`600000`, ten minutes), and read as a
/// date in 1970 it would answer every request with 504 at once.
fn time_left(deadline_ms: u64, now: SystemTime) -> Option<Duration> {
    if deadline_ms == 0 {
        return None;
    }
    if deadline_ms < EPOCH_MS_FLOOR {
        return Some(Duration::from_millis(deadline_ms));
    }
    let now_ms = now.duration_since(UNIX_EPOCH).ok()?.as_millis();
    let left_ms = u128::from(deadline_ms).saturating_sub(now_ms);
    Some(Duration::from_millis(
        u64::try_from(left_ms).unwrap_or(u64::MAX),
    ))
}

/// Buffers the router's response: Lambda returns one JSON document per invocation, and the
/// runtime needs a `Sync` body, which axum's streaming body is not.
async fn into_lambda_response(response: axum::response::Response) -> Response<LambdaBody> {
    match buffered(response).await {
        Ok(response) => response,
        // Our bodies are in memory and cannot fail; should one ever, the client still gets
        // the documented 500 rather than an invocation error.
        Err(_) => {
            let internal = ApiError::Internal("response body failed").into_response();
            buffered(internal).await.unwrap_or_else(|_| {
                let mut response = Response::new(LambdaBody::Empty);
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                response
            })
        }
    }
}

/// The body goes back as text when it is UTF-8, else as binary (base64 in the response
/// document, which API Gateway, ALB, Function URLs and VPC Lattice decode for the client). A
/// body with a `Content-Encoding` (compressed, `api::compression`) is binary whatever its
/// bytes: a short brotli stream can be valid UTF-8, and sent as text it would reach the
/// client as a string, not as the bytes its `Content-Encoding` names.
async fn buffered(response: axum::response::Response) -> Result<Response<LambdaBody>, axum::Error> {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await?;
    let body = if bytes.is_empty() {
        LambdaBody::Empty
    } else if parts.headers.contains_key(CONTENT_ENCODING) {
        LambdaBody::Binary(Vec::from(bytes))
    } else {
        match String::from_utf8(Vec::from(bytes)) {
            Ok(text) => LambdaBody::Text(text),
            Err(e) => LambdaBody::Binary(e.into_bytes()),
        }
    };
    Ok(Response::from_parts(parts, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(event: &str) -> (String, String) {
        let request = lambda_http::request::from_str(event).unwrap();
        let RoutedPath { path, prefix } = routed_path(&request, None);
        (path.to_owned(), prefix.to_owned())
    }

    fn v2(raw_path: &str, stage: &str) -> String {
        format!(
            r#"{{"version":"2.0","routeKey":"$default","rawPath":"{raw_path}","rawQueryString":"",
            "headers":{{}},"requestContext":{{"accountId":"1","apiId":"a","domainName":"a.example",
            "domainPrefix":"a","http":{{"method":"GET","path":"{raw_path}","protocol":"HTTP/1.1",
            "sourceIp":"127.0.0.1","userAgent":"t"}},"requestId":"r","routeKey":"$default",
            "stage":"{stage}","time":"01/Jan/2026:00:00:00 +0000","timeEpoch":0}},"isBase64Encoded":false}}"#
        )
    }

    fn v1(path: &str, context_path: Option<&str>, stage: &str) -> String {
        let context_path = context_path.map_or(String::new(), |p| format!(r#""path":"{p}","#));
        format!(
            r#"{{"resource":"/{{proxy+}}","path":"{path}","httpMethod":"GET","headers":{{}},
            "multiValueHeaders":{{}},"queryStringParameters":null,"multiValueQueryStringParameters":null,
            "pathParameters":null,"stageVariables":null,"requestContext":{{{context_path}"accountId":"1",
            "resourceId":"x","stage":"{stage}","requestId":"r","identity":{{"sourceIp":"127.0.0.1"}},
            "resourcePath":"/{{proxy+}}","httpMethod":"GET","apiId":"a"}},"body":null,"isBase64Encoded":false}}"#
        )
    }

    #[test]
    fn a_vpc_lattice_v2_event_is_read_as_one_routed_on_its_path() {
        let event = include_str!("../events/vpc-lattice-calculate.json");
        let request = lambda_http::request::from_str(event).unwrap();
        assert!(matches!(
            request.request_context_ref(),
            Some(RequestContext::VpcLattice(_))
        ));
        assert_eq!(routed(event), ("/calculate/7".into(), "".into()));
        // Lattice's default, v1, is no event the function reads: the target group must ask
        // for v2 (the template does).
        let v1 = r#"{"raw_path":"/calculate/7","method":"GET","headers":{},"query_string_parameters":{},"body":"","is_base64_encoded":false}"#;
        assert!(lambda_http::request::from_str(v1).is_err());
    }

    #[test]
    fn only_a_trace_header_in_x_rays_form_is_kept() {
        for good in [
            "Root=1-6955b915-526f6f742d616c622d63616c",
            "Self=1-6955b916-0123456789abcdef01234567;Root=1-6955b915-526f6f742d616c622d63616c",
            "Root=1-6955b915-526f6f742d616c622d63616c;Parent=53995c3f42cd8ad8;Sampled=1",
        ] {
            assert!(is_trace_header(good), "{good}");
        }
        for bad in [
            "",
            "Root=1-6955b915-526f6f742d616c622d63616",
            "Root=2-6955b915-526f6f742d616c622d63616c",
            "Root=1-6955b91g-526f6f742d616c622d63616c",
            "root=1-6955b915-526f6f742d616c622d63616c",
            "Root=1-6955b915-526f6f742d616c622d63616c;x=\"quoted\"",
            "Root=1-6955b915-526f6f742d616c622d63616c; Sampled=1",
            "Root=1-6955b915-526f6f742d616c622d63616c\nforged log line",
            &format!(
                "Root=1-6955b915-526f6f742d616c622d63616c;Pad={}",
                "a".repeat(250)
            ),
        ] {
            assert!(!is_trace_header(bad), "{bad}");
        }
    }

    #[test]
    fn the_floor_separates_a_time_left_from_a_date() {
        let now = UNIX_EPOCH + Duration::from_millis(EPOCH_MS_FLOOR + 5_000);
        assert_eq!(
            time_left(EPOCH_MS_FLOOR - 1, now),
            Some(Duration::from_millis(EPOCH_MS_FLOOR - 1))
        );
        assert_eq!(time_left(EPOCH_MS_FLOOR, now), Some(Duration::ZERO));
        assert_eq!(
            time_left(EPOCH_MS_FLOOR + 7_000, now),
            Some(Duration::from_secs(2))
        );
    }

    /// The body the router gets for an event's `body` (and `isBase64Encoded`).
    async fn routed_body(body: &str, base64: bool) -> Vec<u8> {
        let event = v2("/mixed", "$default").replace(
            r#""isBase64Encoded":false"#,
            &format!(r#""body":{body:?},"isBase64Encoded":{base64}"#),
        );
        let request = lambda_http::request::from_str(&event).unwrap();
        let routed = into_router_request(request, None).expect("a valid path");
        axum::body::to_bytes(routed.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec()
    }

    #[tokio::test]
    async fn the_request_body_reaches_the_router_as_sent() {
        assert_eq!(routed_body(r#"{"a":1}"#, false).await, br#"{"a":1}"#);
        // Base64 is decoded by the event's conversion: the router sees the bytes.
        assert_eq!(routed_body("AP8=", true).await, [0x00, 0xff]);
        assert_eq!(routed_body("", false).await, b"");
    }

    /// What the Lambda transport makes of an answer with `headers` and `body`.
    async fn sent_as(headers: &[(&'static str, &'static str)], body: &'static [u8]) -> LambdaBody {
        let mut response = axum::response::Response::new(axum::body::Body::from(body));
        for (name, value) in headers {
            response.headers_mut().insert(
                axum::http::HeaderName::from_static(name),
                axum::http::HeaderValue::from_static(value),
            );
        }
        into_lambda_response(response).await.into_body()
    }

    #[tokio::test]
    async fn an_encoded_body_is_binary_whatever_its_bytes() {
        // Valid UTF-8, but compressed bytes by their header: base64 for the client to decode.
        let encoded = sent_as(&[("content-encoding", "br")], b"{}").await;
        assert!(
            matches!(&encoded, LambdaBody::Binary(b) if b == b"{}"),
            "{encoded:?}"
        );
        let gzip = sent_as(&[("content-encoding", "gzip")], b"\x1f\x8b\x08").await;
        assert!(matches!(gzip, LambdaBody::Binary(_)), "{gzip:?}");
        // Without one: text when UTF-8, binary when not, nothing when empty.
        let text = sent_as(&[("content-type", "application/json")], b"{}").await;
        assert!(
            matches!(&text, LambdaBody::Text(t) if t == "{}"),
            "{text:?}"
        );
        let binary = sent_as(&[], b"\xff").await;
        assert!(matches!(binary, LambdaBody::Binary(_)), "{binary:?}");
        let empty = sent_as(&[("content-encoding", "gzip")], b"").await;
        assert!(matches!(empty, LambdaBody::Empty), "{empty:?}");
    }

    #[test]
    fn time_left_reads_epoch_milliseconds() {
        let now_ms = 1_796_000_000_000; // December 2026
        let now = UNIX_EPOCH + Duration::from_millis(now_ms);
        assert_eq!(
            time_left(now_ms + 2_500, now),
            Some(Duration::from_millis(2_500))
        );
        assert_eq!(time_left(now_ms - 1_000, now), Some(Duration::ZERO));
        assert_eq!(time_left(0, now), None);
        // cargo-lambda's emulator: its timeout, not a date.
        assert_eq!(time_left(600_000, now), Some(Duration::from_secs(600)));
    }

    #[test]
    fn v2_named_stage_is_taken_off_and_remembered() {
        assert_eq!(
            routed(&v2("/prod/mixed/", "prod")),
            ("/mixed/".into(), "/prod".into())
        );
        assert_eq!(routed(&v2("/prod", "prod")), ("/".into(), "/prod".into()));
        assert_eq!(
            routed(&v2("/mixed", "$default")),
            ("/mixed".into(), "".into())
        );
        // A path that only looks like the stage is left alone.
        assert_eq!(
            routed(&v2("/production/x", "prod")),
            ("/production/x".into(), "".into())
        );
    }

    #[test]
    fn v1_routes_on_the_resource_path_and_keeps_the_clients_prefix() {
        assert_eq!(
            routed(&v1("/mixed/", Some("/prod/mixed/"), "prod")),
            ("/mixed/".into(), "/prod".into())
        );
        // Custom domain with a base path mapping.
        assert_eq!(
            routed(&v1("/mixed/", Some("/api/mixed/"), "prod")),
            ("/mixed/".into(), "/api".into())
        );
        // Custom domain at the root, or no client path known: nothing in front.
        assert_eq!(
            routed(&v1("/mixed/", Some("/mixed/"), "prod")),
            ("/mixed/".into(), "".into())
        );
        assert_eq!(
            routed(&v1("/mixed/", None, "prod")),
            ("/mixed/".into(), "".into())
        );
    }
}
