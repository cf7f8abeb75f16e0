//! The FastAPI async-operations tutorial API as a Rust AWS Lambda function.
//!
//! One [`axum::Router`] ([`app`]) is the product; [`lambda`] and [`server`] are two ways of
//! feeding it requests. Pure logic ([`number`], [`calc`]) is kept apart from I/O
//! ([`upstream`], [`cpu`]).

pub mod calc;
pub mod config;
pub mod cpu;
pub mod error;
pub mod lambda;
pub mod number;
pub mod routes;
pub mod server;
pub mod upstream;

use std::sync::Arc;

use axum::Router;

pub use config::Config;
use upstream::Upstream;

/// What the handlers share: built once per process, cloned (cheaply) into every request.
#[derive(Clone, Debug)]
pub struct AppState {
    upstream: Arc<Upstream>,
    max_number: u64,
}

impl AppState {
    pub fn new(config: &Config) -> Self {
        Self {
            upstream: Arc::new(Upstream::new(
                config.external_api_url.clone(),
                config.external_api_timeout,
            )),
            max_number: config.max_number,
        }
    }
}

/// The application, for either transport.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}
