//! One JSON object per log line, with the keys Powertools for AWS Lambda uses: `level`,
//! `message`, `timestamp`, `service`, the fields of the spans the line was logged in (the
//! request's `cold_start`, `function_request_id`, `xray_trace_id`), then the event's own
//! fields (`route`, `status`, `duration_ms`, ...).
//!
//! tracing-subscriber's own JSON format nests the message under `fields` and the spans under
//! `spans`, which breaks Logs Insights queries written for Powertools; hence this formatter.
//! It is built the way that format is: the fmt layer keeps each span's fields as text written
//! by a `FormatFields` ([`JsonFields`]: a JSON object), and each line reads them back.
//!
//! Only this crate's spans give keys: a dependency's span could carry a field named `level`
//! or `service`, and the runtime's own invocation span repeats the request id as `requestId`.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::Record;
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

pub(crate) struct JsonLines {
    service: String,
}

impl JsonLines {
    pub(crate) fn new(service: String) -> Self {
        Self { service }
    }
}

impl<S> FormatEvent<S, JsonFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
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
        // The fields of this crate's spans the line was logged in (the request's), outermost
        // first. Other crates' spans (the runtime's own per-invocation span) are left out:
        // their keys would repeat ours under other names, or overwrite them.
        for span in ctx
            .event_scope()
            .into_iter()
            .flat_map(|scope| scope.from_root())
            .filter(|span| {
                span.metadata()
                    .target()
                    .starts_with(env!("CARGO_CRATE_NAME"))
            })
        {
            if let Some(fields) = span.extensions().get::<FormattedFields<JsonFields>>() {
                line.extend(parse_object(&fields.fields));
            }
        }
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

/// Writes a span's fields as one JSON object, for [`JsonLines`] to read back.
pub(crate) struct JsonFields;

impl<'writer> FormatFields<'writer> for JsonFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut object = Map::new();
        fields.record(&mut FieldsVisitor(&mut object));
        write!(writer, "{}", Value::Object(object))
    }

    /// Fields recorded after the span was created join its object (the default would append
    /// them as text, which is no longer JSON).
    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &Record<'_>,
    ) -> fmt::Result {
        let mut object = parse_object(&current.fields);
        fields.record(&mut FieldsVisitor(&mut object));
        current.fields = Value::Object(object).to_string();
        Ok(())
    }
}

/// What [`JsonFields`] wrote, as an object again (empty for a span without fields).
fn parse_object(text: &str) -> Map<String, Value> {
    serde_json::from_str(text).unwrap_or_default()
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
    use crate::telemetry::capture::Capture;

    #[test]
    fn writes_powertools_shaped_lines() {
        let (capture, _guard) = Capture::json_subscriber("svc");
        let span = crate::telemetry::request_span(Some("req-1"), Some("Root=1-abc"), true);
        span.in_scope(|| {
            tracing::info!(
                route = "/mixed",
                status = 200u64,
                duration_ms = 1.5,
                "request"
            );
        });
        span.record("cold_start", false);
        span.in_scope(|| tracing::info!("after a field was recorded"));
        tracing::warn!("outside a request");

        let lines = capture.lines_as_json();
        assert_eq!(lines.len(), 3, "{}", capture.text());
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
        assert_eq!(lines[1]["cold_start"], false);
        assert_eq!(lines[1]["function_request_id"], "req-1");
        assert_eq!(lines[2]["message"], "outside a request");
        assert!(lines[2].get("function_request_id").is_none());
        assert!(lines[2].get("cold_start").is_none());
    }

    #[test]
    fn other_crates_spans_give_no_keys() {
        let (capture, _guard) = Capture::json_subscriber("svc");
        let runtime =
            tracing::info_span!(target: "a_dependency", "invoke", requestId = "r-1", level = "no");
        runtime.in_scope(|| {
            crate::telemetry::request_span(Some("r-1"), None, false)
                .in_scope(|| tracing::info!("inside both"));
        });
        let line = &capture.lines_as_json()[0];
        assert_eq!(line["function_request_id"], "r-1");
        assert_eq!(line["level"], "INFO");
        assert!(line.get("requestId").is_none(), "{line}");
    }

    #[test]
    fn a_request_without_ids_has_no_id_keys() {
        let (capture, _guard) = Capture::json_subscriber("svc");
        crate::telemetry::request_span(None, None, false).in_scope(|| tracing::info!("local"));
        let line = &capture.lines_as_json()[0];
        assert_eq!(line["cold_start"], false);
        assert!(line.get("function_request_id").is_none(), "{line}");
        assert!(line.get("xray_trace_id").is_none(), "{line}");
    }
}
