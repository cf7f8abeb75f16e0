//! Every setting the function reads, its default and its validation, in one place.
//!
//! Read once at start: a bad value stops the process with a message naming the variable, so a
//! misconfigured deployment fails its init (visible in the Lambda console and logs) instead of
//! serving wrong answers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use reqwest::Url;

use crate::calc::MAX_UNITS;

/// The seed's upstream, used when `EXTERNAL_API_URL` is unset.
const DEFAULT_EXTERNAL_API_URL: &str = "https://jsonplaceholder.typicode.com/todos/1";
const DEFAULT_EXTERNAL_API_TIMEOUT_MS: u64 = 5_000;
/// `/calculate/100000` loops a billion times (about a second); the seed had no bound at all.
const DEFAULT_MAX_NUMBER: u64 = 100_000;
const DEFAULT_PORT: u16 = 3000;
/// API Gateway's integration timeout is 29 s by default: nothing waits longer for us.
const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 29_000;
const DEFAULT_DB_TIMEOUT_MS: u64 = 2_000;
/// Powertools' `service` when `POWERTOOLS_SERVICE_NAME` is unset.
const DEFAULT_SERVICE: &str = "lambda-async-api";
/// CloudWatch namespace of our metrics when `POWERTOOLS_METRICS_NAMESPACE` is unset.
const DEFAULT_METRICS_NAMESPACE: &str = "LambdaAsyncApi";
/// Where `/docs` and `/redoc` load Swagger UI and ReDoc from: jsDelivr's npm mirror,
/// FastAPI's default.
const DEFAULT_DOCS_ASSET_URL: &str = "https://cdn.jsdelivr.net/npm";
/// Whether answers are compressed for clients that accept it (`COMPRESSION`): measured
/// cheap enough at 128 MB to be on (docs/performance.md, "Compression").
const DEFAULT_COMPRESSION: &str = "on";
/// Below this many bytes an answer is sent as it is: Starlette's `GZipMiddleware` default. A
/// small body gains a few bytes at best (gzip adds 18 of its own) and still costs the
/// encoder's set-up.
const DEFAULT_COMPRESSION_MIN_BYTES: u16 = 500;
/// How long a browser may reuse a preflight's answer: Starlette's `CORSMiddleware` default.
const DEFAULT_CORS_MAX_AGE_SECS: u64 = 600;
/// The request headers every CORS policy allows, as Starlette's does: the ones a browser sends
/// cross-origin without a preflight (the Fetch standard's CORS-safelisted request headers).
const SAFELISTED_HEADERS: [HeaderName; 4] = [
    axum::http::header::ACCEPT,
    axum::http::header::ACCEPT_LANGUAGE,
    axum::http::header::CONTENT_LANGUAGE,
    axum::http::header::CONTENT_TYPE,
];

