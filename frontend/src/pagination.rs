//! LIMIT / OFFSET bound as parameters. Across shards each shard must
//! return OFFSET + LIMIT rows, which the kernel writes into the shard's
//! SQL, so the bound values are put into the statement first. Both
//! protocols' prepared statements come here.

use shardwire_rules::ShardingValue;
use sqlparser::ast::{Expr, LimitClause, Statement, Value};

use crate::error::StatementError;

/// `ast` with the parameters of its top-level LIMIT / OFFSET written in as
/// numbers: across shards, each shard's LIMIT is OFFSET + LIMIT, which the
/// kernel must compute. Only non-negative integers are accepted, printed
/// from the parsed value, never copied as text.
pub fn bind_pagination(
    mut ast: Statement,
    params: &[ShardingValue],
) -> Result<Statement, StatementError> {
    let Statement::Query(query) = &mut ast else {
        return Ok(ast);
    };
    let bind = |expr: &mut Expr| -> Result<(), StatementError> {
        let Expr::Value(v) = expr else {
            return Ok(());
        };
        let Value::Placeholder(p) = &v.value else {
            return Ok(());
        };
        let n = p
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| params.get(i))
            .and_then(ShardingValue::as_i64)
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                StatementError::refused(
                    "22023",
                    "LIMIT and OFFSET parameters must be non-negative integers",
                )
            })?;
        *expr = Expr::value(Value::Number(n.to_string(), false));
        Ok(())
    };
    match &mut query.limit_clause {
        Some(LimitClause::LimitOffset { limit, offset, .. }) => {
            if let Some(limit) = limit {
                bind(limit)?;
            }
            if let Some(offset) = offset {
                bind(&mut offset.value)?;
            }
        }
        Some(LimitClause::OffsetCommaLimit { offset, limit }) => {
            bind(offset)?;
            bind(limit)?;
        }
        None => {}
    }
    Ok(ast)
}
