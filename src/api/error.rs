//! The one error type of the request path, and the one place where failures become HTTP
//! responses. Bodies follow FastAPI's shapes (`{"detail": ...}`), so clients of the original
//! keep working.
//!
//! Each dependency fails with its own error type ([`UpstreamError`], [`DatabaseError`],
//! [`CpuError`]); `?` turns them into an [`ApiError`], and [`ApiError::status`] and its
//! `IntoResponse` decide the answer, here and nowhere else.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::dependencies::cpu::CpuError;
use crate::dependencies::database::DatabaseError;
use crate::dependencies::upstream::UpstreamError;
use crate::number::ParseIntError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("Not Found")]
    NotFound,
    /// An API route that needs a caller (a JWT authorizer is configured) was reached without
    /// one; FastAPI's `HTTPBearer` answer.
    #[error("Not authenticated")]
    NotAuthenticated,
    /// The route exists but not for this method; its `allow` header is set by the route's
    /// `MethodRouter`, which knows the methods.
    #[error("Method Not Allowed")]
    MethodNotAllowed,
    #[error("invalid path parameter: {0}")]
    Validation(#[from] ValidationError),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error(transparent)]
    Database(#[from] DatabaseError),
    /// Every CPU slot stayed taken until the request's deadline.
    #[error("too many calculations in progress, retry later")]
    Busy,
    /// The request's own deadline (`REQUEST_TIMEOUT_MS`, or Lambda's time left) passed.
    #[error("request did not complete within its deadline")]
    DeadlineExceeded,
    #[error("request URI too long")]
    UriTooLong,
    #[error("request headers too large")]
    HeadersTooLarge,
    #[error("request body too large")]
    PayloadTooLarge,
    /// A bug (a panic) or a lost worker thread; the detail stays in the logs.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl From<CpuError> for ApiError {
    fn from(e: CpuError) -> Self {
        match e {
            CpuError::Busy => Self::Busy,
            CpuError::Panicked => Self::Internal("calculation panicked"),
            CpuError::Stopped => Self::Internal("calculation stopped without a result"),
            CpuError::Dropped => Self::Internal("calculation dropped by the runtime"),
        }
    }
}

/// `Retry-After` of a 503: a calculation slot frees up within about a second.
pub(crate) const RETRY_AFTER_SECS: &str = "1";

/// What went wrong behind a 500, which the client is not told: carried in the response's
/// extensions to the access line, which logs it (as in axum's `error-handling` example), so
/// the request's one line says why it failed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InternalError(pub(crate) &'static str);

/// A `{number}` that is not acceptable, reported like pydantic's validation errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?}: {problem:?}")]
pub(crate) struct ValidationError {
    /// The decoded path segment, echoed back as FastAPI does.
    pub(crate) input: String,
    pub(crate) problem: Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    NotAnInteger(ParseIntError),
    GreaterThan(u64),
}

#[derive(Serialize)]
struct Detail<'a> {
    detail: &'a str,
}

#[derive(Serialize)]
struct ValidationBody<'a> {
    detail: [ValidationItem<'a>; 1],
}

#[derive(Serialize)]
struct ValidationItem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    loc: [&'static str; 2],
    msg: String,
    input: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ctx: Option<LessThanEqual>,
}

#[derive(Serialize)]
struct LessThanEqual {
    le: u64,
}

impl ApiError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::NotAuthenticated => StatusCode::UNAUTHORIZED,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Upstream(e) if e.is_timeout() => StatusCode::GATEWAY_TIMEOUT,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::Database(DatabaseError::Timeout(_)) => StatusCode::GATEWAY_TIMEOUT,
            Self::Database(DatabaseError::Throttled) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Database(_) => StatusCode::BAD_GATEWAY,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            Self::Validation(v) => json(&ValidationBody { detail: [v.item()] }),
            Self::Upstream(e) => json(&Detail {
                detail: &e.to_string(),
            }),
            Self::Database(e) => json(&Detail {
                detail: &e.to_string(),
            }),
            Self::Internal(_) => json(&Detail {
                detail: "Internal Server Error",
            }),
            _ => json(&Detail {
                detail: &self.to_string(),
            }),
        };
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        match self {
            Self::NotAuthenticated => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::Busy | Self::Database(DatabaseError::Throttled) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECS),
                );
            }
            Self::Internal(what) => {
                response.extensions_mut().insert(InternalError(what));
            }
            _ => {}
        }
        response
    }
}

impl ValidationError {
    fn item(&self) -> ValidationItem<'_> {
        let (kind, msg, ctx) = match self.problem {
            Problem::NotAnInteger(e) => (e.kind(), e.to_string(), None),
            Problem::GreaterThan(le) => (
                "less_than_equal",
                format!("Input should be less than or equal to {le}"),
                Some(LessThanEqual { le }),
            ),
        };
        ValidationItem {
            kind,
            loc: ["path", "number"],
            msg,
            input: &self.input,
            ctx,
        }
    }
}

/// A compact JSON body with `content-type: application/json`.
pub(crate) fn json(value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        // Our own response types always serialize; keep the process serving regardless.
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
