//! global.yaml: users and privileges, props with defaults, listeners.

use std::net::SocketAddr;
use std::sync::Arc;

use indexmap::IndexMap;

use super::Ctx;
use crate::config::GlobalConfig;
use crate::error::{ConfigError, ConfigErrorKind};
use crate::snapshot::global::ListenerProtocol;
use crate::snapshot::{GlobalSettings, Listener, LogicalDatabase, User};

/// 64 MiB: see `proxy-unit-buffer-bytes`.
const DEFAULT_UNIT_BUFFER: u64 = 64 * 1024 * 1024;
const DEFAULT_MAX_PACKET: u64 = 16 * 1024 * 1024;

pub(super) fn build(
    ctx: &Ctx<'_>,
    cfg: GlobalConfig,
    databases: &IndexMap<String, Arc<LogicalDatabase>>,
) -> Result<GlobalSettings, ConfigError> {
    let mode = match cfg.mode.as_ref().map(|m| m.kind.as_str()) {
        None | Some("Standalone") => "Standalone",
        Some("Cluster") => "Cluster",
        Some(other) => {
            return Err(ctx.err(
                ConfigErrorKind::Syntax,
                "mode.type",
                format!("unknown mode `{other}`: expected Standalone or Cluster"),
            ))
        }
    };
    let users = users(ctx, &cfg, databases)?;
    let listeners = listeners(ctx, &cfg)?;
    let p = &cfg.props;
    let transaction_type = cfg
        .transaction
        .as_ref()
        .and_then(|t| t.default_type.clone())
        .unwrap_or_else(|| "LOCAL".into());
    if !matches!(transaction_type.as_str(), "LOCAL" | "XA" | "BASE") {
        return Err(ctx.err(
            ConfigErrorKind::Syntax,
            "transaction.defaultType",
            format!("unknown transaction type `{transaction_type}`: expected LOCAL or XA"),
        ));
    }
    let opengauss_sha256_iterations = p.opengauss_sha256_iterations.unwrap_or(10_000);
    if !(1..=10_000_000).contains(&opengauss_sha256_iterations) {
        return Err(ctx.err(
            ConfigErrorKind::Syntax,
            "props.opengauss-sha256-iterations",
            format!("{opengauss_sha256_iterations} is out of range: expected 1 to 10000000"),
        ));
    }
    Ok(GlobalSettings {
        mode: mode.to_owned(),
        users,
        listeners,
        sql_show: p.sql_show.unwrap_or(false),
        max_connections_size_per_query: p.max_connections_size_per_query.unwrap_or(1).max(1),
        frontend_max_connections: p.proxy_frontend_max_connections.unwrap_or(10_000),
        max_packet_size: p
            .proxy_frontend_max_packet_size
            .unwrap_or(DEFAULT_MAX_PACKET),
        fastpath_enabled: p.proxy_fastpath_enabled.unwrap_or(true),
        unit_buffer_bytes: p.proxy_unit_buffer_bytes.unwrap_or(DEFAULT_UNIT_BUFFER),
        login_timeout_ms: p
            .proxy_frontend_login_timeout_milliseconds
            .unwrap_or(10_000)
            .max(1),
        mysql_server_version: p
            .proxy_mysql_default_version
            .as_ref()
            .map(|v| v.0.clone())
            .unwrap_or_else(|| "5.7.22".into()),
        mysql_local_infile_enabled: p.proxy_mysql_local_infile_enabled.unwrap_or(false),
        opengauss_sha256_iterations,
        transaction_type,
        props: cfg.props.clone(),
    })
}

/// The `type` of authenticator `name` in `authority.authenticators`.
fn authenticator_type(
    ctx: &Ctx<'_>,
    auth: &crate::config::AuthorityConfig,
    name: &str,
    user: usize,
) -> Result<String, ConfigError> {
    let path = format!("authority.users[{user}].authenticationMethodName");
    let kind = auth
        .authenticators
        .as_ref()
        .and_then(|a| a.get(name))
        .and_then(|a| a.get("type"))
        .and_then(|t| t.as_str())
        .ok_or_else(|| {
            ctx.err(
                ConfigErrorKind::BadAuthority,
                path.clone(),
                format!("authenticator `{name}` is not defined (with a `type`) in authority.authenticators"),
            )
        })?;
    let kind = kind.to_ascii_uppercase();
    match kind.as_str() {
        "MD5" | "SCRAM_SHA256" | "SCRAM-SHA-256" | "NATIVE" | "MYSQL_NATIVE_PASSWORD" | "CACHING_SHA2_PASSWORD" => Ok(kind),
        other => Err(ctx.err(
            ConfigErrorKind::BadAuthority,
            path,
            format!("authenticator type `{other}` is not supported (MD5, SCRAM_SHA256, NATIVE, CACHING_SHA2_PASSWORD)"),
        )),
    }
}

