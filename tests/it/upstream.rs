//! `/call-external-api` against every way the external API can fail, through the router.
//! The upstream is always the stub on 127.0.0.1: these tests never leave the machine.

use axum::http::StatusCode;
use lambda_async_api::AppState;

use crate::support;
use crate::support::upstream::{TODO_COMPACT, Upstream};

async fn call_external_api(state: AppState) -> (StatusCode, String) {
    let answer = support::send(&state, support::get("/call-external-api")).await;
    (StatusCode::from_u16(answer.status).unwrap(), answer.body)
}

fn with_timeout(url: &str, ms: &str) -> AppState {
    AppState::new(&support::config(url, &[("EXTERNAL_API_TIMEOUT_MS", ms)]))
}

#[tokio::test]
async fn relays_the_upstream_document_compacted() {
    let stub = Upstream::start().await;
    let (status, body) = call_external_api(support::state(&stub.url("/todos/1"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        format!(r#"{{"external":{TODO_COMPACT},"message":"Data fetched"}}"#)
    );
}

#[tokio::test]
async fn each_upstream_fault_is_a_502_saying_what_failed() {
    let stub = Upstream::start().await;
    let cases = [
        ("/status/500", "external API returned HTTP 500"),
        ("/status/404", "external API returned HTTP 404"),
        ("/status/204", "external API response is not valid JSON"),
        ("/redirect", "external API returned HTTP 302"),
        ("/bad-json", "external API response is not valid JSON"),
        ("/big", "external API response is larger than 1 MiB"),
        ("/big-chunked", "external API response is larger than 1 MiB"),
        ("/reset", "external API connection failed"),
        ("/close", "external API connection failed"),
    ];
    for (path, detail) in cases {
        let (status, body) = call_external_api(support::state(&stub.url(path))).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{path}");
        assert_eq!(body, format!(r#"{{"detail":"{detail}"}}"#), "{path}");
    }
}

#[tokio::test]
async fn a_refused_connection_is_a_502() {
    let url = format!("http://{}/", support::REFUSED);
    let (status, body) = call_external_api(support::state(&url)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(
        body,
        r#"{"detail":"could not connect to the external API"}"#
    );
}

#[tokio::test]
async fn an_upstream_that_never_answers_is_a_504_at_the_deadline() {
    let stub = Upstream::start().await;
    let (status, body) = call_external_api(with_timeout(&stub.url("/hang"), "200")).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(
        body,
        r#"{"detail":"external API did not answer within 200 ms"}"#
    );
}

#[tokio::test]
async fn a_slow_upstream_within_the_deadline_is_fine() {
    let stub = Upstream::start().await;
    let (status, _) = call_external_api(with_timeout(&stub.url("/delay/50"), "5000")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn one_client_serves_every_request() {
    let stub = Upstream::start().await;
    let state = support::state(&stub.url("/todos/1"));
    for _ in 0..3 {
        assert_eq!(call_external_api(state.clone()).await.0, StatusCode::OK);
    }
    assert_eq!(stub.total(), 3);
}
