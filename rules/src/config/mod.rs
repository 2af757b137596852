//! The serde model of ShardingSphere-Proxy's conf directory, field for field,
//! so that real ShardingSphere files load unchanged. Everything here is plain
//! data with `deny_unknown_fields`; meaning is given by `crate::load`, which
//! validates it into a [`crate::snapshot::RuleSnapshot`].
//!
//! # Layout
//! - `global`: `global.yaml` (authority, props, mode, listeners, ...).
//! - `database`: `database-*.yaml` (databaseName, dataSources, rules).
//! - `sharding`: the `!SHARDING` rule.
//! - `others`: `!BROADCAST`, `!SINGLE`, `!READWRITE_SPLITTING`.

pub mod database;
pub mod global;
pub mod others;
pub mod sharding;

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer};

pub use database::{DataSourceConfig, DatabaseConfig, RuleConfig};
pub use global::{
    AuthorityConfig, GlobalConfig, GlobalProps, ListenerConfig, ModeConfig, PrivilegeConfig,
    UserConfig,
};
pub use others::{
    BroadcastRuleConfig, ReadwriteGroupConfig, ReadwriteRuleConfig, SingleRuleConfig,
};
pub use sharding::{
    AlgorithmConfig, AutoTableRuleConfig, KeyGenerateStrategyConfig, ShardingRuleConfig,
    StrategyConfig, TableRuleConfig,
};

/// A YAML scalar kept as text (`props:` values, which ShardingSphere reads as
/// Java `Properties`: `sharding-count: 4` and `sharding-count: '4'` are one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = serde_yaml::Value::deserialize(d)?;
        match v {
            serde_yaml::Value::String(s) => Ok(Scalar(s)),
            serde_yaml::Value::Number(n) => Ok(Scalar(n.to_string())),
            serde_yaml::Value::Bool(b) => Ok(Scalar(b.to_string())),
            serde_yaml::Value::Null => Ok(Scalar(String::new())),
            other => Err(D::Error::custom(format!(
                "expected a scalar (text, number or boolean), found {}",
                describe(&other)
            ))),
        }
    }
}

fn describe(v: &serde_yaml::Value) -> &'static str {
    match v {
        serde_yaml::Value::Sequence(_) => "a sequence",
        serde_yaml::Value::Mapping(_) => "a mapping",
        serde_yaml::Value::Tagged(_) => "a tagged value",
        _ => "a scalar",
    }
}

/// A `props:` map.
pub type PropsConfig = IndexMap<String, Scalar>;

/// Deserializes a key that is present, whatever its value (`none:` with no
/// value in a strategy): serde only calls this when the key is there.
pub(crate) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d)?;
    Ok(true)
}
