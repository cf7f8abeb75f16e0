//! The FastAPI async-operations tutorial API as a Rust AWS Lambda function.
//!
//! One lesson, shown in three routes: await the I/O, push the CPU work off the async runtime.
//! One [`axum::Router`] ([`app`]) is the product; [`lambda`] and [`server`] are two ways of
//! feeding it requests.
//!
//! # Reading order
//!
//! The modules are layers: each uses only those above it in this list, so the crate reads
//! from the top down, and no module reaches back up.
//!
//! 1. **Pure logic**, no I/O: [`calc`] (the CPU-bound loop) and [`number`] (`{number}` parsed
//!    the way pydantic parses an `int`).
//! 2. **Foundations**: [`config`] (every setting, its default and its validation) and
//!    [`telemetry`] (JSON log lines, one span per request, EMF metrics, OpenTelemetry spans).
//! 3. **Dependencies**, the world outside the process, each with its own error type:
//!    [`dependencies`] (`upstream`, the external API; `database`, DynamoDB; `cpu`, the
//!    blocking pool for calculations; and the one policy every outgoing call follows), and
//!    the OpenTelemetry collector the spans are sent to.
//! 4. **HTTP**: [`api`] (the routes, their errors as HTTP answers, the middleware, the
//!    OpenAPI document and the docs pages). It knows no transport.
//! 5. **Transports**: [`lambda`] (API Gateway, ALB, Function URL and VPC Lattice events; a
//!    directory with one file per job, read from its `mod.rs`) and [`server`] (plain HTTP, for
//!    `cargo run`). Only these know where requests come from.
//!
//! `main.rs` reads the configuration, sets up logging and the async runtime, and picks a
//! transport.

pub mod calc;
pub mod number;

pub mod config;
pub mod telemetry;

mod dependencies;

mod api;

pub mod lambda;
pub mod server;

#[cfg(any(test, feature = "test-support"))]
pub mod testing;

pub use api::{AppState, Authorizer, Caller, TransportContext, app};
#[cfg(feature = "test-support")]
pub use api::{RouteEntry, route_table};
pub use config::Config;
pub use dependencies::collector::SpanExport;
#[cfg(feature = "test-support")]
pub use dependencies::cpu::Gauges;
#[cfg(feature = "test-support")]
pub use dependencies::database::sdk_http_client;
