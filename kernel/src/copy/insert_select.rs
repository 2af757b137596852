//! `INSERT INTO <sharding table> (columns) SELECT ...` whose rows come
//! from no sharding table (generate_series, VALUES lists, broadcast or
//! single tables): the proxy reads the rows once, with `COPY (query) TO
//! STDOUT` on the one data source that can answer the query, and routes
//! each row as `COPY ... FROM STDIN` routes it. `pgbench -i -I G` fills
//! pgbench_accounts this way.

use shardwire_rules::snapshot::LogicalDatabase;
use sqlparser::ast::{SetExpr, Statement, TableObject};

use super::format::{CopyFormat, FormatKind};
use super::statement::CopyFromStdin;
use crate::context::StatementContext;
use crate::error::KernelError;

/// Where the rows come from, and the COPY that takes them.
#[derive(Debug, Clone)]
pub struct InsertSelect {
    pub source_data_source: String,
    /// `COPY (query) TO STDOUT`, in text format, for the source.
    pub source_sql: String,
    /// The target's `COPY ... FROM STDIN` (text format, the INSERT's
    /// column list).
    pub copy: CopyFromStdin,
}

/// `None` when `statement` is not an INSERT ... SELECT into a sharding
/// table whose query reads no sharding table (the ordinary path answers
/// it, or refuses it by name).
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
    if context
        .tables
        .iter()
        .any(|t| db.sharding.table(t).is_some())
    {
        return None;
    }
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
    let [unit] = route.units.as_slice() else {
        return refuse(
            "INSERT ... SELECT reading several data sources",
            "its rows must come from one data source",
        );
    };
    let query_sql = crate::rewrite::rewrite_unit(select, unit)?;
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
    Ok(InsertSelect {
        source_data_source: unit.data_source.clone(),
        source_sql: format!("COPY ({query_sql}) TO STDOUT"),
        copy,
    })
}

/// A column name as PostgreSQL reads it: unquoted names lower-cased.
fn fold(ident: &sqlparser::ast::Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_ascii_lowercase(),
    }
}
