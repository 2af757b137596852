//! `global.yaml` (`server.yaml` in ShardingSphere before 5.4).

use serde::Deserialize;

use super::{PropsConfig, Scalar};

/// The proxy-wide configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GlobalConfig {
    /// Default: Standalone.
    #[serde(default)]
    pub mode: Option<ModeConfig>,
    /// Default: no users, so no client can log in.
    #[serde(default)]
    pub authority: Option<AuthorityConfig>,
    /// Default: every prop at its default.
    #[serde(default)]
    pub props: GlobalProps,
    /// Shardwire extension: several listeners at once. Default: one listener
    /// of `proxy-frontend-database-protocol-type` on `proxy-default-port`.
    #[serde(default)]
    pub listeners: Vec<ListenerConfig>,
    /// Accepted for compatibility: `defaultType` LOCAL (default) or XA.
    #[serde(default)]
    pub transaction: Option<TransactionConfig>,
    /// Accepted for compatibility: the parse cache sizes.
    #[serde(default)]
    pub sql_parser: Option<SqlParserConfig>,
    /// ShardingSphere sections Shardwire accepts and does not use (yet).
    #[serde(default)]
    pub logging: Option<serde_yaml::Value>,
    #[serde(default)]
    pub sql_federation: Option<serde_yaml::Value>,
    #[serde(default)]
    pub sql_translator: Option<serde_yaml::Value>,
    #[serde(default)]
    pub traffic: Option<serde_yaml::Value>,
    #[serde(default)]
    pub global_clock: Option<serde_yaml::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModeConfig {
    /// `Standalone` (default) or `Cluster` (with etcd, later).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub repository: Option<RepositoryConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepositoryConfig {
    /// e.g. `JDBC` (standalone) or `etcd` (cluster).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub props: PropsConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorityConfig {
    /// Default: none.
    #[serde(default)]
    pub users: Vec<UserConfig>,
    /// Default: ALL_PERMITTED (every user may use every database).
    #[serde(default)]
    pub privilege: Option<PrivilegeConfig>,
    /// Accepted for compatibility (authenticator plugins).
    #[serde(default)]
    pub authenticators: Option<serde_yaml::Value>,
    #[serde(default)]
    pub default_authenticator: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserConfig {
    /// `name@host`; host `%` (the default when `@host` is left out) is any host.
    pub user: String,
    /// Default: empty.
    #[serde(default)]
    pub password: Option<Scalar>,
    /// Default: false. Admins may run DistSQL-style admin statements.
    #[serde(default)]
    pub admin: bool,
    /// Accepted for compatibility.
    #[serde(default)]
    pub authentication_method_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivilegeConfig {
    /// `ALL_PERMITTED` (default) or `DATABASE_PERMITTED`.
    #[serde(rename = "type")]
    pub kind: String,
    /// For DATABASE_PERMITTED: `user-database-mappings: root@%=sharding_db, app@%=*`.
    #[serde(default)]
    pub props: PropsConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransactionConfig {
    /// `LOCAL` (default) or `XA`.
    #[serde(default)]
    pub default_type: Option<String>,
    #[serde(default)]
    pub provider_type: Option<String>,
    #[serde(default)]
    pub props: PropsConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SqlParserConfig {
    #[serde(default)]
    pub sql_comment_parse_enabled: Option<bool>,
    #[serde(default)]
    pub sql_statement_cache: Option<CacheOption>,
    #[serde(default)]
    pub parse_tree_cache: Option<CacheOption>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CacheOption {
    #[serde(default)]
    pub initial_capacity: Option<u64>,
    #[serde(default)]
    pub maximum_size: Option<u64>,
    #[serde(default)]
    pub concurrency_level: Option<u64>,
}

/// Shardwire extension: one listening socket.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListenerConfig {
    /// `mysql`, `postgresql` or `opengauss`.
    pub protocol: String,
    /// `host:port`, e.g. `127.0.0.1:3307`.
    pub address: String,
}

/// `props:` of global.yaml. The keys are ShardingSphere's; those Shardwire
/// does not act on yet are accepted so real files keep loading, and say so.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GlobalProps {
    /// Log each logical and actual SQL. Default: false.
    #[serde(default)]
    pub sql_show: Option<bool>,
    /// With sql-show, log actual SQL only once per statement. Default: false.
    #[serde(default)]
    pub sql_simple: Option<bool>,
    /// Backend connections one statement may use per data source. Default: 1.
    #[serde(default)]
    pub max_connections_size_per_query: Option<u32>,
    /// Client connections the proxy accepts; 0 = no limit. Default: 10,000
    /// (ShardingSphere: 0), so a connection flood meets a clear error
    /// before it meets the file-descriptor limit.
    #[serde(default)]
    pub proxy_frontend_max_connections: Option<u32>,
    /// Port of the default listener. Default: 3307.
    #[serde(default)]
    pub proxy_default_port: Option<u16>,
    /// Protocol of the default listener: MySQL, PostgreSQL or openGauss.
    /// Default: MySQL.
    #[serde(default)]
    pub proxy_frontend_database_protocol_type: Option<String>,
    /// Accepted, no effect yet. Default: 0 (cores).
    #[serde(default)]
    pub kernel_executor_size: Option<u32>,
    #[serde(default)]
    pub check_table_metadata_enabled: Option<bool>,
    #[serde(default)]
    pub load_table_metadata_batch_size: Option<u32>,
    /// Flush the client socket after this many rows. Default: 128.
    #[serde(default)]
    pub proxy_frontend_flush_threshold: Option<u32>,
    #[serde(default)]
    pub proxy_hint_enabled: Option<bool>,
    /// Rows fetched per round trip from a backend. Default: -1 (driver's).
    #[serde(default)]
    pub proxy_backend_query_fetch_size: Option<i64>,
    #[serde(default)]
    pub proxy_frontend_executor_size: Option<u32>,
    #[serde(default)]
    pub proxy_backend_executor_suitable: Option<String>,
    #[serde(default)]
    pub proxy_netty_backlog: Option<u32>,
    #[serde(default)]
    pub proxy_instance_type: Option<String>,
    /// Whether the frontend offers TLS. Default: false.
    #[serde(default)]
    pub proxy_frontend_ssl_enabled: Option<bool>,
    #[serde(default)]
    pub proxy_frontend_ssl_version: Option<String>,
    #[serde(default)]
    pub proxy_frontend_ssl_cipher: Option<String>,
    /// Shardwire: PEM certificate chain for the frontend's TLS.
    #[serde(default)]
    pub proxy_frontend_ssl_cert: Option<String>,
    /// Shardwire: PEM private key for the frontend's TLS.
    #[serde(default)]
    pub proxy_frontend_ssl_key: Option<String>,
    /// Version string the MySQL frontend announces. Default: 5.7.22.
    #[serde(default)]
    pub proxy_mysql_default_version: Option<Scalar>,
    #[serde(default)]
    pub cdc_server_port: Option<u16>,
    #[serde(default)]
    pub sql_federation_type: Option<String>,
    #[serde(default)]
    pub system_log_level: Option<String>,
    #[serde(default)]
    pub agent_plugins_enabled: Option<bool>,
    #[serde(default)]
    pub check_duplicate_table_enabled: Option<bool>,
    #[serde(default)]
    pub proxy_meta_data_collector_enabled: Option<bool>,
    #[serde(default)]
    pub proxy_default_database_name: Option<String>,
    /// Shardwire: the eBPF splice for passthrough sessions. Default: true
    /// (used when the kernel allows it).
    #[serde(default)]
    pub proxy_fastpath_enabled: Option<bool>,
    /// Shardwire: bytes of shard answers one statement holds in memory
    /// while its units wait their turn on a shared connection (a
    /// transaction, max-connections-size-per-query); beyond it rows spill
    /// to a temporary file. Default: 64 MiB.
    #[serde(default)]
    pub proxy_unit_buffer_bytes: Option<u64>,
    /// Shardwire: how long a client may take to log in (TLS, startup,
    /// authentication), milliseconds; slower clients are dropped. Default:
    /// 10000.
    #[serde(default)]
    pub proxy_frontend_login_timeout_milliseconds: Option<u64>,
    /// Shardwire: largest frame a client may send, bytes. Default: 16 MiB.
    #[serde(default)]
    pub proxy_frontend_max_packet_size: Option<u64>,
    /// Shardwire: allow MySQL LOAD DATA LOCAL INFILE. Default: false.
    #[serde(default)]
    pub proxy_mysql_local_infile_enabled: Option<bool>,
    /// Shardwire: PBKDF2 rounds of the keys openGauss listeners check
    /// SHA256 logins against (sent to 3.51 clients as the iteration count),
    /// 1 to 10,000,000. Default: 10000, openGauss's own.
    #[serde(default)]
    pub opengauss_sha256_iterations: Option<u32>,
}
