//! After a group is merged: the columns the proxy computes (expressions
//! over aggregates, see `eval`) and HAVING, which may drop the group.

use super::aggregate::Group;
use super::collation::Collation;
use super::error::MergeError;
use super::eval::{self, Context};
use super::plan::MergePlan;
use super::row::Row;

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
        };
        let value = eval::evaluate(expr, &row, &ctx)?;
        row.set(*column, value);
    }
    if let (Some(having), None) = (&post.having, having_first) {
        if !eval::holds(having, &row, &having_ctx)? {
            return Ok(None);
        }
    }
    Ok(Some(row))
}
