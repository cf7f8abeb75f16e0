//! The external API call of `/call-external-api`: one shared client, one function, one error
//! enum of what can go wrong there.

use std::time::Duration;

use reqwest::{Client, StatusCode, Url, redirect};
use serde_json::value::RawValue;
use tokio::sync::OnceCell;

use tracing::Span;
use tracing::field::Empty;

use super::{DependencyError, dependency_call};
use crate::telemetry::metrics::Metrics;
use crate::telemetry::spans;

/// Larger upstream bodies are refused: the route relays the document in one response.
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What can fail when fetching the external document. The messages become the `detail` of
/// the 502/504 response, so they say what failed without echoing internals.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpstreamError {
    #[error("external API returned HTTP {}", .0.as_u16())]
    Status(StatusCode),
    #[error("external API response is not valid JSON")]
    InvalidJson,
    #[error("external API response is larger than {} MiB", MAX_BODY_BYTES / (1024 * 1024))]
    TooLarge,
    #[error("could not connect to the external API")]
    Connect,
    #[error("external API connection failed")]
    Transport,
    #[error("external API did not answer within {0} ms")]
    Timeout(u128),
    #[error("external API client could not be set up")]
    Setup,
}

impl UpstreamError {
    pub(crate) fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
    }

    fn from_reqwest(err: &reqwest::Error) -> Self {
        if err.is_connect() {
            Self::Connect
        } else {
            Self::Transport
        }
    }
}

impl DependencyError for UpstreamError {
    const CALL: &'static str = "upstream call";
    const ERRORS_METRIC: &'static str = "UpstreamErrors";

    fn timed_out(allowed_ms: u128) -> Self {
        Self::Timeout(allowed_ms)
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Status(_) => "status",
            Self::InvalidJson => "invalid_json",
            Self::TooLarge => "too_large",
            Self::Connect => "connect",
            Self::Transport => "transport",
            Self::Timeout(_) => "timeout",
            Self::Setup => "setup",
        }
    }
}

/// The external API and the one HTTP client all requests share (connection pool included).
///
/// The client is built on first use, on the blocking pool: building it loads the system's
/// root certificates (file I/O, milliseconds), which neither a cold start nor an async worker
/// thread should pay for.
#[derive(Debug)]
pub(crate) struct Upstream {
    url: Url,
    /// The URL as a trace shows it: without its query, fragment or credentials.
    traced_url: String,
    timeout: Duration,
    /// A proxy from `HTTP(S)_PROXY` cannot reach our own loopback: never send it there.
    bypass_proxy: bool,
    client: OnceCell<Client>,
    metrics: Metrics,
}

impl Upstream {
    pub(crate) fn new(url: Url, timeout: Duration, metrics: Metrics) -> Self {
        let bypass_proxy = super::http_client::is_loopback(&url);
        let mut traced_url = url.clone();
        traced_url.set_query(None);
        traced_url.set_fragment(None);
        let _ = traced_url.set_username("");
        let _ = traced_url.set_password(None);
        Self {
            url,
            traced_url: traced_url.into(),
            timeout,
            bypass_proxy,
            client: OnceCell::new(),
            metrics,
        }
    }

    /// `GET`s the external URL and returns its JSON document, compacted.
    ///
    /// The whole exchange (client set-up, connect, headers, body) shares one deadline.
    /// `trace` is the X-Ray trace header to continue at the upstream, if any; with tracing on,
    /// the call is an HTTP client span, which the upstream gets as its `traceparent`. Every
    /// call logs its duration and outcome; failures also count in the `UpstreamErrors` metric.
    ///
    /// The deadline is `EXTERNAL_API_TIMEOUT_MS`, or the request's own `deadline` if sooner.
    pub(crate) async fn fetch_json(
        &self,
        trace: Option<&str>,
        deadline: tokio::time::Instant,
    ) -> Result<Box<RawValue>, UpstreamError> {
        let span = tracing::info_span!(
            target: spans::TARGET,
            "GET",
            "otel.kind" = "client",
            "http.request.method" = "GET",
            "url.full" = self.traced_url.as_str(),
            "server.address" = self.url.host_str(),
            "server.port" = self.url.port_or_known_default(),
            "http.response.status_code" = Empty,
            "otel.status_code" = Empty,
            "error.type" = Empty,
        );
        dependency_call(&self.metrics, self.timeout, deadline, span.clone(), |_| {
            self.fetch(trace, &span)
        })
        .await
    }

