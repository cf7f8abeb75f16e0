//! The HTTP contract through the router itself (what the local server serves), one line per
//! case: FastAPI's validation and error answers, and our deliberate differences.

use crate::support::{self, Answer};

use axum::body::Body;
use axum::http::{Method, Request};
use lambda_async_api::AppState;

async fn send(state: AppState, method: Method, uri: &str) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    support::send(&state, request).await
}

fn offline() -> AppState {
    support::state("http://127.0.0.1:9/unused")
}

fn int_parsing(input: &str) -> String {
    format!(
        r#"{{"detail":[{{"type":"int_parsing","loc":["path","number"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":{}}}]}}"#,
        serde_json::to_string(input).unwrap()
    )
}

#[tokio::test]
async fn calculate_parses_numbers_like_fastapi() {
    let cases: &[(&str, u16, String)] = &[
        ("/calculate/0", 200, r#"{"number":0,"result":0}"#.into()),
        ("/calculate/1", 200, r#"{"number":1,"result":6156266}"#.into()),
        ("/calculate/100", 200, r#"{"number":100,"result":616495466}"#.into()),
        ("/calculate/-5", 200, r#"{"number":-5,"result":0}"#.into()),
        ("/calculate/+0_07.00", 200, r#"{"number":7,"result":43160950}"#.into()),
        ("/calculate/%E2%80%8342%0A", 200, r#"{"number":42,"result":258925136}"#.into()),
        ("/calculate/-000", 200, r#"{"number":0,"result":0}"#.into()),
        ("/calculate/7.", 422, int_parsing("7.")),
        ("/calculate/1.5", 422, int_parsing("1.5")),
        ("/calculate/1__0", 422, int_parsing("1__0")),
        ("/calculate/%FF", 422, int_parsing("\u{FFFD}")),
        ("/calculate/%22%5C", 422, int_parsing("\"\\")),
        ("/calculate/1%2F2", 404, r#"{"detail":"Not Found"}"#.into()),
        ("/calculate/", 404, r#"{"detail":"Not Found"}"#.into()),
        (
            "/calculate/100001",
            422,
            r#"{"detail":[{"type":"less_than_equal","loc":["path","number"],"msg":"Input should be less than or equal to 100000","input":"100001","ctx":{"le":100000}}]}"#.into(),
        ),
    ];
    for (uri, status, body) in cases {
        let answer = send(offline(), Method::GET, uri).await;
        assert_eq!((answer.status, &answer.body), (*status, body), "{uri}");
        assert_eq!(answer.headers["content-type"], "application/json", "{uri}");
    }
}

#[tokio::test]
async fn huge_numbers_are_answered_at_once() {
    let negative = format!("-{}", "9".repeat(4300));
    let answer = send(offline(), Method::GET, &format!("/calculate/{negative}")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        format!(r#"{{"number":{negative},"result":0}}"#)
    );

    let positive = "9".repeat(4300);
    let answer = send(offline(), Method::GET, &format!("/calculate/{positive}")).await;
    assert_eq!(answer.status, 422);
    assert!(
        answer.body.contains(r#""type":"less_than_equal""#),
        "{}",
        answer.body
    );

    let too_long = format!("000{}", "1".repeat(4301));
    let answer = send(offline(), Method::GET, &format!("/calculate/{too_long}")).await;
    assert_eq!(answer.status, 422);
    assert_eq!(
        answer.body,
        format!(
            r#"{{"detail":[{{"type":"int_parsing_size","loc":["path","number"],"msg":"Unable to parse input string as an integer, exceeded maximum size","input":"{too_long}"}}]}}"#
        )
    );
}

#[tokio::test]
async fn max_number_is_configurable_and_echoed_in_the_error() {
    let state = AppState::new(&support::config(
        "http://127.0.0.1:9/",
        &[("MAX_NUMBER", "5")],
    ));
    assert_eq!(
        send(state.clone(), Method::GET, "/calculate/5")
            .await
            .status,
        200
    );
    let answer = send(state, Method::GET, "/calculate/%206").await;
    assert_eq!(answer.status, 422);
    assert_eq!(
        answer.body,
        r#"{"detail":[{"type":"less_than_equal","loc":["path","number"],"msg":"Input should be less than or equal to 5","input":" 6","ctx":{"le":5}}]}"#
    );
}

#[tokio::test]
async fn mixed_matches_the_seed() {
    let answer = send(offline(), Method::GET, "/mixed").await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        r#"{"sync_dep":{"dep":"sync"},"async_dep":{"dep":"async"},"sync_calc":305172}"#
    );
}

#[tokio::test]
async fn unknown_paths_methods_and_trailing_slashes() {
    let not_found = r#"{"detail":"Not Found"}"#;
    for uri in [
        "/",
        "/nope",
        "/mixed/extra",
        "//mixed",
        "/calculate",
        "/calculate/1%2F2/",
        "/MIXED",
    ] {
        let answer = send(offline(), Method::GET, uri).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (404, not_found),
            "{uri}"
        );
    }

    for method in [
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
    ] {
        for uri in ["/mixed", "/calculate/7", "/call-external-api"] {
            let answer = send(offline(), method.clone(), uri).await;
            assert_eq!(answer.status, 405, "{method} {uri}");
            assert_eq!(answer.body, r#"{"detail":"Method Not Allowed"}"#);
            assert_eq!(answer.headers["allow"], "GET,HEAD");
        }
    }

    for (uri, method, location) in [
        ("/mixed/", Method::GET, "/mixed"),
        ("/mixed//?a=1&b=%20", Method::GET, "/mixed?a=1&b=%20"),
        ("/calculate/7/", Method::POST, "/calculate/7"),
        ("/call-external-api/", Method::HEAD, "/call-external-api"),
    ] {
        let answer = send(offline(), method, uri).await;
        assert_eq!(answer.status, 307, "{uri}");
        assert_eq!(answer.headers["location"], location, "{uri}");
    }
}

#[tokio::test]
async fn head_is_get_without_a_body() {
    let answer = send(offline(), Method::HEAD, "/calculate/7").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, "");
    assert_eq!(answer.headers["content-length"], "30");
}

/// FastAPI's `/docs` and `/redoc`: HTML pages that load the UI bundles from `DOCS_ASSET_URL`
/// and the document by a relative URL; routes like any other, but not in the document.
#[tokio::test]
async fn docs_pages_are_served_like_fastapis() {
    let state = AppState::new(&support::config(
        "http://127.0.0.1:9/unused",
        &[("DOCS_ASSET_URL", "http://127.0.0.1:1234/assets")],
    ));
    for (uri, bundle) in [
        (
            "/docs",
            "http://127.0.0.1:1234/assets/swagger-ui-dist@5.35.0/swagger-ui-bundle.js",
        ),
        (
            "/redoc",
            "http://127.0.0.1:1234/assets/redoc@2.5.4/bundles/redoc.standalone.js",
        ),
    ] {
        let answer = send(state.clone(), Method::GET, uri).await;
        assert_eq!(answer.status, 200, "{uri}");
        assert_eq!(answer.headers["content-type"], "text/html; charset=utf-8");
        assert!(answer.body.contains(bundle), "{uri}: {}", answer.body);
        assert!(answer.body.contains(r#""openapi.json""#), "{uri}");

        let head = send(state.clone(), Method::HEAD, uri).await;
        assert_eq!((head.status, head.body.as_str()), (200, ""), "HEAD {uri}");
        let post = send(state.clone(), Method::POST, uri).await;
        assert_eq!(post.status, 405, "POST {uri}");
        assert_eq!(post.headers["allow"], "GET,HEAD");
        let slash = send(state.clone(), Method::GET, &format!("{uri}/")).await;
        assert_eq!(slash.status, 307, "{uri}/");
        assert_eq!(slash.headers["location"], uri);
    }

    let document = send(state, Method::GET, "/openapi.json").await;
    let document: serde_json::Value = serde_json::from_str(&document.body).unwrap();
    let paths = document["paths"].as_object().unwrap();
    assert!(!paths.contains_key("/docs") && !paths.contains_key("/redoc"));
    assert!(
        document.get("servers").is_none(),
        "no prefix, no servers: {document}"
    );
}

#[tokio::test]
async fn docs_off_makes_both_pages_unknown_paths() {
    let state = AppState::new(&support::config(
        "http://127.0.0.1:9/unused",
        &[("DOCS", "off")],
    ));
    for uri in ["/docs", "/redoc", "/docs/", "/redoc/"] {
        let answer = send(state.clone(), Method::GET, uri).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (404, r#"{"detail":"Not Found"}"#),
            "{uri}"
        );
    }
    assert_eq!(send(state, Method::GET, "/openapi.json").await.status, 200);
}
