//! The `shardwire` root package: wiring for the binaries `shardwire` (the
//! proxy) and `shardctl` (the DBA command line).
//!
//! # Layout
//! - [`check`]: `shardwire check --config <dir>`: load, validate, and
//!   describe the expanded rules as JSON.

pub mod check;
