//! Compression over real HTTP: the local server (`server::run` in this process, as `cargo
//! run` serves) gzips `/openapi.json` for a client that asks, and the bytes decode to the same
//! document it sends uncompressed; small answers, clients that ask for nothing (or only for
//! br) and `COMPRESSION=off` get the bytes as they are. The Lambda transports' side is in the
//! fixtures (`*-gzip.json`, tests/it/fixtures.rs).

use serde_json::Value;

use crate::support;
use crate::support::local_server::InProcess;
use crate::support::upstream::Upstream;

/// The answer to GET `path` sent with `accept-encoding` (none: the header left out): its
/// `Content-Encoding`, `Vary`, and its body decoded.
async fn fetch(
    server: &InProcess,
    path: &str,
    accept_encoding: Option<&str>,
) -> (Option<String>, Option<String>, Vec<u8>) {
    // reqwest is built without its gzip feature: it neither asks for nor decodes gzip itself.
    let mut request = support::http_client().get(format!("{}{path}", server.base));
    if let Some(accept) = accept_encoding {
        request = request.header("accept-encoding", accept);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (encoding, vary) = (header("content-encoding"), header("vary"));
    let bytes = response.bytes().await.unwrap();
    let body = match encoding.as_deref() {
        Some(encoding) => support::decode(encoding, &bytes),
        None => bytes.to_vec(),
    };
    (encoding, vary, body)
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("a JSON answer")
}

#[tokio::test]
async fn the_local_server_gzips_what_is_large_enough_for_clients_that_ask() {
    let upstream = Upstream::start().await;
    let server = InProcess::start(&support::config(&upstream.url("/todos/1"), &[])).await;

    let (encoding, vary, plain) = fetch(&server, "/openapi.json", None).await;
    assert_eq!((encoding, vary.as_deref()), (None, Some("accept-encoding")));
    assert!(
        plain.len() >= 500,
        "the document is above the default minimum"
    );
    for accept in ["gzip", "gzip, deflate, br", "br;q=1, gzip;q=0.5"] {
        let (encoding, vary, decoded) = fetch(&server, "/openapi.json", Some(accept)).await;
        assert_eq!(encoding.as_deref(), Some("gzip"), "{accept}");
        assert_eq!(vary.as_deref(), Some("accept-encoding"));
        assert_eq!(json(&decoded), json(&plain), "{accept}: the same document");
    }
    // br alone is not written: the document as it is.
    let (encoding, _, body) = fetch(&server, "/openapi.json", Some("br")).await;
    assert_eq!((encoding, json(&body)), (None, json(&plain)));

    // The seed's answers are below 500 bytes: never compressed, whatever the client takes.
    for path in ["/calculate/7", "/call-external-api"] {
        let (encoding, vary, body) = fetch(&server, path, Some("gzip")).await;
        assert_eq!((encoding, vary), (None, None), "{path}");
        assert!(body.len() < 500, "{path}");
    }
    server.stop().await.unwrap().unwrap();
}

#[tokio::test]
async fn the_minimum_and_the_switch_are_the_settings() {
    let upstream = Upstream::start().await;
    let url = upstream.url("/todos/1");

    let small = InProcess::start(&support::config(&url, &[("COMPRESSION_MIN_BYTES", "16")])).await;
    let (encoding, _, body) = fetch(&small, "/calculate/7", Some("gzip")).await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert_eq!(
        json(&body),
        serde_json::json!({"number": 7, "result": 43160950})
    );
    small.stop().await.unwrap().unwrap();

    let off = InProcess::start(&support::config(&url, &[("COMPRESSION", "off")])).await;
    let (encoding, vary, body) = fetch(&off, "/openapi.json", Some("gzip")).await;
    assert_eq!((encoding, vary), (None, None));
    assert_eq!(json(&body)["openapi"], "3.1.0");
    off.stop().await.unwrap().unwrap();
}
