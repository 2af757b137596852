//! The sessions the proxy serves, for the admin plane: who is connected,
//! to which logical database, over which protocol, doing what, holding
//! which backend connections.
//!
//! Cost: the registry's map is locked only when a session logs in or ends.
//! Each session owns an [`Arc`] of its entry and updates it through a
//! mutex only it and a reader listing sessions ever take, so sessions
//! never contend with each other; the statement text is copied into a
//! buffer the entry keeps, so after the first statements an update
//! allocates nothing.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

/// Bytes of a statement's text the registry keeps; longer ones are cut at
/// a character boundary.
pub const STATEMENT_LIMIT: usize = 1024;

/// Backend connection names the registry lists per session; a transaction
/// over more data sources shows the first ones and the count of all.
const BACKEND_NAMES_LIMIT: usize = 64;

/// The wire protocol a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    PostgreSql,
    OpenGauss,
    MySql,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::PostgreSql => "postgresql",
            Protocol::OpenGauss => "opengauss",
            Protocol::MySql => "mysql",
        }
    }
}

/// What a session is doing, as the admin plane shows it (the names follow
/// PostgreSQL's `pg_stat_activity.state`). Each protocol adapter derives
/// it from its own session-state enum, in the one place that enum moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Waiting for the client, no transaction open.
    Idle,
    /// Running a statement (or, in PostgreSQL's extended protocol, a
    /// batch up to its Sync).
    Active,
    /// Waiting for the client inside a transaction.
    IdleInTransaction,
    /// Inside a transaction a statement failed; only its end is accepted
    /// (PostgreSQL).
    FailedTransaction,
    /// Spliced to one backend session (a passthrough database): the proxy
    /// no longer reads the client's statements.
    Passthrough,
}

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Idle => "idle",
            SessionState::Active => "active",
            SessionState::IdleInTransaction => "idle in transaction",
            SessionState::FailedTransaction => "idle in transaction (aborted)",
            SessionState::Passthrough => "passthrough",
        }
    }
}

/// One session as listed, copied out of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The PostgreSQL BackendKeyData pid, or the MySQL connection id.
    pub id: u32,
    pub protocol: Protocol,
    pub user: String,
    /// `None` for a MySQL session that has not chosen one.
    pub database: Option<String>,
    pub client: SocketAddr,
    pub started: SystemTime,
    pub state: SessionState,
    /// The statement running, or the last one when idle (as
    /// `pg_stat_activity.query`); at most [`STATEMENT_LIMIT`] bytes.
    /// Empty before the first.
    pub statement: String,
    /// Backend connections the session's transaction holds, by data
    /// source name (at most 64 names listed).
    pub backends: Vec<String>,
    /// How many backend connections the transaction holds.
    pub backend_count: usize,
}

/// Every live session; see [`SessionRegistry::register`].
#[derive(Debug, Default)]
pub struct SessionRegistry {
    next_key: AtomicU64,
    sessions: Mutex<HashMap<u64, Arc<Entry>>>,
}

#[derive(Debug)]
struct Entry {
    id: u32,
    protocol: Protocol,
    client: SocketAddr,
    started: SystemTime,
    live: Mutex<Live>,
}

#[derive(Debug)]
struct Live {
    user: String,
    database: Option<String>,
    state: SessionState,
    statement: String,
    backends: Vec<String>,
    backend_count: usize,
}

/// A session's entry. Dropping it removes the entry, so a session leaves
/// the list on every path that ends it (goodbye, vanished client,
/// protocol error, panic).
#[derive(Debug)]
pub struct SessionHandle {
    key: u64,
    entry: Arc<Entry>,
    registry: Arc<SessionRegistry>,
}

/// What [`SessionRegistry::register`] needs to know of a new session.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub id: u32,
    pub protocol: Protocol,
    pub user: &'a str,
    pub database: Option<&'a str>,
    pub client: SocketAddr,
    pub state: SessionState,
}

