//! `GET /call-external-api`: the seed's I/O-bound route. Everything here is awaited, so one
//! worker thread can hold thousands of these requests at once.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::AppState;
use crate::error::ApiError;

/// The seed's `await asyncio.sleep(0.1)`, standing for a further async operation.
pub const FOLLOW_UP_SLEEP: Duration = Duration::from_millis(100);

#[derive(Serialize)]
pub struct ExternalData {
    external: Box<RawValue>,
    message: &'static str,
}

pub async fn call_external_api(
    State(state): State<AppState>,
) -> Result<Json<ExternalData>, ApiError> {
    let external = state.upstream.fetch_json().await?;
    tokio::time::sleep(FOLLOW_UP_SLEEP).await;
    Ok(Json(ExternalData {
        external,
        message: "Data fetched",
    }))
}
