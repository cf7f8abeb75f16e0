//! The compiled binary under a Lambda Runtime API stub: the real `lambda_runtime` loop, the
//! real process, the real events. `LAMBDA_BINARY` points these tests at another build of the
//! same code (for instance the `bootstrap` that `sam build` produced).

mod support;

use serde_json::Value;

use support::runtime_api::RuntimeApi;
use support::upstream::{TODO_COMPACT, Upstream};

fn body(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().expect("body")).expect("JSON body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_rest_v1_and_http_api_v2_events() {
    let upstream = Upstream::start().await;
    let runtime = RuntimeApi::start().await;
    let _function = runtime.spawn_function(
        &support::binary(),
        &[("EXTERNAL_API_URL", &upstream.url("/todos/1"))],
    );

    let v1 = runtime.invoke(&support::read_event("rest-v1-calculate.json"));
    let response = runtime.outcome(&v1).await.response();
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(
        response["multiValueHeaders"]["content-type"][0],
        "application/json"
    );
    assert_eq!(
        body(&response),
        serde_json::json!({"number": 7, "result": 43160950})
    );

    let v2 = runtime.invoke(&support::read_event("http-v2-call-external-api.json"));
    let response = runtime.outcome(&v2).await.response();
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(response["headers"]["content-type"], "application/json");
    assert_eq!(
        response["body"].as_str().unwrap(),
        format!(r#"{{"external":{TODO_COMPACT},"message":"Data fetched"}}"#)
    );

    let trailing = runtime.invoke(&support::read_event("rest-v1-mixed-trailing-slash.json"));
    let response = runtime.outcome(&trailing).await.response();
    assert_eq!(response["statusCode"], 307, "{response}");
    assert_eq!(
        response["multiValueHeaders"]["location"][0],
        "/prod/mixed?verbose=1"
    );
}

/// Under Lambda Managed Instances one environment takes `AWS_LAMBDA_MAX_CONCURRENCY`
/// invocations at once. The upstream stub holds every request until 16 are in flight; only a
/// function that really overlaps 16 invocations gets them all through (a sequential one would
/// leave the stub at a peak of 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_invocations_in_flight_at_once() {
    const N: usize = 16;
    let upstream = Upstream::start().await;
    upstream.open_gate_at(N);
    let runtime = RuntimeApi::start().await;
    let _function = runtime.spawn_function(
        &support::binary(),
        &[
            ("EXTERNAL_API_URL", &upstream.url("/gate")),
            ("AWS_LAMBDA_MAX_CONCURRENCY", "16"),
        ],
    );
    let event = support::read_event("http-v2-call-external-api.json");
    let ids: Vec<String> = (0..N).map(|_| runtime.invoke(&event)).collect();
    for id in &ids {
        let response = runtime.outcome(id).await.response();
        assert_eq!(
            response["statusCode"],
            200,
            "{response} peak {}",
            upstream.peak_in_flight()
        );
    }
    assert_eq!(upstream.peak_in_flight(), N);
}
