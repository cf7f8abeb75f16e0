//! Which log lines are written: the level asked for, and the dependencies' caps on top.
//!
//! Two filters, stacked on the subscriber: what was asked (`RUST_LOG` or Lambda's log level,
//! e.g. `info` or `debug,hyper=warn`) and the caps (`hyper=info`, ...). tracing-subscriber
//! writes a line only when every filter on the subscriber lets it through, so a cap can only
//! ever lower what is asked, for its target and the modules under it, never raise it; nothing
//! needs merging by hand.
//!
//! [`Targets`] filters (`target=level` pairs and a bare default level, as `RUST_LOG` is usually
//! written) rather than `EnvFilter`: `EnvFilter`'s span and field matching links three regex
//! crates into the bootstrap, and nothing here filters on spans or fields.

use tracing_subscriber::filter::{LevelFilter, ParseError, Targets};

/// The filter for `asked`. An `asked` that does not parse gives `info`, and the error to
/// report once logging is up.
pub(super) fn asked(asked: &str) -> (Targets, Option<ParseError>) {
    match asked.parse::<Targets>() {
        Ok(targets) => (targets, None),
        Err(e) => (Targets::new().with_default(LevelFilter::INFO), Some(e)),
    }
}

/// A filter that lets everything through but what `caps` (`target=level` each) bound.
pub(super) fn caps<'a>(caps: impl IntoIterator<Item = &'a str>) -> Targets {
    let caps = caps.into_iter().filter_map(|cap| {
        let (target, level) = cap.split_once('=')?;
        Some((target.to_owned(), level.parse::<LevelFilter>().ok()?))
    });
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(caps)
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::telemetry::capture::Capture;

    /// One event at each level for `target`.
    macro_rules! emit_all {
        ($target:literal) => {{
            tracing::trace!(target: $target, "x");
            tracing::debug!(target: $target, "x");
            tracing::info!(target: $target, "x");
            tracing::warn!(target: $target, "x");
            tracing::error!(target: $target, "x");
        }};
    }
    const CAPS: [&str; 2] = ["hyper=info", "transport_crate=debug"];

    /// The targets and levels (`hyper TRACE`) that a subscriber with both filters wrote, of
    /// one event per target and level.
    fn written(level: &str, targets: &[&'static str]) -> Vec<String> {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::registry()
            .with(asked(level).0)
            .with(caps(CAPS))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(capture.clone())
                    .with_ansi(false)
                    .without_time(),
            );
        tracing::subscriber::with_default(subscriber, || {
            for target in targets {
                // `target:` must be a constant: one callsite per target.
                match *target {
                    "hyper" => emit_all!("hyper"),
                    "hyper::proto::h1" => emit_all!("hyper::proto::h1"),
                    "transport_crate" => emit_all!("transport_crate"),
                    "lambda_async_api" => emit_all!("lambda_async_api"),
                    "lambda_async_api::upstream" => emit_all!("lambda_async_api::upstream"),
                    "axum::routing" => emit_all!("axum::routing"),
                    other => panic!("no callsite for {other}"),
                }
            }
        });
        capture
            .text()
            .lines()
            .map(|line| {
                let mut words = line.split_whitespace();
                let level = words.next().unwrap_or_default().to_owned();
                let target = words.next().unwrap_or_default().trim_end_matches(':');
                format!("{target} {level}")
            })
            .collect()
    }

    /// The most verbose level written for `target`, `"OFF"` for none.
    fn most_verbose(lines: &[String], target: &str) -> &'static str {
        ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
            .into_iter()
            .find(|level| lines.contains(&format!("{target} {level}")))
            .unwrap_or("OFF")
    }

    const ALL: [&str; 6] = [
        "hyper",
        "hyper::proto::h1",
        "transport_crate",
        "lambda_async_api",
        "lambda_async_api::upstream",
        "axum::routing",
    ];

    #[test]
    fn a_bare_level_is_the_default_and_caps_bound_it_even_at_trace() {
        let lines = written("trace", &ALL);
        assert_eq!(most_verbose(&lines, "lambda_async_api"), "TRACE");
        assert_eq!(most_verbose(&lines, "axum::routing"), "TRACE");
        assert_eq!(most_verbose(&lines, "hyper"), "INFO");
        assert_eq!(most_verbose(&lines, "hyper::proto::h1"), "INFO");
        assert_eq!(most_verbose(&lines, "transport_crate"), "DEBUG");
    }

    #[test]
    fn debug_is_written_when_asked() {
        let lines = written("debug", &ALL);
        assert_eq!(most_verbose(&lines, "lambda_async_api"), "DEBUG");
        assert_eq!(most_verbose(&lines, "transport_crate"), "DEBUG");
        assert_eq!(most_verbose(&lines, "hyper"), "INFO");
    }

    #[test]
    fn a_cap_never_raises_what_was_asked() {
        let lines = written("warn", &ALL);
        assert_eq!(most_verbose(&lines, "hyper"), "WARN");
        assert_eq!(most_verbose(&lines, "transport_crate"), "WARN");
        let lines = written("lambda_async_api=debug", &ALL);
        assert_eq!(most_verbose(&lines, "lambda_async_api::upstream"), "DEBUG");
        assert_eq!(most_verbose(&lines, "hyper"), "OFF");
        assert_eq!(most_verbose(&lines, "axum::routing"), "OFF");
    }

    #[test]
    fn a_module_asked_for_under_a_capped_target_is_capped_too() {
        let lines = written("info,hyper::proto=trace,axum=debug", &ALL);
        assert_eq!(most_verbose(&lines, "hyper::proto::h1"), "INFO");
        assert_eq!(most_verbose(&lines, "axum::routing"), "DEBUG");
        assert_eq!(most_verbose(&lines, "lambda_async_api"), "INFO");
    }

    #[test]
    fn what_does_not_parse_gives_info_and_an_error_to_report() {
        let (_, error) = asked("lambda_async_api=loud");
        assert!(error.is_some());
        let lines = written("lambda_async_api=loud", &ALL);
        assert_eq!(most_verbose(&lines, "lambda_async_api"), "INFO");
        assert_eq!(most_verbose(&lines, "hyper"), "INFO");
    }
}
