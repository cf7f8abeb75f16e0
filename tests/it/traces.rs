//! OpenTelemetry traces, end to end, without AWS: the real binary with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a collector stand-in ([`support::otlp`]) that
//! decodes what arrives with the `opentelemetry-proto` crate. Under the Runtime API stand-in
//! ([`support::runtime_api`]) and AWS's RIE for Lambda, as a local server otherwise.
//!
//! What is proved: each route's span tree; the parent taken from the invocation's X-Ray
//! header under Lambda and from `traceparent` locally, with the upstream getting the trace on
//! as `traceparent`; on classic Lambda every span of an invocation at the collector before
//! the runtime asks for the next event (when Lambda may freeze the environment), and at
//! `AWS_LAMBDA_LOG_LEVEL=WARN` too; nothing sent for an unsampled invocation; Managed
//! Instances' concurrent invocations each in their own trace; and a collector that is down,
//! answers 500 or never answers costing at most the export timeout, logged once.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::support;
use crate::support::local_server::Server;
use crate::support::otlp::{Behaviour, Received, Receiver};
use crate::support::rie::{self, Mode, Rie};
use crate::support::runtime_api::{self, RuntimeApi};
use crate::support::upstream::Upstream;

/// The trace and parent ids of the stub's default header ([`runtime_api::trace_id`]).
const LAMBDA_TRACE: &str = "5759e988bd862e3fe1be46a994272793";
const LAMBDA_PARENT: &str = "53995c3f42cd8ad8";

/// The server span (no parent in this process) of `spans` named `name`.
fn server<'a>(spans: &'a [Received], name: &str) -> &'a Received {
    spans
        .iter()
        .find(|s| s.span.name == name && s.attribute("faas.coldstart").is_some())
        .unwrap_or_else(|| panic!("no server span {name}: {spans:#?}"))
}

/// The names of the spans whose parent is `parent`, sorted.
fn children(spans: &[Received], parent: &Received) -> Vec<String> {
    let mut names: Vec<String> = spans
        .iter()
        .filter(|s| s.parent_id() == parent.span_id())
        .map(|s| {
            assert_eq!(s.trace_id(), parent.trace_id(), "{s:#?}");
            s.span.name.clone()
        })
        .collect();
    names.sort();
    names
}

