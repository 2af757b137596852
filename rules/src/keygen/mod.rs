//! Key generators for columns the client leaves out of an INSERT:
//! SNOWFLAKE (time-ordered 64-bit ids) and UUID.
//!
//! # Layout
//! - `snowflake`: SNOWFLAKE, lock-free, safe when the clock moves backwards.
//! - `uuid`: UUID (random, version 4).
//!
//! Filled in by the key generator work; this file fixes the API.

use std::fmt;
use std::sync::Arc;

use crate::error::AlgorithmError;
use crate::props::Props;

/// A generated key, as the rewrite will add it to an INSERT.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GeneratedKey {
    Int(i64),
    Text(String),
}

/// A key generator; shared between sessions, so `Send + Sync`.
pub trait KeyGenerator: Send + Sync + fmt::Debug {
    fn type_name(&self) -> &'static str;
    fn next_key(&self) -> Result<GeneratedKey, AlgorithmError>;
}

/// The key generator types `create` knows.
pub const KEY_GENERATOR_TYPES: &[&str] = &["SNOWFLAKE", "UUID"];

/// Builds a key generator from its `type:` and `props:`.
pub fn create(type_name: &str, props: &Props) -> Result<Arc<dyn KeyGenerator>, AlgorithmError> {
    let _ = props;
    Err(AlgorithmError::UnknownType(type_name.to_owned()))
}
