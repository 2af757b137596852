//! Folding the shards' partial aggregates of one group into the final ones.

use std::collections::HashSet;
use std::sync::Arc;

use super::collation::Collation;
use super::decimal::Decimal;
use super::error::MergeError;
use super::plan::{AggregateKind, AvgScale, MergePlan};
use super::row::Row;
use super::value::{Key, Value};

/// An exact running total. Integers stay integers until they would overflow,
/// then become decimals; any float makes the total a float (as SQL's SUM of a
/// float column would be).
#[derive(Debug, Clone, Copy)]
enum Total {
    Empty,
    Int(i64),
    Decimal(Decimal),
    Float(f64),
}

impl Total {
    fn add(&mut self, value: &Value, op: &'static str, column: usize) -> Result<(), MergeError> {
        let overflow = || MergeError::Overflow { op, column };
        *self = match (*self, value) {
            (_, Value::Null) => return Ok(()),
            (Total::Empty, Value::Int(v)) => Total::Int(*v),
            (Total::Empty, Value::Decimal(d)) => Total::Decimal(*d),
            (Total::Empty, Value::Float(f)) => Total::Float(*f),
            (Total::Int(a), Value::Int(b)) => match a.checked_add(*b) {
                Some(s) => Total::Int(s),
                None => Total::Decimal(
                    Decimal::from(a)
                        .checked_add(Decimal::from(*b))
                        .ok_or_else(overflow)?,
                ),
            },
            (Total::Int(a), Value::Decimal(d)) => {
                Total::Decimal(Decimal::from(a).checked_add(*d).ok_or_else(overflow)?)
            }
            (Total::Decimal(a), Value::Int(b)) => {
                Total::Decimal(a.checked_add(Decimal::from(*b)).ok_or_else(overflow)?)
            }
            (Total::Decimal(a), Value::Decimal(d)) => {
                Total::Decimal(a.checked_add(*d).ok_or_else(overflow)?)
            }
            (Total::Float(a), v @ (Value::Int(_) | Value::Decimal(_) | Value::Float(_))) => {
                Total::Float(a + v.as_f64().unwrap_or(f64::NAN))
            }
            (Total::Int(_) | Total::Decimal(_), Value::Float(f)) => Total::Float(self.as_f64() + f),
            (_, other) => {
                return Err(MergeError::Type {
                    op,
                    column,
                    detail: format!("{other:?} is not a number"),
                })
            }
        };
        Ok(())
    }

    fn as_f64(self) -> f64 {
        match self {
            Total::Empty => 0.0,
            Total::Int(v) => v as f64,
            Total::Decimal(d) => d.to_f64(),
            Total::Float(f) => f,
        }
    }

    fn into_value(self) -> Value {
        match self {
            Total::Empty => Value::Null,
            Total::Int(v) => Value::Int(v),
            Total::Decimal(d) => Value::Decimal(d),
            Total::Float(f) => Value::Float(f),
        }
    }
}

#[derive(Debug, Clone)]
enum Acc {
    Count(Total),
    Sum(Total),
    Extreme(Option<Value>),
    Avg {
        sum: Total,
        count: Total,
    },
    /// The distinct non-NULL values of a DISTINCT aggregate's argument,
    /// equal as the column's collation says (MySQL counts 'New' and 'new'
    /// once under a case-insensitive collation).
    Distinct(HashSet<Key>),
}

/// One group being merged: its first row (which supplies the group keys and
/// any other plain columns) and one accumulator per aggregate.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    row: Row,
    accs: Vec<Acc>,
}

impl Group {
    pub(crate) fn new(row: Row, plan: &MergePlan) -> Self {
        let accs = plan
            .aggregates
            .iter()
            .map(|a| match a.kind {
                AggregateKind::Count => Acc::Count(Total::Empty),
                AggregateKind::Sum => Acc::Sum(Total::Empty),
                AggregateKind::Min | AggregateKind::Max => Acc::Extreme(None),
                AggregateKind::Avg { .. } => Acc::Avg {
                    sum: Total::Empty,
                    count: Total::Empty,
                },
                AggregateKind::CountDistinct { .. }
                | AggregateKind::SumDistinct { .. }
                | AggregateKind::AvgDistinct { .. } => Acc::Distinct(HashSet::new()),
            })
            .collect();
        Self { row, accs }
    }

    /// The first row of a group: folds itself. Also returns the bytes its
    /// DISTINCT values hold (see [`Group::fold`]).
    pub(crate) fn start(row: Row, plan: &MergePlan) -> Result<(Self, usize), MergeError> {
        let mut group = Self::new(Row::default(), plan);
        let held = group.fold(&row, plan)?;
        group.row = row;
        Ok((group, held))
    }

    pub(crate) fn first_row(&self) -> &Row {
        &self.row
    }

