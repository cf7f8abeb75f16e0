//! The invocation as a plain HTTP request for the router: the routed path (percent-encoded
//! where a URI needs it), the query and the body as sent, and in place of every `lambda_http`
//! extension one [`TransportContext`], so that nothing below the transport knows it.
//!
//! The deadline is the invocation's: the runtime gives it as epoch milliseconds, read here
//! against the wall clock once and kept as a monotonic [`Instant`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::Extensions;
use axum::http::uri::PathAndQuery;
use lambda_http::{Body as LambdaBody, Request as LambdaRequest, RequestExt};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use tokio::time::Instant;

use super::caller::from_request_context;
use super::path::{RoutedPath, routed_path};
use super::trace::correlation_id;
use crate::api::TransportContext;

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
/// `lambda_http` extension the one [`TransportContext`]. `None` when the path cannot be a
/// URI's (the caller answers 404).
pub(super) fn into_router_request(
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
        caller: request.request_context_ref().and_then(from_request_context),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lambda::test_events::v2;

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
}
