//! The compiled binary under a Lambda Runtime API stub: the real `lambda_runtime` loop, the
//! real process, the real events. `LAMBDA_BINARY` points these tests at another build of the
//! same code (for instance the `bootstrap` that `sam build` produced).

mod support;

use std::process::Stdio;

use serde_json::Value;
use tokio::io::AsyncReadExt;

use support::runtime_api::{self, RuntimeApi};
use support::upstream::{TODO_COMPACT, Upstream};

/// Stops the function and reads everything it logged; every line must be one JSON object.
async fn stop_and_read_json_logs(function: &mut tokio::process::Child) -> (String, Vec<Value>) {
    // Every line for the invocations awaited so far was written before their responses were
    // posted, so nothing is lost by stopping now.
    function.start_kill().unwrap();
    let mut stdout = String::new();
    function
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .await
        .unwrap();
    let lines = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    (stdout, lines)
}

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

/// With Lambda's JSON log format: every stdout line is one JSON object; one access line per
/// invocation with the Powertools keys; the upstream call's own line; EMF metrics; the X-Ray
/// trace continued at the upstream; and no request header in the logs even at TRACE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_metrics_and_trace_propagation() {
    let upstream = Upstream::start().await;
    let runtime = RuntimeApi::start().await;
    let mut function = runtime.spawn_function_with_stdout(
        &support::binary(),
        &[
            ("EXTERNAL_API_URL", &upstream.url("/todos/1")),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
            ("POWERTOOLS_SERVICE_NAME", "svc-under-test"),
            ("POWERTOOLS_METRICS_NAMESPACE", "TestNamespace"),
        ],
        Stdio::piped(),
    );
    let event = support::read_event("rest-v1-call-external-api.json");
    let secret = "dummy-token-for-local-testing-only";
    assert!(
        event.contains(secret),
        "the fixture carries an Authorization header"
    );
    let first = runtime.invoke(&event);
    runtime.outcome(&first).await.response();
    let second = runtime.invoke(&support::read_event("rest-v1-calculate.json"));
    runtime.outcome(&second).await.response();

    assert_eq!(upstream.trace_ids(), vec![runtime_api::trace_id(&first)]);

    let (stdout, lines) = stop_and_read_json_logs(&mut function).await;
    assert!(
        !stdout.contains(secret),
        "a request header reached the logs"
    );

    let access: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert_eq!(access.len(), 2, "one access line per invocation: {stdout}");
    for (line, id, route, cold) in [
        (access[0], &first, "/call-external-api", true),
        (access[1], &second, "/calculate/{number}", false),
    ] {
        assert_eq!(line["level"], "INFO");
        assert!(
            line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{line}"
        );
        assert_eq!(line["service"], "svc-under-test");
        assert_eq!(line["cold_start"], cold, "{line}");
        assert_eq!(line["function_request_id"], id.as_str());
        assert_eq!(line["xray_trace_id"], runtime_api::trace_id(id));
        assert_eq!(line["route"], route);
        assert_eq!(line["status"], 200);
        assert!(line["duration_ms"].is_number(), "{line}");
    }

    let upstream_call = lines
        .iter()
        .find(|l| l["message"] == "upstream call")
        .expect("the upstream call logs itself");
    assert_eq!(upstream_call["outcome"], "ok");
    assert_eq!(upstream_call["function_request_id"], first.as_str());
    assert!(upstream_call["duration_ms"].is_number());

    let metric =
        |name: &str| -> Vec<&Value> { lines.iter().filter(|l| l.get(name).is_some()).collect() };
    assert_eq!(
        metric("ColdStart").len(),
        1,
        "ColdStart once per environment"
    );
    let latency = metric("Latency");
    assert_eq!(latency.len(), 2);
    assert_eq!(latency[1]["route"], "/calculate/{number}");
    assert_eq!(latency[1]["status_class"], "2xx");
    assert_eq!(
        latency[1]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "TestNamespace"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_errors_are_logged_and_counted_by_kind() {
    let upstream = Upstream::start().await;
    let runtime = RuntimeApi::start().await;
    let mut function = runtime.spawn_function_with_stdout(
        &support::binary(),
        &[
            ("EXTERNAL_API_URL", &upstream.url("/status/500")),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ],
        Stdio::piped(),
    );
    let id = runtime.invoke(&support::read_event("http-v2-call-external-api.json"));
    let response = runtime.outcome(&id).await.response();
    assert_eq!(response["statusCode"], 502);

    let (_, lines) = stop_and_read_json_logs(&mut function).await;
    let find = |key: &str, value: &str| lines.iter().find(|l| l[key] == value).cloned();

    let call = find("message", "upstream call").expect("upstream call line");
    assert_eq!(
        (call["level"].as_str(), call["outcome"].as_str()),
        (Some("WARN"), Some("status"))
    );
    let counted = lines
        .iter()
        .find(|l| l.get("UpstreamErrors").is_some())
        .expect("UpstreamErrors metric");
    assert_eq!(counted["kind"], "status");
    let access = find("message", "request").expect("access line");
    assert_eq!(access["status"], 502);
    let latency = lines
        .iter()
        .find(|l| l.get("Latency").is_some())
        .expect("Latency metric");
    assert_eq!(latency["status_class"], "5xx");
}

/// Payloads the function cannot serve are reported to the Runtime API as invocation errors,
/// and the same process goes on serving: not JSON, JSON of no known event shape, and an
/// event whose conversion panics inside `lambda_http` (a malformed `Host`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_payloads_are_invocation_errors_and_serving_goes_on() {
    let runtime = RuntimeApi::start().await;
    let mut function = runtime.spawn_function(&support::binary(), &[]);
    let mut bad_host: Value =
        serde_json::from_str(&support::read_event("http-v2-mixed.json")).unwrap();
    bad_host["headers"]["host"] = "bad host^name".into();
    for payload in [
        "not json at all",
        r#"{"hello":"world"}"#,
        "[]",
        &bad_host.to_string(),
    ] {
        let id = runtime.invoke(payload);
        match runtime.outcome(&id).await {
            runtime_api::Outcome::Error(error) => {
                assert!(error["errorType"].is_string(), "{error}")
            }
            runtime_api::Outcome::Response(response) => panic!("{payload}: answered {response}"),
        }
    }
    let id = runtime.invoke(&support::read_event("http-v2-mixed.json"));
    assert_eq!(runtime.outcome(&id).await.response()["statusCode"], 200);
    assert!(
        function.try_wait().unwrap().is_none(),
        "the process is still running"
    );
}
