//! The local server: in this test process ([`InProcess`], `server::run` on port 0, as most
//! tests want it), or as the real binary ([`Server`], `PORT=0`, started the way a developer
//! starts it), for what only the binary shows (signals, exit status) and for the database
//! tests, whose SDK reads its settings from the process environment.

use std::process::Stdio;
use std::time::Duration;

use lambda_async_api::{AppState, app, server};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::net::TcpListener;
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// `server::run` serving the app of `config` on a port of its own, in this process.
pub struct InProcess {
    pub base: String,
    stop: oneshot::Sender<()>,
    serving: JoinHandle<std::io::Result<()>>,
}

impl InProcess {
    pub async fn start(config: &lambda_async_api::Config) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let router = app(AppState::new(config));
        let serving = tokio::spawn(server::run(listener, router, async {
            let _ = stopped.await;
        }));
        Self {
            base,
            stop,
            serving,
        }
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        get(&self.base, path).await
    }

    /// Asks the server to stop now; the handle ends once it has (requests in flight
    /// answered).
    pub fn stop(self) -> JoinHandle<std::io::Result<()>> {
        let _ = self.stop.send(());
        self.serving
    }
}

async fn get(base: &str, path: &str) -> (u16, String) {
    let response = super::http_client()
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The real binary as a local server.
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
        get(&self.base, path).await
    }
}
