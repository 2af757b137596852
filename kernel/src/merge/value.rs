//! [`Value`]: the cells the merge must look at, and how they compare.
//!
//! Comparison follows SQL where SQL is unambiguous and says so where it is
//! not:
//! - NULL placement is not decided here but by the sort key's `nulls_first`,
//!   which the planner sets per dialect (PostgreSQL: NULLS LAST for ASC and
//!   FIRST for DESC; MySQL: NULL is the smallest value).
//! - Int, Decimal and Float compare by numeric value. Int against Decimal is
//!   exact; anything against Float goes through f64.
//! - Text compares by a [`Collation`]: [`Value::sql_cmp`] bytewise,
//!   [`Value::sql_cmp_in`] by the collation the plan gives the column.
//! - Date and Timestamp compare chronologically, a Date as its midnight.
//! - Values of unrelated kinds (which one column does not mix) order by kind,
//!   so that sorting stays total instead of failing halfway through a stream.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};

use super::collation::Collation;
use super::decimal::Decimal;
use super::error::MergeError;

/// What the backend says a column holds; decides how its text form parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    Int,
    Decimal,
    Float,
    Text,
    Bytes,
    Bool,
    Date,
    Timestamp,
    /// Read as Text (or Bytes when not UTF-8): enough to pass it through.
    Unknown,
}

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Decimal(Decimal),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
    Date(NaiveDate),
    /// Without zone; zoned text is converted to UTC on the way in.
    Timestamp(NaiveDateTime),
}

impl Value {
    /// Reads a cell from the backend's text format; `None` is SQL NULL.
    ///
    /// Bytes are taken as sent: PostgreSQL's `\x` hex form of bytea must be
    /// decoded by the caller, which knows the protocol.
    pub fn parse_text(kind: ColumnKind, text: Option<&[u8]>) -> Result<Self, MergeError> {
        let Some(bytes) = text else {
            return Ok(Self::Null);
        };
        if kind == ColumnKind::Bytes {
            return Ok(Self::Bytes(bytes.to_vec()));
        }
        let Ok(s) = std::str::from_utf8(bytes) else {
            return match kind {
                ColumnKind::Unknown => Ok(Self::Bytes(bytes.to_vec())),
                _ => Err(MergeError::Decode {
                    kind,
                    text: String::from_utf8_lossy(bytes).into_owned(),
                }),
            };
        };
        let bad = || MergeError::Decode {
            kind,
            text: s.to_owned(),
        };
        Ok(match kind {
            // MySQL BIGINT UNSIGNED can exceed i64: keep it exact as Decimal.
            ColumnKind::Int => match s.parse::<i64>() {
                Ok(v) => Self::Int(v),
                Err(_) => Self::Decimal(
                    Decimal::parse(s)
                        .filter(|d| d.scale() == 0)
                        .ok_or_else(bad)?,
                ),
            },
            ColumnKind::Decimal => match Decimal::parse(s) {
                Some(d) => Self::Decimal(d),
                // PostgreSQL NUMERIC also has NaN and +-Infinity.
                None => Self::Float(parse_special_float(s).ok_or_else(bad)?),
            },
            ColumnKind::Float => Self::Float(s.parse::<f64>().map_err(|_| bad())?),
            ColumnKind::Bool => match s.to_ascii_lowercase().as_str() {
                "t" | "true" | "1" | "y" | "yes" | "on" => Self::Bool(true),
                "f" | "false" | "0" | "n" | "no" | "off" => Self::Bool(false),
                _ => return Err(bad()),
            },
            ColumnKind::Date => Self::Date(s.parse::<NaiveDate>().map_err(|_| bad())?),
            ColumnKind::Timestamp => Self::Timestamp(parse_timestamp(s).ok_or_else(bad)?),
            ColumnKind::Text | ColumnKind::Unknown | ColumnKind::Bytes => Self::Text(s.to_owned()),
        })
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// Order of kinds that do not compare by value; numerics share a rank.
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Self::Null => 0,
            Self::Int(_) | Self::Decimal(_) | Self::Float(_) => 1,
            Self::Text(_) => 2,
            Self::Bytes(_) => 3,
            Self::Bool(_) => 4,
            Self::Date(_) | Self::Timestamp(_) => 5,
        }
    }

    /// Total order over values (see the module doc), text bytewise. NULL
    /// sorts first here; sort keys place NULLs themselves before calling
    /// this.
    pub fn sql_cmp(&self, other: &Self) -> Ordering {
        self.sql_cmp_in(other, Collation::Binary)
    }

    /// [`Value::sql_cmp`] with text compared by `collation`.
    pub fn sql_cmp_in(&self, other: &Self, collation: Collation) -> Ordering {
        use Value::*;
        match (self, other) {
            (Int(a), Int(b)) => a.cmp(b),
            (Decimal(a), Decimal(b)) => a.cmp(b),
            (Int(a), Decimal(b)) => super::decimal::Decimal::from(*a).cmp(b),
            (Decimal(a), Int(b)) => a.cmp(&super::decimal::Decimal::from(*b)),
            (Float(a), Float(b)) => float_cmp(*a, *b),
            (Float(a), b @ (Int(_) | Decimal(_))) => float_cmp(*a, b.as_f64().unwrap_or(f64::NAN)),
            (a @ (Int(_) | Decimal(_)), Float(b)) => float_cmp(a.as_f64().unwrap_or(f64::NAN), *b),
            (Text(a), Text(b)) => collation.compare(a, b),
            (Bytes(a), Bytes(b)) => a.cmp(b),
            (Bool(a), Bool(b)) => a.cmp(b),
            (Date(a), Date(b)) => a.cmp(b),
            (Timestamp(a), Timestamp(b)) => a.cmp(b),
            (Date(a), Timestamp(b)) => a.and_time(NaiveTime::MIN).cmp(b),
            (Timestamp(a), Date(b)) => a.cmp(&b.and_time(NaiveTime::MIN)),
            _ => self.rank().cmp(&other.rank()),
        }
    }

    /// Numeric value as f64, for comparisons with Float and float sums.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Int(v) => Some(*v as f64),
            Self::Decimal(d) => Some(d.to_f64()),
            Self::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Hash consistent with `sql_cmp_in(.., collation) == Equal`: numerics
    /// hash through f64 because that is the coarsest equality `sql_cmp` uses
    /// between them (two different huge integers may collide, which costs
    /// time, not results).
    pub(crate) fn hash_sql<H: Hasher>(&self, collation: Collation, state: &mut H) {
        self.rank().hash(state);
        match self {
            Self::Null => {}
            Self::Int(_) | Self::Decimal(_) | Self::Float(_) => {
                let f = self.as_f64().unwrap_or(f64::NAN);
                let canonical = if f == 0.0 {
                    0.0f64.to_bits()
                } else if f.is_nan() {
                    f64::NAN.to_bits()
                } else {
                    f.to_bits()
                };
                canonical.hash(state);
            }
            Self::Text(s) => collation.hash(s, state),
            Self::Bytes(b) => b.hash(state),
            Self::Bool(b) => b.hash(state),
            Self::Date(d) => d.and_time(NaiveTime::MIN).hash(state),
            Self::Timestamp(t) => t.hash(state),
        }
    }

    pub(crate) fn estimated_size(&self) -> usize {
        std::mem::size_of::<Self>()
            + match self {
                Self::Text(s) => s.capacity(),
                Self::Bytes(b) => b.capacity(),
                _ => 0,
            }
    }
}

