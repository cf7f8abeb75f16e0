//! `/call-external-api` with `ITEMS_TABLE` set: item 1 read from a real DynamoDB endpoint
//! (moto's server on 127.0.0.1) alongside the external call, through the real binary with the
//! SDK configured from the environment as in Lambda.

use std::sync::Arc;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support;
use crate::support::local_server::Server;
use crate::support::moto::{CountingProxy, Moto, function_env};
use crate::support::upstream::{TODO_COMPACT, Upstream};

async fn serve(upstream: &str, endpoint: &str, table: &str, extra: &[(&str, &str)]) -> Server {
    let env = function_env(endpoint, table);
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.push(("EXTERNAL_API_URL", upstream));
    vars.extend_from_slice(extra);
    Server::start(&vars).await
}

fn with_db(db: &str) -> String {
    format!(r#"{{"external":{TODO_COMPACT},"message":"Data fetched","db":{db}}}"#)
}

/// One moto server for the scenarios that need real DynamoDB behaviour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_item_one_alongside_the_external_call() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let upstream = Upstream::start().await;
    moto.create_table("items").await;
    moto.create_table("empty").await;
    moto.put_item(
        "items",
        &[
            ("id", AttributeValue::N("1".into())),
            ("name", AttributeValue::S("widget".into())),
            ("price", AttributeValue::N("9.99".into())),
            ("tags", AttributeValue::Ss(vec!["blue".into()])),
            ("raw", AttributeValue::B(Blob::new(b"hi".to_vec()))),
            (
                "stock",
                AttributeValue::M([("eu".to_owned(), AttributeValue::N("3".into()))].into()),
            ),
        ],
    )
    .await;

    // Item present: unwrapped into plain JSON.
    let server = serve(&upstream.url("/todos/1"), &moto.endpoint(), "items", &[]).await;
    assert_eq!(
        server.get("/call-external-api").await,
        (
            200,
            with_db(
                r#"{"id":1,"name":"widget","price":9.99,"raw":"aGk=","stock":{"eu":3},"tags":["blue"]}"#
            )
        )
    );

    // No such item: null.
    let server = serve(&upstream.url("/todos/1"), &moto.endpoint(), "empty", &[]).await;
    assert_eq!(
        server.get("/call-external-api").await,
        (200, with_db("null"))
    );

    // No such table: a 502 naming only the kind of failure.
    let server = serve(&upstream.url("/todos/1"), &moto.endpoint(), "missing", &[]).await;
    assert_eq!(
        server.get("/call-external-api").await,
        (502, r#"{"detail":"database: table not found"}"#.into())
    );

    // The two waits overlap: the upstream stub holds its answer until the database
    // connection has arrived, and the proxy holds the database until the upstream request has
    // arrived. Whichever comes first is held until the other is there, so both are in flight
    // at once; done one after the other, each would wait for the other in vain (504).
    let proxy = CountingProxy::start(moto.port, upstream.partner_request_probe()).await;
    upstream.set_partner(Arc::clone(&proxy.arrived));
    let server = serve(
        &upstream.url("/gate-partner"),
        &format!("http://127.0.0.1:{}", proxy.port),
        "items",
        &[("DB_TIMEOUT_MS", "5000")],
    )
    .await;
    let (status, body) = server.get("/call-external-api").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""name":"widget""#), "{body}");
    assert!(proxy.arrived.load(std::sync::atomic::Ordering::SeqCst) >= 1);
}

#[tokio::test]
async fn a_database_that_is_down_is_a_502() {
    let upstream = Upstream::start().await;
    let endpoint = format!("http://{}", support::REFUSED);
    let server = serve(&upstream.url("/todos/1"), &endpoint, "items", &[]).await;
    assert_eq!(
        server.get("/call-external-api").await,
        (502, r#"{"detail":"database: could not connect"}"#.into())
    );
}

#[tokio::test]
async fn a_database_that_never_answers_is_a_504_at_db_timeout() {
    let upstream = Upstream::start().await;
    // Accepts connections and reads requests, never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((mut stream, _)) = silent.accept().await {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            open.push(stream);
        }
    });
    let server = serve(
        &upstream.url("/todos/1"),
        &endpoint,
        "items",
        &[("DB_TIMEOUT_MS", "300")],
    )
    .await;
    assert_eq!(
        server.get("/call-external-api").await,
        (
            504,
            r#"{"detail":"database: no answer within 300 ms"}"#.into()
        )
    );
    hold.abort();
}

