//! The simple query protocol's fast path: a statement whose literals
//! change with every execution (`... WHERE aid = 42`, then `= 43`) is
//! planned from its normalized text ([`crate::normalize`]), parsed once,
//! with the literals routed as the parameters of that text, and the unit's
//! SQL spliced from the client's own text. Nothing is parsed, visited or
//! printed per execution.
//!
//! Only the plain case is taken: a query or a write that routes to exactly
//! one unit, whose text the splice template covers and whose rows (an
//! INSERT's) need no splitting, with no key to generate. Everything else
//! returns `None`, and the caller plans the text as it always did; so does
//! any error, for the full path to report it in its own words.

use std::sync::Arc;

use shardwire_rules::snapshot::LogicalDatabase;
use sqlparser::ast::Statement;

use crate::normalize::normalize;
use crate::parse::{Dialect, ParseCache};
use crate::rewrite::SqlUnit;

/// What [`plan_literal_statement`] decided.
#[derive(Debug, Clone)]
pub struct LiteralPlan {
    /// The statement with placeholders where the literals were: its shape,
    /// for checks that do not look at values (which tables it reads).
    pub shape: Arc<Statement>,
    /// The one unit to run.
    pub unit: SqlUnit,
}

/// Plans `sql` (one statement of a simple Query) through its normalized
/// text, or `None` when the full path must (see the module comment).
/// PostgreSQL only: MySQL's strings take backslash escapes and its
/// placeholders are `?`, which the normalizer does not model.
pub fn plan_literal_statement(
    cache: &ParseCache,
    db: &LogicalDatabase,
    dialect: Dialect,
    sql: &str,
) -> Option<LiteralPlan> {
    if dialect != Dialect::PostgreSql {
        return None;
    }
    let normalized = normalize(sql)?;
    let prepared = cache.shape(dialect, &normalized.key, |statement| {
        matches!(
            statement,
            Statement::Query(_)
                | Statement::Insert(_)
                | Statement::Update { .. }
                | Statement::Delete(_)
        )
    })?;
    let statement = prepared.statement();
    if !matches!(
        crate::keygen::add_generated_keys(statement, db, None),
        Ok(None)
    ) {
        return None;
    }
    let route =
        crate::route::route_with_hints(db, prepared.context(), &normalized.values, &[]).ok()?;
    let [unit] = route.units.as_slice() else {
        return None;
    };
    if unit.insert_rows.is_some() {
        return None;
    }
    let sql = prepared.splice()?.render_mapped(
        sql,
        |at| normalized.original_offset(at),
        &unit.table_map,
        Some(&db.name),
    );
    Some(LiteralPlan {
        shape: Arc::clone(statement),
        unit: SqlUnit {
            data_source: unit.data_source.clone(),
            sql,
        },
    })
}
