//! `shardwire check`: what the proxy would make of a conf directory, as JSON,
//! so a DBA can see every logical table's data nodes and strategies before
//! serving with it.

use std::path::Path;

use serde::Serialize;
use shardwire_rules::snapshot::{GlobalSettings, LogicalDatabase};
use shardwire_rules::{load_dir, ConfigError};

#[derive(Serialize)]
struct Report<'a> {
    global: &'a GlobalSettings,
    databases: Vec<DatabaseReport<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DatabaseReport<'a> {
    passthrough: bool,
    #[serde(flatten)]
    database: &'a LogicalDatabase,
}

/// Loads and validates `dir`; returns the pretty JSON description.
pub fn check(dir: &Path) -> Result<String, ConfigError> {
    let snapshot = load_dir(dir)?;
    let report = Report {
        global: &snapshot.global,
        databases: snapshot
            .databases
            .values()
            .map(|d| DatabaseReport {
                passthrough: d.is_passthrough(),
                database: d,
            })
            .collect(),
    };
    // Serializing plain data with string keys cannot fail; if it ever did,
    // say so rather than print half a document.
    Ok(serde_json::to_string_pretty(&report)
        .unwrap_or_else(|e| format!("{{\"error\": \"internal: {e}\"}}")))
}
