//! VOLUME_RANGE: partitions of `sharding-volume` values between
//! `range-lower` and `range-upper`, plus one below and one above:
//! 0 = (-inf, lower), i = [lower + (i-1)*volume, lower + i*volume) for
//! i in 1..=k with k = ceil((upper - lower) / volume), k + 1 = [upper, +inf).
//!
//! When the volume does not divide the span, partition k is cut short at
//! `upper` (ShardingSphere's `min(lower + i*volume, upper)`), so every value
//! from `upper` on is in partition k + 1 and no two partitions overlap.

use super::targets::require_shard;
use super::{int_value, partitioned_range, positive_prop, AlgorithmShape, ShardingAlgorithm};
use crate::error::AlgorithmError;
use crate::props::Props;
use crate::value::{ShardingValue, ValueRange};

const TYPE: &str = "VOLUME_RANGE";

/// Beyond this many partitions an auto table would be absurd, and
/// ShardingSphere (an `int` partition id) cannot load it either.
const MAX_PARTITIONS: i128 = i32::MAX as i128;

#[derive(Debug)]
pub(crate) struct VolumeRange {
    lower: i64,
    upper: i64,
    volume: i64,
    /// k: the partitions between lower and upper.
    inner: u64,
}

impl VolumeRange {
    pub(crate) fn new(props: &Props) -> Result<Self, AlgorithmError> {
        let lower = props.require_i64("range-lower")?;
        let upper = props.require_i64("range-upper")?;
        let volume = positive_prop(props, "sharding-volume")?;
        if upper <= lower {
            return Err(props.bad(
                "range-upper",
                &upper.to_string(),
                &format!("must be greater than range-lower {lower}"),
            ));
        }
        let span = i128::from(upper) - i128::from(lower);
        let volume_wide = i128::from(volume);
        let inner = (span + volume_wide - 1) / volume_wide;
        if inner + 2 > MAX_PARTITIONS {
            return Err(props.bad(
                "sharding-volume",
                &volume.to_string(),
                &format!("makes {} partitions, more than {MAX_PARTITIONS}", inner + 2),
            ));
        }
        Ok(VolumeRange {
            lower,
            upper,
            volume,
            // inner < MAX_PARTITIONS, so it fits.
            inner: inner as u64,
        })
    }

    fn partition(&self, value: i64) -> u64 {
        if value < self.lower {
            0
        } else if value >= self.upper {
            self.inner + 1
        } else {
            // 0 <= value - lower < upper - lower, and the quotient < inner.
            ((i128::from(value) - i128::from(self.lower)) / i128::from(self.volume)) as u64 + 1
        }
    }
}

impl ShardingAlgorithm for VolumeRange {
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
        let v = int_value(TYPE, value)?;
        require_shard(TYPE, targets, self.partition(v), value)
    }

    fn range(
        &self,
        targets: &[String],
        _column: &str,
        range: &ValueRange,
    ) -> Result<Vec<usize>, AlgorithmError> {
        partitioned_range(TYPE, targets, range, self.inner + 1, |v| self.partition(v))
    }
}

#[cfg(test)]
mod tests {
    use std::ops::Bound;

    use super::*;

    fn props(lower: i64, upper: i64, volume: i64) -> Props {
        Props::new(TYPE)
            .with("range-lower", lower)
            .with("range-upper", upper)
            .with("sharding-volume", volume)
    }

    fn algo(lower: i64, upper: i64, volume: i64) -> VolumeRange {
        VolumeRange::new(&props(lower, upper, volume)).expect("valid")
    }

