//! Where OpenTelemetry spans go: the standard `OTEL_*` variables, read and checked here like
//! every other setting (the SDKs would read them by themselves, unchecked; nothing here lets
//! them: `telemetry` and the collector get their settings from this struct only).
//!
//! Tracing is on when an OTLP endpoint is set, and then only spans are sent: over HTTP, as
//! protobuf (`http/protobuf`, the one protocol the ADOT collector layer and every OpenTelemetry
//! collector take). With no endpoint nothing is built, and no request does any tracing work.

use std::time::Duration;

use reqwest::Url;

use super::vars::{Vars, web_url};

/// The bound of one export when `OTEL_EXPORTER_OTLP_TIMEOUT` is unset. The OTLP default, 10 s,
/// is made for long-lived processes that export in the background; on classic Lambda the
/// export runs between the answer and the next invocation, billed, and a collector that
/// hangs would hold every invocation that long. The ADOT collector layer listens on
/// localhost and answers in about a millisecond: 500 ms is generous for it and still a bound
/// a stuck collector cannot turn into seconds.
pub(crate) const DEFAULT_EXPORT_TIMEOUT_MS: u64 = 500;

/// The OTLP/HTTP path of spans, which `OTEL_EXPORTER_OTLP_ENDPOINT` (the base of every
/// signal) gets appended, as the OTLP exporter specification says.
const TRACES_PATH: &str = "v1/traces";

/// Spans are exported ([`Config::traces`](super::Config::traces) is `Some`) to `endpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceSettings {
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, used as is; else `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// with `/v1/traces` appended.
    pub(crate) endpoint: Url,
    /// `OTEL_SERVICE_NAME`, else the Powertools service (`POWERTOOLS_SERVICE_NAME`): the
    /// `service.name` of every span.
    pub(crate) service: String,
    /// `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds): the most one export may take, connection
    /// included, before its spans are given up.
    pub(crate) timeout: Duration,
}

impl TraceSettings {
    /// `None` when neither endpoint is set (or both are blank). Every variable is checked
    /// whether or not tracing is on, as the other settings are.
    pub(super) fn read(
        v: &Vars<impl Fn(&str) -> Option<String>>,
        powertools_service: &str,
    ) -> Result<Option<Self>, super::ConfigError> {
        let traces = v.parse("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "", |s| {
            optional_url(s, "")
        })?;
        let base = v.parse("OTEL_EXPORTER_OTLP_ENDPOINT", "", |s| {
            optional_url(s, TRACES_PATH)
        })?;
        let timeout = v.millis("OTEL_EXPORTER_OTLP_TIMEOUT", DEFAULT_EXPORT_TIMEOUT_MS)?;
        v.parse(
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "http/protobuf",
            |s| match s {
                "http/protobuf" => Ok(()),
                _ => {
                    Err("only http/protobuf is supported (OTLP over HTTP, protobuf-encoded)".into())
                }
            },
        )?;
        let service = v
            .text("OTEL_SERVICE_NAME")
            .map_or_else(|| powertools_service.to_owned(), |s| s.trim().to_owned());
        Ok(traces.or(base).map(|endpoint| Self {
            endpoint,
            service,
            timeout,
        }))
    }
}

/// `None` for a blank value; else an `http(s)` URL, with `path` appended to its own path.
fn optional_url(value: &str, path: &str) -> Result<Option<Url>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    let reason = "must be an http:// or https:// URL with a host";
    let url = web_url(value, &["http", "https"], reason)?;
    if path.is_empty() {
        return Ok(Some(url));
    }
    let joined = format!("{}/{path}", url.as_str().trim_end_matches('/'));
    web_url(&joined, &["http", "https"], reason).map(Some)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::tests::config;

    fn traces(vars: &[(&str, &str)]) -> Result<Option<super::TraceSettings>, String> {
        config(vars).map(|c| c.traces)
    }

    #[test]
    fn off_without_an_endpoint() {
        assert_eq!(traces(&[]).unwrap(), None);
        assert_eq!(
            traces(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]).unwrap(),
            None
        );
        // The other settings are checked all the same.
        let error = traces(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "soon")]).unwrap_err();
        assert!(
            error.starts_with("invalid OTEL_EXPORTER_OTLP_TIMEOUT="),
            "{error}"
        );
    }

    #[test]
    fn the_generic_endpoint_gets_the_traces_path_and_the_traces_one_is_used_as_is() {
        for (base, want) in [
            ("http://localhost:4318", "http://localhost:4318/v1/traces"),
            ("http://localhost:4318/", "http://localhost:4318/v1/traces"),
            (
                "https://otel.example/otlp",
                "https://otel.example/otlp/v1/traces",
            ),
        ] {
            let got = traces(&[("OTEL_EXPORTER_OTLP_ENDPOINT", base)]).unwrap();
            assert_eq!(got.unwrap().endpoint.as_str(), want, "{base}");
        }
        let got = traces(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://127.0.0.1:9/spans",
            ),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(got.endpoint.as_str(), "http://127.0.0.1:9/spans");
    }

    #[test]
    fn service_and_timeout() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318");
        let defaults = traces(&[endpoint]).unwrap().unwrap();
        assert_eq!(defaults.service, "lambda-async-api");
        assert_eq!(defaults.timeout, Duration::from_millis(500));
        let powertools = traces(&[endpoint, ("POWERTOOLS_SERVICE_NAME", "orders")]).unwrap();
        assert_eq!(powertools.unwrap().service, "orders");
        let set = traces(&[
            endpoint,
            ("POWERTOOLS_SERVICE_NAME", "orders"),
            ("OTEL_SERVICE_NAME", "orders-api"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "250"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(set.service, "orders-api");
        assert_eq!(set.timeout, Duration::from_millis(250));
    }

    #[test]
    fn bad_values_stop_the_start_naming_the_variable() {
        for (name, value, reason) in [
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "localhost:4318",
                "must be an http:// or https:// URL with a host",
            ),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "grpc://collector:4317",
                "must be an http:// or https:// URL with a host",
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "0", "must be at least 1"),
            (
                "OTEL_EXPORTER_OTLP_TIMEOUT",
                "10s",
                "must be a whole number of milliseconds",
            ),
            (
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                "grpc",
                "only http/protobuf is supported (OTLP over HTTP, protobuf-encoded)",
            ),
            (
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                "http/json",
                "only http/protobuf is supported (OTLP over HTTP, protobuf-encoded)",
            ),
        ] {
            assert_eq!(
                traces(&[(name, value)]).unwrap_err(),
                format!("invalid {name}={value:?}: {reason}")
            );
        }
    }
}
