//! Stand-ins shared by the integration tests: the external API ([`upstream`]), AWS's Runtime
//! Interface Emulator ([`rie`]) and our own Runtime API stub ([`runtime_api`]), DynamoDB
//! ([`moto`]), an OpenTelemetry collector ([`otlp`]), the binary as a local server
//! ([`local_server`]), and helpers to build the app against them.

pub mod local_server;
pub mod moto;
pub mod otlp;
pub mod rie;
pub mod runtime_api;
pub mod upstream;

use std::io::Write;
use std::path::PathBuf;

use axum::body::Body;
use axum::http::Request;
pub use lambda_async_api::testing::Answer;
use lambda_async_api::{AppState, Config, app};

/// The app's configuration with the external API at `url`, `vars`, and everything else
/// default.
pub fn config(url: &str, vars: &[(&str, &str)]) -> Config {
    let mut pairs = vars.to_vec();
    pairs.push(("EXTERNAL_API_URL", url));
    Config::from_pairs(&pairs).expect("test configuration is valid")
}

pub fn state(url: &str) -> AppState {
    AppState::new(&config(url, &[]))
}

/// Sends `request` through the app built on `state` and collects the whole answer.
pub async fn send(state: &AppState, request: Request<Body>) -> Answer {
    lambda_async_api::testing::send(&app(state.clone()), request).await
}

/// `GET uri` with no body.
/// A client for the tests' own HTTP requests, never through a proxy. reqwest is built without
/// a crypto provider of its own (Cargo.toml), so ring's is installed first, as the function
/// itself does.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("an HTTP client")
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("a valid URI")
}

/// The binary under test: `LAMBDA_BINARY` (e.g. the `bootstrap` that `sam build` made) or the
/// one Cargo built for this test run.
pub fn binary() -> PathBuf {
    std::env::var_os("LAMBDA_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_lambda-async-api")))
}

/// The repository's `events/` directory.
pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events")
}

pub fn read_event(name: &str) -> String {
    let path = events_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The expected answers of every `events/*.json` fixture (`tests/fixtures.json`), shared by
/// every path that runs them, in-process and under the RIE, and by `scripts/sam-local`.
pub fn expected_fixtures() -> Vec<serde_json::Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: serde_json::Value = serde_json::from_str(&text).expect("tests/fixtures.json is JSON");
    doc["fixtures"].as_array().expect("a fixtures list").clone()
}

/// Checks one serialized API Gateway (v1/v2), ALB or Function URL response against its line
/// in `tests/fixtures.json`; `external` is what `"EXTERNAL"` stands for.
pub fn check_fixture_answer(
    expect: &serde_json::Value,
    response: &serde_json::Value,
    external: &str,
) {
    use serde_json::Value;
    let file = expect["file"].as_str().expect("file");
    let context = format!("{file}: {response}");
    let header_of = |name: &str| {
        let name = name.to_ascii_lowercase();
        let single = response["headers"].as_object().and_then(|headers| {
            headers
                .iter()
                .find(|(key, _)| key.to_ascii_lowercase() == name)
                .and_then(|(_, value)| value.as_str())
        });
        let multi = response["multiValueHeaders"]
            .as_object()
            .and_then(|headers| {
                headers
                    .iter()
                    .find(|(key, _)| key.to_ascii_lowercase() == name)
                    .and_then(|(_, values)| values[0].as_str())
            });
        single.or(multi).map(str::to_owned)
    };
    assert_eq!(response["statusCode"], expect["status"], "{context}");
    let sent = response["body"].as_str().unwrap_or_default();
    // `content_encoding`: the body is compressed, so it must go as binary (base64), which API
    // Gateway, ALB and Function URLs decode for the client; without it, text goes as text.
    let encoding = expect["content_encoding"].as_str();
    assert_eq!(
        header_of("content-encoding").as_deref(),
        encoding,
        "content-encoding: {context}"
    );
    let body = match encoding {
        Some(encoding) => {
            assert_eq!(
                response["isBase64Encoded"],
                Value::Bool(true),
                "a compressed body is sent as binary: {context}"
            );
            let bytes = aws_smithy_types::base64::decode(sent).expect("base64");
            String::from_utf8(decode(encoding, &bytes)).expect("UTF-8 once decoded")
        }
        None => {
            assert_ne!(
                response["isBase64Encoded"],
                Value::Bool(true),
                "text is sent as text: {context}"
            );
            sent.to_owned()
        }
    };
    let want = match expect["body"].as_str().expect("body") {
        "EXTERNAL" => external,
        body => body,
    };
    assert_eq!(body, want, "{context}");
    let headers = expect["headers"].as_object().cloned().unwrap_or_default();
    for (name, value) in &headers {
        assert_eq!(
            header_of(name).as_deref(),
            value.as_str(),
            "{name}: {context}"
        );
    }
    if !want.is_empty() && !headers.contains_key("content-type") {
        assert_eq!(
            header_of("content-type").as_deref(),
            Some("application/json"),
            "{context}"
        );
    }
    for name in expect["absent_headers"].as_array().into_iter().flatten() {
        let name = name.as_str().expect("a header name");
        assert_eq!(header_of(name), None, "{name} must be absent: {context}");
    }
}