/// The function under the Runtime API stand-in, with tracing on to `receiver`.
fn lambda_function(runtime: &RuntimeApi, env: &[(&str, &str)]) -> tokio::process::Child {
    runtime.spawn_function(&support::binary(), env, Stdio::piped())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invocations_spans_are_at_the_collector_before_the_next_event_is_asked_for() {
    let receiver = Receiver::start(Behaviour::Accept).await;
    let runtime = RuntimeApi::start().await;
    let endpoint = receiver.endpoint();
    // WARN logs only: the spans are not the logs' to filter.
    let mut function = lambda_function(
        &runtime,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
            ("OTEL_SERVICE_NAME", "traced-api"),
        ],
    );
    let id = runtime.invoke(&support::read_event("http-v2-mixed.json"));
    let answer = runtime.outcome(&id).await.response();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    // The function asks for the next event: Lambda could freeze it from here on. Kill it.
    let next = runtime.nth_next_call(2, Duration::from_secs(10)).await;
    function.kill().await.unwrap();

    let spans = receiver.spans();
    let request = server(&spans, "GET /mixed");
    assert_eq!(request.trace_id(), LAMBDA_TRACE);
    assert_eq!(request.parent_id(), LAMBDA_PARENT);
    assert_eq!(request.service, "traced-api");
    assert_eq!(request.attribute("http.route").as_deref(), Some("/mixed"));
    assert_eq!(
        request.attribute("http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        request.attribute("faas.invocation_id").as_deref(),
        Some(id.as_str())
    );
    assert_eq!(request.attribute("faas.coldstart").as_deref(), Some("true"));
    // Server kind (OTLP's SPAN_KIND_SERVER, 2).
    assert_eq!(request.span.kind, 2);
    assert_eq!(children(&spans, request), ["calculation", "sleep"]);
    for span in &spans {
        assert!(
            span.at < next,
            "{} arrived after the next GET /next",
            span.span.name
        );
        assert!(!span.failed(), "{span:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsampled_invocation_sends_nothing() {
    let receiver = Receiver::start(Behaviour::Accept).await;
    let runtime = RuntimeApi::start().await;
    let endpoint = receiver.endpoint();
    let mut function = lambda_function(&runtime, &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)]);
    let unsampled = "Root=1-5759e988-bd862e3fe1be46a994272794;Parent=53995c3f42cd8ad9;Sampled=0";
    let id = runtime.invoke_traced(&support::read_event("http-v2-mixed.json"), unsampled);
    assert_eq!(runtime.outcome(&id).await.response()["statusCode"], 200);
    runtime.nth_next_call(2, Duration::from_secs(10)).await;
    function.kill().await.unwrap();
    assert_eq!(receiver.posts(), 0, "{:#?}", receiver.spans());
}

/// Eight invocations at once (Managed Instances), each with its own X-Ray trace: every span
/// lands in its own invocation's trace, under its own server span.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_each_keep_their_own_trace() {
    const N: usize = 8;
    let receiver = Receiver::start(Behaviour::Accept).await;
    let runtime = RuntimeApi::start().await;
    let endpoint = receiver.endpoint();
    let _function = lambda_function(
        &runtime,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("AWS_LAMBDA_MAX_CONCURRENCY", "8"),
        ],
    );
    let event = support::read_event("http-v2-mixed.json");
    let ids: Vec<(String, String)> = (0..N)
        .map(|i| {
            let trace = format!("5759e988bd862e3fe1be46a9942727{i:02x}");
            let header = format!(
                "Root=1-{}-{};Parent=53995c3f42cd8a{i:02x};Sampled=1",
                &trace[..8],
                &trace[8..]
            );
            (runtime.invoke_traced(&event, &header), trace)
        })
        .collect();
    for (id, _) in &ids {
        assert_eq!(runtime.outcome(id).await.response()["statusCode"], 200);
    }
    // Sent in batches (every second) there: wait for all three spans of each.
    let spans = receiver
        .wait_until(Duration::from_secs(10), |spans| spans.len() >= 3 * N)
        .await;
    for (id, trace) in &ids {
        let request = spans
            .iter()
            .find(|s| s.attribute("faas.invocation_id").as_deref() == Some(id))
            .unwrap_or_else(|| panic!("no server span for {id}: {spans:#?}"));
        assert_eq!(&request.trace_id(), trace, "{id}");
        assert_eq!(children(&spans, request), ["calculation", "sleep"], "{id}");
    }
    assert_eq!(spans.len(), 3 * N, "{spans:#?}");
}

