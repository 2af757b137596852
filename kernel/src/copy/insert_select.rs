//! `INSERT INTO <sharding table> (columns) SELECT ...`: the proxy reads
//! the query's rows with `COPY (query) TO STDOUT` where they are, and
//! routes each row as `COPY ... FROM STDIN` routes it, so every row lands
//! on the node its sharding value names wherever it was read.
//! - From no sharding table (generate_series, VALUES lists, broadcast or
//!   single tables): one data source answers. `pgbench -i -I G` fills
//!   pgbench_accounts this way.
//! - From sharding tables: every data node of the query answers its part,
//!   which is only the query's answer when the parts may be joined as they
//!   come (no ORDER BY, LIMIT, GROUP BY, DISTINCT or aggregates, which
//!   would need a merge first): anything else is refused by name.
//!
//! All rows are read before the first is written, as the server's own
//! INSERT ... SELECT reads its snapshot first: `INSERT INTO t SELECT ...
//! FROM t` never reads its own rows.

use shardwire_rules::snapshot::LogicalDatabase;
use sqlparser::ast::{SetExpr, Statement, TableObject};

use super::format::{CopyFormat, FormatKind};
use super::statement::CopyFromStdin;
use crate::context::StatementContext;
use crate::error::KernelError;

/// Where the rows come from, and the COPY that takes them.
#[derive(Debug, Clone)]
pub struct InsertSelect {
    /// Each data source to read and its `COPY (query) TO STDOUT` (text
    /// format), in the route's order.
    pub sources: Vec<(String, String)>,
    /// The target's `COPY ... FROM STDIN` (text format, the INSERT's
    /// column list).
    pub copy: CopyFromStdin,
}

/// `None` when `statement` is not an INSERT ... SELECT into a sharding
/// table (the ordinary path answers it, or refuses it by name).
pub fn plan_insert_select(
    db: &LogicalDatabase,
    statement: &Statement,
) -> Option<Result<InsertSelect, KernelError>> {
    let Statement::Insert(insert) = statement else {
        return None;
    };
    let query = insert.source.as_ref()?;
    if matches!(query.body.as_ref(), SetExpr::Values(_)) {
        return None;
    }
    let TableObject::TableName(name) = &insert.table else {
        return None;
    };
    let table = name.0.last()?.as_ident()?.value.to_ascii_lowercase();
    db.sharding.table(&table)?;
    let select = Statement::Query(query.clone());
    let context = StatementContext::new(&select);
    Some(plan(db, insert, &table, &select, &context))
}

fn plan(
    db: &LogicalDatabase,
    insert: &sqlparser::ast::Insert,
    table: &str,
    select: &Statement,
    context: &StatementContext,
) -> Result<InsertSelect, KernelError> {
    let refuse =
        |construct: &str, reason: &str| Err(KernelError::unsupported(construct, [table], reason));
    if insert.on.is_some() || insert.returning.is_some() {
        return refuse(
            "INSERT ... SELECT with ON CONFLICT or RETURNING into a sharding table",
            "its rows are loaded with COPY, which has neither",
        );
    }
    if insert.columns.is_empty() {
        return refuse(
            "INSERT ... SELECT without a column list into a sharding table",
            "name the columns, so each row's sharding column can be found",
        );
    }
    let route = crate::route::route(db, context, &[])?;
    if route.units.len() > 1
        && !super::joins_as_it_comes(select, crate::Dialect::PostgreSql, &context.tables)?
    {
        return refuse(
            "INSERT ... SELECT whose query needs merging across shards (ORDER BY, LIMIT, \
             GROUP BY, DISTINCT or aggregates)",
            "its rows are read from each shard as they come",
        );
    }
    let sources = route
        .units
        .iter()
        .map(|unit| {
            let query_sql = crate::rewrite::rewrite_unit(select, unit)?;
            Ok((
                unit.data_source.clone(),
                format!("COPY ({query_sql}) TO STDOUT"),
            ))
        })
        .collect::<Result<Vec<_>, KernelError>>()?;
    let columns: Vec<String> = insert.columns.iter().map(|c| c.to_string()).collect();
    let copy = CopyFromStdin {
        schema: None,
        table: table.to_owned(),
        columns: Some(
            insert
                .columns
                .iter()
                .filter_map(|c| c.0.last()?.as_ident().map(fold))
                .collect(),
        ),
        columns_sql: format!("({})", columns.join(", ")),
        options_sql: String::new(),
        format: CopyFormat::default_for(FormatKind::Text),
    };
    Ok(InsertSelect { sources, copy })
}

/// A column name as PostgreSQL reads it: unquoted names lower-cased.
fn fold(ident: &sqlparser::ast::Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_ascii_lowercase(),
    }
}
