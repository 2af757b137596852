//! MOD: the integer value modulo `sharding-count`, with ShardingSphere's
//! `BigInteger.mod` (never negative: -5 mod 4 is 3).
//!
//! Props: `sharding-count` (required, > 0); `start-offset` / `stop-offset`
//! (default 0) cut that many characters off the front / back of the value's
//! text before it is read as an integer; `zero-padding` is accepted and
//! needs nothing here because padded target names match their shard number
//! (see `targets`).

use super::targets::{require_shard, shards_where};
use super::{all_targets, bad_value, int_bounds, positive_prop, AlgorithmShape, ShardingAlgorithm};
use crate::error::AlgorithmError;
use crate::props::Props;
use crate::value::{ShardingValue, ValueRange};

const TYPE: &str = "MOD";

#[derive(Debug)]
pub(crate) struct Mod {
    count: u64,
    start_offset: usize,
    stop_offset: usize,
}

impl Mod {
    pub(crate) fn new(props: &Props) -> Result<Self, AlgorithmError> {
        let count = positive_prop(props, "sharding-count")?.unsigned_abs();
        let offset = |key: &str| -> Result<usize, AlgorithmError> {
            match props.get_i64(key)? {
                None => Ok(0),
                Some(v) => usize::try_from(v)
                    .map_err(|_| props.bad(key, &v.to_string(), "must be a non-negative integer")),
            }
        };
        // Accepted for compatibility; parsed so a typo is still reported.
        props.get_bool("zero-padding")?;
        Ok(Mod {
            count,
            start_offset: offset("start-offset")?,
            stop_offset: offset("stop-offset")?,
        })
    }

    fn shard_of_value(&self, value: &ShardingValue) -> Result<u64, AlgorithmError> {
        let text = match value {
            ShardingValue::Int(v) => return self.cut_int(*v, value),
            ShardingValue::Text(s) => s.trim(),
            ShardingValue::Null => return Err(bad_value(TYPE, value, "expected an integer")),
        };
        let digits = self.cut(text, value)?;
        decimal_mod(digits, self.count).ok_or_else(|| bad_value(TYPE, value, "expected an integer"))
    }

    fn cut_int(&self, v: i64, value: &ShardingValue) -> Result<u64, AlgorithmError> {
        if self.start_offset == 0 && self.stop_offset == 0 {
            return Ok(i128::from(v).rem_euclid(i128::from(self.count)) as u64);
        }
        let text = v.to_string();
        let digits = self.cut(&text, value)?;
        decimal_mod(digits, self.count).ok_or_else(|| bad_value(TYPE, value, "expected an integer"))
    }

    fn cut<'a>(&self, text: &'a str, value: &ShardingValue) -> Result<&'a str, AlgorithmError> {
        if self.start_offset == 0 && self.stop_offset == 0 {
            return Ok(text);
        }
        let len = text.chars().count();
        if len.saturating_sub(self.stop_offset) <= self.start_offset {
            return Err(bad_value(
                TYPE,
                value,
                &format!(
                    "shorter than start-offset {} plus stop-offset {}",
                    self.start_offset, self.stop_offset
                ),
            ));
        }
        let byte_at = |n: usize| text.char_indices().nth(n).map_or(text.len(), |(i, _)| i);
        Ok(&text[byte_at(self.start_offset)..byte_at(len - self.stop_offset)])
    }
}

/// `text` read as a decimal integer of any length, modulo `count`, never
/// negative: what `new BigInteger(text).mod(count)` gives. `None` when the
/// text is not an integer.
fn decimal_mod(text: &str, count: u64) -> Option<u64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let count = u128::from(count);
    let rem = digits
        .bytes()
        .fold(0u128, |r, b| (r * 10 + u128::from(b - b'0')) % count);
    let rem = if negative && rem != 0 {
        count - rem
    } else {
        rem
    };
    // rem < count <= u64::MAX.
    Some(rem as u64)
}

impl ShardingAlgorithm for Mod {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn shape(&self) -> AlgorithmShape {
        AlgorithmShape::Standard
    }

    fn auto_tables_amount(&self) -> Option<usize> {
        usize::try_from(self.count).ok()
    }

    fn precise(
        &self,
        targets: &[String],
        _column: &str,
        value: &ShardingValue,
    ) -> Result<usize, AlgorithmError> {
        let shard = self.shard_of_value(value)?;
        require_shard(TYPE, targets, shard, value)
    }

