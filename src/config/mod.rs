//! Every setting the function reads, its default and its validation, in one place.
//!
//! Read once at start: a bad value stops the process with a message naming the variable, so a
//! misconfigured deployment fails its init (visible in the Lambda console and logs) instead of
//! serving wrong answers.
//!
//! A setting is one field and one line in [`Config::from_lookup`] naming its variable, its
//! kind and its default: the kinds (a switch, a duration, a bounded number, a URL, a list)
//! are parsed once, in [`vars`]. The settings are grouped by concern, and whoever needs a group
//! reads it from the `Config` itself: the application's layers (`api::app`) and the handlers'
//! shared state alike, so nothing is copied field by field. The larger groups have their own
//! file: [`cors`], [`auth`], [`traces`] (the OpenTelemetry exporter's `OTEL_*`), and [`log`]
//! (read without failing, so that an error in the rest is logged in the right format).

mod auth;
mod cors;
mod log;
mod traces;
mod vars;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use reqwest::Url;

pub(crate) use auth::JwtAuthorizer;
pub(crate) use cors::{Allowed, CorsConfig};
pub use log::LogConfig;
pub(crate) use log::LogFormat;
pub use traces::TraceSettings;
pub use vars::ConfigError;
use vars::{Vars, web_url};

/// The largest `MAX_NUMBER`: ⌊(2⁶⁴ − 1) / 10000⌋, so that `/calculate/{number}`'s
/// `number * 10000` iterations fit the loop's `u64` index (`calc`). A calculation that size
/// would run for centuries; the bound only keeps the arithmetic exact.
pub(crate) const MAX_NUMBER_LIMIT: u64 = u64::MAX / 10_000;

