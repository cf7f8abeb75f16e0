//! The FastAPI async-operations tutorial API as a Rust AWS Lambda function.
//!
//! One [`axum::Router`] ([`app`]) is the product; [`lambda`] and [`server`] are two ways of
//! feeding it requests. Pure logic ([`number`], [`calc`]) is kept apart from I/O
//! ([`upstream`], [`cpu`]).

pub mod calc;
pub mod config;
pub mod cpu;
pub mod deadline;
pub mod docs;
pub mod error;
pub mod items;
pub mod lambda;
pub mod limits;
pub mod number;
pub mod openapi;
pub mod routes;
pub mod server;
pub mod telemetry;
pub mod upstream;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;

pub use config::Config;
use cpu::CpuPool;
use items::Items;
use telemetry::metrics::Metrics;
use upstream::Upstream;

/// What the handlers share: built once per process, cloned (cheaply) into every request.
#[derive(Clone, Debug)]
pub struct AppState {
    upstream: Arc<Upstream>,
    /// Set when `ITEMS_TABLE` is.
    items: Option<Arc<Items>>,
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
            items: config.items_table.as_ref().map(|table| {
                Arc::new(Items::new(
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

    /// The calculation slots, for observing how many run at once.
    pub fn cpu_pool(&self) -> &CpuPool {
        &self.cpu
    }
}

/// The application, for either transport.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}
