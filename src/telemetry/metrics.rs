//! CloudWatch Embedded Metric Format: metrics as structured log lines, which CloudWatch turns
//! into metrics without an API call, an agent or a flush at the end of an invocation.
//!
//! Emitted (namespace `POWERTOOLS_METRICS_NAMESPACE`, every metric also by `service`):
//! - `Latency` (Milliseconds) by `route` and `status_class`, per request;
//! - `ColdStart` (Count), once per execution environment;
//! - `UpstreamErrors` (Count) by `kind`, per failed external API call;
//! - `DatabaseErrors` (Count) by `kind`, per failed database call.
//!
//! No maintained Rust crate covers EMF without pulling in an async metrics facade and a
//! background flusher, which is exactly what a frozen Lambda environment must not depend on;
//! the format is a few lines of JSON, written here.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// Where metrics go: EMF lines on stdout under Lambda, nowhere locally.
#[derive(Clone, Debug, Default)]
pub(crate) struct Metrics {
    emf: Option<Arc<Emf>>,
}

#[derive(Debug)]
struct Emf {
    namespace: String,
    service: String,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Unit {
    Milliseconds,
    Count,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Milliseconds => "Milliseconds",
            Self::Count => "Count",
        }
    }
}

impl Metrics {
    /// Metrics that are not recorded (the local server).
    pub(crate) fn disabled() -> Self {
        Self::default()
    }

    /// EMF lines on stdout, for CloudWatch Logs to extract.
    pub(crate) fn emf(namespace: impl Into<String>, service: impl Into<String>) -> Self {
        Self {
            emf: Some(Arc::new(Emf {
                namespace: namespace.into(),
                service: service.into(),
            })),
        }
    }

    pub(crate) fn request(&self, route: &str, status: u16, latency: Duration) {
        let class = format!("{}xx", status / 100);
        self.emit(
            &[("route", route), ("status_class", &class)],
            "Latency",
            Unit::Milliseconds,
            latency.as_secs_f64() * 1000.0,
        );
    }

    pub(crate) fn cold_start(&self) {
        self.emit(&[], "ColdStart", Unit::Count, 1.0);
    }

    /// One failed call to a dependency, counted in that dependency's `metric`.
    pub(crate) fn failed_call(&self, metric: &str, kind: &str) {
        self.emit(&[("kind", kind)], metric, Unit::Count, 1.0);
    }

    fn emit(&self, dimensions: &[(&str, &str)], name: &str, unit: Unit, value: f64) {
        let Some(emf) = &self.emf else {
            return;
        };
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let document = document(emf, timestamp, dimensions, name, unit, value);
        let mut line = document.to_string();
        line.push('\n');
        // One write of one whole line: never interleaved with log lines, never buffered.
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }
}

fn document(
    emf: &Emf,
    timestamp_ms: u64,
    dimensions: &[(&str, &str)],
    name: &str,
    unit: Unit,
    value: f64,
) -> Value {
    let mut keys = vec!["service"];
    keys.extend(dimensions.iter().map(|(key, _)| *key));
    let mut root = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": emf.namespace,
                "Dimensions": [keys],
                "Metrics": [{"Name": name, "Unit": unit.as_str()}],
            }],
        },
        "service": emf.service,
    });
    if let Value::Object(members) = &mut root {
        for (key, dimension) in dimensions {
            members.insert((*key).to_owned(), (*dimension).into());
        }
        members.insert(name.to_owned(), value.into());
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules of the EMF specification that CloudWatch enforces when extracting metrics.
    fn assert_valid_emf(doc: &Value) {
        let aws = &doc["_aws"];
        assert!(
            aws["Timestamp"].is_u64(),
            "Timestamp is epoch milliseconds: {doc}"
        );
        let directives = aws["CloudWatchMetrics"]
            .as_array()
            .expect("CloudWatchMetrics array");
        assert!(!directives.is_empty());
        for directive in directives {
            let namespace = directive["Namespace"].as_str().expect("Namespace");
            assert!(!namespace.is_empty() && namespace.len() <= 255);
            for set in directive["Dimensions"].as_array().expect("Dimensions") {
                let set = set.as_array().expect("a dimension set is an array");
                assert!(set.len() <= 30, "at most 30 dimensions");
                for key in set {
                    let key = key.as_str().expect("dimension names are strings");
                    assert!(
                        doc[key].is_string(),
                        "dimension {key} has a string value: {doc}"
                    );
                }
            }
            let metrics = directive["Metrics"].as_array().expect("Metrics");
            assert!(!metrics.is_empty() && metrics.len() <= 100);
            for metric in metrics {
                let name = metric["Name"].as_str().expect("metric Name");
                assert!(
                    doc[name].is_number(),
                    "metric {name} has a numeric value: {doc}"
                );
                let unit = metric["Unit"].as_str().expect("metric Unit");
                assert!(["Milliseconds", "Count"].contains(&unit));
            }
        }
    }

    fn emf() -> Emf {
        Emf {
            namespace: "LambdaAsyncApi".into(),
            service: "lambda-async-api".into(),
        }
    }

    #[test]
    fn latency_is_valid_emf_by_route_and_status_class() {
        let doc = document(
            &emf(),
            1_700_000_000_000,
            &[("route", "/calculate/{number}"), ("status_class", "2xx")],
            "Latency",
            Unit::Milliseconds,
            1.25,
        );
        assert_valid_emf(&doc);
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0],
            json!(["service", "route", "status_class"])
        );
        assert_eq!(doc["route"], "/calculate/{number}");
        assert_eq!(doc["Latency"], 1.25);
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "LambdaAsyncApi"
        );
    }

    #[test]
    fn cold_start_and_upstream_errors_are_valid_emf() {
        let cold = document(&emf(), 1, &[], "ColdStart", Unit::Count, 1.0);
        assert_valid_emf(&cold);
        assert_eq!(cold["ColdStart"], 1.0);
        let upstream = document(
            &emf(),
            1,
            &[("kind", "timeout")],
            "UpstreamErrors",
            Unit::Count,
            1.0,
        );
        assert_valid_emf(&upstream);
        assert_eq!(upstream["kind"], "timeout");
    }
}
