//! The front door's id of a request (`correlation_id`), which joins the access line with the
//! front door's own log, and the check that decides when a client-sent header may be it.
//!
//! The trace header continued at dependencies is not read here: it is the runtime's
//! (`Lambda-Runtime-Trace-Id`, in the invocation's context), set by Lambda alone. The
//! `x-amzn-trace-id` request header is another matter: ALB adds one, but a client can send one
//! too, so it reaches the logs only in the X-Ray header's form ([`is_trace_header`]), never as
//! a forged log line.

use lambda_http::request::RequestContext;
use lambda_http::{Request as LambdaRequest, RequestExt};

/// The front door's id of the request, to join the access line with the front door's own
/// log: API Gateway's `requestContext.requestId`; behind ALB, the `x-amzn-trace-id` it adds,
/// which a client can send too, so it is kept only in the X-Ray header's form.
pub(super) fn correlation_id(request: &LambdaRequest) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
