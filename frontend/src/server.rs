//! The proxy's front door: the listeners, the connection limit, and what
//! every session shares (rules, pools, parse cache, cancel keys, TLS).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use shardwire_backend::cluster::{MySqlCluster, PgCluster};
use shardwire_backend::spill_queue::Budget;
use shardwire_kernel::ParseCache;
use shardwire_protocol::auth::scram::ScramVerifier;
use shardwire_rules::snapshot::{
    DatabaseProtocol, ListenerProtocol, LogicalDatabase, RuleSnapshot,
};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::cancel::CancelRegistry;
use crate::core::registry::{SessionInfo, SessionRegistry};

/// Statements kept parsed, per proxy.
const PARSE_CACHE_SIZE: usize = 4096;

/// PBKDF2 rounds for the SCRAM verifiers of the proxy's own users; the
/// same as PostgreSQL's default.
const SCRAM_ITERATIONS: u32 = 4096;

/// A logical database as the sessions see it: its rules and its pools.
#[derive(Debug)]
pub struct Database {
    pub rules: Arc<LogicalDatabase>,
    /// `None` when its data sources are not PostgreSQL: PostgreSQL clients
    /// are told so at login.
    pub pg: Option<PgCluster>,
    /// `None` when its data sources are not MySQL: MySQL clients are told
    /// so when they choose it.
    pub mysql: Option<MySqlCluster>,
    /// The first data source's server parameters, read at the first login.
    pub server_params: std::sync::OnceLock<Arc<HashMap<String, String>>>,
    /// How MySQL clients' handshake collations are set on its backend
    /// sessions (passthrough).
    pub mysql_charset: crate::mysql::charset::CharsetNames,
    /// Its tables' columns, loaded when first needed.
    pub metadata: crate::metadata::MetadataCache,
}

/// Everything sessions share.
pub struct Frontend {
    pub snapshot: Arc<RuleSnapshot>,
    pub databases: HashMap<String, Arc<Database>>,
    pub tls: Option<TlsAcceptor>,
    pub cancels: Arc<CancelRegistry>,
    /// Every live session, for the admin plane ([`Frontend::sessions`]).
    pub registry: Arc<SessionRegistry>,
    pub parse_cache: ParseCache,
    /// SCRAM verifiers of the authority's users, by name, computed once:
    /// PBKDF2 per login would cost milliseconds of CPU each.
    pub scram: HashMap<String, ScramVerifier>,
    /// openGauss SHA256 keys of the same users, likewise computed once.
    pub opengauss_keys: crate::opengauss::auth::KeyStore,
    pub max_message_len: usize,
    /// How long a client may take to log in
    /// (`proxy-frontend-login-timeout-milliseconds`).
    pub login_timeout: std::time::Duration,
    /// Splices passthrough sessions: in the kernel where it can, else in
    /// user space. Detected once per process.
    pub fastpath: Arc<shardwire_fastpath::FastPath>,
    connections: Arc<Semaphore>,
}

impl std::fmt::Debug for Frontend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frontend")
            .field("databases", &self.databases.keys().collect::<Vec<_>>())
            .field("tls", &self.tls.is_some())
            .field("max_message_len", &self.max_message_len)
            .finish_non_exhaustive()
    }
}

impl Frontend {
    /// The memory one statement's units may hold while they wait their
    /// turn on a shared connection (`proxy-unit-buffer-bytes`).
    pub fn unit_budget(&self) -> Arc<Budget> {
        Budget::new(usize::try_from(self.snapshot.global.unit_buffer_bytes).unwrap_or(usize::MAX))
    }