/// Validated configuration. The binary reads `listen` and `in_lambda` to pick the transport;
/// the rest is for [`AppState::new`](crate::AppState::new).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `EXTERNAL_API_URL`: what `/call-external-api` fetches (http or https).
    pub(crate) external_api_url: Url,
    /// `EXTERNAL_API_TIMEOUT_MS`: total deadline of that fetch, connect to last body byte.
    pub(crate) external_api_timeout: Duration,
    /// `MAX_NUMBER`: the largest `{number}` `/calculate` accepts.
    pub(crate) max_number: u64,
    /// `REQUEST_TIMEOUT_MS`: every request is answered within this (504 otherwise).
    pub(crate) request_timeout: Duration,
    /// `CPU_WORKERS`: calculations allowed to run at once (default: the number of cores).
    pub(crate) cpu_workers: usize,
    /// `ITEMS_TABLE`: the DynamoDB table `/call-external-api` also reads item 1 from.
    pub(crate) items_table: Option<String>,
    /// `DB_TIMEOUT_MS`: total deadline of that read, SDK retries included.
    pub(crate) db_timeout: Duration,
    /// `HOST` and `PORT`: where the local server listens (unused under Lambda).
    pub listen: SocketAddr,
    /// Whether `AWS_LAMBDA_RUNTIME_API` is set, i.e. we run inside Lambda.
    pub in_lambda: bool,
    /// `BASE_PATH`: the API mapping key of the custom domain in front of the API (`/api` for
    /// `https://example.com/api/...`), which the Lambda transport takes off the path of
    /// requests that came through that domain and puts back in the URLs it writes.
    pub base_path: Option<String>,
    /// `AWS_LAMBDA_MAX_CONCURRENCY` (Managed Instances): invocations served at once, read as
    /// the Lambda runtime crate reads it (a whole number above 0, else 1).
    pub(crate) lambda_concurrency: u32,
    /// `POWERTOOLS_SERVICE_NAME`: the `service` of logs and metrics.
    pub(crate) service: String,
    /// `POWERTOOLS_METRICS_NAMESPACE`: where the EMF metrics land in CloudWatch.
    pub(crate) metrics_namespace: String,
    /// `DOCS_ASSET_URL`: where `/docs` and `/redoc` load Swagger UI and ReDoc from (the folder
    /// holding `swagger-ui-dist@5.35.0/` and `redoc@2.5.4/`); `None` when `DOCS=off`, and both
    /// pages are then unknown paths.
    pub(crate) docs_asset_url: Option<String>,
    /// `CORS_*`: which browser apps on other origins may read the answers; `None` (no CORS
    /// headers at all) when `CORS_ALLOW_ORIGINS` is unset or empty.
    pub(crate) cors: Option<CorsConfig>,
    /// `AUTH_JWT_ISSUER` and `AUTH_JWT_AUDIENCE`: the JWT authorizer API Gateway runs on the API
    /// routes. When set, those routes answer only requests an authorizer let in.
    pub(crate) jwt_authorizer: Option<JwtAuthorizer>,
    /// `COMPRESSION` (`on`/`off`) and `COMPRESSION_MIN_BYTES`: answers of at least that many
    /// bytes are gzipped for clients that accept it; `None` when off.
    pub(crate) compression_min_bytes: Option<u16>,
}

/// Starlette's `CORSMiddleware` settings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CorsConfig {
    /// `CORS_ALLOW_ORIGINS`: exact origins such as `https://app.example`, or `*`.
    pub(crate) allow_origins: Allowed<HeaderValue>,
    /// `CORS_ALLOW_CREDENTIALS` (`true`/`false`, default `false`): whether browsers may send
    /// cookies and `Authorization` and read the answer. Never together with `*` origins.
    pub(crate) allow_credentials: bool,
    /// The safelisted request headers, `authorization` with the JWT authorizer on, and
    /// `CORS_ALLOW_HEADERS`; or `*`, which allows whatever a preflight asks for.
    pub(crate) allow_headers: Allowed<HeaderName>,
    /// `CORS_EXPOSE_HEADERS`: response headers (beyond the safelisted ones) a page may read.
    pub(crate) expose_headers: Vec<HeaderName>,
    /// `CORS_MAX_AGE` (seconds): how long a browser may reuse a preflight's answer.
    pub(crate) max_age: Duration,
}

/// A list of allowed values, or `*` for any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Allowed<T> {
    Any,
    List(Vec<T>),
}

/// The JWT authorizer in front of the API routes, as the template configures it. The function
/// does not verify tokens (API Gateway does, and only API Gateway may invoke it): it needs to
/// know that an authorizer is expected, and documents the scheme in `/openapi.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JwtAuthorizer {
    pub(crate) issuer: Url,
    pub(crate) audience: Vec<String>,
}

/// How to log: read before everything else (so that configuration errors are logged in the
/// right format), and never fails: an unknown value falls back to the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `AWS_LAMBDA_LOG_FORMAT` (`JSON` or `Text`), set by the function's `LoggingConfig`.
    pub(crate) format: LogFormat,
    /// `target=level` pairs and a default level: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else `info`.
    pub(crate) level: String,
    pub(crate) service: String,
    pub(crate) in_lambda: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

impl LogConfig {
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let format = match lookup("AWS_LAMBDA_LOG_FORMAT") {
            Some(v) if v.trim().eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        };
        let level = match lookup("AWS_LAMBDA_LOG_LEVEL") {
            // Lambda's levels are TRACE..ERROR and FATAL; tracing has no FATAL.
            Some(v) if v.trim().eq_ignore_ascii_case("fatal") => "error".to_owned(),
            Some(v) if !v.trim().is_empty() => v.trim().to_ascii_lowercase(),
            _ => lookup("RUST_LOG")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "info".to_owned()),
        };
        Self {
            format,
            level,
            service: service_name(&lookup),
            in_lambda: in_lambda(&lookup),
        }
    }
}