fn users(
    ctx: &Ctx<'_>,
    cfg: &GlobalConfig,
    databases: &IndexMap<String, Arc<LogicalDatabase>>,
) -> Result<Vec<User>, ConfigError> {
    let Some(auth) = &cfg.authority else {
        return Ok(Vec::new());
    };
    let mut users: Vec<User> = Vec::with_capacity(auth.users.len());
    for (i, u) in auth.users.iter().enumerate() {
        let path = format!("authority.users[{i}].user");
        let (name, host) = split_user(&u.user);
        if name.is_empty() {
            return Err(ctx.err(ConfigErrorKind::BadAuthority, path, "empty user name"));
        }
        if users.iter().any(|x| x.name == name && x.host == host) {
            return Err(ctx.err(
                ConfigErrorKind::BadAuthority,
                path,
                format!("user `{name}@{host}` is defined twice"),
            ));
        }
        let authenticator = match u
            .authentication_method_name
            .as_ref()
            .or(auth.default_authenticator.as_ref())
        {
            None => None,
            Some(method) => Some(authenticator_type(ctx, auth, method, i)?),
        };
        users.push(User {
            name: name.to_owned(),
            host: host.to_owned(),
            password: u.password.as_ref().map(|p| p.0.clone()).unwrap_or_default(),
            admin: u.admin,
            databases: None,
            authenticator,
        });
    }
    let Some(privilege) = &auth.privilege else {
        return Ok(users);
    };
    match privilege.kind.as_str() {
        "ALL_PERMITTED" => Ok(users),
        "DATABASE_PERMITTED" => {
            let path = "authority.privilege.props.user-database-mappings";
            let mappings = privilege
                .props
                .get("user-database-mappings")
                .map(|s| s.0.as_str())
                .unwrap_or("");
            for u in &mut users {
                u.databases = Some(Vec::new());
            }
            for entry in mappings.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let Some((user, db)) = entry.split_once('=') else {
                    return Err(ctx.err(
                        ConfigErrorKind::BadAuthority,
                        path,
                        format!("`{entry}`: expected `user@host=database`"),
                    ));
                };
                let (name, host) = split_user(user.trim());
                let db = db.trim();
                if db != "*" && !databases.contains_key(db) {
                    return Err(ctx.err(
                        ConfigErrorKind::BadAuthority,
                        path,
                        format!("`{entry}`: no logical database `{db}` is defined"),
                    ));
                }
                let Some(u) = users.iter_mut().find(|u| u.name == name && u.host == host) else {
                    return Err(ctx.err(
                        ConfigErrorKind::BadAuthority,
                        path,
                        format!("`{entry}`: no user `{name}@{host}` in authority.users"),
                    ));
                };
                if let Some(list) = &mut u.databases {
                    list.push(db.to_owned());
                }
            }
            Ok(users)
        }
        other => Err(ctx.err(
            ConfigErrorKind::BadAuthority,
            "authority.privilege.type",
            format!(
                "unknown privilege type `{other}`: expected ALL_PERMITTED or DATABASE_PERMITTED"
            ),
        )),
    }
}

/// `name@host`, host `%` when left out.
fn split_user(s: &str) -> (&str, &str) {
    match s.rsplit_once('@') {
        Some((n, h)) if !h.is_empty() => (n, h),
        Some((n, _)) => (n, "%"),
        None => (s, "%"),
    }
}

fn protocol(name: &str) -> Option<ListenerProtocol> {
    match name.to_ascii_lowercase().as_str() {
        "mysql" | "mariadb" => Some(ListenerProtocol::MySql),
        "postgresql" | "postgres" => Some(ListenerProtocol::PostgreSql),
        "opengauss" => Some(ListenerProtocol::OpenGauss),
        _ => None,
    }
}

fn listeners(ctx: &Ctx<'_>, cfg: &GlobalConfig) -> Result<Vec<Listener>, ConfigError> {
    if cfg.listeners.is_empty() {
        let name = cfg
            .props
            .proxy_frontend_database_protocol_type
            .as_deref()
            .unwrap_or("MySQL");
        let protocol = protocol(name).ok_or_else(|| {
            ctx.err(
                ConfigErrorKind::BadListener,
                "props.proxy-frontend-database-protocol-type",
                format!("unknown protocol `{name}`: expected MySQL, PostgreSQL or openGauss"),
            )
        })?;
        let port = cfg.props.proxy_default_port.unwrap_or(3307);
        return Ok(vec![Listener {
            protocol,
            address: SocketAddr::from(([0, 0, 0, 0], port)),
        }]);
    }
    let mut out: Vec<Listener> = Vec::new();
    for (i, l) in cfg.listeners.iter().enumerate() {
        let protocol = protocol(&l.protocol).ok_or_else(|| {
            ctx.err(
                ConfigErrorKind::BadListener,
                format!("listeners[{i}].protocol"),
                format!(
                    "unknown protocol `{}`: expected mysql, postgresql or opengauss",
                    l.protocol
                ),
            )
        })?;
        let address: SocketAddr = l.address.parse().map_err(|_| {
            ctx.err(
                ConfigErrorKind::BadListener,
                format!("listeners[{i}].address"),
                format!("`{}` is not an address such as 127.0.0.1:3307", l.address),
            )
        })?;
        if out.iter().any(|o| o.address == address) {
            return Err(ctx.err(
                ConfigErrorKind::BadListener,
                format!("listeners[{i}].address"),
                format!("{address} is used by two listeners"),
            ));
        }
        out.push(Listener { protocol, address });
    }
    Ok(out)
}
