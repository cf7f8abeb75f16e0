//! Every setting the function reads, its default and its validation, in one place.
//!
//! Read once at start: a bad value stops the process with a message naming the variable, so a
//! misconfigured deployment fails its init (visible in the Lambda console and logs) instead of
//! serving wrong answers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use reqwest::Url;

/// The seed's upstream, used when `EXTERNAL_API_URL` is unset.
pub const DEFAULT_EXTERNAL_API_URL: &str = "https://jsonplaceholder.typicode.com/todos/1";
const DEFAULT_EXTERNAL_API_TIMEOUT_MS: u64 = 5_000;
/// `/calculate/100000` loops a billion times (about a second); the seed had no bound at all.
const DEFAULT_MAX_NUMBER: u64 = 100_000;
const DEFAULT_PORT: u16 = 3000;

/// Validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `EXTERNAL_API_URL`: what `/call-external-api` fetches (http or https).
    pub external_api_url: Url,
    /// `EXTERNAL_API_TIMEOUT_MS`: total deadline of that fetch, connect to last body byte.
    pub external_api_timeout: Duration,
    /// `MAX_NUMBER`: the largest `{number}` `/calculate` accepts.
    pub max_number: u64,
    /// `HOST` and `PORT`: where the local server listens (unused under Lambda).
    pub listen: SocketAddr,
    /// Whether `AWS_LAMBDA_RUNTIME_API` is set, i.e. we run inside Lambda.
    pub in_lambda: bool,
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
            |v| match v.parse::<u64>() {
                Ok(0) => Err("must be at least 1".to_owned()),
                Ok(ms) => Ok(ms),
                Err(_) => Err("must be a whole number of milliseconds".to_owned()),
            },
        )?;
        let max_number = parse_var(
            &lookup,
            "MAX_NUMBER",
            &DEFAULT_MAX_NUMBER.to_string(),
            |v| {
                v.parse::<u64>()
                    .map_err(|_| format!("must be a whole number from 0 to {}", u64::MAX))
            },
        )?;
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

        Ok(Self {
            external_api_url,
            external_api_timeout: Duration::from_millis(timeout_ms),
            max_number,
            listen: SocketAddr::new(host, port),
            in_lambda: lookup("AWS_LAMBDA_RUNTIME_API").is_some_and(|v| !v.is_empty()),
        })
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
        assert_eq!(c.listen, "127.0.0.1:3000".parse().unwrap());
        assert!(!c.in_lambda);
    }

    #[test]
    fn reads_every_variable() {
        let c = config(&[
            ("EXTERNAL_API_URL", "http://127.0.0.1:9/x"),
            ("EXTERNAL_API_TIMEOUT_MS", "250"),
            ("MAX_NUMBER", "18446744073709551615"),
            ("HOST", "0.0.0.0"),
            ("PORT", "0"),
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ])
        .unwrap();
        assert_eq!(c.external_api_url.as_str(), "http://127.0.0.1:9/x");
        assert_eq!(c.external_api_timeout, Duration::from_millis(250));
        assert_eq!(c.max_number, u64::MAX);
        assert_eq!(c.listen, "0.0.0.0:0".parse().unwrap());
        assert!(c.in_lambda);
        assert_eq!(
            config(&[("HOST", "localhost")]).unwrap().listen.ip(),
            Ipv4Addr::LOCALHOST
        );
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
            ("HOST", "example.com"),
            ("PORT", "65536"),
        ] {
            let err = config(&[(name, value)]).unwrap_err();
            assert!(err.starts_with(&format!("invalid {name}=")), "{err}");
        }
    }
}
