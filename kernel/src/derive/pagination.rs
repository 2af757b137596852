//! OFFSET / LIMIT / FETCH of a query across shards: the numbers the merge
//! applies, and the `LIMIT o+n` every shard runs instead.

use super::*;

/// OFFSET and LIMIT as numbers. Placeholders are refused: the shards'
/// `LIMIT o+n` must be written into their SQL, and dropping a placeholder
/// would renumber the parameters the backend is sent.
pub(super) fn pagination(
    query: &Query,
    refuse: &Refuse<'_>,
) -> Result<(u64, Option<u64>), KernelError> {
    let count = |expr: &Expr, what: &str| -> Result<u64, KernelError> {
        match expr {
            Expr::Value(v) => match &v.value {
                Value::Number(n, _) => n.parse::<u64>().map_err(|_| {
                    refuse.err(
                        format!("{what} {n} across shards"),
                        "it must be a non-negative integer",
                    )
                }),
                Value::Placeholder(p) => Err(refuse.err(
                    "LIMIT with a parameter across shards",
                    format!(
                        "{what} is {p}, but each shard must return OFFSET + LIMIT rows, which \
                         is written into its SQL; write the numbers in the statement"
                    ),
                )),
                _ => Err(refuse.err(format!("{what} {v} across shards"), "not a number")),
            },
            other => Err(refuse.err(
                format!("{what} {other} across shards"),
                "only a number can be split over shards",
            )),
        }
    };
    let (mut offset, mut limit) = (0, None);
    match &query.limit_clause {
        None => {}
        Some(LimitClause::LimitOffset {
            limit: l,
            offset: o,
            limit_by,
        }) => {
            if !limit_by.is_empty() {
                return Err(refuse.err("LIMIT BY across shards", "not supported"));
            }
            if let Some(l) = l {
                limit = Some(count(l, "LIMIT")?);
            }
            if let Some(o) = o {
                offset = count(&o.value, "OFFSET")?;
            }
        }
        Some(LimitClause::OffsetCommaLimit {
            offset: o,
            limit: l,
        }) => {
            offset = count(o, "OFFSET")?;
            limit = Some(count(l, "LIMIT")?);
        }
    }
    if let Some(fetch) = &query.fetch {
        if fetch.with_ties || fetch.percent {
            return Err(refuse.err(
                "FETCH ... WITH TIES or PERCENT across shards",
                "the row count depends on all shards' rows",
            ));
        }
        if limit.is_some() {
            return Err(refuse.err("LIMIT together with FETCH", "use one of them"));
        }
        // `FETCH FIRST ROW ONLY` fetches one row.
        limit = Some(match &fetch.quantity {
            Some(q) => count(q, "FETCH FIRST")?,
            None => 1,
        });
    }
    Ok((offset, limit))
}
