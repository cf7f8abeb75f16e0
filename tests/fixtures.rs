//! Every `events/*.json` fixture through the same Lambda service the binary runs: the event is
//! deserialized as the runtime does, converted by `lambda_http`, routed by our adapter (stage
//! handling included) and turned back into the API Gateway / ALB response document.
//!
//! [`EXPECTED`] is the whole HTTP contract as seen from Lambda, one line per fixture.

mod support;

use lambda_async_api::app;
use lambda_async_api::lambda::LambdaService;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent, Service};
use serde_json::Value;

use support::upstream::{TODO_COMPACT, Upstream};

const MIXED: &str = r#"{"sync_dep":{"dep":"sync"},"async_dep":{"dep":"async"},"sync_calc":305172}"#;
const NOT_FOUND: &str = r#"{"detail":"Not Found"}"#;
const EXTERNAL: &str = "EXTERNAL";

struct Expect {
    file: &'static str,
    status: u16,
    /// The exact body; `EXTERNAL` stands for the seed's external-API answer; `""` for none.
    body: &'static str,
    /// A header that must be present with this value.
    header: Option<(&'static str, &'static str)>,
}

const EXPECTED: &[Expect] = &[
    Expect {
        file: "rest-v1-call-external-api.json",
        status: 200,
        body: EXTERNAL,
        header: None,
    },
    Expect {
        file: "rest-v1-calculate.json",
        status: 200,
        body: r#"{"number":7,"result":43160950}"#,
        header: None,
    },
    Expect {
        file: "rest-v1-mixed.json",
        status: 200,
        body: MIXED,
        header: None,
    },
    Expect {
        file: "rest-v1-unknown-path.json",
        status: 404,
        body: NOT_FOUND,
        header: None,
    },
    Expect {
        file: "rest-v1-mixed-trailing-slash.json",
        status: 307,
        body: "",
        header: Some(("location", "/prod/mixed?verbose=1")),
    },
    Expect {
        file: "http-v2-call-external-api.json",
        status: 200,
        body: EXTERNAL,
        header: None,
    },
    Expect {
        file: "http-v2-calculate.json",
        status: 200,
        body: r#"{"number":42,"result":258925136}"#,
        header: None,
    },
    Expect {
        file: "http-v2-mixed.json",
        status: 200,
        body: MIXED,
        header: None,
    },
    Expect {
        file: "http-v2-calculate-bad-number.json",
        status: 422,
        body: r#"{"detail":[{"type":"int_parsing","loc":["path","number"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}]}"#,
        header: None,
    },
    Expect {
        file: "http-v2-calculate-too-big.json",
        status: 422,
        body: r#"{"detail":[{"type":"less_than_equal","loc":["path","number"],"msg":"Input should be less than or equal to 100000","input":"100001","ctx":{"le":100000}}]}"#,
        header: None,
    },
    Expect {
        file: "http-v2-calculate-encoded.json",
        status: 200,
        body: r#"{"number":7,"result":43160950}"#,
        header: None,
    },
    Expect {
        file: "http-v2-mixed-wrong-method.json",
        status: 405,
        body: r#"{"detail":"Method Not Allowed"}"#,
        header: Some(("allow", "GET,HEAD")),
    },
    Expect {
        file: "http-v2-stage-mixed-trailing-slash.json",
        status: 307,
        body: "",
        header: Some(("location", "/prod/mixed?a=1&b=2")),
    },
    Expect {
        file: "alb-calculate.json",
        status: 200,
        body: r#"{"number":1,"result":6156266}"#,
        header: None,
    },
    Expect {
        file: "function-url-mixed.json",
        status: 200,
        body: MIXED,
        header: None,
    },
];

/// Status, one header and the body of a serialized API Gateway (v1/v2), ALB or Function URL
/// response, whichever it is.
fn read_response(response: &Value, header: &str) -> (u16, Option<String>, String) {
    let status = response["statusCode"].as_u64().expect("statusCode") as u16;
    let single = response["headers"][header].as_str().map(str::to_owned);
    let multi = response["multiValueHeaders"][header][0]
        .as_str()
        .map(str::to_owned);
    let body = response["body"].as_str().unwrap_or_default().to_owned();
    assert_ne!(
        response["isBase64Encoded"],
        Value::Bool(true),
        "JSON is sent as text"
    );
    (status, single.or(multi), body)
}

async fn invoke(upstream: &Upstream, event: &str) -> Value {
    let request: LambdaRequest =
        serde_json::from_str(event).expect("fixture is a known event shape");
    let service = LambdaService::new(app(support::state(&upstream.url("/todos/1"))));
    let mut adapter = Adapter::from(service);
    let response = adapter
        .call(LambdaEvent::new(request, Context::default()))
        .await
        .expect("infallible");
    serde_json::to_value(response).expect("response serializes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_gets_its_expected_answer() {
    let upstream = Upstream::start().await;
    let external = format!(r#"{{"external":{TODO_COMPACT},"message":"Data fetched"}}"#);
    for expect in EXPECTED {
        let response = invoke(&upstream, &support::read_event(expect.file)).await;
        let header_name = expect.header.map_or("content-type", |(name, _)| name);
        let (status, header, body) = read_response(&response, header_name);
        let context = format!("{}: {response}", expect.file);
        assert_eq!(status, expect.status, "{context}");
        let want = if expect.body == EXTERNAL {
            external.as_str()
        } else {
            expect.body
        };
        assert_eq!(body, want, "{context}");
        match expect.header {
            Some((_, value)) => assert_eq!(header.as_deref(), Some(value), "{context}"),
            None if !want.is_empty() => {
                assert_eq!(header.as_deref(), Some("application/json"), "{context}")
            }
            None => {}
        }
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
    let mut listed: Vec<String> = EXPECTED.iter().map(|e| e.file.to_owned()).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "every fixture needs a line in EXPECTED, and every line a fixture"
    );
}
