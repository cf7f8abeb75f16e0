//! The binary as a local server (`PORT=0`), started the way a developer starts it.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

pub struct Server {
    pub child: Child,
    pub base: String,
    pub logs: Lines<BufReader<ChildStdout>>,
}

pub fn command(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(super::binary());
    command
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

impl Server {
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let mut child = command(env).spawn().expect("server starts");
        let mut logs = BufReader::new(child.stdout.take().unwrap()).lines();
        let find_address = async {
            while let Some(line) = logs.next_line().await.unwrap() {
                if let Some((_, address)) = line.split_once("listening on ") {
                    return address.trim().to_owned();
                }
            }
            panic!("server exited before listening");
        };
        let base = tokio::time::timeout(Duration::from_secs(30), find_address)
            .await
            .expect("server listens");
        Self { child, base, logs }
    }

    /// The whole response, headers included (no proxy: the server is on loopback).
    pub async fn get_response(&self, path: &str) -> reqwest::Response {
        let client = super::http_client();
        client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self.get_response(path).await;
        (response.status().as_u16(), response.text().await.unwrap())
    }
}