/// Validated configuration. The binary reads `listen`, `in_lambda` and `base_path` to pick and
/// set up the transport; the rest is for [`app`](crate::app) and its
/// [`AppState`](crate::AppState).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// What `/call-external-api` fetches.
    pub(crate) upstream: UpstreamSettings,
    /// The DynamoDB table `/call-external-api` also reads item 1 from.
    pub(crate) database: DatabaseSettings,
    /// `/calculate`'s bound and its pool.
    pub(crate) calculation: CalculationSettings,
    /// `REQUEST_TIMEOUT_MS`: every request is answered within this (504 otherwise). API
    /// Gateway's integration timeout is 29 s by default: nothing waits longer for us.
    pub(crate) request_timeout: Duration,
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
    /// Powertools' names for logs and metrics.
    pub(crate) telemetry: TelemetrySettings,
    /// `DOCS` (`on`/`off`) and `DOCS_ASSET_URL`: where `/docs` and `/redoc` load Swagger UI
    /// and ReDoc from (the folder holding `swagger-ui-dist@5.35.0/` and `redoc@2.5.4/`;
    /// jsDelivr's npm mirror by default, FastAPI's); `None` when `DOCS=off`, and both pages
    /// are then unknown paths.
    pub(crate) docs_asset_url: Option<String>,
    /// `CORS_*`: which browser apps on other origins may read the answers; `None` (no CORS
    /// headers at all) when `CORS_ALLOW_ORIGINS` is unset or empty.
    pub(crate) cors: Option<CorsConfig>,
    /// `AUTH_JWT_ISSUER` and `AUTH_JWT_AUDIENCE`: the JWT authorizer API Gateway runs on the API
    /// routes. When set, those routes answer only requests an authorizer let in.
    pub(crate) jwt_authorizer: Option<JwtAuthorizer>,
    /// `COMPRESSION` (`on`/`off`, default on: measured cheap enough at 128 MB,
    /// docs/performance.md) and `COMPRESSION_MIN_BYTES`: answers of at least that many bytes
    /// are gzipped for clients that accept it; `None` when off.
    pub(crate) compression_min_bytes: Option<u16>,
    /// `OTEL_EXPORTER_OTLP_*` and `OTEL_SERVICE_NAME`: where OpenTelemetry spans are sent;
    /// `None` (no tracing at all) without an endpoint.
    pub(crate) traces: Option<TraceSettings>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpstreamSettings {
    /// `EXTERNAL_API_URL` (http or https; the seed's by default).
    pub(crate) url: Url,
    /// `EXTERNAL_API_TIMEOUT_MS`: total deadline of the fetch, connect to last body byte.
    pub(crate) timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DatabaseSettings {
    /// `ITEMS_TABLE`; `None`: no database.
    pub(crate) table: Option<String>,
    /// `DB_TIMEOUT_MS`: total deadline of the read, SDK retries included.
    pub(crate) timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CalculationSettings {
    /// `MAX_NUMBER`: the largest `{number}` `/calculate` accepts, at most
    /// [`MAX_NUMBER_LIMIT`]. `/calculate/100000` loops a billion times (about 1.5 s of a
    /// core); the seed had no bound at all.
    pub(crate) max_number: u64,
    /// `CPU_WORKERS`: calculations allowed to run at once (default: the number of cores; 1
    /// under classic Lambda, where one request at a time never asks for more).
    pub(crate) cpu_workers: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TelemetrySettings {
    /// `POWERTOOLS_SERVICE_NAME`: the `service` of logs and metrics.
    pub(crate) service: String,
    /// `POWERTOOLS_METRICS_NAMESPACE`: where the EMF metrics land in CloudWatch.
    pub(crate) metrics_namespace: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The configuration of `pairs` alone (the environment is not read); of two pairs naming
    /// the same variable, the later one counts.
    #[cfg(any(test, feature = "test-support"))]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    /// Whether the process serves one request at a time: under Lambda's classic model (not
    /// Managed Instances' concurrent invocations). Then one thread can run the async work
    /// (the binary starts no runtime worker threads); the local server and concurrent
    /// invocations get a worker per core.
    pub fn one_request_at_a_time(&self) -> bool {
        self.in_lambda && self.lambda_concurrency == 1
    }

    /// Where spans go, when tracing is on (an OTLP endpoint is set).
    pub fn traces(&self) -> Option<&TraceSettings> {
        self.traces.as_ref()
    }

    /// Reads settings through `lookup` (the environment in production, pairs in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let v = Vars(lookup);
        let in_lambda = log::in_lambda(&v);
        let lambda_concurrency = v
            .raw("AWS_LAMBDA_MAX_CONCURRENCY")
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(1);
        // One request at a time (classic Lambda) asks for one calculation at a time: one slot,
        // and no need to ask the system for its cores (std reads the cgroup's CPU quota from
        // three files: about 55 µs of the cold start, docs/performance.md).
        let cpu_default = if in_lambda && lambda_concurrency == 1 {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        };
        let upstream = UpstreamSettings {
            url: v.http_url(
                "EXTERNAL_API_URL",
                "https://jsonplaceholder.typicode.com/todos/1",
            )?,
            timeout: v.millis("EXTERNAL_API_TIMEOUT_MS", 5_000)?,
        };
        let calculation = CalculationSettings {
            max_number: v.whole(
                "MAX_NUMBER",
                100_000,
                0..=MAX_NUMBER_LIMIT,
                "a whole number",
            )?,
            cpu_workers: v.whole("CPU_WORKERS", cpu_default, 1..=1024, "a whole number")?,
        };
        let request_timeout = v.millis("REQUEST_TIMEOUT_MS", 29_000)?;
        let database = DatabaseSettings {
            table: v.text("ITEMS_TABLE").map(|table| table.trim().to_owned()),
            timeout: v.millis("DB_TIMEOUT_MS", 2_000)?,
        };
        let listen = SocketAddr::new(
            v.parse("HOST", "127.0.0.1", parse_host)?,
            v.whole("PORT", 3000, 0..=u16::MAX, "a port number")?,
        );
        let docs = v.switch("DOCS", true)?;
        let docs_asset_url = v.parse("DOCS_ASSET_URL", "https://cdn.jsdelivr.net/npm", |s| {
            let reason = "must be an http:// or https:// URL with a host and no query";
            match web_url(s, &["http", "https"], reason)? {
                url if url.query().is_none() => Ok(url.as_str().trim_end_matches('/').to_owned()),
                _ => Err(reason.to_owned()),
            }
        })?;
        let base_path = v.parse("BASE_PATH", "", parse_base_path)?;
        let jwt_authorizer = JwtAuthorizer::read(&v)?;
        let cors = CorsConfig::read(&v, jwt_authorizer.is_some())?;
        let compression = v.switch("COMPRESSION", true)?;
        // tower-http's size predicate counts in a u16. Below 500 bytes (Starlette's
        // `GZipMiddleware` default) gzip gains a few bytes at best and still costs its set-up.
        let min_bytes = v.whole(
            "COMPRESSION_MIN_BYTES",
            500,
            0..=u16::MAX,
            "a whole number of bytes",
        )?;
        let service = log::service(&v);
        let traces = TraceSettings::read(&v, &service)?;
        Ok(Self {
            upstream,
            database,
            calculation,
            request_timeout,
            listen,
            in_lambda,
            base_path,
            lambda_concurrency,
            telemetry: TelemetrySettings {
                service,
                metrics_namespace: v
                    .text("POWERTOOLS_METRICS_NAMESPACE")
                    .unwrap_or_else(|| "LambdaAsyncApi".to_owned()),
            },
            docs_asset_url: docs.then_some(docs_asset_url),
            cors,
            jwt_authorizer,
            compression_min_bytes: compression.then_some(min_bytes),
            traces,
        })
    }
}

/// An IP address, or `localhost`.
fn parse_host(v: &str) -> Result<IpAddr, String> {
    if v.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    v.parse::<IpAddr>()
        .map_err(|_| "must be an IP address such as 127.0.0.1 or 0.0.0.0".to_owned())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The configuration `vars` alone make, or its error's message; for every test under
    /// `config`.
    pub(super) fn config(vars: &[(&str, &str)]) -> Result<Config, String> {
        Config::from_pairs(vars).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_work_offline() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c.upstream.url.as_str(),
            "https://jsonplaceholder.typicode.com/todos/1"
        );
        assert_eq!(c.upstream.timeout, Duration::from_secs(5));
        assert_eq!(c.calculation.max_number, 100_000);
        assert_eq!(c.request_timeout, Duration::from_secs(29));
        assert!(c.calculation.cpu_workers >= 1);
        assert_eq!(
            (c.database.table.as_deref(), c.database.timeout),
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
        assert_eq!(c.upstream.url.as_str(), "http://127.0.0.1:9/x");
        assert_eq!(c.upstream.timeout, Duration::from_millis(250));
        assert_eq!(c.calculation.max_number, MAX_NUMBER_LIMIT);
        assert_eq!(c.request_timeout, Duration::from_millis(1500));
        assert_eq!(c.calculation.cpu_workers, 3);
        assert_eq!(c.database.table.as_deref(), Some("items"));
        assert_eq!(c.database.timeout, Duration::from_millis(750));
        assert_eq!(c.listen, "0.0.0.0:0".parse().unwrap());
        assert!(c.in_lambda);
        assert!(c.one_request_at_a_time());
        assert_eq!(
            config(&[("HOST", "localhost")]).unwrap().listen.ip(),
            Ipv4Addr::LOCALHOST
        );
    }

    #[test]
    fn powertools_names() {
        let c = config(&[("POWERTOOLS_METRICS_NAMESPACE", "Shop")]).unwrap();
        assert_eq!(
            (
                c.telemetry.service.as_str(),
                c.telemetry.metrics_namespace.as_str()
            ),
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
    fn one_calculation_slot_by_default_when_one_request_runs_at_a_time() {
        let lambda = [("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")];
        assert_eq!(config(&lambda).unwrap().calculation.cpu_workers, 1);
        let cores = std::thread::available_parallelism().unwrap().get();
        for vars in [
            &[][..],
            &[
                ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
                ("AWS_LAMBDA_MAX_CONCURRENCY", "8"),
            ][..],
        ] {
            assert_eq!(config(vars).unwrap().calculation.cpu_workers, cores);
        }
        let set = [
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("CPU_WORKERS", "4"),
        ];
        assert_eq!(config(&set).unwrap().calculation.cpu_workers, 4);
    }

    #[test]
    fn max_number_goes_up_to_what_the_loop_index_holds() {
        let largest = config(&[("MAX_NUMBER", "1844674407370955")]).unwrap();
        assert_eq!(largest.calculation.max_number, 1_844_674_407_370_955);
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
        ] {
            let err = config(&[(name, value)]).unwrap_err();
            assert!(err.starts_with(&format!("invalid {name}=")), "{err}");
        }
    }

    /// The typed parsers say what the hand-written ones said, word for word.
    #[test]
    fn the_messages_are_the_ones_written_before_the_parsers_were_shared() {
        for (name, value, message) in [
            (
                "EXTERNAL_API_URL",
                "ftp://a.example/",
                "must be an http:// or https:// URL with a host",
            ),
            ("EXTERNAL_API_TIMEOUT_MS", "0", "must be at least 1"),
            (
                "DB_TIMEOUT_MS",
                "soon",
                "must be a whole number of milliseconds",
            ),
            ("CPU_WORKERS", "0", "must be a whole number from 1 to 1024"),
            ("PORT", "65536", "must be a port number from 0 to 65535"),
            ("DOCS", "yes", "must be on or off"),
            ("COMPRESSION", "ON", "must be on or off"),
            (
                "COMPRESSION_MIN_BYTES",
                "1k",
                "must be a whole number of bytes from 0 to 65535",
            ),
            (
                "DOCS_ASSET_URL",
                "https://a.example/?v=1",
                "must be an http:// or https:// URL with a host and no query",
            ),
            ("CORS_ALLOW_CREDENTIALS", "yes", "must be true or false"),
            ("CORS_MAX_AGE", "-1", "must be a whole number of seconds"),
            ("CORS_EXPOSE_HEADERS", "x:y", "\"x:y\" is not a header name"),
            (
                "AUTH_JWT_ISSUER",
                "http://issuer.example",
                "must be the issuer's https:// URL (the tokens' `iss`)",
            ),
        ] {
            assert_eq!(
                config(&[(name, value)]).unwrap_err(),
                format!("invalid {name}={value:?}: {message}")
            );
        }
    }
}
