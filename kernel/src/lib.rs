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
//! - [`rewrite`]: the SQL each route unit runs.
//! - [`merge`]: combining the shards' rows into one result stream.
//! - [`error`] holds [`KernelError`], the crate's one error type.
//!
//! Not yet here: pagination, aggregate and derived-column rewrites,
//! generated keys, hints from the session.
#![deny(clippy::print_stdout)]

pub mod context;
pub mod error;
pub mod merge;
pub mod parse;
pub mod rewrite;
pub mod route;

pub use context::{StatementContext, StatementKind};
pub use error::KernelError;
pub use parse::{parse_one, Dialect, ParseCache};
pub use rewrite::{rewrite, SqlUnit};
pub use route::{route, route_with_hints, RouteResult, RouteUnit};

use shardwire_rules::snapshot::LogicalDatabase;
use shardwire_rules::ShardingValue;

/// Parse (through `cache`), route and rewrite one statement: what each data
/// source must run.
pub fn plan(
    cache: &ParseCache,
    db: &LogicalDatabase,
    dialect: Dialect,
    sql: &str,
    params: &[ShardingValue],
) -> Result<Vec<SqlUnit>, KernelError> {
    let statement = cache.parse(dialect, sql)?;
    let context = StatementContext::new(&statement);
    let route = route(db, &context, params)?;
    rewrite(&statement, &route)
}
