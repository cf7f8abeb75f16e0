//! The integration tests, one crate: each concern a module, sharing [`support`]'s stand-ins
//! (the external API, AWS's Runtime Interface Emulator, our Runtime API stub, moto, the local
//! server). One binary links the dependency tree once instead of once per file.
//!
//! Filter by module as usual, e.g. `cargo test --test it lambda_e2e::`.

mod support;

mod compression;
mod database;
mod fixtures;
mod lambda_e2e;
mod layers;
mod malformed;
mod reliability;
mod route_list;
mod routes;
mod server;
mod traces;
mod upstream;
