//! The validated, expanded rules: what the kernel routes with and the
//! backend connects with. A `RuleSnapshot` is immutable; a reload builds a
//! new one and swaps it in at the edge (ArcSwap in the binary).
//!
//! # Layout
//! - `datasource`: storage units with their parsed URLs and pool settings.
//! - `sharding`: sharding tables, data nodes, strategies, binding groups.
//! - `database`: one logical database and its broadcast / single /
//!   read-write splitting rules.
//! - `global`: users, privileges, props and listeners.

pub mod database;
pub mod datasource;
pub mod global;
pub mod sharding;

use indexmap::IndexMap;
use std::sync::Arc;

pub use database::{LogicalDatabase, ReadwriteGroup, SingleTable};
pub use datasource::{DataSource, DatabaseProtocol};
pub use global::{GlobalSettings, Listener, ListenerProtocol, User};
pub use sharding::{BindingGroup, DataNode, KeyGenerate, ShardingRule, ShardingTable, Strategy};

/// Everything the proxy needs to know from its conf directory.
#[derive(Debug)]
pub struct RuleSnapshot {
    pub global: GlobalSettings,
    /// Logical databases by name, in file-name order.
    pub databases: IndexMap<String, Arc<LogicalDatabase>>,
}

impl RuleSnapshot {
    pub fn database(&self, name: &str) -> Option<&Arc<LogicalDatabase>> {
        self.databases.get(name)
    }
}
