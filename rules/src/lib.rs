//! The rule model of Shardwire: ShardingSphere-Proxy's conf directory
//! (`global.yaml`, `database-*.yaml`) read into plain data, inline
//! expressions, sharding algorithms and key generators, validated into an
//! immutable [`RuleSnapshot`] that the kernel routes with.
//!
//! Pure: no tokio, no I/O but reading the files.
//!
//! # Layout
//! - [`config`]: the serde model of the YAML files (`deny_unknown_fields`).
//! - `yaml`: the one module that touches the YAML libraries (parsing and
//!   line numbers of nodes).
//! - [`inline`]: the inline expression parser and evaluator.
//! - [`algorithm`]: the sharding algorithms.
//! - [`keygen`]: the key generators.
//! - [`snapshot`]: the validated, expanded rules: logical tables, data
//!   nodes, strategies with their algorithms.
//! - `load`: reading a conf directory and validating it into a snapshot.
//! - [`props`], [`value`], [`error`]: shared small types.
#![deny(clippy::print_stdout)]

pub mod algorithm;
pub mod config;
pub mod error;
pub mod inline;
pub mod keygen;
pub mod load;
pub mod props;
pub mod snapshot;
pub mod value;
mod yaml;

pub use error::{AlgorithmError, ConfigError, ConfigErrorKind};
pub use load::load_dir;
pub use props::Props;
pub use snapshot::RuleSnapshot;
pub use value::{ShardingValue, ValueRange};
