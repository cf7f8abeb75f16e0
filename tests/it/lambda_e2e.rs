//! The compiled binary as Lambda runs it: under AWS's Runtime Interface Emulator (the RIE,
//! [`support::rie`]), the same emulator `sam local` uses, with the real events. Our own Runtime
//! API stub ([`support::runtime_api`]) stays only where the RIE cannot express the test, said at
//! each. `LAMBDA_BINARY` points these tests at another build of the same code (CI: the
//! `bootstrap` that `sam build` produced). Without `LAMBDA_RIE` the RIE tests skip, with one
//! line, unless `REQUIRE_TEST_TOOLS` is set.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncReadExt;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::support;
use crate::support::moto::{Moto, function_env};
use crate::support::rie::{self, Mode, Rie};
use crate::support::runtime_api::{self, RuntimeApi};
use crate::support::upstream::{TODO_COMPACT, Upstream};

/// The RIE with the binary under test, or `None` when the test is skipped.
async fn start(mode: Mode, env: &[(&str, &str)]) -> Option<Rie> {
    let rie = rie::path()?;
    Some(Rie::start(&rie, &support::binary(), mode, env).await)
}

fn seed_answer() -> String {
    format!(r#"{{"external":{TODO_COMPACT},"message":"Data fetched"}}"#)
}

/// Every `events/*.json` fixture, one invocation at a time, answered as `tests/fixtures.json`
/// says: the same table the in-process tests and `sam local invoke` check. One function per
/// set of settings (`env`) the fixtures ask for, with Lambda's JSON log format, so that each
/// invocation's access line (its `caller`) is checked too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_under_the_rie() {
    let upstream = Upstream::start().await;
    let url = upstream.url("/todos/1");
    let fixtures = support::expected_fixtures();
    let mut settings: Vec<Vec<(String, String)>> =
        fixtures.iter().map(support::fixture_env).collect();
    settings.sort();
    settings.dedup();
    for env in &settings {
        let mut vars = vec![
            ("EXTERNAL_API_URL", url.as_str()),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ];
        vars.extend(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let Some(rie) = start(Mode::Classic, &vars).await else {
            return;
        };
        for expect in fixtures.iter().filter(|f| support::fixture_env(f) == *env) {
            let file = expect["file"].as_str().expect("file");
            let seen = rie.function_json_lines().len();
            let response = rie.invoke(&support::read_event(file)).await.response();
            support::check_fixture_answer(expect, &response, &seed_answer());
            support::check_fixture_caller(expect, &rie.access_lines_after(seen).await);
        }
    }
    assert!(!fixtures.is_empty());
}

/// Under Lambda Managed Instances one environment takes `AWS_LAMBDA_MAX_CONCURRENCY`
/// invocations at once (the RIE's Managed Instances mode). The upstream stub holds every
/// request until 16 are in flight; only a function that really overlaps 16 invocations gets
/// them all through (a sequential one would leave the stub at a peak of 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_invocations_in_flight_at_once() {
    const N: usize = 16;
    let upstream = Upstream::start().await;
    upstream.open_gate_at(N);
    let url = upstream.url("/gate");
    let mode = Mode::ManagedInstances { max_concurrency: N };
    let Some(rie) = start(mode, &[("EXTERNAL_API_URL", &url)]).await else {
        return;
    };
    let rie = Arc::new(rie);
    let event: Arc<str> = support::read_event("http-v2-call-external-api.json").into();
    let mut invocations = tokio::task::JoinSet::new();
    for _ in 0..N {
        let (rie, event) = (Arc::clone(&rie), Arc::clone(&event));
        invocations.spawn(async move { rie.invoke(&event).await });
    }
    while let Some(invocation) = invocations.join_next().await {
        let response = invocation.expect("invocation task").response();
        assert_eq!(
            response["statusCode"],
            200,
            "{response} peak {}",
            upstream.peak_in_flight()
        );
    }
    assert_eq!(upstream.peak_in_flight(), N);
}

