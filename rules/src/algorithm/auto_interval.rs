//! AUTO_INTERVAL: numbered shards of `sharding-seconds` each between
//! `datetime-lower` and `datetime-upper` (both `yyyy-MM-dd HH:mm:ss`):
//! shard 0 is everything before lower, shard i (1..=k) is
//! [lower + (i-1)*seconds, lower + i*seconds), cut short at upper, and shard
//! k + 1 is upper and later, with k = ceil((upper - lower) / seconds).
//!
//! ShardingSphere computes `ceil(round2(elapsed / seconds))` clamped to the
//! shards, which puts an exact boundary (and the first ~0.5% of each shard,
//! lost to the two-decimal rounding) into the shard before, and sizes the
//! table count with an integer division. Shardwire uses the half-open
//! intervals above instead, so data placed by ShardingSphere near shard
//! boundaries would not be found where it is.

use std::ops::Bound;

use chrono::{NaiveDateTime, TimeDelta};

use super::datetime::JavaPattern;
use super::targets::{require_shard, shards_between};
use super::{bad_value, describe_range, positive_prop, AlgorithmShape, ShardingAlgorithm};
use crate::error::AlgorithmError;
use crate::props::Props;
use crate::value::{ShardingValue, ValueRange};

const TYPE: &str = "AUTO_INTERVAL";

/// ShardingSphere's shard ids are `int`s.
const MAX_SHARDS: i64 = i32::MAX as i64;

#[derive(Debug)]
pub(crate) struct AutoInterval {
    pattern: JavaPattern,
    lower: NaiveDateTime,
    /// upper - lower, positive.
    span: TimeDelta,
    seconds: i64,
    /// k: the shards between lower and upper.
    inner: u64,
}

impl AutoInterval {
    pub(crate) fn new(props: &Props) -> Result<Self, AlgorithmError> {
        let pattern = JavaPattern::standard();
        let read = |key: &str| -> Result<NaiveDateTime, AlgorithmError> {
            let text = props.require(key)?;
            pattern
                .parse(text)
                .map_err(|e| props.bad(key, text, &format!("expected yyyy-MM-dd HH:mm:ss: {e}")))
        };
        let lower = read("datetime-lower")?;
        let upper = read("datetime-upper")?;
        let seconds = positive_prop(props, "sharding-seconds")?;
        if upper <= lower {
            return Err(props.bad(
                "datetime-upper",
                props.get("datetime-upper").unwrap_or_default(),
                "must be after datetime-lower",
            ));
        }
        let span = upper.signed_duration_since(lower);
        // Whole seconds: both ends are read without fractions in practice;
        // a fraction only lengthens the last shard, never loses one.
        let span_secs = span.num_seconds() + i64::from(span.subsec_nanos() > 0);
        let inner = span_secs.div_euclid(seconds) + i64::from(span_secs % seconds != 0);
        if inner > MAX_SHARDS - 2 {
            return Err(props.bad(
                "sharding-seconds",
                &seconds.to_string(),
                &format!(
                    "makes {} shards, more than {MAX_SHARDS}",
                    i128::from(inner) + 2
                ),
            ));
        }
        Ok(AutoInterval {
            pattern,
            lower,
            span,
            seconds,
            // 0 < inner < MAX_SHARDS.
            inner: inner as u64,
        })
    }

    fn shard(&self, t: NaiveDateTime) -> u64 {
        if t < self.lower {
            return 0;
        }
        let elapsed = t.signed_duration_since(self.lower);
        if elapsed >= self.span {
            return self.inner + 1;
        }
        // 0 <= elapsed < span: whole seconds round down.
        (elapsed.num_seconds() / self.seconds) as u64 + 1
    }

    fn read(&self, value: &ShardingValue) -> Result<NaiveDateTime, AlgorithmError> {
        let text = match value {
            ShardingValue::Text(s) => s.clone(),
            ShardingValue::Int(v) => v.to_string(),
            ShardingValue::Null => return Err(bad_value(TYPE, value, "NULL is no date-time")),
        };
        self.pattern
            .parse(&text)
            .map_err(|e| bad_value(TYPE, value, &format!("not a date-time: {e}")))
    }
}

impl ShardingAlgorithm for AutoInterval {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn shape(&self) -> AlgorithmShape {
        AlgorithmShape::Standard
    }

    fn auto_tables_amount(&self) -> Option<usize> {
        usize::try_from(self.inner + 2).ok()
    }

