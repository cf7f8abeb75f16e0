//! The `CORS_*` settings: Starlette's `CORSMiddleware` arguments, validated. The policy they
//! make is `api::cors`.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use reqwest::Url;

use super::vars::{ConfigError, Vars, comma_list};

/// The request headers every CORS policy allows, as Starlette's does: the ones a browser sends
/// cross-origin without a preflight (the Fetch standard's CORS-safelisted request headers).
pub(crate) const SAFELISTED_HEADERS: [HeaderName; 4] = [
    axum::http::header::ACCEPT,
    axum::http::header::ACCEPT_LANGUAGE,
    axum::http::header::CONTENT_LANGUAGE,
    axum::http::header::CONTENT_TYPE,
];

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
    /// `CORS_MAX_AGE` (seconds, default 600, Starlette's): how long a browser may reuse a
    /// preflight's answer.
    pub(crate) max_age: Duration,
    /// `CORS_ALLOW_PRIVATE_NETWORK` (`true`/`false`, default `false`): whether a preflight
    /// asking for private-network access (a public page calling into a private network) is
    /// allowed, as Starlette's `allow_private_network`.
    pub(crate) allow_private_network: bool,
}

/// A list of allowed values, or `*` for any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Allowed<T> {
    Any,
    List(Vec<T>),
}

impl CorsConfig {
    /// `None` when `CORS_ALLOW_ORIGINS` is unset or empty. The others are validated either
    /// way, so a typo does not wait for CORS to be switched on to show.
    pub(crate) fn read(
        vars: &Vars<impl Fn(&str) -> Option<String>>,
        jwt_authorizer: bool,
    ) -> Result<Option<Self>, ConfigError> {
        let allow_origins = vars.parse("CORS_ALLOW_ORIGINS", "", |v| {
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
        let allow_credentials = vars.boolean("CORS_ALLOW_CREDENTIALS", false)?;
        if allow_credentials && allow_origins == Some(Allowed::Any) {
            return Err(ConfigError::new(
                "CORS_ALLOW_CREDENTIALS",
                "true",
                "cannot be true with CORS_ALLOW_ORIGINS=*: browsers refuse that \
                 combination, and answering every origin by name instead would let any \
                 site make calls with its users' credentials; list the origins",
            ));
        }
        let allow_headers = vars.parse("CORS_ALLOW_HEADERS", "", |v| {
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
        let config = Self {
            allow_origins: Allowed::Any,
            allow_credentials,
            allow_headers,
            expose_headers: vars.list("CORS_EXPOSE_HEADERS", parse_header_name)?,
            max_age: vars.seconds("CORS_MAX_AGE", 600)?,
            allow_private_network: vars.boolean("CORS_ALLOW_PRIVATE_NETWORK", false)?,
        };
        Ok(allow_origins.map(|allow_origins| Self {
            allow_origins,
            ..config
        }))
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config;

    #[test]
    fn cors_is_off_unless_origins_are_given() {
        assert_eq!(config(&[]).unwrap().cors, None);
        assert_eq!(config(&[("CORS_ALLOW_ORIGINS", " ")]).unwrap().cors, None);
        // The other settings are checked even while CORS is off.
        assert!(config(&[("CORS_MAX_AGE", "soon")]).is_err());
        assert!(config(&[("CORS_ALLOW_PRIVATE_NETWORK", "yes")]).is_err());
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
        assert!(!cors.allow_private_network);
    }

    #[test]
    fn cors_reads_every_setting() {
        let c = config(&[
            ("CORS_ALLOW_ORIGINS", "https://App.example"),
            ("CORS_ALLOW_CREDENTIALS", "TRUE"),
            ("CORS_ALLOW_HEADERS", "X-Request-Id,content-type"),
            ("CORS_EXPOSE_HEADERS", "retry-after, x-request-id"),
            ("CORS_MAX_AGE", "0"),
            ("CORS_ALLOW_PRIVATE_NETWORK", "true"),
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
        assert!(cors.allow_private_network);
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
    fn rejects_bad_values_naming_the_variable() {
        for (name, value) in [
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
            ("CORS_ALLOW_PRIVATE_NETWORK", "on"),
        ] {
            let err = config(&[(name, value)]).unwrap_err();
            assert!(err.starts_with(&format!("invalid {name}=")), "{err}");
        }
    }
}