    fn targets(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("t_{i}")).collect()
    }

    #[test]
    fn even_partitions() {
        // 0 = (-inf,10), 1 = [10,20), 2 = [20,30), 3 = [30,40), 4 = [40,+inf)
        let a = algo(10, 40, 10);
        assert_eq!(a.auto_tables_amount(), Some(5));
        let t = targets(5);
        let p = |v: i64| a.precise(&t, "c", &ShardingValue::Int(v));
        assert_eq!(p(i64::MIN), Ok(0));
        assert_eq!(p(-1), Ok(0));
        assert_eq!(p(9), Ok(0));
        assert_eq!(p(10), Ok(1));
        assert_eq!(p(19), Ok(1));
        assert_eq!(p(20), Ok(2));
        assert_eq!(p(39), Ok(3));
        assert_eq!(p(40), Ok(4));
        assert_eq!(p(i64::MAX), Ok(4));
    }

    #[test]
    fn last_inner_partition_is_cut_at_upper() {
        // k = ceil(25 / 10) = 3: [0,10), [10,20), [20,25); 4 = [25, +inf)
        let a = algo(0, 25, 10);
        assert_eq!(a.auto_tables_amount(), Some(5));
        let t = targets(5);
        let p = |v: i64| a.precise(&t, "c", &ShardingValue::Int(v));
        assert_eq!(p(24), Ok(3));
        assert_eq!(p(25), Ok(4));
        assert_eq!(p(29), Ok(4));
        assert_eq!(p(-1), Ok(0));
    }

    #[test]
    fn negative_bounds() {
        // 0 = (-inf,-20), 1 = [-20,-10), 2 = [-10,0), 3 = [0,+inf)
        let a = algo(-20, 0, 10);
        let t = targets(4);
        let p = |v: i64| a.precise(&t, "c", &ShardingValue::Int(v));
        assert_eq!(p(-21), Ok(0));
        assert_eq!(p(-20), Ok(1));
        assert_eq!(p(-11), Ok(1));
        assert_eq!(p(-10), Ok(2));
        assert_eq!(p(-1), Ok(2));
        assert_eq!(p(0), Ok(3));
    }

    #[test]
    fn extreme_bounds_do_not_overflow() {
        let a = algo(i64::MIN, i64::MAX, i64::MAX);
        // span 2^64 - 1, volume 2^63 - 1: k = 3
        assert_eq!(a.auto_tables_amount(), Some(5));
        let t = targets(5);
        assert_eq!(a.precise(&t, "c", &ShardingValue::Int(i64::MIN)), Ok(1));
        assert_eq!(a.precise(&t, "c", &ShardingValue::Int(-2)), Ok(1));
        assert_eq!(a.precise(&t, "c", &ShardingValue::Int(-1)), Ok(2));
        assert_eq!(a.precise(&t, "c", &ShardingValue::Int(i64::MAX - 2)), Ok(2));
        assert_eq!(a.precise(&t, "c", &ShardingValue::Int(i64::MAX - 1)), Ok(3));
        assert_eq!(a.precise(&t, "c", &ShardingValue::Int(i64::MAX)), Ok(4));
    }

    #[test]
    fn ranges() {
        let a = algo(10, 40, 10);
        let t = targets(5);
        let r = |lower, upper| a.range(&t, "c", &ValueRange { lower, upper });
        use Bound::*;
        let i = ShardingValue::Int;
        assert_eq!(r(Included(i(15)), Included(i(25))), Ok(vec![1, 2]));
        assert_eq!(r(Included(i(15)), Excluded(i(20))), Ok(vec![1]));
        assert_eq!(r(Excluded(i(19)), Included(i(20))), Ok(vec![2]));
        assert_eq!(r(Included(i(-50)), Included(i(-40))), Ok(vec![0]));
        assert_eq!(r(Included(i(5)), Included(i(100))), Ok(vec![0, 1, 2, 3, 4]));
        assert_eq!(r(Included(i(100)), Included(i(200))), Ok(vec![4]));
        assert_eq!(r(Unbounded, Included(i(10))), Ok(vec![0, 1]));
        assert_eq!(r(Included(i(39)), Unbounded), Ok(vec![3, 4]));
        assert_eq!(r(Excluded(i(39)), Unbounded), Ok(vec![4]));
        assert_eq!(r(Included(i(30)), Included(i(29))), Ok(vec![]));
        assert_eq!(
            r(Included("a".into()), Unbounded),
            Err(AlgorithmError::BadValue {
                algorithm: TYPE.into(),
                value: "['a', +inf)".into(),
                reason: "expected integer range ends".into(),
            })
        );
    }

    #[test]
    fn non_integer_value() {
        assert_eq!(
            algo(0, 10, 5).precise(&targets(4), "c", &"1.5".into()),
            Err(AlgorithmError::BadValue {
                algorithm: TYPE.into(),
                value: "'1.5'".into(),
                reason: "expected an integer".into(),
            })
        );
    }

    #[test]
    fn props_are_checked() {
        for missing in ["range-lower", "range-upper", "sharding-volume"] {
            let mut p = props(0, 10, 5);
            p.values.remove(missing);
            assert_eq!(
                VolumeRange::new(&p).unwrap_err(),
                AlgorithmError::MissingProp {
                    algorithm: TYPE.into(),
                    prop: missing.into()
                }
            );
        }
        let bad = |p: Props, prop: &str, value: &str, reason: &str| {
            assert_eq!(
                VolumeRange::new(&p).unwrap_err(),
                AlgorithmError::BadProp {
                    algorithm: TYPE.into(),
                    prop: prop.into(),
                    value: value.into(),
                    reason: reason.into(),
                }
            );
        };
        bad(
            props(10, 10, 5),
            "range-upper",
            "10",
            "must be greater than range-lower 10",
        );
        bad(
            props(10, 5, 5),
            "range-upper",
            "5",
            "must be greater than range-lower 10",
        );
        bad(
            props(0, 10, 0),
            "sharding-volume",
            "0",
            "must be a positive integer",
        );
        bad(
            props(0, 10, 5).with("range-lower", "zero"),
            "range-lower",
            "zero",
            "expected an integer",
        );
        bad(
            props(0, i64::MAX, 1),
            "sharding-volume",
            "1",
            &format!(
                "makes {} partitions, more than 2147483647",
                i64::MAX as i128 + 2
            ),
        );
    }
}
