//! The sharding rule of one logical database, expanded: every logical table
//! with its data nodes and resolved strategies.

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::ser::SerializeStruct;
use serde::Serialize;

use crate::algorithm::ShardingAlgorithm;
use crate::keygen::KeyGenerator;

/// One actual table in one data source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataNode {
    pub data_source: String,
    pub table: String,
}

impl std::fmt::Display for DataNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.data_source, self.table)
    }
}

impl Serialize for DataNode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A resolved sharding strategy.
#[derive(Debug, Clone)]
pub enum Strategy {
    /// No sharding on this level: every target.
    None,
    Standard {
        column: String,
        algorithm_name: String,
        algorithm: Arc<dyn ShardingAlgorithm>,
    },
    Complex {
        columns: Vec<String>,
        algorithm_name: String,
        algorithm: Arc<dyn ShardingAlgorithm>,
    },
    Hint {
        algorithm_name: String,
        algorithm: Arc<dyn ShardingAlgorithm>,
    },
}

impl Strategy {
    /// The columns whose conditions this strategy routes on.
    pub fn columns(&self) -> &[String] {
        match self {
            Strategy::Standard { column, .. } => std::slice::from_ref(column),
            Strategy::Complex { columns, .. } => columns,
            Strategy::None | Strategy::Hint { .. } => &[],
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Strategy::None => "none",
            Strategy::Standard { .. } => "standard",
            Strategy::Complex { .. } => "complex",
            Strategy::Hint { .. } => "hint",
        }
    }

    fn algorithm(&self) -> Option<(&str, &'static str)> {
        match self {
            Strategy::None => None,
            Strategy::Standard {
                algorithm_name,
                algorithm,
                ..
            }
            | Strategy::Complex {
                algorithm_name,
                algorithm,
                ..
            }
            | Strategy::Hint {
                algorithm_name,
                algorithm,
            } => Some((algorithm_name, algorithm.type_name())),
        }
    }
}

impl Serialize for Strategy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Strategy", 4)?;
        st.serialize_field("type", self.kind())?;
        st.serialize_field("columns", self.columns())?;
        let alg = self.algorithm();
        st.serialize_field("algorithm", &alg.map(|a| a.0))?;
        st.serialize_field("algorithmType", &alg.map(|a| a.1))?;
        st.end()
    }
}

/// The key generator of a table: which column, and the generator.
#[derive(Debug, Clone)]
pub struct KeyGenerate {
    pub column: String,
    pub generator_name: String,
    pub generator: Arc<dyn KeyGenerator>,
}

impl Serialize for KeyGenerate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("KeyGenerate", 3)?;
        st.serialize_field("column", &self.column)?;
        st.serialize_field("generator", &self.generator_name)?;
        st.serialize_field("type", self.generator.type_name())?;
        st.end()
    }
}

/// A sharded logical table.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardingTable {
    /// As written in the config.
    pub logic_name: String,
    /// Declared with `autoTables` (nodes made from the algorithm).
    pub auto: bool,
    /// Every node, in expansion order.
    pub data_nodes: Vec<DataNode>,
    /// Distinct data sources of the nodes, in node order: the targets of
    /// the database strategy.
    pub data_sources: Vec<String>,
    /// Actual tables per data source: the targets of the table strategy
    /// once a data source is chosen.
    pub tables_by_data_source: IndexMap<String, Vec<String>>,
    /// Distinct actual table names across data sources, in node order.
    pub actual_tables: Vec<String>,
    pub database_strategy: Strategy,
    pub table_strategy: Strategy,
    pub key_generate: Option<KeyGenerate>,
}

impl ShardingTable {
    /// Whether `column` is a sharding column of either strategy.
    pub fn is_sharding_column(&self, column: &str) -> bool {
        self.database_strategy
            .columns()
            .iter()
            .chain(self.table_strategy.columns())
            .any(|c| c.eq_ignore_ascii_case(column))
    }
}

/// Tables sharded alike: joined on their sharding keys they route together.
#[derive(Debug, Clone, Serialize)]
pub struct BindingGroup {
    /// 5.4+ names the group; older files do not.
    pub name: Option<String>,
    /// Lower-cased logical table names.
    pub tables: Vec<String>,
}

/// The `!SHARDING` rule of one logical database.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardingRule {
    /// By lower-cased logical name (SQL identifiers are case-insensitive
    /// unless quoted, and the config's spelling is kept in `logic_name`).
    pub tables: IndexMap<String, ShardingTable>,
    pub binding_groups: Vec<BindingGroup>,
    #[serde(skip)]
    pub(crate) binding_of: HashMap<String, usize>,
}

impl ShardingRule {
    pub fn table(&self, name: &str) -> Option<&ShardingTable> {
        self.tables.get(&name.to_ascii_lowercase())
    }

    /// The binding group a table belongs to, if any.
    pub fn binding_group(&self, table: &str) -> Option<&BindingGroup> {
        self.binding_of
            .get(&table.to_ascii_lowercase())
            .and_then(|i| self.binding_groups.get(*i))
    }

    /// Whether two sharding tables are bound to each other.
    pub fn are_bound(&self, a: &str, b: &str) -> bool {
        let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
        matches!((self.binding_of.get(&a), self.binding_of.get(&b)), (Some(x), Some(y)) if x == y)
    }
}
