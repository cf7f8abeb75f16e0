//! The router's answer as the response document Lambda returns for the invocation. The one
//! decision here is the body's form in that document: text, or binary (base64) when it is
//! not UTF-8 or carries a `Content-Encoding` ([`buffered`]).

use axum::http::StatusCode;
use axum::http::header::CONTENT_ENCODING;
use axum::response::IntoResponse;
use lambda_http::{Body as LambdaBody, Response};

use crate::api::error::ApiError;

/// Buffers the router's response: Lambda returns one JSON document per invocation, and the
/// runtime needs a `Sync` body, which axum's streaming body is not.
pub(super) async fn into_lambda_response(
    response: axum::response::Response,
) -> Response<LambdaBody> {
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
}
