//! What the handlers share: built once per process from the [`Config`], cloned (cheaply) into
//! every request. The `Config` itself is kept whole (behind an `Arc`) for [`app`](super::app)
//! to read the layers' settings from; nothing here is a copy of a setting only the layers
//! read.

use std::sync::{Arc, OnceLock};

use super::docs::DocsPages;
use crate::config::Config;
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
    /// `MAX_NUMBER`, which `/calculate` and the OpenAPI document read.
    pub(crate) max_number: u64,
    pub(crate) metrics: Metrics,
    /// `/openapi.json`, built on first request: nothing on the cold-start path.
    pub(crate) openapi: Arc<OnceLock<serde_json::Value>>,
    /// `/docs` and `/redoc`; `None` when `DOCS=off`.
    pub(crate) docs: Option<Arc<DocsPages>>,
    /// Whether API Gateway runs a JWT authorizer on the API routes (`AUTH_JWT_ISSUER`): they
    /// then need a caller, and the document names the bearer scheme.
    pub(crate) callers_required: bool,
    /// The whole configuration, for the layers [`app`](super::app) puts around the routes.
    pub(crate) config: Arc<Config>,
}

impl AppState {
    /// Cheap: no I/O, no client built yet (that happens on first use).
    pub fn new(config: &Config) -> Self {
        // Metrics are CloudWatch EMF lines: only meaningful under Lambda.
        let metrics = if config.in_lambda {
            let names = &config.telemetry;
            Metrics::emf(&names.metrics_namespace, &names.service)
        } else {
            Metrics::disabled()
        };
        Self {
            upstream: Arc::new(Upstream::new(
                config.upstream.url.clone(),
                config.upstream.timeout,
                metrics.clone(),
            )),
            database: config.database.table.as_ref().map(|table| {
                Arc::new(Database::new(
                    table.clone(),
                    config.database.timeout,
                    metrics.clone(),
                ))
            }),
            cpu: Arc::new(CpuPool::new(config.calculation.cpu_workers)),
            max_number: config.calculation.max_number,
            metrics,
            openapi: Arc::default(),
            docs: config.docs_asset_url.as_deref().map(DocsPages::new),
            callers_required: config.jwt_authorizer.is_some(),
            config: Arc::new(config.clone()),
        }
    }

    /// The calculation slots' gauges, for tests to observe how many run at once.
    #[cfg(feature = "test-support")]
    pub fn cpu_pool(&self) -> &crate::dependencies::cpu::Gauges {
        self.cpu.gauges()
    }
}
