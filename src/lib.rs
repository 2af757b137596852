//! The `shardwire` root package: wiring for the binaries `shardwire` (the
//! proxy) and `shardctl` (the DBA command line).
//!
//! # Layout
//! - [`check`]: `shardwire check --config <dir>`: load, validate, and
//!   describe the expanded rules as JSON.
//! - [`preview`]: `shardctl preview`: the route units and rewritten SQL of
//!   one statement, as JSON.
//! - [`serve`]: `shardwire serve --config <dir>`: the proxy itself.

pub mod check;
pub mod preview;
pub mod serve;
