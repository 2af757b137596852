//! One logical database: its storage units and every rule over them.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde::Serialize;

use super::datasource::DataSource;
use super::sharding::ShardingRule;

/// A table of the `!SINGLE` rule: whole in one data source. `table` may be
/// `*` (every table of that data source not otherwise ruled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SingleTable {
    /// `*` for "any data source" (`*.*`, or a bare table name).
    pub data_source: String,
    pub table: String,
}

/// A read/write splitting group: one logical data source name standing for
/// a primary and its replicas.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadwriteGroup {
    pub name: String,
    pub write_data_source: String,
    pub read_data_sources: Vec<String>,
    pub transactional_read_query_strategy: String,
    pub load_balancer: Option<String>,
    pub load_balancer_type: Option<String>,
}

/// A logical database, validated.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogicalDatabase {
    pub name: String,
    /// The file it came from, for messages.
    pub source_file: String,
    pub data_sources: IndexMap<String, DataSource>,
    pub sharding: ShardingRule,
    /// Lower-cased names of broadcast tables.
    pub broadcast_tables: BTreeSet<String>,
    pub single_tables: Vec<SingleTable>,
    pub single_default_data_source: Option<String>,
    pub readwrite_groups: Vec<ReadwriteGroup>,
}

impl LogicalDatabase {
    /// One storage unit and no rules: every statement can go to it as is,
    /// so the session may be spliced to it (ebpf-fastpath).
    pub fn is_passthrough(&self) -> bool {
        self.data_sources.len() == 1
            && self.sharding.tables.is_empty()
            && self.broadcast_tables.is_empty()
            && self.readwrite_groups.is_empty()
    }

    pub fn is_broadcast(&self, table: &str) -> bool {
        self.broadcast_tables.contains(&table.to_ascii_lowercase())
    }
}
