//! Test doubles shared by the integration tests: the external API ([`upstream`]), the Lambda
//! Runtime API ([`runtime_api`]), and helpers to build the app against them.
//!
//! Every test binary uses a different subset of this module.
#![allow(dead_code)]

pub mod local_server;
pub mod moto;
pub mod runtime_api;
pub mod upstream;

use std::path::PathBuf;

use lambda_async_api::{AppState, Config};

/// The app's configuration with the external API at `url` and everything else default.
pub fn config(url: &str, vars: &[(&str, &str)]) -> Config {
    Config::from_lookup(|name| {
        if name == "EXTERNAL_API_URL" {
            return Some(url.to_owned());
        }
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .expect("test configuration is valid")
}

pub fn state(url: &str) -> AppState {
    AppState::new(&config(url, &[]))
}

/// The binary under test: `LAMBDA_BINARY` (e.g. the `bootstrap` that `sam build` made) or the
/// one Cargo built for this test run.
pub fn binary() -> PathBuf {
    std::env::var_os("LAMBDA_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_lambda-async-api")))
}

/// The repository's `events/` directory.
pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events")
}

pub fn read_event(name: &str) -> String {
    let path = events_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