fn service_name(lookup: &impl Fn(&str) -> Option<String>) -> String {
    lookup("POWERTOOLS_SERVICE_NAME")
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SERVICE.to_owned())
}

fn in_lambda(lookup: &impl Fn(&str) -> Option<String>) -> bool {
    lookup("AWS_LAMBDA_RUNTIME_API").is_some_and(|v| !v.is_empty())
}

/// A setting that cannot be used, with the variable's name and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {name}={value:?}: {reason}")]
pub struct ConfigError {
    name: &'static str,
    value: String,
    reason: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Whether the process serves one request at a time: under Lambda's classic model (not
    /// Managed Instances' concurrent invocations). Then one thread can run the async work
    /// (the binary starts no runtime worker threads); the local server and concurrent
    /// invocations get a worker per core.
    pub fn one_request_at_a_time(&self) -> bool {
        self.in_lambda && self.lambda_concurrency == 1
    }

    /// Reads settings through `lookup` (the environment in production, a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let external_api_url =
            parse_var(&lookup, "EXTERNAL_API_URL", DEFAULT_EXTERNAL_API_URL, |v| {
                let url = Url::parse(v).map_err(|e| e.to_string())?;
                match url.scheme() {
                    "http" | "https" if url.has_host() => Ok(url),
                    _ => Err("must be an http:// or https:// URL with a host".to_owned()),
                }
            })?;
        let timeout_ms = parse_var(
            &lookup,
            "EXTERNAL_API_TIMEOUT_MS",
            &DEFAULT_EXTERNAL_API_TIMEOUT_MS.to_string(),
            parse_millis,
        )?;
        let max_number = parse_var(
            &lookup,
            "MAX_NUMBER",
            &DEFAULT_MAX_NUMBER.to_string(),
            |v| match v.parse::<u64>() {
                Ok(n) if n <= MAX_UNITS => Ok(n),
                _ => Err(format!("must be a whole number from 0 to {MAX_UNITS}")),
            },
        )?;
        let request_timeout_ms = parse_var(
            &lookup,
            "REQUEST_TIMEOUT_MS",
            &DEFAULT_REQUEST_TIMEOUT_MS.to_string(),
            parse_millis,
        )?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cpu_workers = parse_var(&lookup, "CPU_WORKERS", &cores.to_string(), |v| match v
            .parse::<usize>()
        {
            Ok(n) if (1..=1024).contains(&n) => Ok(n),
            _ => Err("must be a whole number from 1 to 1024".to_owned()),
        })?;
        let db_timeout_ms = parse_var(
            &lookup,
            "DB_TIMEOUT_MS",
            &DEFAULT_DB_TIMEOUT_MS.to_string(),
            parse_millis,
        )?;
        let items_table = lookup("ITEMS_TABLE")
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        let host = parse_var(&lookup, "HOST", "127.0.0.1", |v| {
            if v.eq_ignore_ascii_case("localhost") {
                return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
            }
            v.parse::<IpAddr>()
                .map_err(|_| "must be an IP address such as 127.0.0.1 or 0.0.0.0".to_owned())
        })?;
        let port = parse_var(&lookup, "PORT", &DEFAULT_PORT.to_string(), |v| {
            v.parse::<u16>()
                .map_err(|_| "must be a port number from 0 to 65535".to_owned())
        })?;

        let docs = parse_var(&lookup, "DOCS", "on", |v| match v {
            "on" => Ok(true),
            "off" => Ok(false),
            _ => Err("must be on or off".to_owned()),
        })?;
        let docs_asset_url = parse_var(&lookup, "DOCS_ASSET_URL", DEFAULT_DOCS_ASSET_URL, |v| {
            let url = Url::parse(v).map_err(|e| e.to_string())?;
            match url.scheme() {
                "http" | "https" if url.has_host() && url.query().is_none() => {
                    Ok(url.as_str().trim_end_matches('/').to_owned())
                }
                _ => Err("must be an http:// or https:// URL with a host and no query".to_owned()),
            }
        })?;

        let base_path = parse_var(&lookup, "BASE_PATH", "", parse_base_path)?;
        let jwt_authorizer = jwt_authorizer(&lookup)?;
        let cors = cors(&lookup, jwt_authorizer.is_some())?;
        let compression_min_bytes = compression(&lookup)?;

