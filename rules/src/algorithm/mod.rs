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
//! - `datetime`: the Java `DateTimeFormatter` patterns INTERVAL and
//!   AUTO_INTERVAL read values with and INTERVAL formats suffixes with.
//!
//! Algorithms check their props in `create` and fail there, so a bad rule
//! is reported when the configuration loads, not on the first query.

mod auto_interval;
mod boundary_range;
mod complex_inline;
mod datetime;
mod hash_mod;
mod hint_inline;
mod inline;
mod interval;
mod modulo;
mod targets;
mod volume_range;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;
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
/// ShardingSphere looks types up case-insensitively, so `mod` is `MOD`.
pub fn create(
    type_name: &str,
    props: &Props,
) -> Result<Arc<dyn ShardingAlgorithm>, AlgorithmError> {
    let algorithm: Arc<dyn ShardingAlgorithm> = match type_name.trim().to_ascii_uppercase().as_str()
    {
        "MOD" => Arc::new(modulo::Mod::new(props)?),
        "HASH_MOD" => Arc::new(hash_mod::HashMod::new(props)?),
        "INLINE" => Arc::new(inline::Inline::new(props)?),
        "VOLUME_RANGE" => Arc::new(volume_range::VolumeRange::new(props)?),
        "BOUNDARY_RANGE" => Arc::new(boundary_range::BoundaryRange::new(props)?),
        "INTERVAL" => Arc::new(interval::Interval::new(props)?),
        "AUTO_INTERVAL" => Arc::new(auto_interval::AutoInterval::new(props)?),
        "COMPLEX_INLINE" => Arc::new(complex_inline::ComplexInline::new(props)?),
        "HINT_INLINE" => Arc::new(hint_inline::HintInline::new(props)?),
        _ => return Err(AlgorithmError::UnknownType(type_name.to_owned())),
    };
    Ok(algorithm)
}

/// Every target, for answers that cannot narrow.
fn all_targets(targets: &[String]) -> Vec<usize> {
    (0..targets.len()).collect()
}

fn bad_value(algorithm: &str, value: &dyn fmt::Display, reason: &str) -> AlgorithmError {
    AlgorithmError::BadValue {
        algorithm: algorithm.to_owned(),
        value: value.to_string(),
        reason: reason.to_owned(),
    }
}

/// The value as an integer, as the numeric algorithms need it
/// (ShardingSphere's `Long.parseLong(value.toString())`).
fn int_value(algorithm: &str, value: &ShardingValue) -> Result<i64, AlgorithmError> {
    value
        .as_i64()
        .ok_or_else(|| bad_value(algorithm, value, "expected an integer"))
}

/// The inclusive integer ends of a range, `None` for an open end.
fn int_bounds(
    algorithm: &str,
    range: &ValueRange,
) -> Result<(Option<i64>, Option<i64>), AlgorithmError> {
    range.int_bounds().map_err(|()| {
        bad_value(
            algorithm,
            &describe_range(range),
            "expected integer range ends",
        )
    })
}

/// The range function of the partitioned integer algorithms (VOLUME_RANGE,
/// BOUNDARY_RANGE): partitions are ordered like the values, so the targets
/// are those from the lower end's partition to the upper end's, with an open
/// end reaching the first or `last_partition`.
fn partitioned_range(
    algorithm: &str,
    targets: &[String],
    range: &ValueRange,
    last_partition: u64,
    partition: impl Fn(i64) -> u64,
) -> Result<Vec<usize>, AlgorithmError> {
    let (lo, hi) = int_bounds(algorithm, range)?;
    if let (Some(lo), Some(hi)) = (lo, hi) {
        if lo > hi {
            return Ok(Vec::new());
        }
    }
    let first = lo.map_or(0, &partition);
    let last = hi.map_or(last_partition, &partition);
    Ok(self::targets::shards_between(targets, first, last))
}

/// A range as a message shows it: `[1, 10)`, `(-inf, 5]`.
fn describe_range(range: &ValueRange) -> String {
    let lower = match &range.lower {
        Bound::Included(v) => format!("[{v}"),
        Bound::Excluded(v) => format!("({v}"),
        Bound::Unbounded => "(-inf".to_owned(),
    };
    let upper = match &range.upper {
        Bound::Included(v) => format!("{v}]"),
        Bound::Excluded(v) => format!("{v})"),
        Bound::Unbounded => "+inf)".to_owned(),
    };
    format!("{lower}, {upper}")
}

