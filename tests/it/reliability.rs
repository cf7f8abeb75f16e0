//! Deadlines, cancellation, bounded CPU work and size limits, proven with counters: the CPU
//! pool's gauge of calculations running on blocking threads, and the upstream stub's.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use lambda_async_api::{AppState, TransportContext, app};
use tokio::io::AsyncWriteExt;

use crate::support;
use crate::support::upstream::Upstream;

/// Enough work to run for hours in any build: only cancellation can stop it.
const ENDLESS: &str = "/calculate/10000000";

fn state(vars: &[(&str, &str)]) -> AppState {
    let mut all = vec![("MAX_NUMBER", "1000000000")];
    all.extend_from_slice(vars);
    AppState::new(&support::config("http://127.0.0.1:9/unused", &all))
}

async fn get(
    state: &AppState,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let answer = support::send(state, request).await;
    (
        StatusCode::from_u16(answer.status).unwrap(),
        answer.headers,
        answer.body,
    )
}

fn request(uri: &str) -> Request<Body> {
    support::get(uri)
}

/// A request as the Lambda transport hands it over: with the transport's context, whose
/// deadline is `left` from now.
fn lambda_request(uri: &str, left: Duration) -> Request<Body> {
    let mut request = request(uri);
    request.extensions_mut().insert(TransportContext {
        deadline: Some(tokio::time::Instant::now() + left),
        ..TransportContext::default()
    });
    request
}

/// Polls `condition` (bounded, so a failure fails rather than hangs; not a timing assertion).
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..3000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_answers_504_and_stops_the_calculation() {
    let state = state(&[("REQUEST_TIMEOUT_MS", "200")]);
    let (status, _, body) = get(&state, request(ENDLESS)).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(
        body,
        r#"{"detail":"request did not complete within its deadline"}"#
    );
    assert_eq!(state.cpu_pool().peak(), 1, "the calculation did start");
    eventually("the blocking thread is freed", || {
        state.cpu_pool().running() == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambdas_time_left_bounds_the_request() {
    let state = state(&[]);
    let (status, _, _) = get(&state, lambda_request(ENDLESS, Duration::from_millis(600))).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    eventually("the blocking thread is freed", || {
        state.cpu_pool().running() == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_timeout_shrinks_to_the_invocations_time_left() {
    let stub = Upstream::start().await;
    let state = AppState::new(&support::config(
        &stub.url("/hang"),
        &[("EXTERNAL_API_TIMEOUT_MS", "20000")],
    ));
    let (status, _, body) = get(
        &state,
        lambda_request("/call-external-api", Duration::from_millis(600)),
    )
    .await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    let detail: serde_json::Value = serde_json::from_str(&body).unwrap();
    let detail = detail["detail"].as_str().unwrap();
    let allowed_ms: u64 = detail
        .strip_prefix("external API did not answer within ")
        .and_then(|rest| rest.strip_suffix(" ms"))
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("{detail}"));
    assert!(
        allowed_ms <= 350,
        "600 ms left less the margin, not 20000: {detail}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_stops_its_calculation() {
    let state = state(&[]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(axum::serve(listener, app(state.clone())).into_future());

    let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
    client
        .write_all(format!("GET {ENDLESS} HTTP/1.1\r\nhost: test\r\n\r\n").as_bytes())
        .await
        .unwrap();
    eventually("the calculation starts", || state.cpu_pool().running() == 1).await;
    drop(client);
    eventually("the blocking thread is freed", || {
        state.cpu_pool().running() == 0
    })
    .await;
    server.abort();
}

#[tokio::test]
async fn tiny_calculations_run_inline_and_larger_ones_on_the_pool() {
    let state = state(&[]);
    // number 1 = 10 000 iterations: about the cost of a thread hop.
    assert_eq!(get(&state, request("/calculate/1")).await.0, StatusCode::OK);
    assert_eq!(state.cpu_pool().peak(), 0);
    assert_eq!(get(&state, request("/calculate/2")).await.0, StatusCode::OK);
    assert_eq!(state.cpu_pool().peak(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_than_cpu_workers_calculations_run_at_once() {
    let state = state(&[("CPU_WORKERS", "2")]);
    let requests: Vec<_> = (0..6)
        .map(|_| {
            let state = state.clone();
            tokio::spawn(async move { get(&state, request("/calculate/300")).await })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap().0, StatusCode::OK);
    }
    assert_eq!(state.cpu_pool().peak(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_slot_ends_in_503_and_mixed_never_waits() {
    let state = state(&[("CPU_WORKERS", "1")]);
    let holder = tokio::spawn({
        let state = state.clone();
        async move { get(&state, request(ENDLESS)).await }
    });
    eventually("the only slot is taken", || state.cpu_pool().running() == 1).await;

    let (status, headers, body) = get(
        &state,
        lambda_request("/calculate/11", Duration::from_millis(450)),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(
        body,
        r#"{"detail":"too many calculations in progress, retry later"}"#
    );

    // /mixed's small blocking dependency does not take a calculation slot.
    let (status, _, _) = get(&state, request("/mixed")).await;
    assert_eq!(status, StatusCode::OK);

    holder.abort();
    eventually("the blocking thread is freed", || {
        state.cpu_pool().running() == 0
    })
    .await;
}

#[tokio::test]
async fn oversized_requests_are_refused_before_any_work() {
    let state = state(&[]);
    let long_uri = format!("/calculate/{}", "1".repeat(9000));
    assert_eq!(
        get(&state, request(&long_uri)).await.0,
        StatusCode::URI_TOO_LONG
    );

    let mut many = Request::get("/mixed");
    for i in 0..101 {
        many = many.header(format!("x-h{i}"), "v");
    }
    assert_eq!(
        get(&state, many.body(Body::empty()).unwrap()).await.0,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    let big_header = Request::get("/mixed")
        .header("x-big", "v".repeat(17 * 1024))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        get(&state, big_header).await.0,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );

    let big_body = Request::post("/mixed")
        .header("content-length", (1024 * 1024).to_string())
        .body(Body::from(vec![b'x'; 1024 * 1024]))
        .unwrap();
    let (status, _, body) = get(&state, big_body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body, r#"{"detail":"request body too large"}"#);
    assert_eq!(state.cpu_pool().peak(), 0, "nothing was computed");
}

#[tokio::test]
async fn nothing_in_a_request_changes_where_the_upstream_call_goes() {
    let stub = Upstream::start().await;
    let state = support::state(&stub.url("/todos/1"));
    let sneaky = Request::get(
        "http://evil.example/call-external-api?url=http://evil.example/&EXTERNAL_API_URL=x",
    )
    .header("host", "evil.example")
    .header("x-forwarded-host", "evil.example")
    .header("forwarded", "host=evil.example")
    .body(Body::empty())
    .unwrap();
    let (status, _, body) = get(&state, sneaky).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("delectus aut autem"), "{body}");
    assert_eq!(stub.total(), 1, "the configured upstream got the call");
}
