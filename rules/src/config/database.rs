//! `database-*.yaml`: one logical database, its data sources and its rules.

use indexmap::IndexMap;
use serde::Deserialize;

use super::others::{BroadcastRuleConfig, ReadwriteRuleConfig, SingleRuleConfig};
use super::sharding::ShardingRuleConfig;
use super::{PropsConfig, Scalar};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatabaseConfig {
    /// The logical database clients connect to. Required.
    pub database_name: String,
    /// Storage units, in declared order (the order auto tables use).
    /// Default: none.
    #[serde(default)]
    pub data_sources: IndexMap<String, DataSourceConfig>,
    /// Default: none, which with one data source makes a passthrough database.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
}

/// One rule of a database, by its YAML tag.
#[derive(Debug, Clone, Deserialize)]
pub enum RuleConfig {
    #[serde(rename = "SHARDING")]
    Sharding(Box<ShardingRuleConfig>),
    #[serde(rename = "BROADCAST")]
    Broadcast(BroadcastRuleConfig),
    #[serde(rename = "SINGLE")]
    Single(SingleRuleConfig),
    #[serde(rename = "READWRITE_SPLITTING")]
    ReadwriteSplitting(ReadwriteRuleConfig),
}

/// A storage unit, in ShardingSphere's HikariCP-flavoured spelling.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataSourceConfig {
    /// `jdbc:mysql://`, `jdbc:mariadb://`, `jdbc:postgresql://`,
    /// `jdbc:opengauss://`, or plain `mysql://` / `postgres://` URLs.
    /// Required (or its alias `jdbcUrl`).
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub jdbc_url: Option<String>,
    /// Default: the user in the URL, else `root` (MySQL) / `postgres`.
    #[serde(default)]
    pub username: Option<String>,
    /// Default: empty.
    #[serde(default)]
    pub password: Option<Scalar>,
    /// Pool acquire timeout. Default: 30000.
    #[serde(default)]
    pub connection_timeout_milliseconds: Option<u64>,
    /// Idle connections are closed after this. Default: 60000.
    #[serde(default)]
    pub idle_timeout_milliseconds: Option<u64>,
    /// Connections are replaced after this. Default: 1800000.
    #[serde(default)]
    pub max_lifetime_milliseconds: Option<u64>,
    /// Default: 50.
    #[serde(default)]
    pub max_pool_size: Option<u32>,
    /// Default: 1.
    #[serde(default)]
    pub min_pool_size: Option<u32>,
    /// Accepted for compatibility; Shardwire has its own pool.
    #[serde(default)]
    pub data_source_class_name: Option<String>,
    #[serde(default)]
    pub driver_class_name: Option<String>,
    #[serde(default)]
    pub read_only: Option<bool>,
    #[serde(default)]
    pub custom_pool_props: PropsConfig,
}