    /// Folds one more shard row into the group. Returns how many bytes of
    /// new DISTINCT values the group now holds besides, for the caller's
    /// memory budget (the other accumulators are fixed-size).
    pub(crate) fn fold(&mut self, row: &Row, plan: &MergePlan) -> Result<usize, MergeError> {
        let mut held = 0;
        for (acc, agg) in self.accs.iter_mut().zip(&plan.aggregates) {
            let cell = |column: usize| {
                row.values().get(column).ok_or_else(|| {
                    MergeError::Internal(format!(
                        "aggregate reads column {column} but a shard row has {} columns",
                        row.values().len()
                    ))
                })
            };
            match (acc, agg.kind) {
                (Acc::Count(total), _) => total.add(cell(agg.column)?, "COUNT", agg.column)?,
                (Acc::Sum(total), _) => total.add(cell(agg.column)?, "SUM", agg.column)?,
                (Acc::Extreme(best), kind) => {
                    let value = cell(agg.column)?;
                    let op = if kind == AggregateKind::Min {
                        "MIN"
                    } else {
                        "MAX"
                    };
                    let extreme = Extreme {
                        min: kind == AggregateKind::Min,
                        op,
                        column: agg.column,
                        collation: plan.collation_of(agg.column),
                    };
                    extreme.fold(best, value)?;
                }
                (Acc::Avg { sum, count }, AggregateKind::Avg { sum_col, count_col }) => {
                    sum.add(cell(sum_col)?, "AVG", sum_col)?;
                    count.add(cell(count_col)?, "AVG", count_col)?;
                }
                (Acc::Distinct(seen), kind) => {
                    let Some(arg) = kind.distinct_arg() else {
                        return Err(MergeError::Internal(
                            "DISTINCT accumulator for another aggregate".into(),
                        ));
                    };
                    let value = cell(arg)?;
                    if !value.is_null() {
                        let key =
                            Key::new(vec![value.clone()], Arc::from([plan.collation_of(arg)]));
                        let size = key.estimated_size() + std::mem::size_of::<u64>();
                        if seen.insert(key) {
                            held += size;
                        }
                    }
                }
                (Acc::Avg { .. }, _) => {
                    return Err(MergeError::Internal(
                        "AVG accumulator for another aggregate".into(),
                    ))
                }
            }
        }
        Ok(held)
    }

    /// The merged row: the first row with every aggregate column replaced.
    pub(crate) fn finish(self, plan: &MergePlan) -> Result<Row, MergeError> {
        let mut row = self.row;
        for (acc, agg) in self.accs.into_iter().zip(&plan.aggregates) {
            let value = match acc {
                Acc::Count(Total::Empty) => Value::Int(0),
                Acc::Count(total) | Acc::Sum(total) => total.into_value(),
                Acc::Extreme(best) => best.unwrap_or(Value::Null),
                Acc::Avg { sum, count } => average(sum, count, plan.avg_scale, agg.column)?,
                Acc::Distinct(seen) => {
                    let value = distinct(seen, agg.kind, plan.avg_scale, agg.column)?;
                    // The shards computed the same SUM(DISTINCT x) over one
                    // value each: their column's type is the server's type
                    // of the sum (PostgreSQL sums bigint as numeric, MySQL
                    // integers as DECIMAL), which the values alone do not
                    // say.
                    match (value, row.get(agg.column)) {
                        (Value::Int(v), Value::Decimal(_)) => Value::Decimal(Decimal::from(v)),
                        (value, _) => value,
                    }
                }
            };
            row.set(agg.column, value);
        }
        Ok(row)
    }
}

/// COUNT, SUM or AVG of a group's distinct values.
fn distinct(
    seen: HashSet<Key>,
    kind: AggregateKind,
    scale: AvgScale,
    column: usize,
) -> Result<Value, MergeError> {
    let count = i64::try_from(seen.len()).map_err(|_| MergeError::Overflow {
        op: "COUNT(DISTINCT)",
        column,
    })?;
    if let AggregateKind::CountDistinct { .. } = kind {
        return Ok(Value::Int(count));
    }
    let mut sum = Total::Empty;
    for key in seen {
        for value in key.into_values() {
            sum.add(&value, "SUM(DISTINCT)", column)?;
        }
    }
    match kind {
        AggregateKind::AvgDistinct { .. } => average(sum, Total::Int(count), scale, column),
        _ => Ok(sum.into_value()),
    }
}

/// MIN or MAX of one column. Among values the collation holds equal
/// (`'New'`, `'new'`) the first one seen stays, as on one server, where
/// which spelling wins is the scan order's.
struct Extreme {
    min: bool,
    op: &'static str,
    column: usize,
    collation: Collation,
}

impl Extreme {
    fn fold(&self, best: &mut Option<Value>, value: &Value) -> Result<(), MergeError> {
        if value.is_null() {
            return Ok(());
        }
        let replace = match best {
            None => true,
            Some(current) => {
                if current.rank() != value.rank() {
                    return Err(MergeError::Type {
                        op: self.op,
                        column: self.column,
                        detail: format!("shards returned {current:?} and {value:?}"),
                    });
                }
                let ord = value.sql_cmp_in(current, self.collation);
                if self.min {
                    ord.is_lt()
                } else {
                    ord.is_gt()
                }
            }
        };
        if replace {
            *best = Some(value.clone());
        }
        Ok(())
    }
}

/// Total sum over total count: exact (as a Decimal, with as many decimals
/// as `scale` says the backend shows) unless the sum is a float.
fn average(sum: Total, count: Total, scale: AvgScale, column: usize) -> Result<Value, MergeError> {
    let overflow = || MergeError::Overflow { op: "AVG", column };
    let count = match count {
        Total::Empty => return Ok(Value::Null),
        Total::Int(c) => i128::from(c),
        Total::Decimal(d) if d.scale() == 0 => d.mantissa(),
        other => {
            return Err(MergeError::Type {
                op: "AVG",
                column,
                detail: format!(
                    "the derived count {:?} is not an integer",
                    other.into_value()
                ),
            })
        }
    };
    if count == 0 {
        return Ok(Value::Null);
    }
    let exact = |sum: Decimal| {
        let extra = match scale {
            AvgScale::Increment(extra) => extra,
            AvgScale::PostgreSql => sum.pg_div_scale(count).saturating_sub(sum.scale()),
        };
        sum.checked_div_int(count, extra)
            .map(Value::Decimal)
            .ok_or_else(overflow)
    };
    match sum {
        Total::Empty => Ok(Value::Null),
        Total::Int(s) => exact(Decimal::from(s)),
        Total::Decimal(d) => exact(d),
        Total::Float(f) => Ok(Value::Float(f / count as f64)),
    }
}