        Ok(Self {
            external_api_url,
            external_api_timeout: Duration::from_millis(timeout_ms),
            max_number,
            request_timeout: Duration::from_millis(request_timeout_ms),
            cpu_workers,
            items_table,
            db_timeout: Duration::from_millis(db_timeout_ms),
            listen: SocketAddr::new(host, port),
            in_lambda: in_lambda(&lookup),
            base_path,
            lambda_concurrency: lookup("AWS_LAMBDA_MAX_CONCURRENCY")
                .and_then(|v| v.parse::<u32>().ok())
                .filter(|&n| n > 0)
                .unwrap_or(1),
            service: service_name(&lookup),
            metrics_namespace: lookup("POWERTOOLS_METRICS_NAMESPACE")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_owned()),
            docs_asset_url: docs.then_some(docs_asset_url),
            cors,
            jwt_authorizer,
            compression_min_bytes,
        })
    }
}

/// `AUTH_JWT_ISSUER` (the switch) and `AUTH_JWT_AUDIENCE`, which the JWT authorizer needs too.
fn jwt_authorizer(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<JwtAuthorizer>, ConfigError> {
    let issuer = parse_var(lookup, "AUTH_JWT_ISSUER", "", |v| {
        if v.is_empty() {
            return Ok(None);
        }
        let url = Url::parse(v).map_err(|e| e.to_string())?;
        match url.scheme() {
            // API Gateway's JWT authorizer fetches the issuer's keys over https only.
            "https" if url.has_host() => Ok(Some(url)),
            _ => Err("must be the issuer's https:// URL (the tokens' `iss`)".to_owned()),
        }
    })?;
    let audience: Vec<String> = parse_var(lookup, "AUTH_JWT_AUDIENCE", "", |v| {
        Ok(comma_list(v).into_iter().map(str::to_owned).collect())
    })?;
    // Either half alone is refused, as the template's Rules refuse it at deploy: an issuer
    // without an audience is no JWT authorizer, and an audience without an issuer would leave
    // the routes public while looking configured.
    match (issuer, audience.is_empty()) {
        (None, true) => Ok(None),
        (Some(issuer), false) => Ok(Some(JwtAuthorizer { issuer, audience })),
        (Some(_), true) => Err(ConfigError {
            name: "AUTH_JWT_AUDIENCE",
            value: String::new(),
            reason: "must name the tokens' audience when AUTH_JWT_ISSUER is set \
                     (API Gateway's JWT authorizer needs both)"
                .to_owned(),
        }),
        (None, false) => Err(ConfigError {
            name: "AUTH_JWT_ISSUER",
            value: String::new(),
            reason: "must be set when AUTH_JWT_AUDIENCE is: without it the API routes \
                     would stay public"
                .to_owned(),
        }),
    }
}

/// The `CORS_*` settings; `None` when `CORS_ALLOW_ORIGINS` is unset or empty. The others are
/// validated either way, so a typo does not wait for CORS to be switched on to show.
fn cors(
    lookup: &impl Fn(&str) -> Option<String>,
    jwt_authorizer: bool,
) -> Result<Option<CorsConfig>, ConfigError> {
    let allow_origins = parse_var(lookup, "CORS_ALLOW_ORIGINS", "", |v| {
        let entries = comma_list(v);
        if entries == ["*"] {
            return Ok(Some(Allowed::Any));
        }
        if entries.is_empty() {
            return Ok(None);
        }
        entries
            .into_iter()
            .map(parse_origin)
            .collect::<Result<Vec<_>, _>>()
            .map(|origins| Some(Allowed::List(origins)))
    })?;
    let allow_credentials = parse_var(lookup, "CORS_ALLOW_CREDENTIALS", "false", |v| {
        match v.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("must be true or false".to_owned()),
        }
    })?;
    if allow_credentials && allow_origins == Some(Allowed::Any) {
        return Err(ConfigError {
            name: "CORS_ALLOW_CREDENTIALS",
            value: "true".to_owned(),
            reason: "cannot be true with CORS_ALLOW_ORIGINS=*: browsers refuse that \
                     combination, and answering every origin by name instead would let any \
                     site make calls with its users' credentials; list the origins"
                .to_owned(),
        });
    }
    let allow_headers = parse_var(lookup, "CORS_ALLOW_HEADERS", "", |v| {
        let entries = comma_list(v);
        if entries == ["*"] {
            return Ok(Allowed::Any);
        }
        let mut headers = SAFELISTED_HEADERS.to_vec();
        if jwt_authorizer {
            headers.push(axum::http::header::AUTHORIZATION);
        }
        for name in entries {
            let name = parse_header_name(name)?;
            if !headers.contains(&name) {
                headers.push(name);
            }
        }
        Ok(Allowed::List(headers))
    })?;
    let expose_headers = parse_var(lookup, "CORS_EXPOSE_HEADERS", "", |v| {
        comma_list(v).into_iter().map(parse_header_name).collect()
    })?;
    let max_age = parse_var(
        lookup,
        "CORS_MAX_AGE",
        &DEFAULT_CORS_MAX_AGE_SECS.to_string(),
        |v| {
            v.parse::<u64>()
                .map_err(|_| "must be a whole number of seconds".to_owned())
        },
    )?;
    Ok(allow_origins.map(|allow_origins| CorsConfig {
        allow_origins,
        allow_credentials,
        allow_headers,
        expose_headers,
        max_age: Duration::from_secs(max_age),
    }))
}

