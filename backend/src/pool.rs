//! Connection pools per data source, on `deadpool::managed`: one generic
//! [`SessionPool`] over any [`PoolSession`], and its two instances,
//! [`PgPool`] (PostgreSQL) and [`crate::mysql::MySqlPool`] (MySQL).
//!
//! Settings come from the [`DataSource`]: `max_pool_size` caps the pool;
//! `connection_timeout` bounds one acquire as a whole (waiting for a slot
//! plus opening a session if one is needed); `max_lifetime` and
//! `idle_timeout` retire sessions when they are handed out again (zero
//! disables either, as in HikariCP). `min_pool_size` sessions are opened
//! by [`SessionPool::warm_up`] when the caller asks; the pool does not keep
//! that minimum afterwards (no background task), it opens sessions on
//! demand.
//!
//! Recycling discards rather than repairs. A session is dropped when it is
//! broken, still has answers in flight (a query handle dropped early), is
//! inside a transaction (we do not ROLLBACK and reuse, because the session
//! may also carry SET, temp tables or prepared statements from its last
//! user, and a new session is the only clean one), is too old or was idle
//! too long, or when a non-blocking read shows the server closed it.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{self, Metrics, PoolError, RecycleError, RecycleResult};
use shardwire_protocol::pg::TransactionStatus;
use shardwire_rules::snapshot::DataSource;

use crate::error::{BackendError, Result};
use crate::pg::PgConnection;

/// What a pool needs from a server session.
pub trait PoolSession: fmt::Debug + Send + Sync + Sized + 'static {
    /// Opens and logs in a session, bounded by the source's connection
    /// timeout.
    fn connect(source: &DataSource) -> impl Future<Output = Result<Self>> + Send;

    /// Why the session must not be lent again as it is (broken, answers
    /// in flight, inside a transaction), or `None` when it may.
    fn unfit_reason(&self) -> Option<&'static str>;

    /// How long ago the session was opened.
    fn age(&self) -> Duration;

    /// How long ago its last request finished.
    fn idle_for(&self) -> Duration;

    /// A check without waiting that the server has not closed the idle
    /// session; false marks it unusable.
    fn check_idle(&mut self) -> bool;

    /// A full round trip proving the session works.
    fn health_check(&mut self) -> impl Future<Output = Result<()>> + Send;
}

impl PoolSession for PgConnection {
    fn connect(source: &DataSource) -> impl Future<Output = Result<Self>> + Send {
        PgConnection::connect(source)
    }

    fn unfit_reason(&self) -> Option<&'static str> {
        if self.is_lent() {
            Some("socket lent to a passthrough session and not given back")
        } else if self.is_broken() {
            Some("connection is broken")
        } else if self.has_pending_results() {
            Some("a query was abandoned mid-result")
        } else if self.transaction_status() != TransactionStatus::Idle {
            Some("connection left inside a transaction")
        } else {
            None
        }
    }

    fn age(&self) -> Duration {
        PgConnection::age(self)
    }

    fn idle_for(&self) -> Duration {
        PgConnection::idle_for(self)
    }

    fn check_idle(&mut self) -> bool {
        PgConnection::check_idle(self)
    }

    fn health_check(&mut self) -> impl Future<Output = Result<()>> + Send {
        PgConnection::health_check(self)
    }
}

/// Opens and vets sessions of kind `S` for one data source.
pub struct SessionManager<S> {
    source: Arc<DataSource>,
    _session: PhantomData<fn() -> S>,
}

impl<S> fmt::Debug for SessionManager<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManager")
            .field("source", &self.source.name)
            .finish()
    }
}

impl<S: PoolSession> managed::Manager for SessionManager<S> {
    type Type = S;
    type Error = BackendError;

    async fn create(&self) -> Result<S> {
        S::connect(&self.source).await
    }

    async fn recycle(&self, conn: &mut S, _: &Metrics) -> RecycleResult<BackendError> {
        let s = &self.source;
        if let Some(reason) = conn.unfit_reason() {
            return Err(RecycleError::message(reason));
        }
        if !s.max_lifetime.is_zero() && conn.age() >= s.max_lifetime {
            return Err(RecycleError::message("connection reached max lifetime"));
        }
        if !s.idle_timeout.is_zero() && conn.idle_for() >= s.idle_timeout {
            return Err(RecycleError::message("connection was idle too long"));
        }
        if !conn.check_idle() {
            return Err(RecycleError::message("server closed the connection"));
        }
        Ok(())
    }
}

/// Opens and vets PostgreSQL sessions.
pub type PgManager = SessionManager<PgConnection>;

/// A PostgreSQL session on loan from a [`PgPool`]; it goes back when
/// dropped.
pub type PooledConnection = managed::Object<PgManager>;

/// The connection pool of one PostgreSQL data source.
pub type PgPool = SessionPool<PgConnection>;

/// Counts for monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub max_size: usize,
    /// Sessions open, idle or lent out.
    pub size: usize,
    /// Idle sessions ready to lend.
    pub available: usize,
    /// Callers waiting for a session.
    pub waiting: usize,
}