    /// Builds the shared state. Touches no backend: pools connect on demand.
    /// Relative certificate paths are taken from `config_dir`.
    pub fn new(snapshot: Arc<RuleSnapshot>, config_dir: &Path) -> Result<Arc<Frontend>, String> {
        let mut databases = HashMap::new();
        for (name, rules) in &snapshot.databases {
            let all_pg = rules.data_sources.values().all(|ds| {
                matches!(
                    ds.protocol,
                    DatabaseProtocol::PostgreSql | DatabaseProtocol::OpenGauss
                )
            });
            let pg = if all_pg {
                Some(PgCluster::new(rules).map_err(|e| format!("database {name}: {e}"))?)
            } else {
                None
            };
            let all_mysql = rules
                .data_sources
                .values()
                .all(|ds| matches!(ds.protocol, DatabaseProtocol::MySql));
            let mysql = if all_mysql {
                Some(MySqlCluster::new(rules).map_err(|e| format!("database {name}: {e}"))?)
            } else {
                None
            };
            databases.insert(
                name.clone(),
                Arc::new(Database {
                    rules: Arc::clone(rules),
                    pg,
                    mysql,
                    server_params: std::sync::OnceLock::new(),
                    mysql_charset: Default::default(),
                    metadata: Default::default(),
                }),
            );
        }
        let props = &snapshot.global.props;
        let tls = match (
            &props.proxy_frontend_ssl_cert,
            &props.proxy_frontend_ssl_key,
        ) {
            (Some(cert), Some(key)) if props.proxy_frontend_ssl_enabled != Some(false) => {
                let path = |p: &str| -> PathBuf {
                    let p = Path::new(p);
                    if p.is_absolute() {
                        p.to_path_buf()
                    } else {
                        config_dir.join(p)
                    }
                };
                Some(
                    crate::tls::load_acceptor(&path(cert), &path(key))
                        .map_err(|e| format!("frontend TLS: {e}"))?,
                )
            }
            (None, None) if props.proxy_frontend_ssl_enabled == Some(true) => {
                return Err(
                    "proxy-frontend-ssl-enabled is true but proxy-frontend-ssl-cert \
                            and proxy-frontend-ssl-key are not set"
                        .into(),
                );
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(
                    "proxy-frontend-ssl-cert and proxy-frontend-ssl-key must be set \
                            together"
                        .into(),
                );
            }
            _ => None,
        };
        let mut scram = HashMap::new();
        for user in &snapshot.global.users {
            let verifier = ScramVerifier::new_random(&user.password, SCRAM_ITERATIONS)
                .map_err(|e| format!("user {}: {e}", user.name))?;
            scram.insert(user.name.clone(), verifier);
        }
        let opengauss_keys = crate::opengauss::auth::KeyStore::build(&snapshot)?;
        let max_connections = match snapshot.global.frontend_max_connections {
            0 => Semaphore::MAX_PERMITS,
            n => n as usize,
        };
        let max_message_len = usize::try_from(snapshot.global.max_packet_size)
            .unwrap_or(usize::MAX)
            .max(1024);
        let snapshot_fastpath_enabled = snapshot.global.fastpath_enabled;
        let login_timeout = std::time::Duration::from_millis(snapshot.global.login_timeout_ms);
        Ok(Arc::new(Frontend {
            snapshot,
            databases,
            tls,
            cancels: Arc::default(),
            registry: Arc::default(),
            parse_cache: ParseCache::new(PARSE_CACHE_SIZE),
            scram,
            opengauss_keys,
            max_message_len,
            login_timeout,
            fastpath: Arc::new(shardwire_fastpath::FastPath::detect(
                !snapshot_fastpath_enabled,
            )),
            connections: Arc::new(Semaphore::new(max_connections)),
        }))
    }

    /// The sessions served now, oldest first: routed and passthrough, of
    /// every protocol.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.registry.list()
    }

    /// Binds every listener of the rules. Binding first and serving after
    /// lets the caller report a taken port before anything runs.
    pub async fn bind(&self) -> std::io::Result<Vec<(ListenerProtocol, TcpListener)>> {
        let mut bound = Vec::new();
        for listener in &self.snapshot.global.listeners {
            let socket = TcpListener::bind(listener.address).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("binding {}: {e}", listener.address))
            })?;
            bound.push((listener.protocol, socket));
        }
        Ok(bound)
    }

    /// Accepts connections on `listeners` until the task is dropped.
    pub async fn serve(self: Arc<Self>, listeners: Vec<(ListenerProtocol, TcpListener)>) {
        let mut tasks = Vec::new();
        for (protocol, listener) in listeners {
            let me = Arc::clone(&self);
            tasks.push(tokio::spawn(me.accept_loop(protocol, listener)));
        }
        for task in tasks {
            let _ = task.await;
        }
    }

    async fn accept_loop(self: Arc<Self>, protocol: ListenerProtocol, listener: TcpListener) {
        let local = listener.local_addr().ok();
        tracing::info!(?protocol, address = ?local, "listening");
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let permit = Arc::clone(&self.connections).try_acquire_owned().ok();
            let me = Arc::clone(&self);
            tokio::spawn(async move {
                me.session(protocol, stream, peer, permit.is_some()).await;
                drop(permit);
            });
        }
    }

    async fn session(
        self: Arc<Self>,
        protocol: ListenerProtocol,
        stream: tokio::net::TcpStream,
        peer: SocketAddr,
        admitted: bool,
    ) {
        // Each protocol's session is boxed on its own: the task of a
        // PostgreSQL session is then the size of PostgreSQL's future, not
        // of the larger of the two.
        match protocol {
            ListenerProtocol::PostgreSql | ListenerProtocol::OpenGauss => {
                Box::pin(crate::pg::run(self, stream, peer, admitted, protocol)).await
            }
            ListenerProtocol::MySql => {
                Box::pin(crate::mysql::run(self, stream, peer, admitted)).await
            }
        }
    }
}
