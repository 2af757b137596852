//! Sharding algorithms with ShardingSphere's shape: a precise function for
//! `=` / `IN`, a range function for `BETWEEN` / `<` / `>`, and for the
//! complex and hint strategies their own entry points. Every function picks
//! among the *available targets* (data source names or actual table names)
//! it is handed and answers with indices into that slice.
//!
//! # Layout
//! - `targets`: matching a numeric shard index to a target name by suffix.
//! - one file per algorithm: `modulo` (MOD), `hash_mod` (HASH_MOD),
//!   `inline` (INLINE), `volume_range`, `boundary_range`, `interval`,
//!   `auto_interval`, `complex_inline`, `hint_inline`.
//! - `datetime`: Java `DateTimeFormatter` patterns used by INTERVAL.
//!
//! Filled in by the algorithms work; this file fixes the API.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::error::AlgorithmError;
use crate::props::Props;
use crate::value::{ShardingValue, ValueRange};

/// Which strategy an algorithm can serve (`standard:`, `complex:`, `hint:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlgorithmShape {
    Standard,
    Complex,
    Hint,
}

/// The sharding values of a complex strategy: every column's `=` / `IN`
/// values and every column's range. A column may appear in either or both.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComplexValues {
    pub values: BTreeMap<String, Vec<ShardingValue>>,
    pub ranges: BTreeMap<String, ValueRange>,
}

/// A sharding algorithm. Implementations are immutable after creation and
/// shared between sessions, so they are `Send + Sync`.
pub trait ShardingAlgorithm: Send + Sync + fmt::Debug {
    /// The `type:` name, e.g. `MOD`.
    fn type_name(&self) -> &'static str;

    fn shape(&self) -> AlgorithmShape;

    /// For auto tables: how many shards the algorithm defines (MOD's
    /// `sharding-count`, the partitions of the range algorithms). `None` for
    /// algorithms that cannot drive an auto table.
    fn auto_tables_amount(&self) -> Option<usize> {
        None
    }

    /// `column = value`: the one target the value belongs to.
    fn precise(
        &self,
        targets: &[String],
        column: &str,
        value: &ShardingValue,
    ) -> Result<usize, AlgorithmError> {
        let _ = (targets, column, value);
        Err(self.unsupported("a precise (= / IN) condition"))
    }

    /// `column BETWEEN a AND b`, `<`, `>`...: every target the range may
    /// touch, ascending and without duplicates. Never too few.
    fn range(
        &self,
        targets: &[String],
        column: &str,
        range: &ValueRange,
    ) -> Result<Vec<usize>, AlgorithmError> {
        let _ = (targets, column, range);
        Err(self.unsupported("a range condition"))
    }

    /// Complex strategy: values of several columns at once.
    fn complex(
        &self,
        targets: &[String],
        values: &ComplexValues,
    ) -> Result<Vec<usize>, AlgorithmError> {
        let _ = (targets, values);
        Err(self.unsupported("a complex strategy"))
    }

    /// Hint strategy: values given out of band, not from the SQL.
    fn hint(
        &self,
        targets: &[String],
        values: &[ShardingValue],
    ) -> Result<Vec<usize>, AlgorithmError> {
        let _ = (targets, values);
        Err(self.unsupported("a hint strategy"))
    }

    fn unsupported(&self, what: &str) -> AlgorithmError {
        AlgorithmError::Unsupported {
            algorithm: self.type_name().to_owned(),
            what: what.to_owned(),
        }
    }
}

/// The algorithm types `create` knows, for validation messages.
pub const ALGORITHM_TYPES: &[&str] = &[
    "MOD",
    "HASH_MOD",
    "INLINE",
    "VOLUME_RANGE",
    "BOUNDARY_RANGE",
    "INTERVAL",
    "AUTO_INTERVAL",
    "COMPLEX_INLINE",
    "HINT_INLINE",
];

/// Builds an algorithm from its `type:` and `props:`; checks the props.
pub fn create(
    type_name: &str,
    props: &Props,
) -> Result<Arc<dyn ShardingAlgorithm>, AlgorithmError> {
    let _ = props;
    Err(AlgorithmError::UnknownType(type_name.to_owned()))
}
