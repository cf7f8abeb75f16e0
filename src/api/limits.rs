//! Oversized requests are refused before any work is done. The routes take only a short
//! path and no body, so generous limits cost nothing legitimate; they bound what one request
//! can make the process hold or parse.

use axum::extract::Request;
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Longer than any valid request (a 4300-digit number is the longest meaningful path).
pub(crate) const MAX_URI_BYTES: usize = 8 * 1024;
/// All header names and values together.
pub(crate) const MAX_HEADER_BYTES: usize = 16 * 1024;
pub(crate) const MAX_HEADERS: usize = 100;
/// No route reads a body; anything larger than this is refused outright.
pub(crate) const MAX_BODY_BYTES: u64 = 64 * 1024;

pub(crate) async fn enforce(request: Request, next: Next) -> Response {
    match check(&request) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

fn check(request: &Request) -> Result<(), ApiError> {
    let uri_len = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if uri_len > MAX_URI_BYTES {
        return Err(ApiError::UriTooLong);
    }
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
        return Err(ApiError::HeadersTooLarge);
    }
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES) {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(())
}
