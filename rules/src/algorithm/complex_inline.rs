//! COMPLEX_INLINE: `algorithm-expression` over several `sharding-columns`,
//! e.g. `t_order_${(user_id + order_id) % 4}`. Every combination of the
//! columns' `=` / `IN` values is evaluated; the answer is the targets named.
//!
//! When a listed column has no values the condition cannot be narrowed:
//! with only a range on it that is every target if
//! `allow-range-query-with-inline-sharding` is true and an error otherwise;
//! with no condition at all it is every target. A column with both values
//! and a range is routed by its values (the range only removes rows).
//! ShardingSphere instead refuses any range when the prop is false and
//! fails when a listed column has no values.

use std::collections::{BTreeMap, BTreeSet};

use super::inline::{allow_range, eval_name, exact_target, expression, range_refused};
use super::{all_targets, AlgorithmShape, ComplexValues, ShardingAlgorithm};
use crate::error::AlgorithmError;
use crate::inline::InlineExpr;
use crate::props::Props;
use crate::value::ShardingValue;

const TYPE: &str = "COMPLEX_INLINE";
const COLUMNS: &str = "sharding-columns";

/// Past this many value combinations (`a IN (...1000) AND b IN (...1000)`)
/// evaluating each costs more than scanning every target, which is always
/// a correct answer.
const MAX_COMBINATIONS: usize = 1 << 16;

#[derive(Debug)]
pub(crate) struct ComplexInline {
    expr: InlineExpr,
    /// As written in the prop: the names the expression uses.
    columns: Vec<String>,
    allow_range: bool,
}

impl ComplexInline {
    pub(crate) fn new(props: &Props) -> Result<Self, AlgorithmError> {
        let expr = expression(props, None)?;
        let text = props.require(COLUMNS)?;
        let columns: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        if columns.is_empty() {
            return Err(props.bad(COLUMNS, text, "lists no column"));
        }
        Ok(ComplexInline {
            expr,
            columns,
            allow_range: allow_range(props)?,
        })
    }
}

/// SQL folds unquoted identifiers, so the statement's `USER_ID` is the
/// config's `user_id`.
fn lookup<'a, T>(map: &'a BTreeMap<String, T>, column: &str) -> Option<&'a T> {
    map.get(column).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(column))
            .map(|(_, v)| v)
    })
}

impl ShardingAlgorithm for ComplexInline {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn shape(&self) -> AlgorithmShape {
        AlgorithmShape::Complex
    }

