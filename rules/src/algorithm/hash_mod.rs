//! HASH_MOD: `abs(value.hashCode() % sharding-count)` with Java's hash codes,
//! so rows land where ShardingSphere put them.
//!
//! The hash depends on the Java type ShardingSphere saw: an integer that
//! fits an `int` hashes as `Integer` (itself), a wider one as `Long`
//! (`v ^ (v >>> 32)`), text as `String` (UTF-16 units, `h * 31 + u`).
//! A range cannot be narrowed by a hash, so it is every target.

use super::targets::require_shard;
use super::{all_targets, positive_prop, AlgorithmShape, ShardingAlgorithm};
use crate::error::AlgorithmError;
use crate::props::Props;
use crate::value::{ShardingValue, ValueRange};

const TYPE: &str = "HASH_MOD";

#[derive(Debug)]
pub(crate) struct HashMod {
    count: i64,
}

impl HashMod {
    pub(crate) fn new(props: &Props) -> Result<Self, AlgorithmError> {
        Ok(HashMod {
            count: positive_prop(props, "sharding-count")?,
        })
    }

    fn shard(&self, value: &ShardingValue) -> u64 {
        // Truncated remainder, then abs, as Java does; i32::MIN's remainder
        // is small, so nothing overflows.
        (i64::from(java_hash_code(value)) % self.count).unsigned_abs()
    }
}

/// `hashCode()` of the Java object ShardingSphere would hold for the value.
pub(crate) fn java_hash_code(value: &ShardingValue) -> i32 {
    match value {
        ShardingValue::Int(v) => match i32::try_from(*v) {
            Ok(small) => small,
            // Long.hashCode: the two halves xor-ed, truncated to 32 bits.
            Err(_) => (*v ^ ((*v as u64) >> 32) as i64) as i32,
        },
        ShardingValue::Text(s) => java_string_hash(s),
        // Java's null has no hashCode (ShardingSphere fails); the router
        // decides about NULL before asking any algorithm, so this is not
        // reached from SQL.
        ShardingValue::Null => 0,
    }
}

/// Java's `String.hashCode()`: over UTF-16 code units, wrapping.
pub(crate) fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

impl ShardingAlgorithm for HashMod {
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
        require_shard(TYPE, targets, self.shard(value), value)
    }

    fn range(
        &self,
        targets: &[String],
        _column: &str,
        _range: &ValueRange,
    ) -> Result<Vec<usize>, AlgorithmError> {
        Ok(all_targets(targets))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn algo(count: i64) -> HashMod {
        HashMod::new(&Props::new(TYPE).with("sharding-count", count)).expect("valid")
    }

    fn targets(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("t_user_{i}")).collect()
    }

    #[test]
    fn java_string_hash_codes() {
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        // A classic collision pair.
        assert_eq!(java_string_hash("Aa"), 2112);
        assert_eq!(java_string_hash("BB"), 2112);
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        // Outside the BMP: a surrogate pair, 0xD83D * 31 + 0xDE00.
        assert_eq!(java_string_hash("\u{1F600}"), 1_772_899);
        assert_eq!(java_string_hash("é"), 233);
    }

    #[test]
    fn integer_hash_codes_follow_java_boxing() {
        assert_eq!(java_hash_code(&ShardingValue::Int(-1)), -1);
        assert_eq!(
            java_hash_code(&ShardingValue::Int(i64::from(i32::MAX))),
            i32::MAX
        );
        assert_eq!(
            java_hash_code(&ShardingValue::Int(i64::from(i32::MIN))),
            i32::MIN
        );
        // Long.hashCode from here on.
        assert_eq!(java_hash_code(&ShardingValue::Int(1 << 32)), 1);
        assert_eq!(java_hash_code(&ShardingValue::Int(-(1 << 32))), -1);
        assert_eq!(java_hash_code(&ShardingValue::Int(i64::MAX)), i32::MIN);
        assert_eq!(java_hash_code(&ShardingValue::Int(i64::MIN)), i32::MIN);
        assert_eq!(java_hash_code(&ShardingValue::Int(2_147_483_648)), i32::MIN);
        // Text is a String even when it looks like a number.
        assert_eq!(java_hash_code(&"42".into()), 1662);
    }

    #[test]
    fn precise_values() {
        let a = algo(4);
        let t = targets(4);
        assert_eq!(a.precise(&t, "c", &"hello".into()), Ok(2));
        assert_eq!(a.precise(&t, "c", &"".into()), Ok(0));
        assert_eq!(a.precise(&t, "c", &ShardingValue::Int(7)), Ok(3));
        // -7 % 4 = -3 in Java, abs 3.
        assert_eq!(a.precise(&t, "c", &ShardingValue::Int(-7)), Ok(3));
        assert_eq!(a.precise(&t, "c", &ShardingValue::Int(1 << 32)), Ok(1));
        let b = algo(3);
        let t3 = targets(3);
        // i32::MIN % 3 = -2, abs 2.
        assert_eq!(b.precise(&t3, "c", &"polygenelubricants".into()), Ok(2));
        assert_eq!(b.precise(&t3, "c", &ShardingValue::Int(i64::MAX)), Ok(2));
        assert_eq!(b.precise(&t3, "c", &ShardingValue::Int(i64::MIN)), Ok(2));
    }

    #[test]
    fn precise_missing_target() {
        let a = algo(4);
        assert_eq!(
            a.precise(&targets(2), "c", &"hello".into()),
            Err(AlgorithmError::NoTarget {
                algorithm: TYPE.into(),
                value: "'hello'".into(),
                detail: "shard 2: no available target ends with suffix `2`".into(),
            })
        );
    }

    #[test]
    fn range_is_every_target() {
        let a = algo(4);
        assert_eq!(
            a.range(&targets(4), "c", &ValueRange::closed(1, 1)),
            Ok(vec![0, 1, 2, 3])
        );
        assert_eq!(
            a.range(&targets(3), "c", &ValueRange::closed("a", "b")),
            Ok(vec![0, 1, 2])
        );
    }

    #[test]
    fn props_are_checked() {
        assert_eq!(
            HashMod::new(&Props::new(TYPE)).unwrap_err(),
            AlgorithmError::MissingProp {
                algorithm: TYPE.into(),
                prop: "sharding-count".into()
            }
        );
        assert_eq!(
            HashMod::new(&Props::new(TYPE).with("sharding-count", 0)).unwrap_err(),
            AlgorithmError::BadProp {
                algorithm: TYPE.into(),
                prop: "sharding-count".into(),
                value: "0".into(),
                reason: "must be a positive integer".into(),
            }
        );
        assert_eq!(algo(16).auto_tables_amount(), Some(16));
    }
}
