//! How to log: read before everything else (so that configuration errors are logged in the
//! right format), and never fails: an unknown value falls back to the default.

use super::vars::Vars;

/// Powertools' `service` when `POWERTOOLS_SERVICE_NAME` is unset.
pub(crate) const DEFAULT_SERVICE: &str = "lambda-async-api";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `AWS_LAMBDA_LOG_FORMAT` (`JSON` or `Text`), set by the function's `LoggingConfig`.
    pub(crate) format: LogFormat,
    /// `target=level` pairs and a default level: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else `info`.
    pub(crate) level: String,
    /// `POWERTOOLS_SERVICE_NAME`.
    pub(crate) service: String,
    /// Whether `AWS_LAMBDA_RUNTIME_API` is set.
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
        let vars = Vars(lookup);
        let format = match vars.raw("AWS_LAMBDA_LOG_FORMAT") {
            Some(v) if v.trim().eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        };
        let level = match vars.text("AWS_LAMBDA_LOG_LEVEL") {
            // Lambda's levels are TRACE..ERROR and FATAL; tracing has no FATAL.
            Some(v) if v.trim().eq_ignore_ascii_case("fatal") => "error".to_owned(),
            Some(v) => v.trim().to_ascii_lowercase(),
            None => vars.text("RUST_LOG").unwrap_or_else(|| "info".to_owned()),
        };
        Self {
            format,
            level,
            service: service(&vars),
            in_lambda: in_lambda(&vars),
        }
    }
}

/// `POWERTOOLS_SERVICE_NAME`: the `service` of logs and metrics.
pub(crate) fn service(vars: &Vars<impl Fn(&str) -> Option<String>>) -> String {
    vars.text("POWERTOOLS_SERVICE_NAME")
        .unwrap_or_else(|| DEFAULT_SERVICE.to_owned())
}

/// Whether `AWS_LAMBDA_RUNTIME_API` is set, i.e. we run inside Lambda.
pub(crate) fn in_lambda(vars: &Vars<impl Fn(&str) -> Option<String>>) -> bool {
    vars.is_set("AWS_LAMBDA_RUNTIME_API")
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