impl SessionRegistry {
    /// Adds a session that has just logged in.
    pub fn register(self: &Arc<Self>, new: NewSession<'_>) -> SessionHandle {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let entry = Arc::new(Entry {
            id: new.id,
            protocol: new.protocol,
            client: new.client,
            started: SystemTime::now(),
            live: Mutex::new(Live {
                user: new.user.to_owned(),
                database: new.database.map(str::to_owned),
                state: new.state,
                statement: String::new(),
                backends: Vec::new(),
                backend_count: 0,
            }),
        });
        self.lock().insert(key, Arc::clone(&entry));
        SessionHandle {
            key,
            entry,
            registry: Arc::clone(self),
        }
    }

    /// Every live session, oldest first.
    pub fn list(&self) -> Vec<SessionInfo> {
        // The map's lock is held only to copy the entries out, so logins
        // and logouts never wait on the sessions' own locks.
        let entries: Vec<Arc<Entry>> = self.lock().values().cloned().collect();
        let mut list: Vec<SessionInfo> = entries.iter().map(|e| e.info()).collect();
        list.sort_by(|a, b| a.started.cmp(&b.started).then(a.id.cmp(&b.id)));
        list
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Entry>>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Entry {
    fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn info(&self) -> SessionInfo {
        let live = self.live();
        SessionInfo {
            id: self.id,
            protocol: self.protocol,
            user: live.user.clone(),
            database: live.database.clone(),
            client: self.client,
            started: self.started,
            state: live.state,
            statement: live.statement.clone(),
            backends: live.backends.clone(),
            backend_count: live.backend_count,
        }
    }
}

impl SessionHandle {
    /// A statement starts: the session is active and shows its text.
    pub fn statement_started(&self, sql: &str) {
        let mut live = self.entry.live();
        live.state = SessionState::Active;
        live.statement.clear();
        live.statement
            .push_str(truncate(sql.trim(), STATEMENT_LIMIT));
    }

    /// The session waits for the client again, in `state`, its
    /// transaction holding connections to `backends` (data source names).
    pub fn waiting<'a>(
        &self,
        state: SessionState,
        backends: impl ExactSizeIterator<Item = &'a str> + Clone,
    ) {
        let mut live = self.entry.live();
        live.state = state;
        live.backend_count = backends.len();
        let listed = backends.take(BACKEND_NAMES_LIMIT);
        // Usually the same names as last time, or none: compare before
        // copying, so the common case allocates nothing.
        if !live.backends.iter().map(String::as_str).eq(listed.clone()) {
            live.backends.clear();
            live.backends.extend(listed.map(str::to_owned));
        }
    }

    /// The session chose another database (MySQL USE / COM_INIT_DB) or
    /// logged in again as another user (COM_CHANGE_USER).
    pub fn set_login(&self, user: &str, database: Option<&str>) {
        let mut live = self.entry.live();
        if live.user != user {
            live.user = user.to_owned();
        }
        if live.database.as_deref() != database {
            live.database = database.map(str::to_owned);
        }
    }

    pub fn id(&self) -> u32 {
        self.entry.id
    }

    /// The entry as listed now.
    pub fn info(&self) -> SessionInfo {
        self.entry.info()
    }
}

impl Drop for SessionHandle {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.key);
    }
}

/// `s` cut to at most `limit` bytes, at a character boundary.
pub fn truncate(s: &str, limit: usize) -> &str {
    if s.len() <= limit {
        return s;
    }
    let mut end = limit;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry_with_one() -> (Arc<SessionRegistry>, SessionHandle) {
        let registry = Arc::new(SessionRegistry::default());
        let handle = registry.register(NewSession {
            id: 7,
            protocol: Protocol::PostgreSql,
            user: "app",
            database: Some("sharding_db"),
            client: "127.0.0.1:5000".parse().unwrap(),
            state: SessionState::Idle,
        });
        (registry, handle)
    }

    #[test]
    fn truncation_keeps_short_text_and_cuts_long_text_at_a_char_boundary() {
        assert_eq!(truncate("select 1", 1024), "select 1");
        assert_eq!(truncate("abcdef", 3), "abc");
        // 'é' is two bytes: a cut in its middle moves back before it.
        assert_eq!(truncate("aé", 2), "a");
        assert_eq!(truncate("aé", 3), "aé");
        // Four-byte characters: every cut inside one drops it whole.
        let crabs = "🦀🦀";
        for limit in 4..8 {
            assert_eq!(truncate(crabs, limit), "🦀");
        }
        assert_eq!(truncate(crabs, 3), "");
        assert_eq!(truncate("", 0), "");
    }

    #[test]
    fn statements_are_kept_bounded() {
        let (_registry, handle) = registry_with_one();
        let long = format!("select '{}'", "ü".repeat(2000));
        handle.statement_started(&long);
        let info = handle.info();
        assert!(info.statement.len() <= STATEMENT_LIMIT);
        assert!(info.statement.len() > STATEMENT_LIMIT - 2);
        assert!(long.starts_with(&info.statement));
        assert_eq!(info.state, SessionState::Active);
    }

    #[test]
    fn waiting_lists_backends_and_state() {
        let (registry, handle) = registry_with_one();
        handle.statement_started("update t set a = 1");
        handle.waiting(
            SessionState::IdleInTransaction,
            ["ds_0", "ds_1"].into_iter(),
        );
        let listed = registry.list();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].state, SessionState::IdleInTransaction);
        assert_eq!(listed[0].backends, vec!["ds_0", "ds_1"]);
        assert_eq!(listed[0].backend_count, 2);
        assert_eq!(listed[0].statement, "update t set a = 1");
        let many: Vec<String> = (0..100).map(|i| format!("ds_{i}")).collect();
        handle.waiting(
            SessionState::IdleInTransaction,
            many.iter().map(String::as_str),
        );
        let info = handle.info();
        assert_eq!(info.backend_count, 100);
        assert_eq!(info.backends.len(), BACKEND_NAMES_LIMIT);
        handle.waiting(SessionState::Idle, std::iter::empty());
        assert!(handle.info().backends.is_empty());
    }

    #[test]
    fn dropping_the_handle_removes_the_entry() {
        let (registry, handle) = registry_with_one();
        let second = registry.register(NewSession {
            id: 8,
            protocol: Protocol::MySql,
            user: "app",
            database: None,
            client: "127.0.0.1:5001".parse().unwrap(),
            state: SessionState::Idle,
        });
        assert_eq!(registry.len(), 2);
        second.set_login("other", Some("db"));
        assert_eq!(second.info().user, "other");
        assert_eq!(second.info().database.as_deref(), Some("db"));
        drop(handle);
        let listed = registry.list();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, 8);
        drop(second);
        assert!(registry.is_empty());
    }
}