/// The RIE enforces `AWS_LAMBDA_FUNCTION_TIMEOUT` by killing the runtime. The function gets
/// there first: it answers its own 504 before the invocation deadline, and the same process
/// serves the next invocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_answers_504_before_lambdas_timeout() {
    let upstream = Upstream::start().await;
    let url = upstream.url("/hang");
    let env = [
        ("EXTERNAL_API_URL", url.as_str()),
        ("AWS_LAMBDA_FUNCTION_TIMEOUT", "2"),
    ];
    let Some(rie) = start(Mode::Classic, &env).await else {
        return;
    };
    let event = support::read_event("http-v2-call-external-api.json");
    let response = rie.invoke(&event).await.response();
    assert_eq!(response["statusCode"], 504, "{response}");
    let pid = rie.function_pid().await;
    let response = rie
        .invoke(&support::read_event("http-v2-mixed.json"))
        .await
        .response();
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(rie.function_pid().await, pid, "not killed for a timeout");
}

/// A bad setting stops the start: classic Lambda reports the init failure on the invocation
/// (and tries again on the next), Managed Instances fails the environment's start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_setting_is_an_init_failure() {
    let bad = [("REQUEST_TIMEOUT_MS", "soon")];
    let Some(rie) = start(Mode::Classic, &bad).await else {
        return;
    };
    for _ in 0..2 {
        let invocation = rie.invoke(&support::read_event("http-v2-mixed.json")).await;
        assert_eq!(invocation.status, 502, "{:?}", invocation.body);
    }
    // Each invocation started the function again, and each start said why it stopped.
    let output = rie.output();
    assert_eq!(
        output
            .matches("configuration error: invalid REQUEST_TIMEOUT_MS")
            .count(),
        2,
        "{output}"
    );

    let mode = Mode::ManagedInstances { max_concurrency: 4 };
    let mut managed = start(mode, &bad).await.expect("the RIE is there");
    let status = managed.exit_status(Duration::from_secs(20)).await;
    assert!(
        status.is_some_and(|s| !s.success()),
        "{status:?}: {}",
        managed.output()
    );
}

/// A runtime killed mid-invocation (out of memory, say) fails that invocation with
/// `Runtime.ExitError`, and the next one is served by a fresh process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_runtime_is_replaced_for_the_next_invocation() {
    let upstream = Upstream::start().await;
    let url = upstream.url("/hang");
    let Some(rie) = start(Mode::Classic, &[("EXTERNAL_API_URL", &url)]).await else {
        return;
    };
    let event = support::read_event("http-v2-call-external-api.json");
    let rie = Arc::new(rie);
    let pending = tokio::spawn({
        let rie = Arc::clone(&rie);
        async move { rie.invoke(&event).await }
    });
    // The invocation is in flight once its upstream request has arrived (a latch).
    for _ in 0..2000 {
        if upstream.total() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(upstream.total(), 1, "the invocation reached the upstream");
    let killed = rie.function_pid().await;
    let status = std::process::Command::new("kill")
        .args(["-9", &killed.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let failed = pending.await.expect("invocation task");
    assert_eq!(
        failed.error_type.as_deref(),
        Some("Runtime.ExitError"),
        "{:?}",
        failed.body
    );

    let response = rie
        .invoke(&support::read_event("http-v2-mixed.json"))
        .await
        .response();
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_ne!(rie.function_pid().await, killed, "a fresh process");
}

/// Under classic Lambda the async work has one thread (a current-thread runtime). The DynamoDB
/// client is built on the blocking pool, whose I/O that one thread drives meanwhile: item 1
/// read from moto's DynamoDB, under the RIE, with the SDK configured from the environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_read_on_classic_lambdas_one_thread() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let upstream = Upstream::start().await;
    moto.create_table("items").await;
    moto.put_item(
        "items",
        &[
            ("id", AttributeValue::N("1".into())),
            ("name", AttributeValue::S("widget".into())),
        ],
    )
    .await;
    let url = upstream.url("/todos/1");
    let env = function_env(&moto.endpoint(), "items");
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.push(("EXTERNAL_API_URL", &url));
    let Some(rie) = start(Mode::Classic, &vars).await else {
        return;
    };
    let event = support::read_event("http-v2-call-external-api.json");
    for _ in 0..2 {
        let response = rie.invoke(&event).await.response();
        assert_eq!(response["statusCode"], 200, "{response}");
        assert_eq!(
            response["body"],
            format!(
                r#"{{"external":{TODO_COMPACT},"message":"Data fetched","db":{{"id":1,"name":"widget"}}}}"#
            ),
        );
    }
}

/// Payloads the function cannot serve are invocation errors, and the same process goes on
/// serving: not JSON, JSON of no known event shape, and an event whose conversion panics
/// inside `lambda_http` (a malformed `Host`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_payloads_are_invocation_errors_and_serving_goes_on() {
    let Some(rie) = start(Mode::Classic, &[]).await else {
        return;
    };
    let mut bad_host: Value =
        serde_json::from_str(&support::read_event("http-v2-mixed.json")).unwrap();
    bad_host["headers"]["host"] = "bad host^name".into();
    let mut pid = None;
    for payload in [
        "not json at all",
        r#"{"hello":"world"}"#,
        "[]",
        &bad_host.to_string(),
    ] {
        let invocation = rie.invoke(payload).await;
        assert!(
            invocation.error_type.is_some(),
            "{payload}: answered {}",
            invocation.body
        );
        let now = rie.function_pid().await;
        assert_eq!(
            *pid.get_or_insert(now),
            now,
            "{payload}: the process was replaced"
        );
    }
    let response = rie
        .invoke(&support::read_event("http-v2-mixed.json"))
        .await
        .response();
    assert_eq!(response["statusCode"], 200);
    assert_eq!(
        Some(rie.function_pid().await),
        pid,
        "the same process serves on"
    );
}