/// A required integer prop that must be positive (`sharding-count`,
/// `sharding-volume`, `sharding-seconds`).
fn positive_prop(props: &Props, key: &str) -> Result<i64, AlgorithmError> {
    let value = props.require_i64(key)?;
    if value <= 0 {
        return Err(props.bad(key, &value.to_string(), "must be a positive integer"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_knows_every_listed_type() {
        let props = |t: &str| match t {
            "MOD" | "HASH_MOD" => Props::new(t).with("sharding-count", 4),
            "INLINE" | "COMPLEX_INLINE" => Props::new(t)
                .with("algorithm-expression", "t_${id % 2}")
                .with("sharding-columns", "id"),
            "VOLUME_RANGE" => Props::new(t)
                .with("range-lower", 0)
                .with("range-upper", 10)
                .with("sharding-volume", 5),
            "BOUNDARY_RANGE" => Props::new(t).with("sharding-ranges", "1,2"),
            "INTERVAL" => Props::new(t)
                .with("datetime-pattern", "yyyy-MM-dd HH:mm:ss")
                .with("datetime-lower", "2021-01-01 00:00:00")
                .with("sharding-suffix-pattern", "yyyyMM"),
            "AUTO_INTERVAL" => Props::new(t)
                .with("datetime-lower", "2021-01-01 00:00:00")
                .with("datetime-upper", "2021-01-02 00:00:00")
                .with("sharding-seconds", 3600),
            _ => Props::new(t),
        };
        for t in ALGORITHM_TYPES {
            let algorithm = create(t, &props(t)).expect(t);
            assert_eq!(algorithm.type_name(), *t);
        }
        let lower = create("mod", &props("MOD")).expect("lower case type");
        assert_eq!(lower.type_name(), "MOD");
    }

    #[test]
    fn create_shapes_and_auto_table_amounts() {
        let m = create("MOD", &Props::new("MOD").with("sharding-count", 4)).expect("MOD");
        assert_eq!(m.shape(), AlgorithmShape::Standard);
        assert_eq!(m.auto_tables_amount(), Some(4));
        let c = create(
            "COMPLEX_INLINE",
            &Props::new("COMPLEX_INLINE")
                .with("algorithm-expression", "t_${a}")
                .with("sharding-columns", "a"),
        )
        .expect("COMPLEX_INLINE");
        assert_eq!(c.shape(), AlgorithmShape::Complex);
        assert_eq!(c.auto_tables_amount(), None);
        let h = create("HINT_INLINE", &Props::new("HINT_INLINE")).expect("HINT_INLINE");
        assert_eq!(h.shape(), AlgorithmShape::Hint);
    }

    #[test]
    fn create_rejects_unknown_types() {
        assert_eq!(
            create("CLASS_BASED", &Props::new("CLASS_BASED")).unwrap_err(),
            AlgorithmError::UnknownType("CLASS_BASED".into())
        );
    }

    #[test]
    fn unsupported_entry_points_say_so() {
        let m = create("MOD", &Props::new("MOD").with("sharding-count", 4)).expect("MOD");
        let targets = vec!["t_0".to_owned()];
        assert_eq!(
            m.hint(&targets, &[ShardingValue::Int(1)]).unwrap_err(),
            AlgorithmError::Unsupported {
                algorithm: "MOD".into(),
                what: "a hint strategy".into()
            }
        );
        assert_eq!(
            m.complex(&targets, &ComplexValues::default()).unwrap_err(),
            AlgorithmError::Unsupported {
                algorithm: "MOD".into(),
                what: "a complex strategy".into()
            }
        );
    }

    #[test]
    fn describe_range_shows_bounds() {
        let r = ValueRange {
            lower: Bound::Excluded(ShardingValue::Int(1)),
            upper: Bound::Unbounded,
        };
        assert_eq!(describe_range(&r), "(1, +inf)");
        assert_eq!(describe_range(&ValueRange::closed("a", 2)), "['a', 2]");
    }

    #[test]
    fn positive_prop_checks() {
        let p = Props::new("MOD").with("n", 0).with("x", "abc");
        assert_eq!(
            positive_prop(&p, "n").unwrap_err(),
            AlgorithmError::BadProp {
                algorithm: "MOD".into(),
                prop: "n".into(),
                value: "0".into(),
                reason: "must be a positive integer".into()
            }
        );
        assert!(matches!(
            positive_prop(&p, "x"),
            Err(AlgorithmError::BadProp { .. })
        ));
        assert_eq!(
            positive_prop(&p, "missing").unwrap_err(),
            AlgorithmError::MissingProp {
                algorithm: "MOD".into(),
                prop: "missing".into()
            }
        );
    }
}
