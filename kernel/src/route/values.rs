//! Conditions resolved against the parameters and put in disjunctive normal
//! form: a route is the union over the disjuncts, and each disjunct maps a
//! column to what is known of it.

use std::collections::BTreeMap;
use std::ops::Bound;

use shardwire_rules::{ShardingValue, ValueRange};

use crate::context::{map_bound, ColumnRef, Condition, Operand};
use crate::error::KernelError;

/// Past this many disjuncts (AND of many ORs multiplies them) the router
/// stops narrowing and takes every target: wide, never wrong.
const MAX_DISJUNCTS: usize = 256;

/// What one conjunction says about one column. Either part alone is a sound
/// over-approximation of both, so merging may keep just one.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ColumnValues {
    pub values: Option<Vec<ShardingValue>>,
    pub range: Option<ValueRange>,
}

/// Lower-cased column -> what is known of it.
pub(crate) type Conjunction = BTreeMap<String, ColumnValues>;

pub(crate) fn resolve(
    operand: &Operand,
    params: &[ShardingValue],
) -> Result<ShardingValue, KernelError> {
    match operand {
        Operand::Value(v) => Ok(v.clone()),
        Operand::Param(i) => params
            .get(*i)
            .cloned()
            .ok_or(KernelError::MissingParameter(i + 1)),
    }
}

/// The disjuncts of `condition`, keeping only the columns `relevant`
/// accepts. An empty conjunction means "no restriction".
pub(crate) fn disjuncts(
    condition: &Condition,
    relevant: &dyn Fn(&ColumnRef) -> bool,
    params: &[ShardingValue],
) -> Result<Vec<Conjunction>, KernelError> {
    let unrestricted = || vec![Conjunction::new()];
    Ok(match condition {
        Condition::True => unrestricted(),
        Condition::In { column, values } => {
            if !relevant(column) {
                return Ok(unrestricted());
            }
            let values = values
                .iter()
                .map(|v| resolve(v, params))
                .collect::<Result<Vec<_>, _>>()?;
            vec![Conjunction::from([(
                column.column.clone(),
                ColumnValues {
                    values: Some(values),
                    range: None,
                },
            )])]
        }
        Condition::Range {
            column,
            lower,
            upper,
        } => {
            if !relevant(column) {
                return Ok(unrestricted());
            }
            let range = ValueRange {
                lower: map_bound(lower, |v| resolve(v, params))?,
                upper: map_bound(upper, |v| resolve(v, params))?,
            };
            vec![Conjunction::from([(
                column.column.clone(),
                ColumnValues {
                    values: None,
                    range: Some(range),
                },
            )])]
        }
        Condition::Or(branches) => {
            let mut out = Vec::new();
            for branch in branches {
                let d = disjuncts(branch, relevant, params)?;
                // One unrestricted branch makes the whole OR unrestricted.
                if d.iter().any(BTreeMap::is_empty) || out.len() + d.len() > MAX_DISJUNCTS {
                    return Ok(unrestricted());
                }
                out.extend(d);
            }
            out
        }
        Condition::And(parts) => {
            let mut acc = unrestricted();
            for part in parts {
                let d = disjuncts(part, relevant, params)?;
                if acc.len().saturating_mul(d.len()) > MAX_DISJUNCTS {
                    // Dropping a conjunct only widens the route.
                    continue;
                }
                if let ([a], [_]) = (acc.as_mut_slice(), d.as_slice()) {
                    // The common case (`a = 1 AND b = 2`): one conjunction
                    // each, merged in place instead of copied.
                    if let Some(b) = d.into_iter().next() {
                        merge_into(a, b);
                    }
                    continue;
                }
                let mut next = Vec::with_capacity(acc.len() * d.len());
                for a in &acc {
                    for b in &d {
                        let mut m = a.clone();
                        merge_into(&mut m, b.clone());
                        next.push(m);
                    }
                }
                acc = next;
            }
            acc
        }
    })
}

/// `out AND b`.
fn merge_into(out: &mut Conjunction, b: Conjunction) {
    for (column, vb) in b {
        match out.get_mut(&column) {
            None => {
                out.insert(column, vb);
            }
            Some(va) => {
                va.values = match (va.values.take(), vb.values) {
                    (Some(x), Some(y)) => Some(intersect(x, &y)),
                    (x, y) => x.or(y),
                };
                va.range = match (va.range.take(), vb.range) {
                    (Some(x), Some(y)) => Some(intersect_ranges(x, &y)),
                    (x, y) => x.or(y),
                };
            }
        }
    }
}

/// `a AND b` on one column's value lists. Only integers are compared: text
/// may compare equal in SQL while differing as text ('2024-01-01' and a
/// DATETIME), so for text the first list is kept, which is sound.
fn intersect(a: Vec<ShardingValue>, b: &[ShardingValue]) -> Vec<ShardingValue> {
    let ints = |l: &[ShardingValue]| {
        l.iter()
            .map(ShardingValue::as_i64)
            .collect::<Option<Vec<_>>>()
    };
    match (ints(&a), ints(b)) {
        (Some(x), Some(y)) => a
            .into_iter()
            .zip(x)
            .filter(|(_, i)| y.contains(i))
            .map(|(v, _)| v)
            .collect(),
        _ => a,
    }
}

/// `a AND b` on integer ranges; anything else keeps `a` (sound, wider).
fn intersect_ranges(a: ValueRange, b: &ValueRange) -> ValueRange {
    let (Ok((al, au)), Ok((bl, bu))) = (a.int_bounds(), b.int_bounds()) else {
        return a;
    };
    let lower = match (al, bl) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    let upper = match (au, bu) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    let bound =
        |v: Option<i64>| v.map_or(Bound::Unbounded, |v| Bound::Included(ShardingValue::Int(v)));
    ValueRange {
        lower: bound(lower),
        upper: bound(upper),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(c: &str) -> ColumnRef {
        ColumnRef {
            table: None,
            column: c.into(),
        }
    }

    fn eq(c: &str, v: i64) -> Condition {
        Condition::In {
            column: col(c),
            values: vec![Operand::Value(ShardingValue::Int(v))],
        }
    }

    #[test]
    fn and_intersects_integers_or_unions() {
        let all = |_: &ColumnRef| true;
        let c = Condition::And(vec![
            Condition::Or(vec![eq("a", 1), eq("a", 2)]),
            eq("a", 2),
        ]);
        let d = disjuncts(&c, &all, &[]).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0]["a"].values, Some(vec![]));
        assert_eq!(d[1]["a"].values, Some(vec![ShardingValue::Int(2)]));
    }

    #[test]
    fn unknown_branch_of_or_is_unrestricted() {
        let all = |_: &ColumnRef| true;
        let c = Condition::Or(vec![eq("a", 1), Condition::True]);
        assert_eq!(disjuncts(&c, &all, &[]).unwrap(), vec![Conjunction::new()]);
    }

    #[test]
    fn missing_parameter_is_reported_one_based() {
        let all = |_: &ColumnRef| true;
        let c = Condition::In {
            column: col("a"),
            values: vec![Operand::Param(2)],
        };
        assert!(matches!(
            disjuncts(&c, &all, &[]),
            Err(KernelError::MissingParameter(3))
        ));
    }

    #[test]
    fn text_lists_are_not_intersected() {
        let a = vec![ShardingValue::Text("2024-01-01".into())];
        let b = [ShardingValue::Text("2024-01-01 00:00:00".into())];
        assert_eq!(intersect(a.clone(), &b), a);
    }
}
