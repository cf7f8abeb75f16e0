//! What the handlers share: built once per process from the [`Config`], cloned (cheaply) into
//! every request.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::docs::DocsPages;
use crate::config::{Config, CorsConfig};
use crate::dependencies::cpu::CpuPool;
use crate::dependencies::database::Database;
use crate::dependencies::upstream::Upstream;
use crate::telemetry::metrics::Metrics;

#[derive(Clone, Debug)]
pub struct AppState {
    pub(crate) upstream: Arc<Upstream>,
    /// Set when `ITEMS_TABLE` is.
    pub(crate) database: Option<Arc<Database>>,
    pub(crate) cpu: Arc<CpuPool>,
    pub(crate) max_number: u64,
    pub(crate) request_timeout: Duration,
    pub(crate) metrics: Metrics,
    /// `/openapi.json`, built on first request: nothing on the cold-start path.
    pub(crate) openapi: Arc<OnceLock<serde_json::Value>>,
    /// `/docs` and `/redoc`; `None` when `DOCS=off`.
    pub(crate) docs: Option<Arc<DocsPages>>,
    /// The CORS policy's settings; `None`: no CORS.
    pub(crate) cors: Option<CorsConfig>,
    /// Whether API Gateway runs a JWT authorizer on the API routes (`AUTH_JWT_ISSUER`): they
    /// then need a caller, and the document names the bearer scheme.
    pub(crate) callers_required: bool,
    /// The smallest answer compressed for clients that accept it; `None` when
    /// `COMPRESSION=off`.
    pub(crate) compression_min_bytes: Option<u16>,
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
            docs: config.docs_asset_url.as_deref().map(DocsPages::new),
            cors: config.cors.clone(),
            callers_required: config.jwt_authorizer.is_some(),
            compression_min_bytes: config.compression_min_bytes,
        }
    }

    /// The calculation slots' gauges, for tests to observe how many run at once.
    #[cfg(feature = "test-support")]
    pub fn cpu_pool(&self) -> &crate::dependencies::cpu::Gauges {
        self.cpu.gauges()
    }
}
