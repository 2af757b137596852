//! The `!SHARDING` rule, as ShardingSphere 5.x writes it.

use indexmap::IndexMap;
use serde::Deserialize;

use super::{present, PropsConfig};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShardingRuleConfig {
    /// Tables with explicit `actualDataNodes`. Default: none.
    #[serde(default)]
    pub tables: IndexMap<String, TableRuleConfig>,
    /// Tables whose nodes the algorithm decides (`sharding-count`).
    /// Default: none.
    #[serde(default)]
    pub auto_tables: IndexMap<String, AutoTableRuleConfig>,
    /// Groups of tables sharded alike: `t_order,t_order_item`, or
    /// `name:t_order,t_order_item` (5.4+). Default: none.
    #[serde(default)]
    pub binding_tables: Vec<String>,
    /// Before 5.4 broadcast tables lived here; still accepted.
    #[serde(default)]
    pub broadcast_tables: Vec<String>,
    /// Default: none (all data sources).
    #[serde(default)]
    pub default_database_strategy: Option<StrategyConfig>,
    /// Default: none (all tables).
    #[serde(default)]
    pub default_table_strategy: Option<StrategyConfig>,
    /// Default: no generated keys.
    #[serde(default)]
    pub default_key_generate_strategy: Option<KeyGenerateStrategyConfig>,
    /// Accepted for compatibility (SQL auditing).
    #[serde(default)]
    pub default_audit_strategy: Option<AuditStrategyConfig>,
    /// Column used by strategies that leave `shardingColumn` out.
    #[serde(default)]
    pub default_sharding_column: Option<String>,
    /// Named algorithms. Default: none.
    #[serde(default)]
    pub sharding_algorithms: IndexMap<String, AlgorithmConfig>,
    /// Named key generators. Default: none.
    #[serde(default)]
    pub key_generators: IndexMap<String, AlgorithmConfig>,
    /// Accepted for compatibility (SQL auditors).
    #[serde(default)]
    pub auditors: IndexMap<String, AlgorithmConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableRuleConfig {
    /// Inline expression of `ds.table` nodes. Default: the logical table in
    /// every data source.
    #[serde(default)]
    pub actual_data_nodes: Option<String>,
    /// Default: the rule's `defaultDatabaseStrategy`.
    #[serde(default)]
    pub database_strategy: Option<StrategyConfig>,
    /// Default: the rule's `defaultTableStrategy`.
    #[serde(default)]
    pub table_strategy: Option<StrategyConfig>,
    /// Default: the rule's `defaultKeyGenerateStrategy`.
    #[serde(default)]
    pub key_generate_strategy: Option<KeyGenerateStrategyConfig>,
    #[serde(default)]
    pub audit_strategy: Option<AuditStrategyConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoTableRuleConfig {
    /// Inline expression of data sources. Default: all, in declared order.
    #[serde(default)]
    pub actual_data_sources: Option<String>,
    /// Required: the algorithm decides the number of shards.
    #[serde(default)]
    pub sharding_strategy: Option<StrategyConfig>,
    #[serde(default)]
    pub key_generate_strategy: Option<KeyGenerateStrategyConfig>,
    #[serde(default)]
    pub audit_strategy: Option<AuditStrategyConfig>,
}

/// Exactly one of `standard`, `complex`, `hint`, `none`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StrategyConfig {
    #[serde(default)]
    pub standard: Option<StandardStrategyConfig>,
    #[serde(default)]
    pub complex: Option<ComplexStrategyConfig>,
    #[serde(default)]
    pub hint: Option<HintStrategyConfig>,
    #[serde(default, deserialize_with = "present")]
    pub none: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StandardStrategyConfig {
    /// Default: the rule's `defaultShardingColumn`.
    #[serde(default)]
    pub sharding_column: Option<String>,
    pub sharding_algorithm_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComplexStrategyConfig {
    /// Comma-separated column names.
    pub sharding_columns: String,
    pub sharding_algorithm_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HintStrategyConfig {
    pub sharding_algorithm_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyGenerateStrategyConfig {
    pub column: String,
    pub key_generator_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditStrategyConfig {
    #[serde(default)]
    pub auditor_names: Vec<String>,
    #[serde(default)]
    pub allow_hint_disable: Option<bool>,
}

/// A named algorithm or key generator: `type` and `props`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlgorithmConfig {
    #[serde(rename = "type")]
    pub kind: String,
    /// Default: empty.
    #[serde(default)]
    pub props: PropsConfig,
}
