//! Proxy-wide settings: users and what they may use, props, listeners.

use serde::Serialize;

use crate::config::GlobalProps;

/// A user of `authority.users`.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub name: String,
    /// `%` matches any host.
    pub host: String,
    #[serde(skip)]
    pub password: String,
    pub admin: bool,
    /// Databases the user may use; `None` means all of them.
    pub databases: Option<Vec<String>>,
    /// The `type` of the user's authenticator (its own
    /// `authenticationMethodName`, else `defaultAuthenticator`), upper-cased,
    /// e.g. `MD5`; `None` for the protocol's default (SCRAM-SHA-256 for
    /// PostgreSQL clients).
    pub authenticator: Option<String>,
}

impl User {
    pub fn may_use(&self, database: &str) -> bool {
        match &self.databases {
            None => true,
            Some(list) => list.iter().any(|d| d == "*" || d == database),
        }
    }
}

/// The wire protocol of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ListenerProtocol {
    MySql,
    PostgreSql,
    OpenGauss,
}

#[derive(Debug, Clone, Serialize)]
pub struct Listener {
    pub protocol: ListenerProtocol,
    pub address: std::net::SocketAddr,
}

/// Everything from global.yaml, defaults applied.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GlobalSettings {
    /// `Standalone` or `Cluster`.
    pub mode: String,
    pub users: Vec<User>,
    pub listeners: Vec<Listener>,
    pub sql_show: bool,
    pub max_connections_size_per_query: u32,
    /// 0 means no limit.
    pub frontend_max_connections: u32,
    pub max_packet_size: u64,
    /// Bytes of unread shard answers one statement may hold in memory
    /// before they spill (`proxy-unit-buffer-bytes`).
    pub unit_buffer_bytes: u64,
    /// How long a client may take to log in, ms.
    pub login_timeout_ms: u64,
    pub fastpath_enabled: bool,
    pub mysql_server_version: String,
    pub mysql_local_infile_enabled: bool,
    /// PBKDF2 rounds of openGauss SHA256 login keys.
    pub opengauss_sha256_iterations: u32,
    pub transaction_type: String,
    #[serde(skip)]
    pub props: GlobalProps,
}

impl GlobalSettings {
    /// The users matching `name` whose host pattern admits `host`.
    pub fn find_user(&self, name: &str, host: &str) -> Option<&User> {
        self.users
            .iter()
            .filter(|u| u.name == name)
            .find(|u| u.host == "%" || u.host == host)
    }
}