/// The connection pool of one data source, for sessions of kind `S`.
pub struct SessionPool<S: PoolSession> {
    inner: managed::Pool<SessionManager<S>>,
    source: Arc<DataSource>,
}

impl<S: PoolSession> Clone for SessionPool<S> {
    fn clone(&self) -> Self {
        SessionPool {
            inner: self.inner.clone(),
            source: Arc::clone(&self.source),
        }
    }
}

impl<S: PoolSession> fmt::Debug for SessionPool<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionPool")
            .field("source", &self.source.name)
            .field("status", &self.status())
            .finish()
    }
}

impl<S: PoolSession> SessionPool<S> {
    /// Builds the pool; no session is opened until the first `get`.
    pub fn new(source: DataSource) -> Result<Self> {
        let source = Arc::new(source);
        let config_err = |reason: String| BackendError::Config {
            name: source.name.clone(),
            reason,
        };
        let max = usize::try_from(source.max_pool_size)
            .map_err(|_| config_err("max_pool_size does not fit usize".into()))?;
        if max == 0 {
            return Err(config_err("max_pool_size must be at least 1".into()));
        }
        // No deadpool timeouts: they need a runtime feature and apply per
        // step; `get` bounds the whole acquire with one tokio timeout.
        let inner = managed::Pool::builder(SessionManager {
            source: Arc::clone(&source),
            _session: PhantomData,
        })
        .max_size(max)
        .build()
        .map_err(|e| config_err(format!("cannot build pool: {e}")))?;
        Ok(SessionPool { inner, source })
    }

    pub fn data_source(&self) -> &DataSource {
        &self.source
    }

    /// Lends a session, opening one if none is idle and the pool is not
    /// full. Fails with [`BackendError::PoolTimeout`] when none is ready
    /// within the data source's `connection_timeout` (zero: wait forever),
    /// and with the connect error when opening a session fails.
    pub async fn get(&self) -> Result<managed::Object<SessionManager<S>>> {
        self.lend(&managed::Timeouts::new())
            .await?
            .ok_or_else(|| self.timeout(self.source.connection_timeout))
    }

    /// Lends a session only if that needs no wait for another caller to
    /// give one back: an idle one, or a new one while the pool has room.
    /// A statement that already holds a session of this pool asks this way
    /// for more, so that statements each holding one and waiting for a
    /// second can never starve each other of the pool.
    pub async fn try_get(&self) -> Result<Option<managed::Object<SessionManager<S>>>> {
        let mut now = managed::Timeouts::new();
        // deadpool's "do not wait for a permit"; opening a session is still
        // awaited (within the connection timeout).
        now.wait = Some(Duration::ZERO);
        self.lend(&now).await
    }

    async fn lend(
        &self,
        timeouts: &managed::Timeouts,
    ) -> Result<Option<managed::Object<SessionManager<S>>>> {
        let limit = self.source.connection_timeout;
        let got = if limit.is_zero() {
            self.inner.timeout_get(timeouts).await
        } else {
            match tokio::time::timeout(limit, self.inner.timeout_get(timeouts)).await {
                Ok(got) => got,
                Err(_) => return Err(self.timeout(limit)),
            }
        };
        match got {
            Ok(conn) => Ok(Some(conn)),
            Err(PoolError::Timeout(_)) if timeouts.wait == Some(Duration::ZERO) => Ok(None),
            Err(e) => Err(match e {
                PoolError::Backend(e) => e,
                PoolError::Timeout(_) => self.timeout(limit),
                PoolError::Closed => BackendError::PoolClosed(self.source.name.clone()),
                PoolError::NoRuntimeSpecified => {
                    BackendError::Internal("deadpool timeouts configured without a runtime")
                }
                PoolError::PostCreateHook(_) => {
                    BackendError::Internal("no post-create hook is set")
                }
            }),
        }
    }

    /// Opens sessions until `min_pool_size` (capped by `max_pool_size`) are
    /// idle in the pool, so the first statements do not pay for logins.
    pub async fn warm_up(&self) -> Result<()> {
        let want = usize::try_from(self.source.min_pool_size)
            .unwrap_or(usize::MAX)
            .min(self.status().max_size);
        // Holding every session until all are open forces distinct ones;
        // taking them one by one would get the same session back each time.
        let held = futures::future::try_join_all((0..want).map(|_| self.get())).await?;
        drop(held);
        Ok(())
    }

    /// Takes a session and runs its health check (`SELECT 1`, COM_PING).
    pub async fn health_check(&self) -> Result<()> {
        let mut conn = self.get().await?;
        conn.health_check().await
    }

    pub fn status(&self) -> PoolStatus {
        let s = self.inner.status();
        PoolStatus {
            max_size: s.max_size,
            size: s.size,
            available: s.available,
            waiting: s.waiting,
        }
    }

    /// Closes the pool: idle sessions are dropped, lent ones when returned,
    /// and every later `get` fails with [`BackendError::PoolClosed`].
    pub fn close(&self) {
        self.inner.close();
    }

    fn timeout(&self, after: Duration) -> BackendError {
        BackendError::PoolTimeout {
            pool: self.source.name.clone(),
            after,
        }
    }
}
