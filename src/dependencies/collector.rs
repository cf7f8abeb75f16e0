//! Sending the spans to an OpenTelemetry collector: OTLP over HTTP, protobuf-encoded, one
//! `POST` of everything the [`SpanQueue`] holds, to `OTEL_EXPORTER_OTLP_*`'s endpoint (on
//! Lambda, usually the ADOT collector layer on `localhost:4318`).
//!
//! When is the transport's decision ([`SpanExport::flush`], [`SpanExport::spawn_batches`]):
//! classic Lambda freezes the environment once the runtime asks for the next event, so there
//! each invocation's spans are sent after its answer and before that request, awaited; Lambda
//! Managed Instances and the local server are never frozen, and send in batches from a task
//! of their own, so that no request waits for an export.
//!
//! An export is bounded by `OTEL_EXPORTER_OTLP_TIMEOUT` whatever happens (client set-up,
//! connection, answer), and never fails anything but itself: a collector that is down, slow
//! or answers an error costs at most that bound, its spans are dropped, and the first failure
//! of the process is logged (one line per cold start, not one per invocation).
//!
//! The encoding is the `opentelemetry-proto` crate's (the OTLP messages and the conversion
//! from the SDK's spans); the request is our one HTTP client's. `opentelemetry-otlp` would
//! read the `OTEL_EXPORTER_*` variables behind `config`'s back and bring an HTTP client
//! adapter of its own, for what is one `POST` here.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use prost::Message;
use reqwest::{Client, Url};
use tokio::sync::OnceCell;

use crate::config::TraceSettings;
use crate::telemetry::SpanQueue;

/// How often Managed Instances and the local server send what has queued up.
const BATCH_INTERVAL: Duration = Duration::from_secs(1);

/// Why an export failed; logged once, never an answer to anyone.
#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error("no answer within {0} ms")]
    Timeout(u128),
    #[error("the collector answered HTTP {0}")]
    Status(u16),
    #[error("the collector could not be reached: {0}")]
    Transport(reqwest::Error),
    #[error("the HTTP client could not be set up")]
    Setup,
}

/// The collector client: where to send, the resource every span is sent with, the queue to
/// send from. Cheap to clone (one `Arc`).
#[derive(Clone, Debug)]
pub struct SpanExport(Arc<Collector>);

#[derive(Debug)]
struct Collector {
    endpoint: Url,
    timeout: Duration,
    resource: ResourceAttributesWithSchema,
    queue: SpanQueue,
    /// Built on the first export, never on the cold-start path.
    client: OnceCell<Client>,
    /// Set by the first failed export: later ones are not logged.
    failed_before: AtomicBool,
}

impl SpanExport {
    /// The client for `settings`, sending from `queue` (what `telemetry::init` returned).
    pub fn new(settings: &TraceSettings, queue: SpanQueue) -> Self {
        let resource = Resource::builder_empty()
            .with_service_name(settings.service.clone())
            .with_attributes([
                KeyValue::new("telemetry.sdk.language", "rust"),
                KeyValue::new("telemetry.sdk.name", "opentelemetry"),
                KeyValue::new("cloud.provider", "aws"),
            ])
            .build();
        Self(Arc::new(Collector {
            endpoint: settings.endpoint.clone(),
            timeout: settings.timeout,
            resource: ResourceAttributesWithSchema::from(&resource),
            queue,
            client: OnceCell::new(),
            failed_before: AtomicBool::new(false),
        }))
    }

    /// Sends everything queued so far, and returns when the collector has answered or the
    /// timeout has passed. Nothing queued: returns at once.
    pub async fn flush(&self) {
        let collector = &self.0;
        let (spans, dropped) = collector.queue.take();
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "spans dropped: the queue for the collector was full"
            );
        }
        if spans.is_empty() {
            return;
        }
        let count = spans.len();
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(spans, &collector.resource),
        };
        let body = request.encode_to_vec();
        let outcome = tokio::time::timeout(collector.timeout, collector.send(body))
            .await
            .unwrap_or_else(|_| Err(ExportError::Timeout(collector.timeout.as_millis())));
        match outcome {
            Ok(()) => tracing::debug!(spans = count, "spans exported"),
            Err(e) => {
                if !collector.failed_before.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        spans = count,
                        error = %e,
                        "span export failed; its spans are dropped, and later failures are not logged"
                    );
                }
            }
        }
    }

    /// Sends what has queued up every second, on a task of its own, for as long as the
    /// runtime runs: for Managed Instances and the local server, which are never frozen.
    pub fn spawn_batches(&self) {
        let export = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(BATCH_INTERVAL);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                export.flush().await;
            }
        });
    }
}

impl Collector {
    async fn send(&self, body: Vec<u8>) -> Result<(), ExportError> {
        let client = self.client().await?;
        let response = client
            .post(self.endpoint.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/x-protobuf")
            .body(body)
            .send()
            .await
            .map_err(ExportError::Transport)?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(ExportError::Status(status.as_u16()))
        }
    }

    async fn client(&self) -> Result<&Client, ExportError> {
        let plain = self.endpoint.scheme() == "http";
        let loopback = super::http_client::is_loopback(&self.endpoint);
        self.client
            .get_or_try_init(|| async move {
                crate::telemetry::spawn_blocking(move || {
                    super::http_client::build_for(plain, |builder| {
                        if loopback {
                            builder.no_proxy()
                        } else {
                            builder
                        }
                    })
                })
                .await
                .map_err(|_| ExportError::Setup)?
                .map_err(|_| ExportError::Setup)
            })
            .await
    }
}
