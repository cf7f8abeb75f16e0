//! `GET /call-external-api`: the seed's I/O-bound route. Everything here is awaited, so one
//! worker thread can hold thousands of these requests at once.

use std::time::Duration;

use axum::extract::State;
use axum::{Extension, Json};
use serde::Serialize;
use serde_json::json;
use serde_json::value::RawValue;

use crate::api::context::TransportContext;
use crate::api::deadline::Deadline;
use crate::api::error::ApiError;
use crate::api::openapi::{Operation, Settings, error, ok};
use crate::api::state::AppState;

/// The seed's `await asyncio.sleep(0.1)`, standing for a further async operation.
pub(crate) const FOLLOW_UP_SLEEP: Duration = Duration::from_millis(100);

#[derive(Serialize)]
pub(crate) struct ExternalData {
    external: Box<RawValue>,
    message: &'static str,
    /// Item 1 of `ITEMS_TABLE` (`null` if absent); no key at all without a table, so the body
    /// is exactly the seed's then.
    #[serde(skip_serializing_if = "Option::is_none")]
    db: Option<Box<RawValue>>,
}

pub(crate) async fn call_external_api(
    State(state): State<AppState>,
    Deadline(deadline): Deadline,
    transport: Option<Extension<TransportContext>>,
) -> Result<Json<ExternalData>, ApiError> {
    // The transport's trace (under Lambda, the invocation's X-Ray trace) continues at the
    // upstream and the database.
    let trace = transport.as_ref().and_then(|t| t.trace_header.as_deref());
    let external = async { Ok::<_, ApiError>(state.upstream.fetch_json(trace, deadline).await?) };
    let (external, db) = match &state.database {
        None => (external.await?, None),
        // Two independent waits: they overlap, and the first failure answers the request.
        Some(database) => {
            let item = async { Ok::<_, ApiError>(database.item_one(trace, deadline).await?) };
            let (external, item) = tokio::try_join!(external, item)?;
            (external, Some(item))
        }
    };
    crate::telemetry::spans::sleep(FOLLOW_UP_SLEEP).await;
    Ok(Json(ExternalData {
        external,
        message: "Data fetched",
        db,
    }))
}

/// The route's OpenAPI operation and the schema of its answer.
pub(super) fn operation(_: &Settings) -> Operation {
    let object = json!({
        "summary": "Get External Data",
        "description": "Awaits the external API (and, with ITEMS_TABLE set, item 1 of that DynamoDB table at the same time), then a further 100 ms non-blocking sleep.",
        "operationId": "get_external_data",
        "responses": {
            "200": ok("ExternalData", "The external API's JSON document"),
            "502": error("BadGateway"),
            "503": error("ServiceUnavailable"),
            "504": error("GatewayTimeout"),
        }
    });
    let external_data = json!({
        "type": "object",
        "required": ["external", "message"],
        "properties": {
            "external": { "description": "The external API's document, as sent" },
            "message": { "type": "string", "const": "Data fetched" },
            "db": { "description": "Item 1 of ITEMS_TABLE as plain JSON, null if absent; only when ITEMS_TABLE is set" }
        }
    });
    Operation {
        object,
        schemas: vec![("ExternalData", external_data)],
    }
}