#[tokio::test]
async fn throttling_is_a_503_with_retry_after() {
    let upstream = Upstream::start().await;
    // Answers every request as DynamoDB does when a table is over its throughput.
    let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate exceeded"}"#;
    let (endpoint, serve_throttled) = answer_every_request(format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-requestid: t\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ))
    .await;
    let server = serve(&upstream.url("/todos/1"), &endpoint, "items", &[]).await;
    let response = server.get_response("/call-external-api").await;
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"detail":"database: throttled, retry later"}"#
    );
    serve_throttled.abort();
}

/// The SDK reads every answer itself: a redirect is DynamoDB's answer, not a hop the HTTP
/// client takes on its own (the SDK's own client never followed one either).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_from_the_database_is_not_followed() {
    let upstream = Upstream::start().await;
    let item = r#"{"Item":{"id":{"N":"1"}}}"#;
    let (target, serve_item) = answer_every_request(format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-requestid: r\r\ncontent-length: {}\r\n\r\n{item}",
        item.len()
    ))
    .await;
    let (endpoint, serve_redirect) = answer_every_request(format!(
        "HTTP/1.1 307 Temporary Redirect\r\nlocation: {target}/\r\nx-amzn-requestid: r\r\ncontent-length: 0\r\n\r\n"
    ))
    .await;
    let server = serve(&upstream.url("/todos/1"), &endpoint, "items", &[]).await;
    let (status, body) = server.get("/call-external-api").await;
    assert_eq!(status, 502, "{body}");
    assert!(body.starts_with(r#"{"detail":"database: "#), "{body}");
    serve_item.abort();
    serve_redirect.abort();
}

/// A stub DynamoDB endpoint that answers every request on every connection with `response`
/// (a whole HTTP/1.1 response).
async fn answer_every_request(response: String) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let response: Arc<str> = response.into();
    let serve = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let response = Arc::clone(&response);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 || stream.write_all(response.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (endpoint, serve)
}

/// Under Managed Instances' concurrent invocations lambda_runtime sets no `_X_AMZN_TRACE_ID`
/// (the SDK's source of the trace header), so the request's trace is sent on the DynamoDB
/// call itself. Eight invocations, each with its own trace, run at once (the DynamoDB
/// stand-in holds each call until all eight have arrived); each call carries its own trace,
/// never the stale one this process's environment holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_each_send_their_own_trace_to_dynamodb() {
    use axum::http::{HeaderMap, header};
    use std::sync::Mutex;
    use std::time::Duration;

    use crate::support::runtime_api::{self, RuntimeApi};

    const N: usize = 8;
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let all_in = Arc::new(tokio::sync::Barrier::new(N));
    let dynamodb = {
        let (seen, all_in) = (Arc::clone(&seen), Arc::clone(&all_in));
        axum::Router::new().fallback(move |headers: HeaderMap| async move {
            let trace = headers
                .get("x-amzn-trace-id")
                .map_or("none", |v| v.to_str().unwrap_or("not text"));
            seen.lock().unwrap().push(trace.to_owned());
            // Bounded: a function that sends one call at a time still gets its answers.
            let _ = tokio::time::timeout(Duration::from_secs(5), all_in.wait()).await;
            (
                [(header::CONTENT_TYPE, "application/x-amz-json-1.0")],
                r#"{"Item":{"id":{"N":"1"}}}"#,
            )
        })
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, dynamodb).await });

    let upstream = Upstream::start().await;
    let runtime = RuntimeApi::start().await;
    let env = function_env(&endpoint, "items");
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let url = upstream.url("/todos/1");
    vars.extend([
        ("EXTERNAL_API_URL", url.as_str()),
        ("AWS_LAMBDA_MAX_CONCURRENCY", "8"),
        // What the SDK would send without the request's own header: a stale trace.
        ("AWS_LAMBDA_FUNCTION_NAME", "lambda-async-api"),
        (
            "_X_AMZN_TRACE_ID",
            "Root=1-00000000-000000000000000000000000",
        ),
    ]);
    let mut function =
        runtime.spawn_function(&support::binary(), &vars, std::process::Stdio::null());
    let event = support::read_event("http-v2-call-external-api.json");
    let ids: Vec<String> = (0..N).map(|_| runtime.invoke(&event)).collect();
    for id in &ids {
        let response = runtime.outcome(id).await.response();
        assert_eq!(response["statusCode"], 200, "{response}");
        assert_eq!(
            response["body"],
            with_db(r#"{"id":1}"#),
            "{id}: the stand-in's item"
        );
    }
    let _ = function.kill().await;
    server.abort();

    let mut sent = seen.lock().unwrap().clone();
    sent.sort();
    let mut expected: Vec<String> = ids.iter().map(|id| runtime_api::trace_id(id)).collect();
    expected.sort();
    assert_eq!(sent, expected);
}
