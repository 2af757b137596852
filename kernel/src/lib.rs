//! The protocol-neutral heart of the proxy: parse (with a cache), statement
//! context, route, rewrite and merge, plus DistSQL-style admin statements.
//! Execution is reached through a trait this crate defines and the backend
//! implements, so that data flows one way: frontend -> kernel -> backend.
//!
//! # Layout
//! - [`parse`]: [`Dialect`], parsing one statement, and the bounded
//!   [`ParseCache`] of parsed statements.
//! - [`context`]: [`StatementContext`]: kind, tables, WHERE conditions and
//!   INSERT rows read off the AST.
//! - [`route`]: [`RouteResult`]: the data sources and actual tables a
//!   statement reaches under a logical database's rules.
//! - [`rewrite`]: the SQL each route unit runs, printed from the AST;
//!   `splice`: the same by copying the client's text with the table names
//!   replaced, for statements whose text needs nothing else changed.
//! - `prepared`: what the cache keeps per statement text besides the AST
//!   (the context, the splice template), so repeats skip that work.
//! - `derive`: for a SELECT answered by several units, the shards' extra
//!   columns and LIMIT, and the [`merge::MergePlan`].
//! - `keygen`: generated keys added to INSERTs before routing.
//! - [`metadata`]: the columns of logical tables as the planner reads them
//!   ([`MetadataSource`], loaded by the caller); `insert_columns` writes
//!   an INSERT's missing column list from it.
//! - [`index_names`]: PostgreSQL index names per actual table
//!   (`<index>_<actual table>`) for CREATE / DROP / ALTER INDEX.
//! - `multi_table_ddl`: DROP TABLE / TRUNCATE naming several tables, one
//!   statement per data source.
//! - [`distsql`]: DistSQL statements the proxy answers itself
//!   (`REFRESH TABLE METADATA`).
//! - [`normalize`]: a statement's text with its literals taken out, and
//!   [`plan_literal_statement`], which plans simple-protocol statements
//!   that differ only in their literals from one cached parse.
//! - [`merge`]: combining the shards' rows into one result stream.
//! - `lexer`: the tokens of the statements read without sqlparser.
//! - [`plan_maintenance`]: VACUUM and ANALYZE, sent to the data nodes of
//!   the tables they name.
//! - [`copy`]: `COPY ... FROM STDIN`: its rows framed and routed one by
//!   one to the data nodes.
//! - [`error`] holds [`KernelError`], the crate's one error type.
//!
//! [`plan_with`] runs the whole path and returns a [`Plan`]: the units'
//! SQL, the merge plan and the generated keys.
//!
//! Repeated statement texts are cheap: the cache keeps, besides the AST, the
//! statement context and where the text names tables, so a cached point
//! select costs a hash lookup, the route, and one string copy with the
//! actual table names spliced in.
//!
//! HAVING, COUNT / SUM / AVG (DISTINCT x) and expressions over aggregates
//! are answered across shards: the shards send the aggregates, the merge
//! evaluates the rest in the client dialect's arithmetic ([`merge::eval`]);
//! what it cannot evaluate exactly is refused by name.
//!
//! Not yet here: locale-aware text ordering beyond MariaDB's `general_ci`
//! (see [`merge::Collation`]).
#![deny(clippy::print_stdout)]

pub mod context;
pub mod copy;
mod derive;
pub mod distsql;
pub mod error;
pub mod index_names;
mod insert_columns;
mod keygen;
mod lexer;
mod literal_plan;
mod maintenance;
pub mod merge;
pub mod metadata;
mod multi_table_ddl;
pub mod normalize;
pub mod parse;
mod prepared;
pub mod rewrite;
pub mod route;
mod splice;

pub use context::{StatementContext, StatementKind};
pub use derive::default_nulls_first;
pub use error::KernelError;
pub use keygen::GeneratedKeys;
pub use literal_plan::{plan_literal_statement, LiteralPlan};
pub use maintenance::plan_maintenance;
pub use metadata::{ColumnMeta, MetadataSource, TableMeta};
pub use parse::{parse_one, Dialect, ParseCache};
pub use rewrite::{rewrite, SqlUnit};
pub use route::{route, route_with_hints, RouteResult, RouteUnit};

use shardwire_rules::keygen::KeyGenerator;
use shardwire_rules::snapshot::LogicalDatabase;
use shardwire_rules::ShardingValue;
use sqlparser::ast::Statement;

use merge::MergePlan;

/// Parse (through `cache`), route and rewrite one statement: what each data
/// source must run.
pub fn plan(
    cache: &ParseCache,
    db: &LogicalDatabase,
    dialect: Dialect,
    sql: &str,
    params: &[ShardingValue],
) -> Result<Vec<SqlUnit>, KernelError> {
    plan_with(cache, db, dialect, sql, params, &PlanOptions::default()).map(|p| p.units)
}

/// What [`plan_with`] may be told beyond the statement.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlanOptions<'a> {
    /// Values for hint strategies.
    pub hints: &'a [ShardingValue],
    /// Generates keys instead of the tables' own generators (tests inject a
    /// deterministic one).
    pub key_generator: Option<&'a dyn KeyGenerator>,
    /// Columns of logical tables, for statements that do not name them (an
    /// INSERT without a column list). Looked up only by such statements;
    /// `None`, or a source without the table, makes them fail with
    /// [`KernelError::MetadataNeeded`].
    pub metadata: Option<&'a dyn MetadataSource>,
    /// Which sharding table owns a PostgreSQL index name, for DROP INDEX
    /// and ALTER INDEX; a name it does not know makes them fail with
    /// [`KernelError::IndexOwnersNeeded`].
    pub index_owners: Option<&'a dyn index_names::IndexOwners>,
}

