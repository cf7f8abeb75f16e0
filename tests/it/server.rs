//! The local server (`cargo run`) over real TCP: the same router as under Lambda. Served in
//! this process by `server::run` on port 0; the real binary once, started the way a developer
//! starts it and stopped the way a process manager stops it.

use std::time::Duration;

use tokio::process::Command;

use crate::support;
use crate::support::local_server::{InProcess, Server, command};
use crate::support::upstream::Upstream;

#[tokio::test]
async fn serves_the_routes_until_asked_to_stop_and_answers_requests_in_flight() {
    let upstream = Upstream::start().await;
    // The upstream holds `/gate` requests until two are in flight at once.
    upstream.open_gate_at(2);
    let server = InProcess::start(&support::config(&upstream.url("/gate"), &[])).await;
    assert_eq!(
        server.get("/calculate/7").await,
        (200, r#"{"number":7,"result":43160950}"#.into())
    );
    assert_eq!(
        server.get("/nope").await,
        (404, r#"{"detail":"Not Found"}"#.into())
    );

    let base = server.base.clone();
    let in_flight = tokio::spawn(async move {
        let response = support::http_client()
            .get(format!("{base}/call-external-api"))
            .send()
            .await
            .expect("an answer, not a dropped connection");
        response.status().as_u16()
    });
    // Bounded wait for a count, not a clock: until the upstream holds the request.
    for _ in 0..2000 {
        if upstream.total() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(upstream.total(), 1, "the request reached the upstream");

    let serving = server.stop();
    // Only now, after the shutdown was asked for, does the held request get its answer.
    let partner = support::http_client().get(upstream.url("/gate")).send();
    assert_eq!(partner.await.unwrap().status(), 200);
    assert_eq!(in_flight.await.unwrap(), 200);
    serving.await.unwrap().expect("a clean stop");
}

/// The one test of the real binary as a server: what only a process shows.
#[tokio::test]
async fn the_binary_serves_and_stops_cleanly_on_sigterm() {
    let upstream = Upstream::start().await;
    let mut server = Server::start(&[("EXTERNAL_API_URL", &upstream.url("/todos/1"))]).await;

    assert_eq!(
        server.get("/calculate/7").await,
        (200, r#"{"number":7,"result":43160950}"#.into())
    );
    assert_eq!(server.get("/call-external-api").await.0, 200);
    assert_eq!(
        server.get("/nope").await,
        (404, r#"{"detail":"Not Found"}"#.into())
    );

    let pid = server.child.id().expect("running").to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(30), server.child.wait())
        .await
        .expect("exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "clean exit, got {status}");
    let mut rest = Vec::new();
    while let Some(line) = server.logs.next_line().await.unwrap() {
        rest.push(line);
    }
    assert!(
        rest.iter().any(|l| l.contains("shut down cleanly")),
        "{rest:?}"
    );
}

#[tokio::test]
async fn offline_it_still_serves_and_the_external_route_answers_502() {
    // A port nothing listens on stands for "no network".
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = InProcess::start(&support::config(
        &format!("http://127.0.0.1:{port}/todos/1"),
        &[],
    ))
    .await;
    assert_eq!(
        server.get("/call-external-api").await,
        (
            502,
            r#"{"detail":"could not connect to the external API"}"#.into()
        )
    );
    assert_eq!(server.get("/mixed").await.0, 200);
    assert_eq!(server.get("/calculate/1").await.0, 200);
}

#[tokio::test]
async fn a_bad_setting_stops_the_start_with_a_clear_message() {
    for (name, value) in [
        ("MAX_NUMBER", "lots"),
        ("EXTERNAL_API_URL", "ftp://x"),
        ("PORT", "http"),
    ] {
        let output = command(&[(name, value)]).output().await.unwrap();
        assert!(!output.status.success(), "{name}={value} must not start");
        let logs = String::from_utf8_lossy(&output.stdout);
        assert!(logs.contains(&format!("invalid {name}=")), "{name}: {logs}");
    }
}
