//! BOUNDARY_RANGE: `sharding-ranges: 10,20,30` cuts the integers into
//! partition 0 = (-inf, 10), 1 = [10, 20), 2 = [20, 30), 3 = [30, +inf).
//! Every integer has a partition, so values below the first boundary go to
//! partition 0 and values at or past the last one to the last partition.

use super::targets::require_shard;
use super::{int_value, partitioned_range, AlgorithmShape, ShardingAlgorithm};
use crate::error::AlgorithmError;
use crate::props::Props;
use crate::value::{ShardingValue, ValueRange};

const TYPE: &str = "BOUNDARY_RANGE";
const RANGES: &str = "sharding-ranges";

#[derive(Debug)]
pub(crate) struct BoundaryRange {
    /// Strictly increasing; partition `i` ends where `boundaries[i]` starts.
    boundaries: Vec<i64>,
}

impl BoundaryRange {
    pub(crate) fn new(props: &Props) -> Result<Self, AlgorithmError> {
        let text = props.require(RANGES)?;
        let mut boundaries = Vec::new();
        for item in text.split(',') {
            let boundary = item.trim().parse::<i64>().map_err(|_| {
                props.bad(
                    RANGES,
                    text,
                    &format!("`{}` is not an integer", item.trim()),
                )
            })?;
            if boundaries.last().is_some_and(|last| *last >= boundary) {
                return Err(props.bad(RANGES, text, "boundaries must be strictly increasing"));
            }
            boundaries.push(boundary);
        }
        Ok(BoundaryRange { boundaries })
    }

    fn partition(&self, value: i64) -> u64 {
        self.boundaries.partition_point(|b| *b <= value) as u64
    }
}

impl ShardingAlgorithm for BoundaryRange {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn shape(&self) -> AlgorithmShape {
        AlgorithmShape::Standard
    }

    fn auto_tables_amount(&self) -> Option<usize> {
        Some(self.boundaries.len() + 1)
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
        partitioned_range(TYPE, targets, range, self.boundaries.len() as u64, |v| {
            self.partition(v)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::ops::Bound;

    use super::*;

    fn algo(ranges: &str) -> BoundaryRange {
        BoundaryRange::new(&Props::new(TYPE).with(RANGES, ranges)).expect("valid")
    }

    fn targets(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("t_{i}")).collect()
    }

    #[test]
    fn precise_inside_and_outside_boundaries() {
        let a = algo("10,20,30");
        let t = targets(4);
        let p = |v: i64| a.precise(&t, "c", &ShardingValue::Int(v));
        assert_eq!(p(i64::MIN), Ok(0));
        assert_eq!(p(-5), Ok(0));
        assert_eq!(p(9), Ok(0));
        assert_eq!(p(10), Ok(1));
        assert_eq!(p(19), Ok(1));
        assert_eq!(p(20), Ok(2));
        assert_eq!(p(29), Ok(2));
        assert_eq!(p(30), Ok(3));
        assert_eq!(p(i64::MAX), Ok(3));
        assert_eq!(a.precise(&t, "c", &"25".into()), Ok(2));
        assert_eq!(a.auto_tables_amount(), Some(4));
    }

    #[test]
    fn precise_non_integer_and_missing_target() {
        let a = algo("10,20,30");
        assert_eq!(
            a.precise(&targets(4), "c", &"x".into()),
            Err(AlgorithmError::BadValue {
                algorithm: TYPE.into(),
                value: "'x'".into(),
                reason: "expected an integer".into(),
            })
        );
        assert_eq!(
            a.precise(&targets(3), "c", &ShardingValue::Int(31)),
            Err(AlgorithmError::NoTarget {
                algorithm: TYPE.into(),
                value: "31".into(),
                detail: "shard 3: no available target ends with suffix `3`".into(),
            })
        );
    }

    #[test]
    fn range_intersecting_partitions() {
        let a = algo("10,20,30");
        let t = targets(4);
        let r = |lower, upper| a.range(&t, "c", &ValueRange { lower, upper });
        use Bound::*;
        let i = ShardingValue::Int;
        assert_eq!(r(Included(i(10)), Included(i(19))), Ok(vec![1]));
        assert_eq!(r(Included(i(10)), Included(i(20))), Ok(vec![1, 2]));
        assert_eq!(r(Included(i(10)), Excluded(i(20))), Ok(vec![1]));
        assert_eq!(r(Excluded(i(9)), Excluded(i(20))), Ok(vec![1]));
        assert_eq!(r(Included(i(9)), Excluded(i(20))), Ok(vec![0, 1]));
        assert_eq!(r(Included(i(-100)), Included(i(5))), Ok(vec![0]));
        assert_eq!(r(Included(i(35)), Included(i(99))), Ok(vec![3]));
        assert_eq!(r(Unbounded, Excluded(i(10))), Ok(vec![0]));
        assert_eq!(r(Unbounded, Included(i(10))), Ok(vec![0, 1]));
        assert_eq!(r(Included(i(25)), Unbounded), Ok(vec![2, 3]));
        assert_eq!(r(Unbounded, Unbounded), Ok(vec![0, 1, 2, 3]));
        assert_eq!(r(Included(i(21)), Included(i(20))), Ok(vec![]));
    }

    #[test]
    fn props_are_checked() {
        assert_eq!(
            BoundaryRange::new(&Props::new(TYPE)).unwrap_err(),
            AlgorithmError::MissingProp {
                algorithm: TYPE.into(),
                prop: RANGES.into()
            }
        );
        let bad = |text: &str, reason: &str| {
            assert_eq!(
                BoundaryRange::new(&Props::new(TYPE).with(RANGES, text)).unwrap_err(),
                AlgorithmError::BadProp {
                    algorithm: TYPE.into(),
                    prop: RANGES.into(),
                    value: text.into(),
                    reason: reason.into(),
                }
            );
        };
        bad("10,20,20", "boundaries must be strictly increasing");
        bad("30,20", "boundaries must be strictly increasing");
        bad("10,x", "`x` is not an integer");
        bad("10,,20", "`` is not an integer");
        bad("", "`` is not an integer");
        let spaced = algo(" -5 , 5 ");
        assert_eq!(spaced.boundaries, vec![-5, 5]);
        assert_eq!(spaced.auto_tables_amount(), Some(3));
    }
}
