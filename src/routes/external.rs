//! `GET /call-external-api`: the seed's I/O-bound route. Everything here is awaited, so one
//! worker thread can hold thousands of these requests at once.

use std::time::Duration;

use axum::extract::State;
use axum::{Extension, Json};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::AppState;
use crate::deadline::Deadline;
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
    Deadline(deadline): Deadline,
    lambda: Option<Extension<lambda_http::Context>>,
) -> Result<Json<ExternalData>, ApiError> {
    // Under Lambda, the invocation's X-Ray trace continues at the upstream. Taken from the
    // runtime's context, never from a client-supplied header.
    let trace = lambda.as_ref().and_then(|c| c.xray_trace_id.as_deref());
    let external = state.upstream.fetch_json(trace, deadline).await?;
    tokio::time::sleep(FOLLOW_UP_SLEEP).await;
    Ok(Json(ExternalData {
        external,
        message: "Data fetched",
    }))
}