/// PostgreSQL puts NaN above every other number; total_cmp does the same for
/// positive NaN, and we only produce positive NaN.
fn float_cmp(a: f64, b: f64) -> Ordering {
    let canon = |f: f64| {
        if f.is_nan() {
            f64::NAN
        } else if f == 0.0 {
            0.0
        } else {
            f
        }
    };
    canon(a).total_cmp(&canon(b))
}

fn parse_special_float(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Some(t);
        }
        if let Ok(t) = DateTime::parse_from_str(s, &format!("{format}%#z")) {
            return Some(t.naive_utc());
        }
    }
    None
}

/// A list of values that hashes and compares by SQL equality (NULL equal to
/// NULL, as GROUP BY and DISTINCT treat it), each value's text by the
/// collation at the same position (`Binary` past the end).
#[derive(Debug, Clone)]
pub(crate) struct Key {
    values: Vec<Value>,
    collations: Arc<[Collation]>,
}

impl Key {
    pub(crate) fn new(values: Vec<Value>, collations: Arc<[Collation]>) -> Self {
        Self { values, collations }
    }

    fn collation(&self, i: usize) -> Collation {
        self.collations.get(i).copied().unwrap_or_default()
    }

    pub(crate) fn estimated_size(&self) -> usize {
        std::mem::size_of::<Self>() + self.values.iter().map(Value::estimated_size).sum::<usize>()
    }

