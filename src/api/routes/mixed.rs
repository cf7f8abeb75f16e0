//! `GET /mixed`: a sync and an async dependency, then a small inline calculation.
//!
//! FastAPI resolves the two `Depends` one after the other; here they are independent, so they
//! run at the same time: the sync one on the blocking pool, the async one on the runtime. The
//! route takes as long as the slower of the two (the 50 ms sleep), not their sum.

use std::time::Duration;

use axum::Json;
use serde::Serialize;
use serde_json::json;

use crate::api::error::ApiError;
use crate::api::openapi::{Operation, Settings, error, ok};
use crate::calc::{complex_calculation, complex_calculation_cancellable};
use crate::dependencies::cpu::run_cancellable;

/// The seed's `await asyncio.sleep(0.05)` in `async_dependency`.
pub(crate) const ASYNC_DEPENDENCY_SLEEP: Duration = Duration::from_millis(50);

#[derive(Serialize)]
pub(crate) struct Dependency {
    dep: &'static str,
}

#[derive(Serialize)]
pub(crate) struct Mixed {
    sync_dep: Dependency,
    async_dep: Dependency,
    sync_calc: u128,
}

/// The seed's `sync_dependency`: a little CPU work, then a constant.
fn sync_dependency(cancelled: &std::sync::atomic::AtomicBool) -> Option<Dependency> {
    complex_calculation_cancellable(1000, cancelled)?;
    Some(Dependency { dep: "sync" })
}

async fn async_dependency() -> Dependency {
    crate::telemetry::spans::sleep(ASYNC_DEPENDENCY_SLEEP).await;
    Dependency { dep: "async" }
}

pub(crate) async fn read_mixed() -> Result<Json<Mixed>, ApiError> {
    let (sync_dep, async_dep) = tokio::join!(run_cancellable(sync_dependency), async_dependency());
    // 500 iterations take under a microsecond: cheaper inline than a hop to another thread.
    let sync_calc = complex_calculation(500);
    Ok(Json(Mixed {
        sync_dep: sync_dep?,
        async_dep,
        sync_calc,
    }))
}

/// The route's OpenAPI operation and the schemas of its answer.
pub(super) fn operation(_: &Settings) -> Operation {
    let object = json!({
        "summary": "Read Mixed",
        "description": "A sync and an async dependency, run at the same time, plus a small inline calculation.",
        "operationId": "read_mixed",
        "responses": {
            "200": ok("Mixed", "The dependencies' results"),
            "504": error("GatewayTimeout"),
        }
    });
    let mixed = json!({
        "type": "object",
        "required": ["sync_dep", "async_dep", "sync_calc"],
        "properties": {
            "sync_dep": { "$ref": "#/components/schemas/Dependency" },
            "async_dep": { "$ref": "#/components/schemas/Dependency" },
            "sync_calc": { "type": "integer" }
        }
    });
    let dependency = json!({
        "type": "object",
        "required": ["dep"],
        "properties": { "dep": { "type": "string" } }
    });
    Operation {
        object,
        schemas: vec![("Mixed", mixed), ("Dependency", dependency)],
    }
}
