//! After a group is merged: the columns the proxy computes (expressions
//! over aggregates, see `eval`) and HAVING, which may drop the group.

use super::aggregate::Group;
use super::collation::Collation;
use super::decimal::Decimal;
use super::error::MergeError;
use super::eval::{self, Context};
use super::plan::{ColumnType, MergePlan};
use super::row::Row;
use super::value::Value;

/// The merged row of `group`, or `None` when HAVING drops it.
pub(crate) fn finish(group: Group, plan: &MergePlan) -> Result<Option<Row>, MergeError> {
    let mut row = group.finish(plan)?;
    let Some(post) = &plan.post else {
        return Ok(Some(row));
    };
    // Text compares by the plan's (the client's default) collation: an
    // expression may mix columns, so a column's own does not apply.
    let collation: Collation = plan.collation;
    let having_ctx = Context {
        dialect: post.dialect,
        collation,
        what: "HAVING",
        column: 0,
        types: &plan.column_types,
    };
    // HAVING goes first, as on the server: a group it drops never has its
    // select list computed (PostgreSQL would not divide by zero there).
    // Only a HAVING that names a computed item (MySQL allows aliases)
    // must wait for it.
    let having_first = post.having.as_ref().filter(|h| {
        let mut read = Vec::new();
        h.columns(&mut read);
        !post.computed.iter().any(|(c, _)| read.contains(c))
    });
    if let Some(having) = having_first {
        if !eval::holds(having, &row, &having_ctx)? {
            return Ok(None);
        }
    }
    for (column, expr) in &post.computed {
        let ctx = Context {
            dialect: post.dialect,
            collation,
            what: "expression",
            column: *column,
            types: &plan.column_types,
        };
        let value = eval::evaluate(expr, &row, &ctx)?;
        row.set(
            *column,
            shown_as_described(value, plan.column_types.get(*column)),
        );
    }
    if let (Some(having), None) = (&post.having, having_first) {
        if !eval::holds(having, &row, &having_ctx)? {
            return Ok(None);
        }
    }
    Ok(Some(row))
}

/// `value` padded to the decimals the shards described its column with, as
/// the server prints every value of a DECIMAL column. Only ever padded: a
/// value with more digits than described keeps them rather than be rounded
/// one way or the other.
fn shown_as_described(value: Value, described: Option<&ColumnType>) -> Value {
    let Some(decimals) = described.and_then(|t| t.decimals) else {
        return value;
    };
    let padded = match &value {
        Value::Int(i) if decimals > 0 => {
            Decimal::new(i128::from(*i), 0).round_to(i64::from(decimals))
        }
        Value::Decimal(d) if d.scale() < decimals => d.round_to(i64::from(decimals)),
        _ => None,
    };
    padded.map_or(value, Value::Decimal)
}