/// The local server: each route's span tree, the parent from `traceparent` (else from
/// `X-Amzn-Trace-Id`), and the upstream call's span handed on as `traceparent`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_routes_span_tree_continuing_the_callers_trace() {
    let receiver = Receiver::start(Behaviour::Accept).await;
    let upstream = Upstream::start().await;
    let endpoint = receiver.endpoint();
    let url = upstream.url("/todos/1");
    let server_process = Server::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("EXTERNAL_API_URL", &url),
    ])
    .await;
    let client = support::http_client();
    let w3c_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    for (path, header, value) in [
        (
            "/call-external-api",
            "traceparent",
            format!("00-{w3c_trace}-00f067aa0ba902b7-01"),
        ),
        (
            "/calculate/5",
            "x-amzn-trace-id",
            "Root=1-5759e988-bd862e3fe1be46a994272795;Parent=53995c3f42cd8ad7;Sampled=1".into(),
        ),
        ("/mixed", "x-unrelated", "1".into()),
    ] {
        let response = client
            .get(format!("{}{path}", server_process.base))
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let spans = receiver
        .wait_until(Duration::from_secs(10), |spans| spans.len() >= 9)
        .await;

    let external = server(&spans, "GET /call-external-api");
    assert_eq!(external.trace_id(), w3c_trace);
    assert_eq!(external.parent_id(), "00f067aa0ba902b7");
    assert_eq!(children(&spans, external), ["GET", "sleep"]);
    let call = spans
        .iter()
        .find(|s| s.span.name == "GET" && s.parent_id() == external.span_id())
        .unwrap();
    // Client kind (OTLP's SPAN_KIND_CLIENT, 3), HTTP client conventions, no query.
    assert_eq!(call.span.kind, 3);
    assert_eq!(call.attribute("url.full"), Some(url.clone()));
    assert_eq!(
        call.attribute("http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        upstream.traceparents(),
        [format!("00-{w3c_trace}-{}-01", call.span_id())]
    );

    let calculate = server(&spans, "GET /calculate/{number}");
    assert_eq!(calculate.trace_id(), "5759e988bd862e3fe1be46a994272795");
    assert_eq!(calculate.parent_id(), "53995c3f42cd8ad7");
    assert_eq!(
        children(&spans, calculate),
        ["calculation", "cpu slot wait"]
    );

    let mixed = server(&spans, "GET /mixed");
    assert_eq!(mixed.parent_id(), "", "no parent");
    // A trace of its own, with an X-Ray-shaped id: its first 8 hex digits are the time.
    let started = u64::from_str_radix(&mixed.trace_id()[..8], 16).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(started) < 300, "{}", mixed.trace_id());
    assert_eq!(children(&spans, mixed), ["calculation", "sleep"]);
    assert_eq!(spans.len(), 9, "{spans:#?}");
}

