//! Reading variables: one typed parser for each kind of value (an on/off switch, a duration, a
//! bounded number, a URL, a list), written once, so that a setting is one line naming its
//! variable, its kind and its default.
//!
//! Every parser sees the value trimmed; every failure becomes a [`ConfigError`] that names the
//! variable and quotes the value as it was set. An unset variable takes the default, which is
//! parsed like a set one (so a default can never be an invalid value).

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use reqwest::Url;

/// A setting that cannot be used, with the variable's name and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {name}={value:?}: {reason}")]
pub struct ConfigError {
    name: &'static str,
    value: String,
    reason: String,
}

impl ConfigError {
    /// A refusal that depends on another setting too (the value is quoted as given).
    pub(crate) fn new(name: &'static str, value: &str, reason: &str) -> Self {
        Self {
            name,
            value: value.to_owned(),
            reason: reason.to_owned(),
        }
    }
}

/// The variables, through `lookup`: the environment in production, pairs in tests.
pub(crate) struct Vars<L>(pub(crate) L);

impl<L: Fn(&str) -> Option<String>> Vars<L> {
    /// The value as set, untouched; `None` when unset.
    pub(crate) fn raw(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }

    /// The value unless unset or blank (untrimmed).
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.raw(name).filter(|v| !v.trim().is_empty())
    }

    /// Whether the variable is set to something.
    pub(crate) fn is_set(&self, name: &str) -> bool {
        self.raw(name).is_some_and(|v| !v.is_empty())
    }

    /// The value (or `default` when unset), trimmed, through `parse`.
    pub(crate) fn parse<T>(
        &self,
        name: &'static str,
        default: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        let value = self.raw(name).unwrap_or_else(|| default.to_owned());
        parse(value.trim()).map_err(|reason| ConfigError {
            name,
            value,
            reason,
        })
    }

    /// `on` or `off`, in lower case.
    pub(crate) fn switch(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        self.parse(name, if default { "on" } else { "off" }, |v| match v {
            "on" => Ok(true),
            "off" => Ok(false),
            _ => Err("must be on or off".to_owned()),
        })
    }

    /// `true` or `false`, in any case (as Starlette's settings are written).
    pub(crate) fn boolean(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        self.parse(name, &default.to_string(), |v| {
            match v.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err("must be true or false".to_owned()),
            }
        })
    }

    /// A whole number in `range`; otherwise "must be {what} from {start} to {end}".
    pub(crate) fn whole<T>(
        &self,
        name: &'static str,
        default: T,
        range: RangeInclusive<T>,
        what: &str,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + Display + PartialOrd,
    {
        self.parse(name, &default.to_string(), |v| match v.parse::<T>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(format!(
                "must be {what} from {} to {}",
                range.start(),
                range.end()
            )),
        })
    }

    /// A positive whole number of milliseconds.
    pub(crate) fn millis(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        self.parse(name, &default.to_string(), |v| match v.parse::<u64>() {
            Ok(0) => Err("must be at least 1".to_owned()),
            Ok(ms) => Ok(Duration::from_millis(ms)),
            Err(_) => Err("must be a whole number of milliseconds".to_owned()),
        })
    }

    /// A whole number of seconds, 0 included.
    pub(crate) fn seconds(
        &self,
        name: &'static str,
        default: u64,
    ) -> Result<Duration, ConfigError> {
        self.parse(name, &default.to_string(), |v| {
            v.parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| "must be a whole number of seconds".to_owned())
        })
    }

    /// A comma-separated list (empty when unset), each non-blank entry through `entry`.
    pub(crate) fn list<T>(
        &self,
        name: &'static str,
        entry: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Vec<T>, ConfigError> {
        self.parse(name, "", |v| comma_list(v).into_iter().map(entry).collect())
    }

    /// An `http://` or `https://` URL with a host.
    pub(crate) fn http_url(&self, name: &'static str, default: &str) -> Result<Url, ConfigError> {
        self.parse(name, default, |v| {
            web_url(
                v,
                &["http", "https"],
                "must be an http:// or https:// URL with a host",
            )
        })
    }
}

/// The non-empty, trimmed entries of a comma-separated list.
pub(crate) fn comma_list(v: &str) -> Vec<&str> {
    v.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect()
}

/// An absolute URL with a host and one of `schemes`; `reason` otherwise (or the parser's own
/// words when it is no URL at all).
pub(crate) fn web_url(v: &str, schemes: &[&str], reason: &str) -> Result<Url, String> {
    let url = Url::parse(v).map_err(|e| e.to_string())?;
    if schemes.contains(&url.scheme()) && url.has_host() {
        Ok(url)
    } else {
        Err(reason.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> Vars<impl Fn(&str) -> Option<String> + 'a> {
        Vars(move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn each_kind_reads_its_values_and_names_the_variable_otherwise() {
        let v = vars(&[
            ("S", " off "),
            ("B", "TRUE"),
            ("W", "7"),
            ("M", "250"),
            ("L", " a, ,b "),
            ("BAD", "x"),
        ]);
        assert_eq!(v.switch("S", true), Ok(false));
        assert_eq!(v.switch("UNSET", true), Ok(true));
        assert_eq!(v.boolean("B", false), Ok(true));
        assert_eq!(v.whole("W", 1u16, 1..=9, "a digit"), Ok(7));
        assert_eq!(v.millis("M", 1), Ok(Duration::from_millis(250)));
        assert_eq!(v.seconds("UNSET", 600), Ok(Duration::from_secs(600)));
        assert_eq!(
            v.list("L", |e| Ok(e.to_owned())),
            Ok(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            v.whole("BAD", 1u16, 1..=9, "a digit")
                .unwrap_err()
                .to_string(),
            "invalid BAD=\"x\": must be a digit from 1 to 9"
        );
        assert_eq!(
            v.switch("B", true).unwrap_err().to_string(),
            "invalid B=\"TRUE\": must be on or off"
        );
        assert_eq!(
            v.http_url("BAD", "").unwrap_err().to_string(),
            "invalid BAD=\"x\": relative URL without a base"
        );
    }
}
