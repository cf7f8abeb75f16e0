//! A stand-in for the Lambda Runtime API on 127.0.0.1: it queues invocation events, hands
//! them to `GET /next` long-polls (as many at once as the function asks for), and collects
//! what the function posts back. With it the real binary runs its real `lambda_runtime` loop.
//! It notes when each `GET /next` arrived and when each answer was posted (the moments the
//! trace tests order the exports against).

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, Notify, mpsc};

/// What the function answered for one invocation.
#[derive(Debug, Clone)]
pub enum Outcome {
    Response(serde_json::Value),
    Error(serde_json::Value),
}

impl Outcome {
    pub fn response(self) -> serde_json::Value {
        match self {
            Self::Response(value) => value,
            Self::Error(error) => panic!("invocation failed: {error}"),
        }
    }
}

/// One queued invocation: its id, its event, and its X-Ray header if not the default one.
type Queued = (String, String, Option<String>);

struct Shared {
    queue: Mutex<mpsc::UnboundedReceiver<Queued>>,
    outcomes: std::sync::Mutex<HashMap<String, Outcome>>,
    posted: Notify,
    next_calls: AtomicUsize,
    /// When each `GET /next` arrived, in order.
    next_times: std::sync::Mutex<Vec<Instant>>,
    /// When each invocation's answer (or error) was posted.
    answer_times: std::sync::Mutex<HashMap<String, Instant>>,
}

pub struct RuntimeApi {
    addr: std::net::SocketAddr,
    sender: mpsc::UnboundedSender<Queued>,
    shared: Arc<Shared>,
    ids: AtomicUsize,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const BASE: &str = "/2018-06-01/runtime";

impl RuntimeApi {
    pub async fn start() -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: Mutex::new(receiver),
            outcomes: std::sync::Mutex::new(HashMap::new()),
            posted: Notify::new(),
            next_calls: AtomicUsize::new(0),
            next_times: std::sync::Mutex::new(Vec::new()),
            answer_times: std::sync::Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route(&format!("{BASE}/invocation/next"), get(next))
            .route(
                &format!("{BASE}/invocation/{{id}}/response"),
                post(response),
            )
            .route(&format!("{BASE}/invocation/{{id}}/error"), post(error))
            .route(&format!("{BASE}/init/error"), post(init_error))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            sender,
            shared,
            ids: AtomicUsize::new(0),
            task,
        }
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues one invocation; returns its request id.
    pub fn invoke(&self, event: &str) -> String {
        self.queue(event, None)
    }

    /// Queues one invocation with `trace_header` as its `Lambda-Runtime-Trace-Id`.
    pub fn invoke_traced(&self, event: &str, trace_header: &str) -> String {
        self.queue(event, Some(trace_header.to_owned()))
    }

    fn queue(&self, event: &str, trace_header: Option<String>) -> String {
        let id = format!("req-{}", self.ids.fetch_add(1, Ordering::SeqCst) + 1);
        self.sender
            .send((id.clone(), event.to_owned(), trace_header))
            .expect("stub queue open");
        id
    }

    /// When each `GET /next` so far arrived.
    pub fn next_call_times(&self) -> Vec<Instant> {
        self.shared.next_times.lock().unwrap().clone()
    }

    /// When the answer to invocation `id` was posted, if it was.
    pub fn answer_time(&self, id: &str) -> Option<Instant> {
        self.shared.answer_times.lock().unwrap().get(id).copied()
    }

    /// Waits (up to `cap`) for the `n`th `GET /next`; returns when it arrived.
    pub async fn nth_next_call(&self, n: usize, cap: Duration) -> Instant {
        let started = Instant::now();
        loop {
            if let Some(at) = self.next_call_times().get(n - 1) {
                return *at;
            }
            assert!(started.elapsed() < cap, "no GET /next number {n}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Waits (up to a generous cap) for the function's answer to invocation `id`.
    pub async fn outcome(&self, id: &str) -> Outcome {
        let wait = async {
            loop {
                let mut posted = std::pin::pin!(self.shared.posted.notified());
                posted.as_mut().enable();
                if let Some(outcome) = self.shared.outcomes.lock().unwrap().get(id) {
                    return outcome.clone();
                }
                posted.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .unwrap_or_else(|_| panic!("no answer for invocation {id}"))
    }

    /// Starts `binary` as Lambda would, pointed at this Runtime API, its stdout (its logs)
    /// going to `stdout`.
    pub fn spawn_function(
        &self,
        binary: &std::path::Path,
        env: &[(&str, &str)],
        stdout: Stdio,
    ) -> Child {
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", self.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "lambda-async-api")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test-stream")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/lambda-async-api")
            .env("AWS_REGION", "us-east-1")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (name, value) in env {
            command.env(name, value);
        }
        command.spawn().expect("function binary starts")
    }
}

/// The X-Ray trace header the stub sends with invocation `id`.
pub fn trace_id(id: &str) -> String {
    format!(
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=1:{id}:0"
    )
}

async fn next(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    shared.next_calls.fetch_add(1, Ordering::SeqCst);
    shared.next_times.lock().unwrap().push(Instant::now());
    let received = shared.queue.lock().await.recv().await;
    let Some((id, event, trace_header)) = received else {
        return (StatusCode::GONE, HeaderMap::new(), String::new());
    };
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 60_000;
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).unwrap());
    };
    set("lambda-runtime-aws-request-id", id.clone());
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:lambda-async-api".into(),
    );
    set(
        "lambda-runtime-trace-id",
        trace_header.unwrap_or_else(|| trace_id(&id)),
    );
    (StatusCode::OK, headers, event)
}

fn record(shared: &Shared, id: String, outcome: Outcome) -> StatusCode {
    shared
        .answer_times
        .lock()
        .unwrap()
        .insert(id.clone(), Instant::now());
    shared.outcomes.lock().unwrap().insert(id, outcome);
    shared.posted.notify_waiters();
    StatusCode::ACCEPTED
}

fn parse(body: &Bytes) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    record(&shared, id, Outcome::Response(parse(&body)))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    record(&shared, id, Outcome::Error(parse(&body)))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    record(&shared, "init".into(), Outcome::Error(parse(&body)))
}
