//! The FastAPI async-operations tutorial API as a Rust AWS Lambda function.
//!
//! One [`axum::Router`] ([`app`]) is the product; [`lambda`] and [`server`] are two ways of
//! feeding it requests. Pure logic ([`number`], [`calc`]) is kept apart from I/O (the
//! upstream, the database, the CPU pool).
//!
//! Public is what the binary, the benches and the tests use: [`app`], [`AppState`],
//! [`Config`], [`TransportContext`], the transports, `telemetry::init`, and the pure
//! [`calc`] and [`number`]. The rest is the crate's own, so the compiler sees dead code.

pub mod calc;
pub mod config;
mod cpu;
mod database;
mod deadline;
mod docs;
mod error;
mod http_client;
pub mod lambda;
mod limits;
pub mod number;
mod openapi;
mod routes;
pub mod server;
mod sleep;
pub mod telemetry;
mod upstream;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;

pub use config::Config;
use cpu::CpuPool;
#[cfg(feature = "test-support")]
pub use cpu::Gauges;
use database::Database;
#[cfg(feature = "test-support")]
pub use database::sdk_http_client;
use telemetry::metrics::Metrics;
use upstream::Upstream;

/// What the transport that delivered a request knows about it beyond HTTP: the one request
/// extension a transport sets, and the only thing the application reads about its transport.
/// The Lambda transport fills it from the invocation; the local server sets none, and every
/// field then has its meaning for "none".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportContext {
    /// The transport's id of this request (Lambda's request id), logged as
    /// `function_request_id`.
    pub request_id: Option<String>,
    /// The trace header to continue at dependencies (`x-amzn-trace-id`). Set by the transport
    /// alone, never copied from a client's header.
    pub trace_header: Option<String>,
    /// When the transport stops waiting for the answer (Lambda's invocation deadline).
    pub deadline: Option<tokio::time::Instant>,
    /// What the client's URL path had in front of the routed path (an API Gateway stage such
    /// as `/prod`, or a custom domain's base path). A redirect must put it back, or the client
    /// would be sent off the API.
    pub public_prefix: String,
}

/// What the handlers share: built once per process, cloned (cheaply) into every request.
#[derive(Clone, Debug)]
pub struct AppState {
    upstream: Arc<Upstream>,
    /// Set when `ITEMS_TABLE` is.
    database: Option<Arc<Database>>,
    cpu: Arc<CpuPool>,
    max_number: u64,
    request_timeout: Duration,
    metrics: Metrics,
    /// `/openapi.json`, built on first request: nothing on the cold-start path.
    openapi: Arc<std::sync::OnceLock<serde_json::Value>>,
    /// `/docs` and `/redoc`; `None` when `DOCS=off`.
    docs: Option<Arc<docs::DocsPages>>,
}

impl AppState {
    /// Cheap: no I/O, no client built yet (that happens on first use).
    pub fn new(config: &Config) -> Self {
        // Metrics are CloudWatch EMF lines: only meaningful under Lambda.
        let metrics = if config.in_lambda {
            Metrics::emf(&config.metrics_namespace, &config.service)
        } else {
            Metrics::disabled()
        };
        Self {
            upstream: Arc::new(Upstream::new(
                config.external_api_url.clone(),
                config.external_api_timeout,
                metrics.clone(),
            )),
            database: config.items_table.as_ref().map(|table| {
                Arc::new(Database::new(
                    table.clone(),
                    config.db_timeout,
                    metrics.clone(),
                ))
            }),
            cpu: Arc::new(CpuPool::new(config.cpu_workers)),
            max_number: config.max_number,
            request_timeout: config.request_timeout,
            metrics,
            openapi: Arc::default(),
            docs: config.docs_asset_url.as_deref().map(docs::DocsPages::new),
        }
    }

    /// The calculation slots' gauges, for tests to observe how many run at once.
    #[cfg(feature = "test-support")]
    pub fn cpu_pool(&self) -> &Gauges {
        self.cpu.gauges()
    }
}

/// The application, for either transport.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}
