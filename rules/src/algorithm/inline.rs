//! INLINE: `algorithm-expression` (e.g. `t_order_${order_id % 4}`) evaluated
//! with the sharding column bound to the value gives the target's name.
//! A range cannot be evaluated, so it is every target when
//! `allow-range-query-with-inline-sharding` is true and an error otherwise.
//!
//! Also the helpers COMPLEX_INLINE and HINT_INLINE share.

use crate::error::AlgorithmError;
use crate::inline::{InlineExpr, Value};
use crate::props::Props;
use crate::value::{ShardingValue, ValueRange};

use super::{all_targets, AlgorithmShape, ShardingAlgorithm};

const TYPE: &str = "INLINE";
pub(super) const EXPRESSION: &str = "algorithm-expression";
pub(super) const ALLOW_RANGE: &str = "allow-range-query-with-inline-sharding";

/// `algorithm-expression`, parsed once. `default` stands in when the prop is
/// absent (HINT_INLINE's `${value}`).
pub(super) fn expression(
    props: &Props,
    default: Option<&str>,
) -> Result<InlineExpr, AlgorithmError> {
    let text = match (props.get(EXPRESSION), default) {
        (Some(text), _) => text,
        (None, Some(default)) => default,
        (None, None) => props.require(EXPRESSION)?,
    };
    // ShardingSphere trims the expression before parsing it.
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(props.bad(EXPRESSION, text, "must not be empty"));
    }
    Ok(InlineExpr::parse(trimmed)?)
}

pub(super) fn allow_range(props: &Props) -> Result<bool, AlgorithmError> {
    Ok(props.get_bool(ALLOW_RANGE)?.unwrap_or(false))
}

/// The error for a range without `allow-range-query-with-inline-sharding`.
pub(super) fn range_refused(algorithm: &str, column: &str) -> AlgorithmError {
    AlgorithmError::Unsupported {
        algorithm: algorithm.to_owned(),
        what: format!(
            "a range condition on `{column}` (set `{ALLOW_RANGE}: true` to route it to every \
             target)"
        ),
    }
}

fn to_value(value: &ShardingValue, integer_text: bool) -> Value {
    match value {
        ShardingValue::Int(v) => Value::Int(*v),
        ShardingValue::Text(s) => match s.trim().parse() {
            Ok(v) if integer_text => Value::Int(v),
            _ => Value::Str(s.clone()),
        },
        ShardingValue::Null => Value::Null,
    }
}

/// Evaluates the expression with the bindings to one target name.
///
/// Text is bound as a string first, so `t_${code}` keeps `'007'` as it is.
/// Some clients send every parameter as text (PostgreSQL's text format), so
/// when that evaluation fails and some text is an integer, the expression is
/// tried again with those bound as integers: `${order_id % 4}` then works
/// for `'42'`. The first error is the one reported.
pub(super) fn eval_name(
    expr: &InlineExpr,
    bindings: &[(&str, &ShardingValue)],
) -> Result<String, AlgorithmError> {
    let vars: Vec<(&str, Value)> = bindings
        .iter()
        .map(|(n, v)| (*n, to_value(v, false)))
        .collect();
    let first = match expr.eval_one(&vars) {
        Ok(name) => return Ok(name),
        Err(e) => e,
    };
    let numeric: Vec<(&str, Value)> = bindings
        .iter()
        .map(|(n, v)| (*n, to_value(v, true)))
        .collect();
    if numeric == vars {
        return Err(first.into());
    }
    expr.eval_one(&numeric).map_err(|_| first.into())
}

/// The index of the target named exactly `name`.
pub(super) fn exact_target(
    algorithm: &str,
    expr: &InlineExpr,
    targets: &[String],
    name: &str,
    value: &dyn std::fmt::Display,
) -> Result<usize, AlgorithmError> {
    targets
        .iter()
        .position(|t| t == name)
        .ok_or_else(|| AlgorithmError::NoTarget {
            algorithm: algorithm.to_owned(),
            value: value.to_string(),
            detail: format!(
                "`{}` gives `{name}`, which is not an available target",
                expr.text()
            ),
        })
}

#[derive(Debug)]
pub(crate) struct Inline {
    expr: InlineExpr,
    allow_range: bool,
}

impl Inline {
    pub(crate) fn new(props: &Props) -> Result<Self, AlgorithmError> {
        Ok(Inline {
            expr: expression(props, None)?,
            allow_range: allow_range(props)?,
        })
    }
}

impl ShardingAlgorithm for Inline {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn shape(&self) -> AlgorithmShape {
        AlgorithmShape::Standard
    }

    fn precise(
        &self,
        targets: &[String],
        column: &str,
        value: &ShardingValue,
    ) -> Result<usize, AlgorithmError> {
        let name = eval_name(&self.expr, &[(column, value)])?;
        exact_target(TYPE, &self.expr, targets, &name, value)
    }