/// With Lambda's JSON log format an upstream failure is logged with its kind and counted in
/// the EMF metric, next to the access line and the latency metric.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_errors_are_logged_and_counted_by_kind() {
    let upstream = Upstream::start().await;
    let url = upstream.url("/status/500");
    let env = [
        ("EXTERNAL_API_URL", url.as_str()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
    ];
    let Some(rie) = start(Mode::Classic, &env).await else {
        return;
    };
    let event = support::read_event("http-v2-call-external-api.json");
    let response = rie.invoke(&event).await.response();
    assert_eq!(response["statusCode"], 502);

    // Every line for the invocation was written before its response was posted.
    let lines = rie.function_json_lines();
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

// On our Runtime API stub: the RIE sends no X-Ray trace header and tells the caller no request
// id, and this test checks that both reach the logs and the upstream.
/// With Lambda's JSON log format: every stdout line is one JSON object; one access line per
/// invocation with the Powertools keys; the upstream call's own line; EMF metrics; the X-Ray
/// trace continued at the upstream; DEBUG lines when asked; and at TRACE, the dependencies'
/// and the runtime's caps still hold, so no request header reaches the logs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_metrics_and_trace_propagation() {
    let upstream = Upstream::start().await;
    let runtime = RuntimeApi::start().await;
    let mut function = runtime.spawn_function(
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

    // What TRACE asks for is written (our DEBUG line from building the client, inside the
    // first request), but never below a cap: the HTTP stacks at INFO, the runtime at DEBUG.
    let built = lines
        .iter()
        .find(|l| l["message"] == "building the external API client")
        .unwrap_or_else(|| panic!("a DEBUG line of ours at TRACE: {stdout}"));
    assert_eq!(built["level"], "DEBUG");
    assert_eq!(built["function_request_id"], first.as_str());
    for line in &lines {
        let logger = line["logger"].as_str().unwrap_or("lambda_async_api");
        let level = line["level"].as_str().unwrap_or_default();
        let capped_at_info = ["hyper", "reqwest", "rustls", "h2", "tower", "axum"]
            .iter()
            .any(|target| logger.starts_with(target));
        let capped_at_debug = ["lambda_runtime", "lambda_http"]
            .iter()
            .any(|target| logger.starts_with(target));
        let below_its_cap = (capped_at_info && matches!(level, "DEBUG" | "TRACE"))
            || (capped_at_debug && level == "TRACE");
        assert!(!below_its_cap, "a line below its cap: {line}");
    }

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
