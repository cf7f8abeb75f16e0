//! `GET /calculate/{number}`: the seed's CPU-bound route, validated like FastAPI and bounded
//! by `MAX_NUMBER`, with the loop on the blocking pool.

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use serde::Serialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::decode_segment;
use crate::api::deadline::Deadline;
use crate::api::error::{ApiError, Problem, ValidationError};
use crate::api::openapi::{Operation, Settings, error, ok};
use crate::api::state::AppState;
use crate::calc::{complex_calculation, complex_calculation_cancellable};
use crate::number;

/// The seed's `complex_calculation(number * 10000)`.
const WORK_PER_UNIT: u64 = 10_000;

/// Calculations up to this many iterations (`number` ≤ 1: about 15 µs of one core with the
/// plain loop, docs/performance.md) run inline on the async worker. Handing them to the
/// blocking pool costs about as much as the work itself (two thread wake-ups and a slot), and
/// Tokio's guidance is to keep a task's time between awaits under ~100 µs: `number` = 2
/// would be twice this. Anything larger takes a `CPU_WORKERS` slot on the blocking pool,
/// cancellably.
pub(crate) const INLINE_MAX_ITERATIONS: u64 = 10_000;

#[derive(Serialize)]
pub(crate) struct Calculation {
    /// The canonical integer, of any size (negative inputs are echoed exactly).
    number: Box<RawValue>,
    result: u128,
}

pub(crate) async fn calculate(
    State(state): State<AppState>,
    Deadline(deadline): Deadline,
    uri: Uri,
) -> Result<Json<Calculation>, ApiError> {
    // `{number}` is the last segment. Taken raw from the URI rather than through axum's
    // extractors, which refuse invalid UTF-8 with a 400 where FastAPI answers a 422.
    let raw = uri.path().rsplit('/').next().unwrap_or_default();
    let input = decode_segment(raw);
    // Starlette routes on the decoded path: a segment hiding a `/` matches no route at all.
    if input.contains('/') {
        return Err(ApiError::NotFound);
    }
    let invalid = |problem| ValidationError {
        input: input.clone().into_owned(),
        problem,
    };
    let number = number::parse(&input).map_err(|e| invalid(Problem::NotAnInteger(e)))?;
    if number.exceeds(state.max_number) {
        return Err(invalid(Problem::GreaterThan(state.max_number)).into());
    }

    // `range(n)` is empty for n ≤ 0: nothing to compute. No overflow: `MAX_NUMBER` is at most
    // `MAX_NUMBER_LIMIT`, whose product with `WORK_PER_UNIT` fits a `u64` (tested below).
    let n = number.to_u64().map_or(0, |units| units * WORK_PER_UNIT);
    let result = if n <= INLINE_MAX_ITERATIONS {
        complex_calculation(n)
    } else {
        state
            .cpu
            .run(deadline, move |cancelled| {
                complex_calculation_cancellable(n, cancelled)
            })
            .await?
    };
    let number = RawValue::from_string(number.to_string())
        .map_err(|_| ApiError::Internal("integer did not serialize"))?;
    Ok(Json(Calculation { number, result }))
}

/// The route's OpenAPI operation, `{number}` up to the deployment's `MAX_NUMBER`, and the
/// schema of its answer.
pub(super) fn operation(settings: &Settings) -> Operation {
    let object = json!({
        "summary": "Calculate Stuff",
        "description": "CPU-bound work: the sum of `i*i mod 1234` for `i` below `number*10000`, computed on a worker thread.",
        "operationId": "calculate_stuff",
        "parameters": [{
            "name": "number",
            "in": "path",
            "required": true,
            "schema": { "type": "integer", "maximum": settings.max_number, "title": "Number" }
        }],
        "responses": {
            "200": ok("Calculation", "The calculation's result"),
            "404": error("NotFound"),
            "422": error("ValidationError"),
            "503": error("ServiceUnavailable"),
            "504": error("GatewayTimeout"),
        }
    });
    let calculation = json!({
        "type": "object",
        "required": ["number", "result"],
        "properties": {
            "number": { "type": "integer" },
            "result": { "type": "integer", "minimum": 0 }
        }
    });
    Operation {
        object,
        schemas: vec![("Calculation", calculation)],
    }
}

#[cfg(test)]
mod tests {
    use super::WORK_PER_UNIT;
    use crate::config::MAX_NUMBER_LIMIT;

    #[test]
    fn the_largest_max_number_fits_the_loop_index() {
        assert_eq!(MAX_NUMBER_LIMIT, 1_844_674_407_370_955);
        assert!(MAX_NUMBER_LIMIT.checked_mul(WORK_PER_UNIT).is_some());
        assert!((MAX_NUMBER_LIMIT + 1).checked_mul(WORK_PER_UNIT).is_none());
    }
}