/// The DynamoDB `GetItem` span, against a stand-in that answers as DynamoDB does (moto is
/// not needed for what the span records): beside the upstream call, with the table and the
/// request id DynamoDB answered with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dynamodb_read_is_a_client_span_with_its_request_id() {
    let receiver = Receiver::start(Behaviour::Accept).await;
    let upstream = Upstream::start().await;
    let dynamodb = axum::Router::new().route(
        "/",
        axum::routing::post(async || {
            (
                [
                    ("content-type", "application/x-amz-json-1.0"),
                    ("x-amzn-requestid", "REQ0DYNAMODB0STANDIN"),
                ],
                r#"{"Item":{"id":{"N":"1"}}}"#,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dynamodb_url = format!("http://{}", listener.local_addr().unwrap());
    let served = tokio::spawn(async move { axum::serve(listener, dynamodb).await });
    let endpoint = receiver.endpoint();
    let url = upstream.url("/todos/1");
    let mut env: Vec<(&str, String)> = crate::support::moto::function_env(&dynamodb_url, "items");
    env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint));
    env.push(("EXTERNAL_API_URL", url));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server_process = Server::start(&env).await;
    let (status, body) = server_process.get("/call-external-api").await;
    assert_eq!(status, 200, "{body}");
    let spans = receiver
        .wait_until(Duration::from_secs(10), |spans| spans.len() >= 4)
        .await;
    served.abort();

    let request = server(&spans, "GET /call-external-api");
    assert_eq!(
        children(&spans, request),
        ["DynamoDB.GetItem", "GET", "sleep"]
    );
    let read = spans
        .iter()
        .find(|s| s.span.name == "DynamoDB.GetItem")
        .unwrap();
    assert_eq!(read.span.kind, 3, "a client span");
    assert_eq!(read.attribute("db.system").as_deref(), Some("dynamodb"));
    assert_eq!(
        read.attribute("aws.dynamodb.table_names").as_deref(),
        Some("items")
    );
    assert_eq!(
        read.attribute("aws.request_id").as_deref(),
        Some("REQ0DYNAMODB0STANDIN")
    );
    assert!(!read.failed());
}

/// A collector that never answers, answers 500, or is not there: each invocation is
/// answered as usual, the next event is asked for within the export timeout, and the failure
/// is logged once for the two invocations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_collector_costs_at_most_the_timeout_and_one_line() {
    const TIMEOUT_MS: u64 = 300;
    // Generous for a loaded machine; a collector that hangs would otherwise hold forever.
    const SLACK: Duration = Duration::from_millis(1500);
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    for behaviour in [Behaviour::Hang, Behaviour::Fail, Behaviour::Accept] {
        let receiver = Receiver::start(behaviour).await;
        // `Accept` stands for the dead collector: the endpoint is the closed port.
        let endpoint = if behaviour == Behaviour::Accept {
            dead.clone()
        } else {
            receiver.endpoint()
        };
        let runtime = RuntimeApi::start().await;
        let timeout = TIMEOUT_MS.to_string();
        let mut function = lambda_function(
            &runtime,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", &timeout),
                ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ],
        );
        for n in 0..2 {
            let id = runtime.invoke(&support::read_event("http-v2-mixed.json"));
            let answer = runtime.outcome(&id).await.response();
            assert_eq!(answer["statusCode"], 200, "{behaviour:?}: {answer}");
            let next = runtime.nth_next_call(n + 2, Duration::from_secs(10)).await;
            let answered = runtime.answer_time(&id).unwrap();
            let held = next.saturating_duration_since(answered);
            assert!(
                held < Duration::from_millis(TIMEOUT_MS) + SLACK,
                "{behaviour:?}: the next event was asked for {held:?} after the answer"
            );
        }
        function.kill().await.unwrap();
        let mut logs = String::new();
        let mut stdout = function.stdout.take().unwrap();
        stdout.read_to_string(&mut logs).await.unwrap();
        assert_eq!(
            logs.matches("span export failed").count(),
            1,
            "{behaviour:?}: {logs}"
        );
        assert_eq!(receiver.spans().len(), 0, "{behaviour:?}");
    }
}

/// Under AWS's RIE (classic mode; it sends no X-Ray header, so each invocation is a trace of
/// its own): each invocation's three spans reach the collector, each in its own trace. (The
/// RIE shows no `GET /next`: the order against it is proved under the stand-in, above.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_rie_each_invocation_is_a_trace_of_its_own() {
    let Some(path) = rie::path() else {
        return;
    };
    let receiver = Receiver::start(Behaviour::Accept).await;
    let endpoint = receiver.endpoint();
    let env = [("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())];
    let rie = Rie::start(&path, &support::binary(), Mode::Classic, &env).await;
    let event = support::read_event("http-v2-mixed.json");
    for n in 1..=2 {
        assert_eq!(rie.invoke(&event).await.response()["statusCode"], 200);
        receiver
            .wait_until(Duration::from_secs(10), |spans| spans.len() >= 3 * n)
            .await;
    }
    let spans = receiver.spans();
    assert_eq!(spans.len(), 6, "{spans:#?}");
    let requests: Vec<&Received> = spans
        .iter()
        .filter(|s| s.span.name == "GET /mixed")
        .collect();
    assert_eq!(requests.len(), 2, "{spans:#?}");
    assert_ne!(requests[0].trace_id(), requests[1].trace_id());
    for request in requests {
        assert_eq!(children(&spans, request), ["calculation", "sleep"]);
    }
}

/// The header format the stub sends by default is the one these tests name.
#[test]
fn the_stub_header_is_the_one_named_here() {
    let header = runtime_api::trace_id("req-1");
    assert!(header.contains(&format!(
        "Root=1-{}-{};Parent={LAMBDA_PARENT}",
        &LAMBDA_TRACE[..8],
        &LAMBDA_TRACE[8..]
    )));
}