    pub(crate) fn into_values(self) -> Vec<Value> {
        self.values
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.values.len() == other.values.len()
            && self
                .values
                .iter()
                .zip(&other.values)
                .enumerate()
                .all(|(i, (a, b))| a.sql_cmp_in(b, self.collation(i)) == Ordering::Equal)
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.values.len().hash(state);
        for (i, v) in self.values.iter().enumerate() {
            v.hash_sql(self.collation(i), state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(kind: ColumnKind, s: &str) -> Value {
        Value::parse_text(kind, Some(s.as_bytes())).unwrap()
    }

    #[test]
    fn parses_text_forms() {
        assert_eq!(p(ColumnKind::Int, "-42"), Value::Int(-42));
        assert_eq!(
            p(ColumnKind::Int, "18446744073709551615").to_string_for_test(),
            "Decimal(18446744073709551615)"
        );
        assert_eq!(
            p(ColumnKind::Decimal, "1.50").to_string_for_test(),
            "Decimal(1.50)"
        );
        assert!(matches!(p(ColumnKind::Decimal, "NaN"), Value::Float(f) if f.is_nan()));
        assert_eq!(p(ColumnKind::Float, "2.5"), Value::Float(2.5));
        assert_eq!(
            p(ColumnKind::Float, "-Infinity"),
            Value::Float(f64::NEG_INFINITY)
        );
        assert!(matches!(p(ColumnKind::Float, "NaN"), Value::Float(f) if f.is_nan()));
        assert_eq!(p(ColumnKind::Bool, "t"), Value::Bool(true));
        assert_eq!(p(ColumnKind::Bool, "0"), Value::Bool(false));
        assert_eq!(
            p(ColumnKind::Date, "2024-02-29"),
            Value::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap())
        );
        let noon = NaiveDate::from_ymd_opt(2024, 1, 2)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        assert_eq!(
            p(ColumnKind::Timestamp, "2024-01-02 12:00:00"),
            Value::Timestamp(noon)
        );
        assert_eq!(
            p(ColumnKind::Timestamp, "2024-01-02 14:00:00+02"),
            Value::Timestamp(noon)
        );
        assert_eq!(
            p(ColumnKind::Timestamp, "2024-01-02T12:00:00.000"),
            Value::Timestamp(noon)
        );
        assert_eq!(p(ColumnKind::Unknown, "x"), Value::Text("x".into()));
        assert_eq!(
            Value::parse_text(ColumnKind::Unknown, Some(&[0xff])).unwrap(),
            Value::Bytes(vec![0xff])
        );
        assert_eq!(
            Value::parse_text(ColumnKind::Int, None).unwrap(),
            Value::Null
        );
        let err = Value::parse_text(ColumnKind::Int, Some(b"1.5")).unwrap_err();
        assert!(
            matches!(
                err,
                MergeError::Decode {
                    kind: ColumnKind::Int,
                    ..
                }
            ),
            "{err}"
        );
        assert!(Value::parse_text(ColumnKind::Date, Some(b"0000-00-00")).is_err());
    }

    impl Value {
        fn to_string_for_test(&self) -> String {
            match self {
                Value::Decimal(d) => format!("Decimal({d})"),
                other => format!("{other:?}"),
            }
        }
    }

    #[test]
    fn numerics_compare_across_kinds() {
        let one = Value::Int(1);
        let one_dec = p(ColumnKind::Decimal, "1.000");
        let one_and_a_bit = p(ColumnKind::Decimal, "1.001");
        let one_float = Value::Float(1.0);
        assert_eq!(one.sql_cmp(&one_dec), Ordering::Equal);
        assert_eq!(one_dec.sql_cmp(&one_float), Ordering::Equal);
        assert_eq!(one.sql_cmp(&one_and_a_bit), Ordering::Less);
        assert_eq!(Value::Float(1.5).sql_cmp(&one_and_a_bit), Ordering::Greater);
        assert_eq!(
            Value::Float(f64::NAN).sql_cmp(&Value::Int(i64::MAX)),
            Ordering::Greater
        );
        assert_eq!(Value::Float(-0.0).sql_cmp(&Value::Int(0)), Ordering::Equal);
        let key = |v: &Value| Key::new(vec![v.clone()], Arc::from(vec![Collation::Binary]));
        assert_eq!(key(&one), key(&one_dec));
        let hash = |k: &Key| {
            use std::collections::hash_map::DefaultHasher;
            let mut h = DefaultHasher::new();
            k.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&key(&one)), hash(&key(&one_float)));
        // Text keys follow their collation, numbers do not care.
        let ci: Arc<[Collation]> = Arc::from(vec![Collation::CaseInsensitive, Collation::Binary]);
        let a = Key::new(vec![Value::Text("New ".into()), one.clone()], ci.clone());
        let b = Key::new(vec![Value::Text("nEW".into()), one_dec.clone()], ci.clone());
        assert_eq!(a, b);
        assert_eq!(hash(&a), hash(&b));
        let c = Key::new(
            vec![Value::Text("new".into()), Value::Text("X".into())],
            ci.clone(),
        );
        let d = Key::new(vec![Value::Text("new".into()), Value::Text("x".into())], ci);
        assert_ne!(c, d);
    }

    #[test]
    fn text_is_bytewise_and_dates_chronological() {
        assert_eq!(
            Value::Text("B".into()).sql_cmp(&Value::Text("a".into())),
            Ordering::Less
        );
        let day = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
        let later = day.and_hms_opt(0, 0, 1).unwrap();
        assert_eq!(
            Value::Date(day).sql_cmp(&Value::Timestamp(later)),
            Ordering::Less
        );
        assert_eq!(
            Value::Date(day).sql_cmp(&Value::Timestamp(day.and_time(NaiveTime::MIN))),
            Ordering::Equal
        );
    }
}