    fn precise(
        &self,
        targets: &[String],
        _column: &str,
        value: &ShardingValue,
    ) -> Result<usize, AlgorithmError> {
        let t = self.read(value)?;
        require_shard(TYPE, targets, self.shard(t), value)
    }

    fn range(
        &self,
        targets: &[String],
        _column: &str,
        range: &ValueRange,
    ) -> Result<Vec<usize>, AlgorithmError> {
        let read = |v: &ShardingValue| {
            self.read(v).map_err(|e| match e {
                AlgorithmError::BadValue { reason, .. } => {
                    bad_value(TYPE, &describe_range(range), &reason)
                }
                other => other,
            })
        };
        // Nanosecond resolution: an exclusive end is the inclusive one a
        // nanosecond inside (left as is at chrono's limits: never too few).
        let nano = TimeDelta::nanoseconds(1);
        let from = match &range.lower {
            Bound::Unbounded => None,
            Bound::Included(v) => Some(read(v)?),
            Bound::Excluded(v) => {
                let t = read(v)?;
                Some(t.checked_add_signed(nano).unwrap_or(t))
            }
        };
        let to = match &range.upper {
            Bound::Unbounded => None,
            Bound::Included(v) => Some(read(v)?),
            Bound::Excluded(v) => {
                let t = read(v)?;
                Some(t.checked_sub_signed(nano).unwrap_or(t))
            }
        };
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                return Ok(Vec::new());
            }
        }
        let first = from.map_or(0, |t| self.shard(t));
        let last = to.map_or(self.inner + 1, |t| self.shard(t));
        Ok(shards_between(targets, first, last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(lower: &str, upper: &str, seconds: i64) -> Props {
        Props::new(TYPE)
            .with("datetime-lower", lower)
            .with("datetime-upper", upper)
            .with("sharding-seconds", seconds)
    }

    /// Daily shards over 2021-01-01 .. 2021-01-04: 0 before, 1..=3 the
    /// days, 4 from 2021-01-04 on.
    fn daily() -> AutoInterval {
        AutoInterval::new(&props("2021-01-01 00:00:00", "2021-01-04 00:00:00", 86_400))
            .expect("valid")
    }

    fn targets(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("t_log_{i}")).collect()
    }

    fn text(s: &str) -> ShardingValue {
        ShardingValue::Text(s.to_owned())
    }

    #[test]
    fn precise_shards() {
        let a = daily();
        assert_eq!(a.auto_tables_amount(), Some(5));
        let t = targets(5);
        let p = |v: &str| a.precise(&t, "c", &text(v));
        assert_eq!(p("2020-12-31 23:59:59"), Ok(0));
        assert_eq!(p("1999-01-01 00:00:00"), Ok(0));
        assert_eq!(p("2021-01-01 00:00:00"), Ok(1));
        assert_eq!(p("2021-01-01 00:00:01"), Ok(1));
        assert_eq!(p("2021-01-01 23:59:59.999"), Ok(1));
        assert_eq!(p("2021-01-02 00:00:00"), Ok(2));
        assert_eq!(p("2021-01-03 23:59:59"), Ok(3));
        assert_eq!(p("2021-01-04 00:00:00"), Ok(4));
        assert_eq!(p("2030-01-01 00:00:00"), Ok(4));
        assert_eq!(p("2021-01-02"), Ok(2));
    }

    #[test]
    fn uneven_span_cuts_the_last_inner_shard() {
        // 10 hours in 4-hour shards: [0,4h) [4h,8h) [8h,10h), then 10h on.
        let a = AutoInterval::new(&props("2021-01-01 00:00:00", "2021-01-01 10:00:00", 14_400))
            .expect("valid");
        assert_eq!(a.auto_tables_amount(), Some(5));
        let t = targets(5);
        let p = |v: &str| a.precise(&t, "c", &text(v));
        assert_eq!(p("2021-01-01 09:59:59"), Ok(3));
        assert_eq!(p("2021-01-01 10:00:00"), Ok(4));
        assert_eq!(p("2021-01-01 11:00:00"), Ok(4));
    }

    #[test]
    fn ranges() {
        let a = daily();
        let t = targets(5);
        use Bound::*;
        let r = |lower: Bound<&str>, upper: Bound<&str>| {
            let map = |b: Bound<&str>| match b {
                Included(s) => Included(text(s)),
                Excluded(s) => Excluded(text(s)),
                Unbounded => Unbounded,
            };
            a.range(
                &t,
                "c",
                &ValueRange {
                    lower: map(lower),
                    upper: map(upper),
                },
            )
        };
        assert_eq!(
            r(
                Included("2021-01-01 12:00:00"),
                Included("2021-01-02 00:00:00")
            ),
            Ok(vec![1, 2])
        );
        assert_eq!(
            r(
                Included("2021-01-01 12:00:00"),
                Excluded("2021-01-02 00:00:00")
            ),
            Ok(vec![1])
        );
        // `> 23:59:59` still holds 23:59:59.5, in shard 1.
        assert_eq!(
            r(
                Excluded("2021-01-01 23:59:59"),
                Included("2021-01-02 00:00:00")
            ),
            Ok(vec![1, 2])
        );
        assert_eq!(
            r(
                Excluded("2021-01-01 23:59:59.999999999"),
                Included("2021-01-02 00:00:00")
            ),
            Ok(vec![2])
        );
        assert_eq!(
            r(
                Included("2020-01-01 00:00:00"),
                Included("2020-06-01 00:00:00")
            ),
            Ok(vec![0])
        );
        assert_eq!(
            r(
                Included("2020-01-01 00:00:00"),
                Included("2099-01-01 00:00:00")
            ),
            Ok(vec![0, 1, 2, 3, 4])
        );
        assert_eq!(r(Unbounded, Excluded("2021-01-01 00:00:00")), Ok(vec![0]));
        assert_eq!(
            r(Unbounded, Included("2021-01-01 00:00:00")),
            Ok(vec![0, 1])
        );
        assert_eq!(
            r(Included("2021-01-03 00:00:00"), Unbounded),
            Ok(vec![3, 4])
        );
        assert_eq!(r(Included("2025-01-01 00:00:00"), Unbounded), Ok(vec![4]));
        assert_eq!(
            r(
                Included("2021-01-03 00:00:00"),
                Included("2021-01-02 00:00:00")
            ),
            Ok(vec![])
        );
        assert_eq!(
            r(Included("yesterday"), Unbounded),
            Err(AlgorithmError::BadValue {
                algorithm: TYPE.into(),
                value: "['yesterday', +inf)".into(),
                reason: "not a date-time: expected 4 digits at `yesterday`".into(),
            })
        );
    }

    #[test]
    fn bad_values_and_missing_targets() {
        let a = daily();
        assert_eq!(
            a.precise(&targets(5), "c", &ShardingValue::Int(3)),
            Err(AlgorithmError::BadValue {
                algorithm: TYPE.into(),
                value: "3".into(),
                reason: "not a date-time: expected 4 digits at `3`".into(),
            })
        );
        assert_eq!(
            a.precise(&targets(3), "c", &text("2021-01-03 10:00:00")),
            Err(AlgorithmError::NoTarget {
                algorithm: TYPE.into(),
                value: "'2021-01-03 10:00:00'".into(),
                detail: "shard 3: no available target ends with suffix `3`".into(),
            })
        );
    }

    #[test]
    fn props_are_checked() {
        for missing in ["datetime-lower", "datetime-upper", "sharding-seconds"] {
            let mut p = props("2021-01-01 00:00:00", "2021-01-04 00:00:00", 86_400);
            p.values.remove(missing);
            assert_eq!(
                AutoInterval::new(&p).unwrap_err(),
                AlgorithmError::MissingProp {
                    algorithm: TYPE.into(),
                    prop: missing.into()
                }
            );
        }
        let bad = |p: Props, prop: &str, value: &str, reason: &str| {
            assert_eq!(
                AutoInterval::new(&p).unwrap_err(),
                AlgorithmError::BadProp {
                    algorithm: TYPE.into(),
                    prop: prop.into(),
                    value: value.into(),
                    reason: reason.into(),
                }
            );
        };
        bad(
            props("2021-01-01", "2021/01/04 00:00:00", 60),
            "datetime-upper",
            "2021/01/04 00:00:00",
            "expected yyyy-MM-dd HH:mm:ss: expected `-` at `/01/04 00:00:00`",
        );
        bad(
            props("2021-01-04 00:00:00", "2021-01-04 00:00:00", 60),
            "datetime-upper",
            "2021-01-04 00:00:00",
            "must be after datetime-lower",
        );
        bad(
            props("2021-01-01 00:00:00", "2021-01-04 00:00:00", 0),
            "sharding-seconds",
            "0",
            "must be a positive integer",
        );
        bad(
            props("1900-01-01 00:00:00", "2100-01-01 00:00:00", 1),
            "sharding-seconds",
            "1",
            "makes 6311433602 shards, more than 2147483647",
        );
    }
}