    fn range(
        &self,
        targets: &[String],
        column: &str,
        _range: &ValueRange,
    ) -> Result<Vec<usize>, AlgorithmError> {
        if self.allow_range {
            Ok(all_targets(targets))
        } else {
            Err(range_refused(TYPE, column))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn algo(expr: &str) -> Inline {
        Inline::new(&Props::new(TYPE).with(EXPRESSION, expr)).expect("valid")
    }

    fn targets(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("t_order_{i}")).collect()
    }

    #[test]
    fn precise_evaluates_to_exact_name() {
        let a = algo("t_order_${order_id % 4}");
        let t = targets(4);
        assert_eq!(a.precise(&t, "order_id", &ShardingValue::Int(6)), Ok(2));
        assert_eq!(a.precise(&t, "order_id", &ShardingValue::Int(0)), Ok(0));
        let dollar_arrow = algo("t_order_$->{order_id % 4}");
        assert_eq!(
            dollar_arrow.precise(&t, "order_id", &ShardingValue::Int(7)),
            Ok(3)
        );
        // Trimmed, as ShardingSphere does.
        let spaced = algo("  t_order_${order_id % 4} ");
        assert_eq!(
            spaced.precise(&t, "order_id", &ShardingValue::Int(5)),
            Ok(1)
        );
    }

    #[test]
    fn precise_text_values() {
        let a = algo("t_${code}");
        let t = vec!["t_007".to_owned(), "t_7".to_owned(), "t_a".to_owned()];
        // Text stays text: '007' is not 7.
        assert_eq!(a.precise(&t, "code", &"007".into()), Ok(0));
        assert_eq!(a.precise(&t, "code", &"a".into()), Ok(2));
        assert_eq!(a.precise(&t, "code", &ShardingValue::Int(7)), Ok(1));
        // Integer text in an arithmetic expression is read as an integer.
        let m = algo("t_order_${order_id % 4}");
        assert_eq!(m.precise(&targets(4), "order_id", &"42".into()), Ok(2));
    }

    #[test]
    fn precise_no_matching_target() {
        let a = algo("t_order_${order_id % 4}");
        // Negative values: the expression's own `%`, whose sign follows the
        // dividend, gives t_order_-1: not a target.
        assert_eq!(
            a.precise(&targets(4), "order_id", &ShardingValue::Int(-5)),
            Err(AlgorithmError::NoTarget {
                algorithm: TYPE.into(),
                value: "-5".into(),
                detail: "`t_order_${order_id % 4}` gives `t_order_-1`, which is not an \
                         available target"
                    .into(),
            })
        );
        assert_eq!(
            a.precise(&targets(2), "order_id", &ShardingValue::Int(3)),
            Err(AlgorithmError::NoTarget {
                algorithm: TYPE.into(),
                value: "3".into(),
                detail: "`t_order_${order_id % 4}` gives `t_order_3`, which is not an \
                         available target"
                    .into(),
            })
        );
    }

    #[test]
    fn precise_evaluation_errors_are_inline_errors() {
        let a = algo("t_order_${order_id % 4}");
        let err = a
            .precise(&targets(4), "user_id", &ShardingValue::Int(1))
            .unwrap_err();
        assert!(matches!(err, AlgorithmError::Inline(_)), "{err:?}");
        let err = a
            .precise(&targets(4), "order_id", &"abc".into())
            .unwrap_err();
        assert!(matches!(err, AlgorithmError::Inline(_)), "{err:?}");
    }

    #[test]
    fn range_needs_the_allow_prop() {
        let t = targets(3);
        let refused = algo("t_order_${order_id % 3}");
        let err = refused
            .range(&t, "order_id", &ValueRange::closed(1, 2))
            .unwrap_err();
        assert_eq!(
            err,
            AlgorithmError::Unsupported {
                algorithm: TYPE.into(),
                what: "a range condition on `order_id` (set \
                       `allow-range-query-with-inline-sharding: true` to route it to every \
                       target)"
                    .into(),
            }
        );
        assert!(err
            .to_string()
            .contains("allow-range-query-with-inline-sharding"));
        let allowed = Inline::new(
            &Props::new(TYPE)
                .with(EXPRESSION, "t_order_${order_id % 3}")
                .with(ALLOW_RANGE, true),
        )
        .expect("valid");
        assert_eq!(
            allowed.range(&t, "order_id", &ValueRange::closed(1, 2)),
            Ok(vec![0, 1, 2])
        );
    }

    #[test]
    fn props_are_checked() {
        assert_eq!(
            Inline::new(&Props::new(TYPE)).unwrap_err(),
            AlgorithmError::MissingProp {
                algorithm: TYPE.into(),
                prop: EXPRESSION.into()
            }
        );
        assert_eq!(
            Inline::new(&Props::new(TYPE).with(EXPRESSION, "  ")).unwrap_err(),
            AlgorithmError::BadProp {
                algorithm: TYPE.into(),
                prop: EXPRESSION.into(),
                value: "  ".into(),
                reason: "must not be empty".into(),
            }
        );
        assert!(matches!(
            Inline::new(&Props::new(TYPE).with(EXPRESSION, "t_${order_id %")).unwrap_err(),
            AlgorithmError::Inline(_)
        ));
        assert_eq!(
            Inline::new(
                &Props::new(TYPE)
                    .with(EXPRESSION, "t_${id}")
                    .with(ALLOW_RANGE, "yes")
            )
            .unwrap_err(),
            AlgorithmError::BadProp {
                algorithm: TYPE.into(),
                prop: ALLOW_RANGE.into(),
                value: "yes".into(),
                reason: "expected true or false".into(),
            }
        );
    }
}
