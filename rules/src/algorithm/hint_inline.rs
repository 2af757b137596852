//! HINT_INLINE: each hint value, bound as `value`, evaluated with
//! `algorithm-expression` (default `${value}`: the hint names the target).
//! No hint values cannot narrow anything: every target.

use std::collections::BTreeSet;

use super::inline::{eval_name, exact_target, expression};
use super::{all_targets, AlgorithmShape, ShardingAlgorithm};
use crate::error::AlgorithmError;
use crate::inline::InlineExpr;
use crate::props::Props;
use crate::value::ShardingValue;

const TYPE: &str = "HINT_INLINE";

#[derive(Debug)]
pub(crate) struct HintInline {
    expr: InlineExpr,
}

impl HintInline {
    pub(crate) fn new(props: &Props) -> Result<Self, AlgorithmError> {
        Ok(HintInline {
            expr: expression(props, Some("${value}"))?,
        })
    }
}

impl ShardingAlgorithm for HintInline {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn shape(&self) -> AlgorithmShape {
        AlgorithmShape::Hint
    }

    fn hint(
        &self,
        targets: &[String],
        values: &[ShardingValue],
    ) -> Result<Vec<usize>, AlgorithmError> {
        if values.is_empty() {
            return Ok(all_targets(targets));
        }
        let mut hit = BTreeSet::new();
        for value in values {
            let name = eval_name(&self.expr, &[("value", value)])?;
            hit.insert(exact_target(TYPE, &self.expr, targets, &name, value)?);
        }
        Ok(hit.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::ValueRange;

    fn targets() -> Vec<String> {
        (0..4).map(|i| format!("t_order_{i}")).collect()
    }

    #[test]
    fn default_expression_is_the_value_itself() {
        let a = HintInline::new(&Props::new(TYPE)).expect("valid");
        assert_eq!(a.hint(&targets(), &["t_order_2".into()]), Ok(vec![2]));
        assert_eq!(
            a.hint(
                &targets(),
                &["t_order_3".into(), "t_order_0".into(), "t_order_3".into()]
            ),
            Ok(vec![0, 3])
        );
        assert_eq!(
            a.hint(&targets(), &["t_order_9".into()]),
            Err(AlgorithmError::NoTarget {
                algorithm: TYPE.into(),
                value: "'t_order_9'".into(),
                detail: "`${value}` gives `t_order_9`, which is not an available target".into(),
            })
        );
    }

    #[test]
    fn expression_over_the_value() {
        let a =
            HintInline::new(&Props::new(TYPE).with("algorithm-expression", "t_order_${value % 4}"))
                .expect("valid");
        assert_eq!(
            a.hint(&targets(), &[ShardingValue::Int(5), ShardingValue::Int(10)]),
            Ok(vec![1, 2])
        );
        // Hints often arrive as text.
        assert_eq!(a.hint(&targets(), &["7".into()]), Ok(vec![3]));
        assert!(matches!(
            a.hint(&targets(), &["seven".into()]),
            Err(AlgorithmError::Inline(_))
        ));
    }

    #[test]
    fn no_values_is_every_target() {
        let a = HintInline::new(&Props::new(TYPE)).expect("valid");
        assert_eq!(a.hint(&targets(), &[]), Ok(vec![0, 1, 2, 3]));
    }

    #[test]
    fn only_the_hint_entry_point() {
        let a = HintInline::new(&Props::new(TYPE)).expect("valid");
        assert_eq!(
            a.range(&targets(), "c", &ValueRange::closed(1, 2)),
            Err(AlgorithmError::Unsupported {
                algorithm: TYPE.into(),
                what: "a range condition".into()
            })
        );
    }

    #[test]
    fn props_are_checked() {
        assert_eq!(
            HintInline::new(&Props::new(TYPE).with("algorithm-expression", "")).unwrap_err(),
            AlgorithmError::BadProp {
                algorithm: TYPE.into(),
                prop: "algorithm-expression".into(),
                value: "".into(),
                reason: "must not be empty".into(),
            }
        );
        assert!(matches!(
            HintInline::new(&Props::new(TYPE).with("algorithm-expression", "t_${")),
            Err(AlgorithmError::Inline(_))
        ));
    }
}
