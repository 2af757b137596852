//! `VACUUM` and `ANALYZE` on a sharded database: each data source runs the
//! statement over the actual tables it holds of the tables named (all of
//! its tables when none are named). `pgbench -i` sends `vacuum analyze t`
//! for each of its tables.
//!
//! Read by hand: sqlparser 0.63 does not parse PostgreSQL's VACUUM. The
//! options are kept as written; only the table list is rewritten.

use std::collections::BTreeMap;

use shardwire_rules::snapshot::LogicalDatabase;

use crate::copy::quote_ident;
use crate::error::KernelError;
use crate::lexer::Tokens;
use crate::rewrite::SqlUnit;

/// `None` when `sql` is not VACUUM or ANALYZE; otherwise the statement
/// each data source runs, in the database's data source order.
pub fn plan_maintenance(
    db: &LogicalDatabase,
    sql: &str,
) -> Option<Result<Vec<SqlUnit>, KernelError>> {
    let mut t = Tokens::new(sql);
    if !["vacuum", "analyze", "analyse"]
        .iter()
        .any(|w| t.keyword(w))
    {
        return None;
    }
    Some(plan(db, sql, t))
}

fn plan(db: &LogicalDatabase, sql: &str, mut t: Tokens<'_>) -> Result<Vec<SqlUnit>, KernelError> {
    let bad = |what: &str| KernelError::Parse(format!("VACUUM / ANALYZE: {what}"));
    if t.punct(b'(') {
        let mut depth = 1;
        while depth > 0 {
            if t.punct(b'(') {
                depth += 1;
            } else if t.punct(b')') {
                depth -= 1;
            } else if t.ident().is_none()
                && t.string().is_none()
                && !t.punct(b',')
                && t.word_or_number().is_none()
            {
                return Err(bad("unterminated option list"));
            }
        }
    }
    while ["full", "freeze", "verbose", "analyze", "analyse"]
        .iter()
        .any(|w| t.keyword(w))
    {}
    let prefix = sql[..t.pos].trim_end().to_owned();
    // Per data source, the table items it runs the statement over.
    let mut items: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let sources = crate::route::routing_data_sources(db);
    let index_of = |ds: &str| sources.iter().position(|s| s == ds);
    let mut named = false;
    loop {
        t.skip_space();
        if t.rest().is_empty() || t.punct(b';') {
            break;
        }
        let first = t.ident().ok_or_else(|| bad("a table name was expected"))?;
        let (schema, table) = if t.punct(b'.') {
            let table = t
                .ident()
                .ok_or_else(|| bad("a table name must follow the schema"))?;
            (Some(first.written), table.folded)
        } else {
            (None, first.folded)
        };
        let mut columns = String::new();
        if t.peek_punct(b'(') {
            let start = t.pos;
            t.punct(b'(');
            while !t.punct(b')') {
                if t.ident().is_none() && !t.punct(b',') {
                    return Err(bad("a column list was expected"));
                }
            }
            columns = format!(" {}", &sql[start..t.pos].trim_start());
        }
        named = true;
        let item = |actual: &str| {
            let mut s = String::new();
            if let Some(schema) = &schema {
                s.push_str(schema);
                s.push('.');
            }
            s.push_str(&quote_ident(actual));
            s.push_str(&columns);
            s
        };
        let name = table.to_ascii_lowercase();
        if let Some(sharded) = db.sharding.table(&name) {
            for node in &sharded.data_nodes {
                let i = index_of(&node.data_source).unwrap_or(0);
                items.entry(i).or_default().push(item(&node.table));
            }
        } else if db.is_broadcast(&name) {
            for i in 0..sources.len() {
                items.entry(i).or_default().push(item(&table));
            }
        } else {
            let ds = crate::route::single_table_source(db, &name)?;
            let i = index_of(&ds).unwrap_or(0);
            items.entry(i).or_default().push(item(&table));
        }
        if !t.punct(b',') {
            t.skip_space();
            if !(t.rest().is_empty() || t.punct(b';')) {
                return Err(bad("tables must be separated by commas"));
            }
            break;
        }
    }
    if !named {
        return Ok(sources
            .into_iter()
            .map(|data_source| SqlUnit {
                data_source,
                sql: prefix.clone(),
            })
            .collect());
    }
    Ok(items
        .into_iter()
        .filter_map(|(i, tables)| {
            Some(SqlUnit {
                data_source: sources.get(i)?.clone(),
                sql: format!("{prefix} {}", tables.join(", ")),
            })
        })
        .collect())
}
