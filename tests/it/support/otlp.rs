//! An OpenTelemetry collector stand-in on 127.0.0.1: it takes OTLP/HTTP protobuf `POST`s at
//! `/v1/traces`, decodes them with the `opentelemetry-proto` crate's messages (no hand
//! parser), and keeps every span with its service and the moment it arrived. It can also
//! answer 500 to everything, or never answer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// How the stand-in answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// 200, as a collector that took the spans.
    Accept,
    /// 500 to every export.
    Fail,
    /// Reads the export and never answers.
    Hang,
}

/// One span as the collector got it.
#[derive(Clone, Debug)]
pub struct Received {
    pub span: Span,
    /// The resource's `service.name`.
    pub service: String,
    pub at: Instant,
}

impl Received {
    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }
    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }
    pub fn parent_id(&self) -> String {
        hex(&self.span.parent_span_id)
    }
    /// The attribute `key` as text (strings as they are, numbers and booleans written out).
    pub fn attribute(&self, key: &str) -> Option<String> {
        let value = self
            .span
            .attributes
            .iter()
            .find(|kv| kv.key == key)?
            .value
            .as_ref()?
            .value
            .as_ref()?;
        Some(match value {
            Value::StringValue(s) => s.clone(),
            Value::IntValue(i) => i.to_string(),
            Value::BoolValue(b) => b.to_string(),
            Value::DoubleValue(d) => d.to_string(),
            other => format!("{other:?}"),
        })
    }
    /// Whether the span's status is an error (OTLP's `STATUS_CODE_ERROR`, 2).
    pub fn failed(&self) -> bool {
        self.span.status.as_ref().is_some_and(|s| s.code == 2)
    }
}

/// Lower-case hex, as trace and span ids are written.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Shared {
    behaviour: Behaviour,
    spans: Mutex<Vec<Received>>,
    posts: AtomicUsize,
}

pub struct Receiver {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub async fn start(behaviour: Behaviour) -> Self {
        let shared = Arc::new(Shared {
            behaviour,
            spans: Mutex::new(Vec::new()),
            posts: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/v1/traces", post(export))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, task }
    }

    /// The value for `OTEL_EXPORTER_OTLP_ENDPOINT` (the function appends `/v1/traces`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Received> {
        self.shared.spans.lock().unwrap().clone()
    }

    /// How many exports arrived (answered or not).
    pub fn posts(&self) -> usize {
        self.shared.posts.load(Ordering::SeqCst)
    }

    /// Waits (up to `cap`) until `done` holds for the spans received.
    pub async fn wait_until(
        &self,
        cap: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let spans = self.spans();
            if done(&spans) || started.elapsed() > cap {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn export(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let at = Instant::now();
    shared.posts.fetch_add(1, Ordering::SeqCst);
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf export");
    let mut received = Vec::new();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
            .map(|v| match v {
                Value::StringValue(s) => s.clone(),
                other => format!("{other:?}"),
            })
            .unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                received.push(Received {
                    span,
                    service: service.clone(),
                    at,
                });
            }
        }
    }
    match shared.behaviour {
        Behaviour::Accept => {
            shared.spans.lock().unwrap().extend(received);
            StatusCode::OK
        }
        Behaviour::Fail => StatusCode::INTERNAL_SERVER_ERROR,
        Behaviour::Hang => std::future::pending().await,
    }
}