/// `bytes` decoded from the `Content-Encoding` the function names: gzip, the one it writes.
pub fn decode(encoding: &str, bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    assert_eq!(encoding, "gzip", "an encoding the function does not write");
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut decoded)
        .expect("a whole gzip stream");
    decoded
}

/// The settings a fixture's function runs with (its `env`), beyond the upstream's URL.
pub fn fixture_env(expect: &serde_json::Value) -> Vec<(String, String)> {
    expect["env"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, value)| {
            (
                name.clone(),
                value.as_str().expect("env values are strings").to_owned(),
            )
        })
        .collect()
}

/// Checks the access line of a fixture's request (among `lines`, the function's JSON log
/// lines for it) against the fixture's `caller`: that subject, or no `caller` key at all; and,
/// where the fixture names one, its `correlation_id` (`null`: none).
pub fn check_fixture_access_line(expect: &serde_json::Value, lines: &[serde_json::Value]) {
    let file = expect["file"].as_str().expect("file");
    let access: Vec<_> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert_eq!(access.len(), 1, "{file}: one access line in {lines:?}");
    assert_eq!(
        access[0].get("caller"),
        expect.get("caller"),
        "{file}: the access line's caller"
    );
    if let Some(correlation_id) = expect.get("correlation_id") {
        assert_eq!(
            access[0]
                .get("correlation_id")
                .unwrap_or(&serde_json::Value::Null),
            correlation_id,
            "{file}: the access line's correlation_id"
        );
    }
}

/// Where nothing listens, for "the other side is down": the discard port on loopback, which
/// no test binds (a port from [`free_port`] may be taken by a test running alongside).
pub const REFUSED: &str = "127.0.0.1:9";

/// A port on 127.0.0.1 that was free a moment ago, for a process that binds it itself.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Waits until something accepts connections on 127.0.0.1:`port` (true) or `child` exits
/// first (false: whether that is a failure is the caller's to judge); panics if neither
/// happens within 10 s.
pub async fn wait_for_port(port: u16, child: &mut tokio::process::Child) -> bool {
    for _ in 0..1000 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return true;
        }
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("nothing listens on port {port} after 10 s");
}

/// Set (to anything) where a missing tool must fail the test instead of skipping it: CI.
pub const REQUIRE_VAR: &str = "REQUIRE_TEST_TOOLS";

/// A test that needs a tool which is not there: one line on stderr (once per reason) and the
/// test passes without running, unless `REQUIRE_TEST_TOOLS` is set (CI), where it fails.
pub fn skip_or_fail(reason: &str) {
    if std::env::var_os(REQUIRE_VAR).is_some() {
        panic!("{reason}, and {REQUIRE_VAR} is set");
    }
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap();
    if !said.iter().any(|r| r == reason) {
        said.push(reason.to_owned());
        // Straight to the process's stderr: libtest captures `eprintln!` of passing tests.
        let _ = writeln!(std::io::stderr(), "skipped: {reason}");
    }
}