/// Everything the kernel decides about one statement before execution.
#[derive(Debug, Clone)]
pub struct Plan {
    /// What each data source runs, in route order.
    pub units: Vec<SqlUnit>,
    /// How to merge the units' rows: `Some` for a query answered by more
    /// than one unit; `None` when one unit answers (its rows are the answer)
    /// or the statement is not a query (a write's RETURNING rows, if any,
    /// are concatenated).
    pub merge: Option<MergePlan>,
    /// Keys generated for an INSERT that left its key column out.
    pub generated_keys: Option<GeneratedKeys>,
}

/// Parse (through `cache`), generate keys, route, rewrite, and derive the
/// merge plan of one statement.
pub fn plan_with(
    cache: &ParseCache,
    db: &LogicalDatabase,
    dialect: Dialect,
    sql: &str,
    params: &[ShardingValue],
    options: &PlanOptions<'_>,
) -> Result<Plan, KernelError> {
    let prepared = cache.prepare(dialect, sql)?;
    let statement = prepared.statement();
    if let Some(plan) = plan_reshaped(statement, db, dialect, params, options)? {
        return Ok(plan);
    }
    let splice = prepared.splice().map(|t| (t, prepared.sql()));
    plan_parts(
        statement,
        prepared.context(),
        splice,
        db,
        dialect,
        params,
        options,
    )
}

/// [`plan_with`] for a statement already parsed.
pub fn plan_statement(
    statement: &Statement,
    db: &LogicalDatabase,
    dialect: Dialect,
    params: &[ShardingValue],
    options: &PlanOptions<'_>,
) -> Result<Plan, KernelError> {
    if let Some(plan) = plan_reshaped(statement, db, dialect, params, options)? {
        return Ok(plan);
    }
    let context = StatementContext::new(statement);
    plan_parts(statement, &context, None, db, dialect, params, options)
}

/// Statements planned from a copy of themselves that the kernel changed
/// (a column list written in, generated keys added) or split (a DROP of
/// several tables): nothing cached about the client's text applies to
/// them. `None` for every other statement, which costs a few matches.
fn plan_reshaped(
    statement: &Statement,
    db: &LogicalDatabase,
    dialect: Dialect,
    params: &[ShardingValue],
    options: &PlanOptions<'_>,
) -> Result<Option<Plan>, KernelError> {
    let units = match multi_table_ddl::plan(statement, db, params, options)? {
        Some(units) => Some(units),
        None => index_names::plan(statement, db, dialect, params, options)?,
    };
    if let Some(units) = units {
        return Ok(Some(Plan {
            units,
            merge: None,
            generated_keys: None,
        }));
    }
    let filled = insert_columns::fill_insert_columns(statement, db, dialect, options.metadata)?;
    let current = filled.as_ref().unwrap_or(statement);
    if let Some((keyed, keys)) = keygen::add_generated_keys(current, db, options.key_generator)? {
        let context = StatementContext::new(&keyed);
        return plan_parts(&keyed, &context, None, db, dialect, params, options)
            .map(|plan| Some(plan.with_generated_keys(keys)));
    }
    match filled {
        Some(filled) => {
            let context = StatementContext::new(&filled);
            plan_parts(&filled, &context, None, db, dialect, params, options).map(Some)
        }
        None => Ok(None),
    }
}

impl Plan {
    fn with_generated_keys(mut self, keys: GeneratedKeys) -> Self {
        self.generated_keys = Some(keys);
        self
    }
}

/// Route, rewrite and derive the merge of a statement whose context is
/// known. `splice`: the statement's text and where it names tables, when the
/// units' SQL may be spliced from the text instead of printed from the AST.
fn plan_parts(
    statement: &Statement,
    context: &StatementContext,
    splice: Option<(&splice::SpliceTemplate, &str)>,
    db: &LogicalDatabase,
    dialect: Dialect,
    params: &[ShardingValue],
    options: &PlanOptions<'_>,
) -> Result<Plan, KernelError> {
    let route = route::route_with_metadata(db, context, params, options.hints, options.metadata)?;
    if route.units.len() > 1 {
        copy::check_concatenation(statement, dialect, &context.tables)?;
        if let Some((derived, merge)) = derive::derive(statement, dialect, &context.tables)? {
            return Ok(Plan {
                units: rewrite::rewrite_in(&derived, &route, Some(&db.name))?,
                merge: Some(merge),
                generated_keys: None,
            });
        }
    }
    // One unit's rows are the answer as they are, and a statement that is
    // not a query needs no merge: only table names (and an INSERT's rows)
    // change.
    let units = match splice {
        Some((template, sql)) => route
            .units
            .iter()
            .map(|unit| {
                let sql = match unit.insert_rows {
                    None => template.render(sql, &unit.table_map, Some(&db.name)),
                    Some(_) => rewrite::rewrite_unit_in(statement, unit, Some(&db.name))?,
                };
                Ok(SqlUnit {
                    data_source: unit.data_source.clone(),
                    sql,
                })
            })
            .collect::<Result<Vec<_>, KernelError>>()?,
        None => rewrite::rewrite_in(statement, &route, Some(&db.name))?,
    };
    Ok(Plan {
        units,
        merge: None,
        generated_keys: None,
    })
}