/// `api`, `/api/` or `v1/api` as `/api` or `/v1/api`; empty or `/` as none. The characters
/// are those API Gateway allows in an API mapping key.
fn parse_base_path(v: &str) -> Result<Option<String>, String> {
    let trimmed = v.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(None);
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "$-_.+!*'()".contains(c);
    if trimmed
        .split('/')
        .all(|segment| !segment.is_empty() && segment.chars().all(allowed))
    {
        Ok(Some(format!("/{trimmed}")))
    } else {
        Err("must be the custom domain's API mapping key, such as api or v1/api".to_owned())
    }
}

/// `COMPRESSION` and `COMPRESSION_MIN_BYTES`: the smallest answer compressed, or `None` when
/// off. The size is validated either way, so a typo does not wait for compression to be on.
fn compression(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<u16>, ConfigError> {
    let on = parse_var(lookup, "COMPRESSION", DEFAULT_COMPRESSION, |v| match v {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err("must be on or off".to_owned()),
    })?;
    let min_bytes = parse_var(
        lookup,
        "COMPRESSION_MIN_BYTES",
        &DEFAULT_COMPRESSION_MIN_BYTES.to_string(),
        // tower-http's size predicate counts in a u16.
        |v| {
            v.parse::<u16>()
                .map_err(|_| format!("must be a whole number of bytes from 0 to {}", u16::MAX))
        },
    )?;
    Ok(on.then_some(min_bytes))
}

/// The non-empty, trimmed entries of a comma-separated list.
fn comma_list(v: &str) -> Vec<&str> {
    v.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect()
}

/// An origin exactly as a browser sends it in `Origin` (`https://app.example:8443`): a
/// trailing slash or a path would silently never match, so they are refused.
fn parse_origin(entry: &str) -> Result<HeaderValue, String> {
    let not_an_origin = || {
        format!(
            "{entry:?} is not an origin: write scheme://host[:port], with no path or trailing slash"
        )
    };
    let url = Url::parse(entry).map_err(|_| not_an_origin())?;
    let origin = url.origin().ascii_serialization();
    if !origin.eq_ignore_ascii_case(entry) || origin == "null" {
        return Err(not_an_origin());
    }
    HeaderValue::try_from(origin).map_err(|_| not_an_origin())
}

fn parse_header_name(entry: &str) -> Result<HeaderName, String> {
    HeaderName::try_from(entry).map_err(|_| format!("{entry:?} is not a header name"))
}

/// A positive whole number of milliseconds.
fn parse_millis(v: &str) -> Result<u64, String> {
    match v.parse::<u64>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(ms) => Ok(ms),
        Err(_) => Err("must be a whole number of milliseconds".to_owned()),
    }
}

