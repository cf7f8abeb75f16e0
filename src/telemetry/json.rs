//! One JSON object per log line, with the keys Powertools for AWS Lambda uses: `level`,
//! `message`, `timestamp`, `service`, `cold_start`, `function_request_id`, `xray_trace_id`,
//! then the event's own fields (`route`, `status`, `duration_ms`, ...).
//!
//! The runtime's stock JSON layout has no timestamp and nests the message under `fields`,
//! which breaks Logs Insights queries written for Powertools; hence this formatter.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::INVOCATION;

pub(crate) struct JsonLines {
    service: String,
}

impl JsonLines {
    pub(crate) fn new(service: String) -> Self {
        Self { service }
    }
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::with_capacity(32);
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;

        let mut line = Map::new();
        line.insert("level".into(), event.metadata().level().as_str().into());
        line.insert("message".into(), Value::Null);
        line.insert("timestamp".into(), timestamp.into());
        line.insert("service".into(), self.service.as_str().into());
        let _ = INVOCATION.try_with(|invocation| {
            line.insert("cold_start".into(), invocation.cold_start.into());
            if let Some(id) = &invocation.request_id {
                line.insert("function_request_id".into(), id.as_str().into());
            }
            if let Some(trace) = &invocation.xray_trace_id {
                line.insert("xray_trace_id".into(), trace.as_str().into());
            }
        });
        event.record(&mut FieldsVisitor(&mut line));
        if line.get("message").is_some_and(Value::is_null) {
            line.insert("message".into(), event.metadata().name().into());
        }
        if event.metadata().target() != env!("CARGO_CRATE_NAME") {
            line.insert("logger".into(), event.metadata().target().into());
        }

        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// Copies an event's fields into the line, numbers and booleans as JSON numbers and booleans.
struct FieldsVisitor<'a>(&'a mut Map<String, Value>);

impl FieldsVisitor<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        self.0.insert(field.name().to_owned(), value);
    }
}

impl Visit for FieldsVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::capture::Capture;

    #[tokio::test]
    async fn writes_powertools_shaped_lines() {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .event_format(JsonLines::new("svc".into()))
            .with_writer(capture.clone())
            .finish();
        let invocation = super::super::Invocation {
            request_id: Some("req-1".into()),
            xray_trace_id: Some("Root=1-abc".into()),
            cold_start: true,
        };
        let _guard = tracing::subscriber::set_default(subscriber);
        INVOCATION
            .scope(invocation, async {
                tracing::info!(
                    route = "/mixed",
                    status = 200u64,
                    duration_ms = 1.5,
                    "request"
                );
            })
            .await;
        tracing::warn!("outside a request");

        let text = capture.text();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
            .collect();
        assert_eq!(lines.len(), 2);
        let first = &lines[0];
        assert_eq!(first["level"], "INFO");
        assert_eq!(first["message"], "request");
        assert_eq!(first["service"], "svc");
        assert_eq!(first["cold_start"], true);
        assert_eq!(first["function_request_id"], "req-1");
        assert_eq!(first["xray_trace_id"], "Root=1-abc");
        assert_eq!(first["route"], "/mixed");
        assert_eq!(first["status"], 200);
        assert_eq!(first["duration_ms"], 1.5);
        let timestamp = first["timestamp"].as_str().unwrap();
        assert!(
            timestamp.len() >= 20 && timestamp.ends_with('Z'),
            "{timestamp}"
        );
        assert_eq!(lines[1]["message"], "outside a request");
        assert!(lines[1].get("function_request_id").is_none());
    }
}
