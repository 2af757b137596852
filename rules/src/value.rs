//! The values a sharding algorithm is asked about: literals and parameters
//! taken from a statement (`=`, `IN`, `BETWEEN`, `<`, `>`) or from a hint.

use std::fmt;
use std::ops::Bound;

/// One sharding-column value. SQL integers arrive as `Int`; everything else
/// (strings, dates, decimals) arrives as the text the client sent, and each
/// algorithm interprets it the way ShardingSphere does. `Null` is SQL's
/// NULL (a literal or a NULL parameter): no row has it as a sharding value
/// that `=` could match, so the router decides what it means before any
/// algorithm is asked, and algorithms refuse it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ShardingValue {
    Int(i64),
    Text(String),
    Null,
}

impl ShardingValue {
    /// The value as an integer, if it is one or is text that parses as one
    /// (a driver may bind `42` as the text `'42'`).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            ShardingValue::Int(v) => Some(*v),
            ShardingValue::Text(s) => s.trim().parse().ok(),
            ShardingValue::Null => None,
        }
    }
}

impl fmt::Display for ShardingValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShardingValue::Int(v) => write!(f, "{v}"),
            ShardingValue::Text(s) => write!(f, "'{s}'"),
            ShardingValue::Null => write!(f, "NULL"),
        }
    }
}

impl From<i64> for ShardingValue {
    fn from(v: i64) -> Self {
        ShardingValue::Int(v)
    }
}

impl From<&str> for ShardingValue {
    fn from(v: &str) -> Self {
        ShardingValue::Text(v.to_owned())
    }
}

/// A range of values from `BETWEEN`, `<`, `<=`, `>`, `>=`; either end may be
/// open (`Unbounded`), as in `order_id > 10`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueRange {
    pub lower: Bound<ShardingValue>,
    pub upper: Bound<ShardingValue>,
}

impl ValueRange {
    /// `lower <= v <= upper`, what `BETWEEN` means.
    pub fn closed(lower: impl Into<ShardingValue>, upper: impl Into<ShardingValue>) -> Self {
        ValueRange {
            lower: Bound::Included(lower.into()),
            upper: Bound::Included(upper.into()),
        }
    }

    /// The integer ends of the range, inclusive, with `None` for an open end.
    /// Exclusive ends are turned into inclusive ones (`< 10` is `<= 9`).
    /// `Err(())` when an end is not an integer.
    #[allow(clippy::result_unit_err)]
    pub fn int_bounds(&self) -> Result<(Option<i64>, Option<i64>), ()> {
        let lower = match &self.lower {
            Bound::Unbounded => None,
            Bound::Included(v) => Some(v.as_i64().ok_or(())?),
            Bound::Excluded(v) => Some(v.as_i64().ok_or(())?.saturating_add(1)),
        };
        let upper = match &self.upper {
            Bound::Unbounded => None,
            Bound::Included(v) => Some(v.as_i64().ok_or(())?),
            Bound::Excluded(v) => Some(v.as_i64().ok_or(())?.saturating_sub(1)),
        };
        Ok((lower, upper))
    }
}