fn parse_var<T>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    let value = lookup(name).unwrap_or_else(|| default.to_owned());
    parse(value.trim()).map_err(|reason| ConfigError {
        name,
        value,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, String> {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_work_offline() {
        let c = config(&[]).unwrap();
        assert_eq!(c.external_api_url.as_str(), DEFAULT_EXTERNAL_API_URL);
        assert_eq!(c.external_api_timeout, Duration::from_secs(5));
        assert_eq!(c.max_number, 100_000);
        assert_eq!(c.request_timeout, Duration::from_secs(29));
        assert!(c.cpu_workers >= 1);
        assert_eq!(
            (c.items_table.as_deref(), c.db_timeout),
            (None, Duration::from_secs(2))
        );
        assert_eq!(c.listen, "127.0.0.1:3000".parse().unwrap());
        assert!(!c.in_lambda);
        assert_eq!(
            c.docs_asset_url.as_deref(),
            Some("https://cdn.jsdelivr.net/npm")
        );
    }

    #[test]
    fn docs_settings() {
        let c = config(&[("DOCS_ASSET_URL", "http://127.0.0.1:8000/assets/")]).unwrap();
        assert_eq!(
            c.docs_asset_url.as_deref(),
            Some("http://127.0.0.1:8000/assets")
        );
        assert_eq!(config(&[("DOCS", "off")]).unwrap().docs_asset_url, None);
        for (name, value) in [
            ("DOCS", "yes"),
            ("DOCS_ASSET_URL", "ftp://a.example"),
            ("DOCS_ASSET_URL", "/npm"),
            ("DOCS_ASSET_URL", "https://a.example/?v=1"),
        ] {
            let error = config(&[(name, value)]).unwrap_err();
            assert!(error.starts_with(&format!("invalid {name}=")), "{error}");
        }
    }

    #[test]
    fn one_request_at_a_time_only_under_classic_lambda() {
        let lambda = ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001");
        assert!(!config(&[]).unwrap().one_request_at_a_time());
        assert!(config(&[lambda]).unwrap().one_request_at_a_time());
        for (value, one) in [("1", true), ("0", true), ("x", true), ("16", false)] {
            let c = config(&[lambda, ("AWS_LAMBDA_MAX_CONCURRENCY", value)]).unwrap();
            assert_eq!(c.one_request_at_a_time(), one, "{value}");
        }
        assert!(
            !config(&[("AWS_LAMBDA_MAX_CONCURRENCY", "1")])
                .unwrap()
                .one_request_at_a_time()
        );
    }

    #[test]
    fn reads_every_variable() {
        let c = config(&[
            ("EXTERNAL_API_URL", "http://127.0.0.1:9/x"),
            ("EXTERNAL_API_TIMEOUT_MS", "250"),
            ("MAX_NUMBER", "1844674407370955"),
            ("REQUEST_TIMEOUT_MS", "1500"),
            ("CPU_WORKERS", "3"),
            ("ITEMS_TABLE", "items"),
            ("DB_TIMEOUT_MS", "750"),
            ("HOST", "0.0.0.0"),
            ("PORT", "0"),
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ])
        .unwrap();
        assert_eq!(c.external_api_url.as_str(), "http://127.0.0.1:9/x");
        assert_eq!(c.external_api_timeout, Duration::from_millis(250));
        assert_eq!(c.max_number, MAX_UNITS);
        assert_eq!(c.request_timeout, Duration::from_millis(1500));
        assert_eq!(c.cpu_workers, 3);
        assert_eq!(c.items_table.as_deref(), Some("items"));
        assert_eq!(c.db_timeout, Duration::from_millis(750));
        assert_eq!(c.listen, "0.0.0.0:0".parse().unwrap());
        assert!(c.in_lambda);
        assert!(c.one_request_at_a_time());
        assert_eq!(
            config(&[("HOST", "localhost")]).unwrap().listen.ip(),
            Ipv4Addr::LOCALHOST
        );
    }

    #[test]
    fn log_settings_follow_lambdas_logging_config() {
        let log = |vars: &[(&str, &str)]| {
            LogConfig::from_lookup(|name| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            })
        };
        let local = log(&[]);
        assert_eq!(
            (local.format, local.level.as_str()),
            (LogFormat::Text, "info")
        );
        assert_eq!(local.service, "lambda-async-api");
        let lambda = log(&[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
            ("RUST_LOG", "trace"),
            ("POWERTOOLS_SERVICE_NAME", "orders"),
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ]);
        assert_eq!(
            (lambda.format, lambda.level.as_str()),
            (LogFormat::Json, "warn")
        );
        assert_eq!(lambda.service, "orders");
        assert!(lambda.in_lambda);
        assert_eq!(log(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]).level, "error");
        assert_eq!(
            log(&[("RUST_LOG", "lambda_async_api=debug")]).level,
            "lambda_async_api=debug"
        );
        let c = config(&[("POWERTOOLS_METRICS_NAMESPACE", "Shop")]).unwrap();
        assert_eq!(
            (c.service.as_str(), c.metrics_namespace.as_str()),
            ("lambda-async-api", "Shop")
        );
    }

    #[test]
    fn the_base_path_is_read_as_a_path_prefix() {
        for (value, want) in [
            ("", None),
            ("/", None),
            ("api", Some("/api")),
            ("/api/", Some("/api")),
            ("v1/api", Some("/v1/api")),
        ] {
            assert_eq!(
                config(&[("BASE_PATH", value)])
                    .unwrap()
                    .base_path
                    .as_deref(),
                want,
                "{value:?}"
            );
        }
        for bad in ["a b", "api//v1", "api?x=1", "%2F"] {
            let error = config(&[("BASE_PATH", bad)]).unwrap_err();
            assert!(error.starts_with("invalid BASE_PATH="), "{error}");
        }
    }

    #[test]
    fn cors_is_off_unless_origins_are_given() {
        assert_eq!(config(&[]).unwrap().cors, None);
        assert_eq!(config(&[("CORS_ALLOW_ORIGINS", " ")]).unwrap().cors, None);
        // The other settings are checked even while CORS is off.
        assert!(config(&[("CORS_MAX_AGE", "soon")]).is_err());
    }

    #[test]
    fn cors_defaults_are_starlettes() {
        let c = config(&[(
            "CORS_ALLOW_ORIGINS",
            "https://app.example, http://127.0.0.1:8080",
        )])
        .unwrap();
        let cors = c.cors.unwrap();
        assert_eq!(
            cors.allow_origins,
            Allowed::List(vec![
                HeaderValue::from_static("https://app.example"),
                HeaderValue::from_static("http://127.0.0.1:8080"),
            ])
        );
        assert!(!cors.allow_credentials);
        assert_eq!(
            cors.allow_headers,
            Allowed::List(SAFELISTED_HEADERS.to_vec())
        );
        assert!(cors.expose_headers.is_empty());
        assert_eq!(cors.max_age, Duration::from_secs(600));
    }

    #[test]
    fn cors_reads_every_setting() {
        let c = config(&[
            ("CORS_ALLOW_ORIGINS", "https://App.example"),
            ("CORS_ALLOW_CREDENTIALS", "TRUE"),
            ("CORS_ALLOW_HEADERS", "X-Request-Id,content-type"),
            ("CORS_EXPOSE_HEADERS", "retry-after, x-request-id"),
            ("CORS_MAX_AGE", "0"),
            ("AUTH_JWT_ISSUER", "https://issuer.example"),
            ("AUTH_JWT_AUDIENCE", "api"),
        ])
        .unwrap();
        let cors = c.cors.unwrap();
        // As a browser sends it: the host in lower case.
        assert_eq!(
            cors.allow_origins,
            Allowed::List(vec![HeaderValue::from_static("https://app.example")])
        );
        assert!(cors.allow_credentials);
        let mut headers = SAFELISTED_HEADERS.to_vec();
        headers.extend([
            axum::http::header::AUTHORIZATION,
            HeaderName::from_static("x-request-id"),
        ]);
        assert_eq!(cors.allow_headers, Allowed::List(headers));
        assert_eq!(
            cors.expose_headers,
            [
                HeaderName::from_static("retry-after"),
                HeaderName::from_static("x-request-id")
            ]
        );
        assert_eq!(cors.max_age, Duration::ZERO);
        let any = config(&[("CORS_ALLOW_ORIGINS", "*"), ("CORS_ALLOW_HEADERS", "*")]).unwrap();
        let any = any.cors.unwrap();
        assert_eq!(
            (any.allow_origins, any.allow_headers),
            (Allowed::Any, Allowed::Any)
        );
    }

    #[test]
    fn any_origin_with_credentials_is_refused() {
        let error = config(&[
            ("CORS_ALLOW_ORIGINS", "*"),
            ("CORS_ALLOW_CREDENTIALS", "true"),
        ])
        .unwrap_err();
        assert!(
            error.starts_with(
                "invalid CORS_ALLOW_CREDENTIALS=\"true\": cannot be true with CORS_ALLOW_ORIGINS=*"
            ),
            "{error}"
        );
    }

    #[test]
    fn the_jwt_authorizer_needs_issuer_and_audience() {
        assert_eq!(config(&[]).unwrap().jwt_authorizer, None);
        assert_eq!(
            config(&[("AUTH_JWT_ISSUER", ""), ("AUTH_JWT_AUDIENCE", " ")])
                .unwrap()
                .jwt_authorizer,
            None
        );
        let error = config(&[("AUTH_JWT_AUDIENCE", "api")]).unwrap_err();
        assert!(error.starts_with("invalid AUTH_JWT_ISSUER="), "{error}");
        let c = config(&[
            (
                "AUTH_JWT_ISSUER",
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
            ),
            ("AUTH_JWT_AUDIENCE", "a, b"),
        ])
        .unwrap();
        let jwt = c.jwt_authorizer.unwrap();
        assert_eq!(
            jwt.issuer.as_str(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
        );
        assert_eq!(jwt.audience, ["a", "b"]);
        let error = config(&[("AUTH_JWT_ISSUER", "https://issuer.example")]).unwrap_err();
        assert!(error.starts_with("invalid AUTH_JWT_AUDIENCE="), "{error}");
    }

    #[test]
    fn compression_settings() {
        assert_eq!(config(&[]).unwrap().compression_min_bytes, Some(500));
        let c = config(&[("COMPRESSION", "on"), ("COMPRESSION_MIN_BYTES", "0")]).unwrap();
        assert_eq!(c.compression_min_bytes, Some(0));
        let c = config(&[("COMPRESSION_MIN_BYTES", " 65535 ")]).unwrap();
        assert_eq!(c.compression_min_bytes, Some(65535));
        assert_eq!(
            config(&[("COMPRESSION", "off")])
                .unwrap()
                .compression_min_bytes,
            None
        );
        for (name, value) in [
            ("COMPRESSION", "yes"),
            ("COMPRESSION", "ON"),
            ("COMPRESSION", "gzip"),
            ("COMPRESSION_MIN_BYTES", "-1"),
            ("COMPRESSION_MIN_BYTES", "65536"),
            ("COMPRESSION_MIN_BYTES", "1k"),
        ] {
            let error = config(&[(name, value)]).unwrap_err();
            assert!(error.starts_with(&format!("invalid {name}=")), "{error}");
        }
        // Checked while off too.
        let error = config(&[("COMPRESSION", "off"), ("COMPRESSION_MIN_BYTES", "x")]).unwrap_err();
        assert!(
            error.starts_with("invalid COMPRESSION_MIN_BYTES="),
            "{error}"
        );
    }

    #[test]
    fn max_number_goes_up_to_what_the_loop_index_holds() {
        let largest = config(&[("MAX_NUMBER", "1844674407370955")]).unwrap();
        assert_eq!(largest.max_number, 1_844_674_407_370_955);
        for above in ["1844674407370956", "18446744073709551615"] {
            assert_eq!(
                config(&[("MAX_NUMBER", above)]).unwrap_err(),
                format!(
                    "invalid MAX_NUMBER={above:?}: must be a whole number from 0 to 1844674407370955"
                )
            );
        }
    }

    #[test]
    fn rejects_bad_values_naming_the_variable() {
        for (name, value) in [
            ("EXTERNAL_API_URL", "ftp://example.com/"),
            ("EXTERNAL_API_URL", "not a url"),
            ("EXTERNAL_API_TIMEOUT_MS", "0"),
            ("EXTERNAL_API_TIMEOUT_MS", "5s"),
            ("MAX_NUMBER", "-1"),
            ("MAX_NUMBER", "1e6"),
            ("REQUEST_TIMEOUT_MS", "0"),
            ("CPU_WORKERS", "0"),
            ("CPU_WORKERS", "many"),
            ("DB_TIMEOUT_MS", "soon"),
            ("HOST", "example.com"),
            ("PORT", "65536"),
            ("CORS_ALLOW_ORIGINS", "https://app.example/"),
            ("CORS_ALLOW_ORIGINS", "https://app.example/path"),
            ("CORS_ALLOW_ORIGINS", "app.example"),
            ("CORS_ALLOW_ORIGINS", "https://app.example:443"),
            ("CORS_ALLOW_ORIGINS", "*, https://app.example"),
            ("CORS_ALLOW_ORIGINS", "null"),
            ("CORS_ALLOW_CREDENTIALS", "yes"),
            ("CORS_ALLOW_HEADERS", "x header"),
            ("CORS_EXPOSE_HEADERS", "x:y"),
            ("CORS_MAX_AGE", "-1"),
            ("AUTH_JWT_ISSUER", "issuer.example"),
            ("AUTH_JWT_ISSUER", "http://issuer.example"),
        ] {
            let err = config(&[(name, value)]).unwrap_err();
            assert!(err.starts_with(&format!("invalid {name}=")), "{err}");
        }
    }
}
