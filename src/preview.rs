//! `shardctl preview`: how the kernel would route and rewrite one statement
//! under a conf directory's rules, as JSON, without touching any database.

use std::path::Path;

use serde::Serialize;
use shardwire_kernel::{parse_one, rewrite, route, Dialect, StatementContext};
use shardwire_rules::ShardingValue;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Unit {
    data_source: String,
    sql: String,
}

/// The route units of `sql` in database `database` of the conf dir `dir`,
/// as pretty JSON: `[{"dataSource": ..., "sql": ...}, ...]`.
/// `params` bind the statement's placeholders in order.
pub fn preview(
    dir: &Path,
    database: &str,
    dialect: Dialect,
    sql: &str,
    params: &[ShardingValue],
) -> anyhow::Result<String> {
    let snapshot = shardwire_rules::load_dir(dir)?;
    let Some(db) = snapshot.database(database) else {
        let known: Vec<&str> = snapshot.databases.keys().map(String::as_str).collect();
        anyhow::bail!(
            "no logical database {database:?} in {} (it has: {})",
            dir.display(),
            known.join(", ")
        );
    };
    let statement = parse_one(dialect, sql)?;
    let context = StatementContext::new(&statement);
    let route = route(db, &context, params)?;
    let units: Vec<Unit> = rewrite(&statement, &route)?
        .into_iter()
        .map(|u| Unit {
            data_source: u.data_source,
            sql: u.sql,
        })
        .collect();
    Ok(serde_json::to_string_pretty(&units)?)
}

/// A command-line parameter: an integer when it reads as one, else text
/// (as a driver binding a string would send it).
pub fn parse_param(text: &str) -> ShardingValue {
    text.parse::<i64>()
        .map_or_else(|_| ShardingValue::Text(text.to_owned()), ShardingValue::Int)
}