    async fn fetch(
        &self,
        trace: Option<&str>,
        span: &Span,
    ) -> Result<Box<RawValue>, UpstreamError> {
        let client = self.client().await?;
        let mut request = client
            .get(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(trace) = trace {
            request = request.header("x-amzn-trace-id", trace);
        }
        if let Some(traceparent) = spans::traceparent(span) {
            request = request.header("traceparent", traceparent);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| UpstreamError::from_reqwest(&e))?;
        span.record("http.response.status_code", response.status().as_u16());
        // Like httpx's `raise_for_status`: anything but 2xx, redirects included, is a fault.
        if !response.status().is_success() {
            return Err(UpstreamError::Status(response.status()));
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY_BYTES as u64)
        {
            return Err(UpstreamError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| UpstreamError::from_reqwest(&e))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(UpstreamError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        compact_json(&body).ok_or(UpstreamError::InvalidJson)
    }

    async fn client(&self) -> Result<&Client, UpstreamError> {
        let bypass_proxy = self.bypass_proxy;
        self.client
            .get_or_try_init(|| async move {
                crate::telemetry::spawn_blocking(move || build_client(bypass_proxy))
                    .await
                    .map_err(|_| UpstreamError::Setup)?
            })
            .await
    }
}

fn build_client(bypass_proxy: bool) -> Result<Client, UpstreamError> {
    tracing::debug!(bypass_proxy, "building the external API client");
    super::http_client::build(|builder| {
        let builder = builder.redirect(redirect::Policy::none());
        if bypass_proxy {
            builder.no_proxy()
        } else {
            builder
        }
    })
    .map_err(|e| {
        tracing::error!(error = %e, "building the HTTP client failed");
        UpstreamError::Setup
    })
}

/// Validates `bytes` as one JSON document and returns it without insignificant whitespace.
///
/// Working on the text (rather than a parsed `Value`) keeps the upstream's key order and its
/// numbers exactly as sent, big integers included, as Python's `json` would. serde_json can
/// only get close: a `Value` (even with its `preserve_order` and `arbitrary_precision`
/// features) rewrites escapes (`\u00e9` becomes `é`, `\/` becomes `/`) and keeps one of two
/// duplicate keys, and `arbitrary_precision` would change how every crate in the binary
/// reads numbers (Cargo features are shared). Validation is serde_json's (`RawValue`); the
/// loop below only drops whitespace outside strings.
pub(crate) fn compact_json(bytes: &[u8]) -> Option<Box<RawValue>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let raw: &RawValue = serde_json::from_str(text).ok()?;
    let raw = raw.get();
    let mut out = String::with_capacity(raw.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in raw.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
    RawValue::from_string(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_json_keeping_order_strings_and_numbers() {
        let input = b"{\n  \"userId\": 1,\n  \"title\": \"a \\\" b  c\",\n  \"big\": 123456789012345678901234567890,\n  \"list\": [ 1.50 , true , null ]\n}\n";
        let out = compact_json(input).unwrap();
        assert_eq!(
            out.get(),
            r#"{"userId":1,"title":"a \" b  c","big":123456789012345678901234567890,"list":[1.50,true,null]}"#
        );
    }

    #[tokio::test]
    async fn building_the_client_logs_inside_the_requests_span() {
        use tracing::Instrument;
        let (capture, _guard) = crate::telemetry::capture::Capture::json_subscriber("svc");
        // The discard port on loopback: nothing answers, the call fails fast.
        let url = Url::parse("http://127.0.0.1:9/todos/1").unwrap();
        let upstream = Upstream::new(url, Duration::from_secs(5), Metrics::disabled());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let span = crate::telemetry::request_span(Some("req-3"), None, true);
        let result = upstream.fetch_json(None, deadline).instrument(span).await;
        assert!(matches!(result, Err(UpstreamError::Connect)), "{result:?}");

        let lines = capture.lines_as_json();
        let built = lines
            .iter()
            .find(|l| l["message"] == "building the external API client")
            .unwrap_or_else(|| panic!("no line from the client build: {}", capture.text()));
        assert_eq!(built["level"], "DEBUG");
        assert_eq!(built["function_request_id"], "req-3");
        let call = lines
            .iter()
            .find(|l| l["message"] == "upstream call")
            .unwrap();
        assert_eq!(call["function_request_id"], "req-3");
        assert_eq!(call["outcome"], "connect");
    }

    /// Kept by hand rather than re-serialized through `serde_json::Value`: the upstream's
    /// escapes, duplicate keys and number spellings come back exactly as sent.
    #[test]
    fn keeps_escapes_duplicates_and_number_spellings_as_sent() {
        let input = br#"{ "s": "caf\u00e9 \/ x", "n": 1.0e2, "k": 1, "k": 2 }"#;
        assert_eq!(
            compact_json(input).unwrap().get(),
            r#"{"s":"caf\u00e9 \/ x","n":1.0e2,"k":1,"k":2}"#
        );
    }

    #[test]
    fn refuses_what_is_not_one_json_document() {
        for bad in [&b""[..], b"{", b"{} {}", b"NaN", b"<html>", b"\xff\xfe"] {
            assert!(compact_json(bad).is_none(), "{bad:?}");
        }
    }
}
