//! Which log lines are written: the level asked for, with the dependencies' caps on top.
//!
//! A [`Targets`] filter (`target=level` pairs and a bare default level, as `RUST_LOG` is
//! usually written) rather than `EnvFilter`: `EnvFilter`'s span and field matching links three
//! regex crates into the bootstrap, and nothing here filters on spans or fields.

use tracing::Level;
use tracing_subscriber::filter::{LevelFilter, ParseError, Targets};

/// The filter for `asked` (e.g. `info`, `debug,hyper=warn`) with every `target=level` of
/// `caps` applied as a ceiling: a cap only ever lowers what is asked, for its target and the
/// modules under it, never raises it. An `asked` that does not parse gives `info`, and the
/// error to report once logging is up.
pub(super) fn build<'a>(
    asked: &str,
    caps: impl IntoIterator<Item = &'a str>,
) -> (Targets, Option<ParseError>) {
    let (asked, error) = match asked.parse::<Targets>() {
        Ok(targets) => (targets, None),
        Err(e) => (Targets::new().with_default(LevelFilter::INFO), Some(e)),
    };
    let caps: Vec<(String, LevelFilter)> = caps
        .into_iter()
        .filter_map(|cap| {
            let (target, level) = cap.split_once('=')?;
            Some((target.to_owned(), level.parse().ok()?))
        })
        .collect();
    let capped = |target: &str, level: LevelFilter| {
        caps.iter()
            .filter(|(cap_target, _)| is_within(target, cap_target))
            .fold(level, |level, (_, cap)| level.min(*cap))
    };

    let mut filter = match asked.default_level() {
        Some(level) => Targets::new().with_default(level),
        None => Targets::new(),
    };
    // What was asked for a module under a capped target keeps its own (capped) level ...
    for (target, level) in &asked {
        filter = filter.with_target(target, capped(target, level));
    }
    // ... and each capped target gets the lower of its cap and what was asked for it.
    for (target, _) in &caps {
        filter = filter.with_target(target, capped(target, enabled_up_to(&asked, target)));
    }
    (filter, error)
}

/// The most verbose level `filter` lets through for `target`.
fn enabled_up_to(filter: &Targets, target: &str) -> LevelFilter {
    [
        Level::TRACE,
        Level::DEBUG,
        Level::INFO,
        Level::WARN,
        Level::ERROR,
    ]
    .into_iter()
    .find(|level| filter.would_enable(target, level))
    .map_or(LevelFilter::OFF, LevelFilter::from_level)
}

/// Whether a directive for `module` applies to `target`: a prefix match, as `Targets` itself
/// matches (`hyper` covers `hyper::proto`, and `hyper_util` too).
fn is_within(target: &str, module: &str) -> bool {
    target.starts_with(module)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(filter: &Targets, target: &str) -> LevelFilter {
        enabled_up_to(filter, target)
    }

    const CAPS: [&str; 2] = ["hyper=info", "lambda_runtime=debug"];

    #[test]
    fn a_bare_level_is_the_default_and_caps_bound_it() {
        let (filter, error) = build("trace", CAPS);
        assert!(error.is_none());
        assert_eq!(level(&filter, "lambda_async_api"), LevelFilter::TRACE);
        assert_eq!(level(&filter, "hyper"), LevelFilter::INFO);
        assert_eq!(level(&filter, "hyper::proto::h1"), LevelFilter::INFO);
        assert_eq!(level(&filter, "tokio"), LevelFilter::TRACE);
        assert_eq!(level(&filter, "lambda_runtime"), LevelFilter::DEBUG);
    }

    #[test]
    fn a_cap_never_raises_what_was_asked() {
        let (filter, _) = build("warn", CAPS);
        assert_eq!(level(&filter, "hyper"), LevelFilter::WARN);
        assert_eq!(level(&filter, "lambda_runtime"), LevelFilter::WARN);
        let (filter, _) = build("lambda_async_api=debug", CAPS);
        assert_eq!(
            level(&filter, "lambda_async_api::upstream"),
            LevelFilter::DEBUG
        );
        assert_eq!(level(&filter, "hyper"), LevelFilter::OFF);
        assert_eq!(level(&filter, "tokio"), LevelFilter::OFF);
    }

    #[test]
    fn a_module_asked_for_under_a_capped_target_is_capped_too() {
        let (filter, _) = build("info,hyper::proto=trace,axum=debug", CAPS);
        assert_eq!(level(&filter, "hyper::proto"), LevelFilter::INFO);
        assert_eq!(level(&filter, "axum::routing"), LevelFilter::DEBUG);
        assert_eq!(level(&filter, "other"), LevelFilter::INFO);
    }

    #[test]
    fn what_does_not_parse_gives_info_and_an_error_to_report() {
        let (filter, error) = build("lambda_async_api=loud", CAPS);
        assert!(error.is_some());
        assert_eq!(level(&filter, "lambda_async_api"), LevelFilter::INFO);
        assert_eq!(level(&filter, "hyper"), LevelFilter::INFO);
    }
}