    fn complex(
        &self,
        targets: &[String],
        values: &ComplexValues,
    ) -> Result<Vec<usize>, AlgorithmError> {
        let mut lists: Vec<(&str, &[ShardingValue])> = Vec::with_capacity(self.columns.len());
        let mut narrowable = true;
        for column in &self.columns {
            match lookup(&values.values, column) {
                Some(list) if !list.is_empty() => lists.push((column, list)),
                _ => {
                    if lookup(&values.ranges, column).is_some() && !self.allow_range {
                        return Err(range_refused(TYPE, column));
                    }
                    narrowable = false;
                }
            }
        }
        if !narrowable {
            return Ok(all_targets(targets));
        }
        let combinations = lists
            .iter()
            .try_fold(1usize, |n, (_, list)| n.checked_mul(list.len()));
        if combinations.is_none_or(|n| n > MAX_COMBINATIONS) {
            return Ok(all_targets(targets));
        }
        let mut hit = BTreeSet::new();
        // An odometer over the lists, the last column turning fastest.
        let mut at = vec![0usize; lists.len()];
        loop {
            let bindings: Vec<(&str, &ShardingValue)> = lists
                .iter()
                .zip(&at)
                .map(|((column, list), &i)| (*column, &list[i]))
                .collect();
            let name = eval_name(&self.expr, &bindings)?;
            let described = bindings
                .iter()
                .map(|(c, v)| format!("{c}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            hit.insert(exact_target(TYPE, &self.expr, targets, &name, &described)?);
            let mut wheel = lists.len();
            loop {
                if wheel == 0 {
                    return Ok(hit.into_iter().collect());
                }
                wheel -= 1;
                at[wheel] += 1;
                if at[wheel] < lists[wheel].1.len() {
                    break;
                }
                at[wheel] = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::ValueRange;

    fn algo(allow: bool) -> ComplexInline {
        ComplexInline::new(
            &Props::new(TYPE)
                .with("algorithm-expression", "t_${(user_id + order_id) % 4}")
                .with(COLUMNS, "user_id, order_id")
                .with("allow-range-query-with-inline-sharding", allow),
        )
        .expect("valid")
    }

    fn targets() -> Vec<String> {
        (0..4).map(|i| format!("t_{i}")).collect()
    }

    fn values(pairs: &[(&str, &[i64])]) -> ComplexValues {
        let mut v = ComplexValues::default();
        for (column, list) in pairs {
            v.values.insert(
                column.to_string(),
                list.iter().map(|&i| ShardingValue::Int(i)).collect(),
            );
        }
        v
    }

    #[test]
    fn single_values() {
        let a = algo(false);
        assert_eq!(
            a.complex(
                &targets(),
                &values(&[("user_id", &[1]), ("order_id", &[2])])
            ),
            Ok(vec![3])
        );
        assert_eq!(
            a.complex(
                &targets(),
                &values(&[("user_id", &[2]), ("order_id", &[2])])
            ),
            Ok(vec![0])
        );
    }

    #[test]
    fn cartesian_product_deduplicated_and_sorted() {
        let a = algo(false);
        // (1|2) + (2|10|6): 3, 11, 7, 4, 12, 8 -> 3, 3, 3, 0, 0, 0
        assert_eq!(
            a.complex(
                &targets(),
                &values(&[("user_id", &[2, 1]), ("order_id", &[2, 10, 6])])
            ),
            Ok(vec![0, 3])
        );
        // 0 + (1|2|3) covers 1, 2, 3 in reverse value order.
        assert_eq!(
            a.complex(
                &targets(),
                &values(&[("user_id", &[0]), ("order_id", &[3, 2, 1])])
            ),
            Ok(vec![1, 2, 3])
        );
    }

    #[test]
    fn column_names_match_case_insensitively() {
        let a = algo(false);
        assert_eq!(
            a.complex(
                &targets(),
                &values(&[("USER_ID", &[1]), ("Order_Id", &[1])])
            ),
            Ok(vec![2])
        );
    }

    #[test]
    fn missing_column_is_every_target() {
        let a = algo(false);
        assert_eq!(
            a.complex(&targets(), &values(&[("user_id", &[1])])),
            Ok(vec![0, 1, 2, 3])
        );
        assert_eq!(
            a.complex(&targets(), &values(&[("user_id", &[1]), ("order_id", &[])])),
            Ok(vec![0, 1, 2, 3])
        );
        assert_eq!(
            a.complex(&targets(), &ComplexValues::default()),
            Ok(vec![0, 1, 2, 3])
        );
    }

    #[test]
    fn ranges_need_the_allow_prop() {
        let mut v = values(&[("user_id", &[1])]);
        v.ranges
            .insert("order_id".to_owned(), ValueRange::closed(1, 5));
        assert_eq!(
            algo(false).complex(&targets(), &v),
            Err(AlgorithmError::Unsupported {
                algorithm: TYPE.into(),
                what: "a range condition on `order_id` (set \
                       `allow-range-query-with-inline-sharding: true` to route it to every \
                       target)"
                    .into(),
            })
        );
        assert_eq!(algo(true).complex(&targets(), &v), Ok(vec![0, 1, 2, 3]));
        // Values on the same column route without the prop.
        v.values
            .insert("order_id".to_owned(), vec![ShardingValue::Int(3)]);
        assert_eq!(algo(false).complex(&targets(), &v), Ok(vec![0]));
        // A range on a column that is not a sharding column is ignored.
        let mut w = values(&[("user_id", &[1]), ("order_id", &[1])]);
        w.ranges
            .insert("status".to_owned(), ValueRange::closed(1, 2));
        assert_eq!(algo(false).complex(&targets(), &w), Ok(vec![2]));
    }

    #[test]
    fn too_many_combinations_is_every_target() {
        let a = algo(false);
        let many: Vec<i64> = (0..300).map(|i| i * 4).collect();
        assert_eq!(
            a.complex(
                &targets(),
                &values(&[("user_id", &many), ("order_id", &many)])
            ),
            Ok(vec![0, 1, 2, 3])
        );
        // Just under the limit: evaluated, so only t_0.
        let fewer: Vec<i64> = (0..256).map(|i| i * 4).collect();
        assert_eq!(
            a.complex(
                &targets(),
                &values(&[("user_id", &fewer), ("order_id", &fewer)])
            ),
            Ok(vec![0])
        );
    }

    #[test]
    fn no_target_names_the_combination() {
        let a = algo(false);
        assert_eq!(
            a.complex(
                &targets()[..2],
                &values(&[("user_id", &[1]), ("order_id", &[0, 2])])
            ),
            Err(AlgorithmError::NoTarget {
                algorithm: TYPE.into(),
                value: "user_id=1, order_id=2".into(),
                detail: "`t_${(user_id + order_id) % 4}` gives `t_3`, which is not an \
                         available target"
                    .into(),
            })
        );
    }

    #[test]
    fn text_values() {
        let a = ComplexInline::new(
            &Props::new(TYPE)
                .with("algorithm-expression", "ds_${region}.t_${id % 2}")
                .with(COLUMNS, "region,id"),
        )
        .expect("valid");
        let t: Vec<String> = ["ds_eu.t_0", "ds_eu.t_1", "ds_us.t_0", "ds_us.t_1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut v = ComplexValues::default();
        v.values
            .insert("region".into(), vec!["us".into(), "eu".into()]);
        v.values.insert("id".into(), vec![ShardingValue::Int(3)]);
        assert_eq!(a.complex(&t, &v), Ok(vec![1, 3]));
    }

    #[test]
    fn props_are_checked() {
        let with_expr = Props::new(TYPE).with("algorithm-expression", "t_${a}");
        assert_eq!(
            ComplexInline::new(&with_expr).unwrap_err(),
            AlgorithmError::MissingProp {
                algorithm: TYPE.into(),
                prop: COLUMNS.into()
            }
        );
        assert_eq!(
            ComplexInline::new(&with_expr.clone().with(COLUMNS, " , ")).unwrap_err(),
            AlgorithmError::BadProp {
                algorithm: TYPE.into(),
                prop: COLUMNS.into(),
                value: " , ".into(),
                reason: "lists no column".into(),
            }
        );
        assert_eq!(
            ComplexInline::new(&Props::new(TYPE).with(COLUMNS, "a")).unwrap_err(),
            AlgorithmError::MissingProp {
                algorithm: TYPE.into(),
                prop: "algorithm-expression".into()
            }
        );
        let a = ComplexInline::new(&with_expr.with(COLUMNS, " a ,b,")).expect("valid");
        assert_eq!(a.columns, vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(
            a.precise(&targets(), "a", &ShardingValue::Int(1)),
            Err(AlgorithmError::Unsupported {
                algorithm: TYPE.into(),
                what: "a precise (= / IN) condition".into()
            })
        );
    }
}
