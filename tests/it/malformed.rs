//! Property tests: whatever arrives, the process answers well-formed JSON with a documented
//! status and never panics in our code. Bounded case counts keep CI fast.

use std::panic::AssertUnwindSafe;

use axum::body::Body;
use axum::http::{Method, Request};
use lambda_async_api::lambda;
use lambda_async_api::number;
use lambda_async_api::{AppState, app};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent, Service, service_fn};
use proptest::prelude::*;
use serde_json::Value;

use crate::support;

/// Every status the contract documents.
const DOCUMENTED: &[u16] = &[200, 307, 404, 405, 413, 414, 422, 431, 500, 502, 503, 504];

fn state() -> AppState {
    // Small MAX_NUMBER: random numbers stay cheap; unreachable upstream: a fast 502.
    AppState::new(&support::config(
        "http://127.0.0.1:9/",
        &[("MAX_NUMBER", "50")],
    ))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn assert_well_formed(status: u16, body: &str, head: bool) -> Result<(), TestCaseError> {
    prop_assert!(
        DOCUMENTED.contains(&status),
        "undocumented status {status}: {body}"
    );
    if status == 307 || head {
        prop_assert!(body.is_empty(), "{body}");
    } else {
        let json: Value = serde_json::from_str(body)
            .map_err(|e| TestCaseError::fail(format!("not JSON ({e}): {body:?}")))?;
        prop_assert!(json.is_object());
        if status >= 400 {
            prop_assert!(json.get("detail").is_some(), "{body}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn the_parser_never_panics_and_round_trips(input in any::<String>()) {
        if let Ok(value) = number::parse(&input) {
            prop_assert_eq!(number::parse(&value.to_string()), Ok(value));
        }
    }

    #[test]
    fn the_parser_accepts_every_pydantic_form(
        sign in prop::sample::select(vec!["", "+", "-"]),
        groups in prop::collection::vec("[0-9]{1,5}", 1..4),
        zeros in prop::option::of("0{1,3}"),
        pad in prop::sample::select(vec!["", " ", "\t", "\n ", "\u{a0}", "\u{3000}"]),
    ) {
        let digits = groups.concat();
        let fraction = zeros.map(|z| format!(".{z}")).unwrap_or_default();
        let input = format!("{pad}{sign}{}{fraction}{pad}", groups.join("_"));
        let magnitude: u128 = digits.parse().unwrap();
        let expected = if sign == "-" && magnitude != 0 { format!("-{magnitude}") } else { magnitude.to_string() };
        prop_assert_eq!(number::parse(&input).map(|v| v.to_string()), Ok(expected));
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_path_method_and_query_gets_a_documented_json_answer(
        segments in prop::collection::vec("[A-Za-z0-9._~+%-]{0,8}", 0..4),
        known in prop::sample::select(vec!["", "/mixed", "/calculate", "/call-external-api"]),
        trailing in "/{0,2}",
        method in prop::sample::select(vec!["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "FOO"]),
        query in prop::option::of("[a-z0-9=&%+]{0,16}"),
    ) {
        let mut path = known.to_owned();
        for segment in &segments {
            path.push('/');
            path.push_str(segment);
        }
        path.push_str(&trailing);
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        let uri = match &query {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let head = method == Method::HEAD;
        let Ok(request) = Request::builder().method(method).uri(&uri).body(Body::empty()) else {
            return Ok(()); // not a URI any server would hand us
        };
        let answer = runtime().block_on(support::send(&state(), request));
        assert_well_formed(answer.status, &answer.body, head)?;
    }
}

/// Where a mutation lands in an event, and what it puts there.
fn mutation() -> impl Strategy<Value = (Vec<&'static str>, Value)> {
    let field = prop::sample::select(vec![
        vec!["path"],
        vec!["rawPath"],
        vec!["rawQueryString"],
        vec!["httpMethod"],
        vec!["requestContext", "http", "method"],
        vec!["requestContext", "stage"],
        vec!["requestContext", "path"],
        vec!["headers", "host"],
        vec!["headers", "content-length"],
        vec!["queryStringParameters"],
        vec!["multiValueQueryStringParameters"],
        vec!["body"],
        vec!["isBase64Encoded"],
        vec!["cookies"],
    ]);
    let value = prop_oneof![
        "[ -~]{0,24}".prop_map(Value::from),
        "/[a-z0-9/%{}.]{0,24}".prop_map(Value::from),
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        ("[a-z]{1,6}", "[ -~]{0,12}").prop_map(|(k, v)| serde_json::json!({ k: v })),
    ];
    (field, value)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn mutated_events_never_break_the_service(
        file in prop::sample::select(vec![
            "rest-v1-calculate.json",
            "rest-v1-mixed-trailing-slash.json",
            "http-v2-calculate.json",
            "http-v2-stage-mixed-trailing-slash.json",
            "alb-calculate.json",
            "function-url-mixed.json",
        ]),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut event: Value = serde_json::from_str(&support::read_event(file)).unwrap();
        for (path, value) in mutations {
            let (last, parents) = path.split_last().unwrap();
            let mut target = &mut event;
            for key in parents {
                target = &mut target[*key];
            }
            if target.is_object() {
                target[*last] = value;
            }
        }
        // A payload of no known shape never reaches us: the runtime reports it as an
        // invocation error (see lambda_e2e.rs).
        let Ok(request) = serde_json::from_value::<LambdaRequest>(event) else {
            return Ok(());
        };
        let router = app(state());
        let mut adapter =
            Adapter::from(service_fn(move |request| lambda::handle(router.clone(), None, request)));
        // lambda_http's own conversion panics on some malformed hosts and query strings;
        // the runtime catches that and reports an invocation error (also in lambda_e2e.rs).
        let Ok(future) = std::panic::catch_unwind(AssertUnwindSafe(|| {
            adapter.call(LambdaEvent::new(request, Context::default()))
        })) else {
            return Ok(());
        };
        // From here on it is our code: it must not panic, and must answer well.
        let response = runtime().block_on(future).unwrap();
        let response = serde_json::to_value(response).unwrap();
        let status = response["statusCode"].as_u64().unwrap() as u16;
        let body = response["body"].as_str().unwrap_or_default();
        assert_well_formed(status, body, body.is_empty() && status == 200)?;
    }
}
