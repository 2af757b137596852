//! The `!BROADCAST`, `!SINGLE` and `!READWRITE_SPLITTING` rules.

use indexmap::IndexMap;
use serde::Deserialize;

use super::sharding::AlgorithmConfig;

/// Tables with the same rows in every data source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BroadcastRuleConfig {
    #[serde(default)]
    pub tables: Vec<String>,
}

/// Tables that live whole in one data source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SingleRuleConfig {
    /// `ds.table`, `ds.*`, `*.*`, or a bare table name. Default: none.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Where new single tables are created. Default: the first data source.
    #[serde(default)]
    pub default_data_source: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadwriteRuleConfig {
    /// 5.4+ spelling.
    #[serde(default)]
    pub data_source_groups: IndexMap<String, ReadwriteGroupConfig>,
    /// Before 5.4.
    #[serde(default)]
    pub data_sources: IndexMap<String, ReadwriteGroupConfig>,
    #[serde(default)]
    pub load_balancers: IndexMap<String, AlgorithmConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadwriteGroupConfig {
    #[serde(default)]
    pub write_data_source_name: Option<String>,
    #[serde(default)]
    pub read_data_source_names: Vec<String>,
    /// `PRIMARY` (default), `FIXED` or `DYNAMIC`.
    #[serde(default)]
    pub transactional_read_query_strategy: Option<String>,
    #[serde(default)]
    pub load_balancer_name: Option<String>,
    /// Before 5.3 the names were nested here.
    #[serde(default)]
    pub static_strategy: Option<StaticStrategyConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StaticStrategyConfig {
    pub write_data_source_name: String,
    #[serde(default)]
    pub read_data_source_names: Vec<String>,
}
