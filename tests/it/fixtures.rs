//! Every `events/*.json` fixture through the same Lambda service the binary runs: the event is
//! deserialized as the runtime does, converted by `lambda_http`, routed by our adapter (stage
//! handling included) and turned back into the API Gateway / ALB response document.
//!
//! The expected answers are `tests/fixtures.json`, one line per fixture: the whole HTTP
//! contract as seen from Lambda, shared with the RIE tests (`tests/it/lambda_e2e.rs`) and with
//! `sam local invoke` (`scripts/sam-local`).

use std::sync::Arc;

use lambda_async_api::lambda;
use lambda_async_api::telemetry::capture::Capture;
use lambda_async_api::{AppState, app};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent, Service, service_fn};
use serde_json::Value;
use tracing::instrument::WithSubscriber;

use crate::support;
use crate::support::upstream::{TODO_COMPACT, Upstream};

/// The answer to `event` of the function configured with `env`, and the log lines it wrote.
async fn invoke(upstream: &Upstream, env: &[(String, String)], event: &str) -> (Value, Vec<Value>) {
    let request: LambdaRequest =
        serde_json::from_str(event).expect("fixture is a known event shape");
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let config = support::config(&upstream.url("/todos/1"), &vars);
    let router = app(AppState::new(&config));
    let base_path: Option<Arc<str>> = config.base_path.as_deref().map(Arc::from);
    let service =
        service_fn(move |request| lambda::handle(router.clone(), base_path.clone(), request));
    let mut adapter = Adapter::from(service);
    let (capture, dispatch) = Capture::json_dispatch("fixtures");
    let response = adapter
        .call(LambdaEvent::new(request, Context::default()))
        .with_subscriber(dispatch)
        .await
        .expect("infallible");
    let response = serde_json::to_value(response).expect("response serializes");
    (response, capture.lines_as_json())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_gets_its_expected_answer() {
    let upstream = Upstream::start().await;
    let external = format!(r#"{{"external":{TODO_COMPACT},"message":"Data fetched"}}"#);
    for expect in support::expected_fixtures() {
        let file = expect["file"].as_str().expect("file");
        let env = support::fixture_env(&expect);
        let (response, lines) = invoke(&upstream, &env, &support::read_event(file)).await;
        support::check_fixture_answer(&expect, &response, &external);
        support::check_fixture_access_line(&expect, &lines);
    }
}

#[test]
fn the_table_and_the_directory_agree() {
    let mut files: Vec<String> = std::fs::read_dir(support::events_dir())
        .expect("events/ exists")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    let mut listed: Vec<String> = support::expected_fixtures()
        .iter()
        .map(|e| e["file"].as_str().expect("file").to_owned())
        .collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "every fixture needs a line in tests/fixtures.json, and every line a fixture"
    );
}

/// Behind a named stage, or a custom domain's base path, the docs page is `/prod/docs`
/// (`/api/docs`), finds `/prod/openapi.json` by its relative URL, and the document names
/// `/prod` as its server, so that "Try it out" calls `/prod/calculate/7` (FastAPI's
/// `root_path`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_behind_a_stage_or_a_base_path_point_at_it() {
    let upstream = Upstream::start().await;
    let base_path = [("BASE_PATH".to_owned(), "/api".to_owned())];
    for (file, prefix, env) in [
        ("http-v2-stage-mixed-trailing-slash.json", "/prod", &[][..]),
        (
            "http-v2-domain-base-path-mixed.json",
            "/api",
            &base_path[..],
        ),
        (
            "http-v2-domain-base-path-not-in-path-mixed.json",
            "/api",
            &base_path[..],
        ),
    ] {
        let mut event: Value = serde_json::from_str(&support::read_event(file)).unwrap();
        event["rawQueryString"] = "".into();
        // The page and the document as text (the event's browser headers would get them
        // gzipped).
        event["headers"]
            .as_object_mut()
            .unwrap()
            .remove("accept-encoding");
        // The page and the document at the path the event's client used.
        let in_path = !file.contains("not-in-path");
        let mut at = |path: &str| {
            let path = if in_path {
                format!("{prefix}{path}")
            } else {
                path.to_owned()
            };
            event["rawPath"] = path.clone().into();
            event["requestContext"]["http"]["path"] = path.into();
            event.to_string()
        };
        let (docs, document) = (at("/docs"), at("/openapi.json"));

        let (page, _) = invoke(&upstream, env, &docs).await;
        assert_eq!(page["statusCode"], 200, "{file}: {page}");
        assert!(
            page["body"]
                .as_str()
                .unwrap()
                .contains(r#"url: "openapi.json""#)
        );

        let (response, _) = invoke(&upstream, env, &document).await;
        assert_eq!(response["statusCode"], 200, "{file}: {response}");
        let document: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            document["servers"],
            serde_json::json!([{ "url": prefix }]),
            "{file}"
        );
    }
}

/// With the default settings, `/openapi.json` (4 KB) asked for with gzip goes back gzipped and
/// base64-encoded through the Lambda transport, and decodes to the document a client that
/// asked for nothing gets as text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_answer_goes_gzipped_and_base64_encoded() {
    let upstream = Upstream::start().await;
    let mut event: Value =
        serde_json::from_str(&support::read_event("http-v2-call-external-api-gzip.json")).unwrap();
    event["rawPath"] = "/openapi.json".into();
    event["requestContext"]["http"]["path"] = "/openapi.json".into();
    let (gzipped, _) = invoke(&upstream, &[], &event.to_string()).await;
    event["headers"]
        .as_object_mut()
        .unwrap()
        .remove("accept-encoding");
    let (plain, _) = invoke(&upstream, &[], &event.to_string()).await;

    assert_eq!(
        (
            &plain["isBase64Encoded"],
            &plain["headers"]["content-encoding"]
        ),
        (&Value::Bool(false), &Value::Null),
        "{plain}"
    );
    assert_eq!(gzipped["isBase64Encoded"], true, "{gzipped}");
    assert_eq!(gzipped["headers"]["content-encoding"], "gzip");
    let sent = gzipped["body"].as_str().expect("a body");
    let bytes = aws_smithy_types::base64::decode(sent).expect("base64");
    let decoded: Value = serde_json::from_slice(&support::decode("gzip", &bytes)).unwrap();
    let document: Value = serde_json::from_str(plain["body"].as_str().unwrap()).unwrap();
    assert_eq!(decoded, document);
    assert!(
        bytes.len() * 2 < plain["body"].as_str().unwrap().len(),
        "and smaller"
    );
}