    fn range(
        &self,
        targets: &[String],
        _column: &str,
        range: &ValueRange,
    ) -> Result<Vec<usize>, AlgorithmError> {
        let (Some(lo), Some(hi)) = int_bounds(TYPE, range)? else {
            return Ok(all_targets(targets));
        };
        // With offsets the shard comes from a slice of the value's digits,
        // which is not monotonic in the value: no range can be narrowed.
        if self.start_offset != 0 || self.stop_offset != 0 {
            return Ok(all_targets(targets));
        }
        if lo > hi {
            return Ok(Vec::new());
        }
        let count = i128::from(self.count);
        if i128::from(hi) - i128::from(lo) + 1 >= count {
            return Ok(all_targets(targets));
        }
        // Fewer values than shards: their shards are the run from lo's shard
        // to hi's, wrapping past count - 1 back to 0.
        let first = i128::from(lo).rem_euclid(count) as u64;
        let last = i128::from(hi).rem_euclid(count) as u64;
        let count = self.count;
        Ok(if first <= last {
            shards_where(targets, |n| first <= n && n <= last)
        } else {
            shards_where(targets, |n| (first <= n && n < count) || n <= last)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::ops::Bound;

    use super::*;

    fn targets(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("t_order_{i}")).collect()
    }

    fn algo(count: i64) -> Mod {
        Mod::new(&Props::new(TYPE).with("sharding-count", count)).expect("valid props")
    }

    fn range(lower: Bound<ShardingValue>, upper: Bound<ShardingValue>) -> ValueRange {
        ValueRange { lower, upper }
    }

    #[test]
    fn precise_positive_and_negative() {
        let a = algo(4);
        let t = targets(4);
        assert_eq!(a.precise(&t, "id", &ShardingValue::Int(0)), Ok(0));
        assert_eq!(a.precise(&t, "id", &ShardingValue::Int(7)), Ok(3));
        assert_eq!(a.precise(&t, "id", &ShardingValue::Int(-5)), Ok(3));
        assert_eq!(a.precise(&t, "id", &ShardingValue::Int(-4)), Ok(0));
        assert_eq!(a.precise(&t, "id", &ShardingValue::Int(i64::MIN)), Ok(0));
        assert_eq!(a.precise(&t, "id", &ShardingValue::Int(i64::MAX)), Ok(3));
        assert_eq!(a.precise(&t, "id", &"42".into()), Ok(2));
        assert_eq!(a.precise(&t, "id", &" -1 ".into()), Ok(3));
    }

    #[test]
    fn precise_text_longer_than_i64_uses_big_integer_mod() {
        let a = algo(7);
        let t = targets(7);
        // 10^20 = 7 * 14285714285714285714 + 2
        assert_eq!(a.precise(&t, "id", &"100000000000000000000".into()), Ok(2));
        assert_eq!(a.precise(&t, "id", &"-100000000000000000000".into()), Ok(5));
    }

    #[test]
    fn precise_rejects_non_integers() {
        let a = algo(4);
        let t = targets(4);
        for bad in ["abc", "1.5", "", "-", "1e3"] {
            assert_eq!(
                a.precise(&t, "id", &bad.into()),
                Err(AlgorithmError::BadValue {
                    algorithm: TYPE.into(),
                    value: format!("'{bad}'"),
                    reason: "expected an integer".into(),
                }),
                "{bad}"
            );
        }
    }

    #[test]
    fn precise_missing_target_is_no_target() {
        let a = algo(4);
        let t = vec!["t_order_0".to_owned(), "t_order_11".to_owned()];
        assert_eq!(
            a.precise(&t, "id", &ShardingValue::Int(5)),
            Err(AlgorithmError::NoTarget {
                algorithm: TYPE.into(),
                value: "5".into(),
                detail: "shard 1: no available target ends with suffix `1`".into(),
            })
        );
    }

    #[test]
    fn range_narrow_and_wrapping() {
        let a = algo(4);
        let t = targets(4);
        assert_eq!(a.range(&t, "id", &ValueRange::closed(1, 2)), Ok(vec![1, 2]));
        assert_eq!(
            a.range(&t, "id", &ValueRange::closed(3, 5)),
            Ok(vec![0, 1, 3])
        );
        assert_eq!(
            a.range(&t, "id", &ValueRange::closed(-2, -1)),
            Ok(vec![2, 3])
        );
        assert_eq!(a.range(&t, "id", &ValueRange::closed(6, 6)), Ok(vec![2]));
        // Exclusive ends: (1, 3) is just 2.
        let open = range(
            Bound::Excluded(ShardingValue::Int(1)),
            Bound::Excluded(ShardingValue::Int(3)),
        );
        assert_eq!(a.range(&t, "id", &open), Ok(vec![2]));
        // Empty range.
        assert_eq!(a.range(&t, "id", &ValueRange::closed(5, 4)), Ok(vec![]));
    }

    #[test]
    fn range_spanning_count_or_open_is_all() {
        let a = algo(4);
        let t = targets(4);
        assert_eq!(
            a.range(&t, "id", &ValueRange::closed(0, 3)),
            Ok(vec![0, 1, 2, 3])
        );
        assert_eq!(
            a.range(&t, "id", &ValueRange::closed(10, 13)),
            Ok(vec![0, 1, 2, 3])
        );
        // 10, 11, 12 -> shards 2, 3, 0
        assert_eq!(
            a.range(&t, "id", &ValueRange::closed(10, 12)),
            Ok(vec![0, 2, 3])
        );
        assert_eq!(
            a.range(&t, "id", &ValueRange::closed(i64::MIN, i64::MAX)),
            Ok(vec![0, 1, 2, 3])
        );
        let up = range(Bound::Included(ShardingValue::Int(5)), Bound::Unbounded);
        assert_eq!(a.range(&t, "id", &up), Ok(vec![0, 1, 2, 3]));
        let down = range(Bound::Unbounded, Bound::Excluded(ShardingValue::Int(5)));
        assert_eq!(a.range(&t, "id", &down), Ok(vec![0, 1, 2, 3]));
    }

    #[test]
    fn range_skips_missing_targets() {
        let a = algo(4);
        let t = vec!["t_order_3".to_owned(), "t_order_1".to_owned()];
        assert_eq!(a.range(&t, "id", &ValueRange::closed(1, 2)), Ok(vec![1]));
    }

    #[test]
    fn range_rejects_non_integer_ends() {
        let a = algo(4);
        assert_eq!(
            a.range(&targets(4), "id", &ValueRange::closed("a", 3)),
            Err(AlgorithmError::BadValue {
                algorithm: TYPE.into(),
                value: "['a', 3]".into(),
                reason: "expected integer range ends".into(),
            })
        );
    }

    #[test]
    fn offsets_cut_the_value_text() {
        let a = Mod::new(
            &Props::new(TYPE)
                .with("sharding-count", 10)
                .with("start-offset", 2)
                .with("stop-offset", 1),
        )
        .expect("valid");
        let t = targets(10);
        // "1234567" -> "3456" -> 6
        assert_eq!(a.precise(&t, "id", &ShardingValue::Int(1_234_567)), Ok(6));
        assert_eq!(a.precise(&t, "id", &"ab2345x".into()), Ok(5));
        assert_eq!(
            a.precise(&t, "id", &ShardingValue::Int(123)),
            Err(AlgorithmError::BadValue {
                algorithm: TYPE.into(),
                value: "123".into(),
                reason: "shorter than start-offset 2 plus stop-offset 1".into(),
            })
        );
        assert_eq!(
            a.range(&t, "id", &ValueRange::closed(1, 2)),
            Ok((0..10).collect::<Vec<_>>())
        );
    }

    #[test]
    fn zero_padded_targets() {
        let a = Mod::new(
            &Props::new(TYPE)
                .with("sharding-count", 12)
                .with("zero-padding", true),
        )
        .expect("valid");
        let t: Vec<String> = (0..12).map(|i| format!("t_{i:02}")).collect();
        assert_eq!(a.precise(&t, "id", &ShardingValue::Int(13)), Ok(1));
        assert_eq!(a.precise(&t, "id", &ShardingValue::Int(11)), Ok(11));
    }

    #[test]
    fn props_are_checked() {
        assert_eq!(
            Mod::new(&Props::new(TYPE)).unwrap_err(),
            AlgorithmError::MissingProp {
                algorithm: TYPE.into(),
                prop: "sharding-count".into()
            }
        );
        for (bad, reason) in [
            ("0", "must be a positive integer"),
            ("-3", "must be a positive integer"),
            ("four", "expected an integer"),
        ] {
            assert_eq!(
                Mod::new(&Props::new(TYPE).with("sharding-count", bad)).unwrap_err(),
                AlgorithmError::BadProp {
                    algorithm: TYPE.into(),
                    prop: "sharding-count".into(),
                    value: bad.into(),
                    reason: reason.into(),
                }
            );
        }
        assert_eq!(
            Mod::new(
                &Props::new(TYPE)
                    .with("sharding-count", 4)
                    .with("start-offset", -1)
            )
            .unwrap_err(),
            AlgorithmError::BadProp {
                algorithm: TYPE.into(),
                prop: "start-offset".into(),
                value: "-1".into(),
                reason: "must be a non-negative integer".into(),
            }
        );
        // Unknown props are ignored, as ShardingSphere does.
        let a = Mod::new(
            &Props::new(TYPE)
                .with("sharding-count", 4)
                .with("colour", "red"),
        )
        .expect("unknown props ignored");
        assert_eq!(a.auto_tables_amount(), Some(4));
    }

    #[test]
    fn decimal_mod_matches_rem_euclid() {
        for v in [-9i64, -8, -1, 0, 1, 7, 8, 123_456_789, i64::MIN, i64::MAX] {
            for c in [1u64, 3, 8, 1000] {
                assert_eq!(
                    decimal_mod(&v.to_string(), c),
                    Some(i128::from(v).rem_euclid(i128::from(c)) as u64),
                    "{v} mod {c}"
                );
            }
        }
        assert_eq!(decimal_mod("+5", 3), Some(2));
        assert_eq!(decimal_mod("", 3), None);
        assert_eq!(decimal_mod("1_0", 3), None);
    }
}
