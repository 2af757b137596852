//! A pool of [`PgConnection`]s per data source, on `deadpool::managed`.
//!
//! Settings come from the [`DataSource`]: `max_pool_size` caps the pool;
//! `connection_timeout` bounds one acquire as a whole (waiting for a slot
//! plus opening a session if one is needed); `max_lifetime` and
//! `idle_timeout` retire sessions when they are handed out again (zero
//! disables either, as in HikariCP). `min_pool_size` sessions are opened
//! by [`PgPool::warm_up`] when the caller asks; the pool does not keep that
//! minimum afterwards (no background task), it opens sessions on demand.
//!
//! Recycling discards rather than repairs. A session is dropped when it is
//! broken, still has answers in flight (a [`crate::pg::Query`] dropped
//! early), is not idle (left in a transaction block, failed or not: we do
//! not ROLLBACK and reuse, because the session may also carry SET, temp
//! tables or prepared statements from its last user, and a new session is
//! the only clean one), is too old or was idle too long, or when a
//! non-blocking read shows the server closed it.

use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{self, Metrics, PoolError, RecycleError, RecycleResult};
use shardwire_rules::snapshot::DataSource;

use crate::error::{BackendError, Result};
use crate::pg::PgConnection;
use shardwire_protocol::pg::TransactionStatus;

/// Opens and vets sessions for one data source.
#[derive(Debug)]
pub struct PgManager {
    source: Arc<DataSource>,
}

impl managed::Manager for PgManager {
    type Type = PgConnection;
    type Error = BackendError;

    async fn create(&self) -> Result<PgConnection> {
        PgConnection::connect(&self.source).await
    }

    async fn recycle(&self, conn: &mut PgConnection, _: &Metrics) -> RecycleResult<BackendError> {
        let s = &self.source;
        if conn.is_broken() {
            return Err(RecycleError::message("connection is broken"));
        }
        if conn.has_pending_results() {
            return Err(RecycleError::message("a query was abandoned mid-result"));
        }
        if conn.transaction_status() != TransactionStatus::Idle {
            return Err(RecycleError::message(
                "connection left inside a transaction",
            ));
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

/// A session on loan from a [`PgPool`]; it goes back when dropped.
pub type PooledConnection = managed::Object<PgManager>;

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

/// The connection pool of one PostgreSQL data source.
#[derive(Debug, Clone)]
pub struct PgPool {
    inner: managed::Pool<PgManager>,
    source: Arc<DataSource>,
}

impl PgPool {
    /// Builds the pool; no session is opened until the first [`PgPool::get`].
    pub fn new(source: DataSource) -> Result<PgPool> {
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
        let inner = managed::Pool::builder(PgManager {
            source: Arc::clone(&source),
        })
        .max_size(max)
        .build()
        .map_err(|e| config_err(format!("cannot build pool: {e}")))?;
        Ok(PgPool { inner, source })
    }

    pub fn data_source(&self) -> &DataSource {
        &self.source
    }

    /// Lends a session, opening one if none is idle and the pool is not
    /// full. Fails with [`BackendError::PoolTimeout`] when none is ready
    /// within the data source's `connection_timeout` (zero: wait forever),
    /// and with the connect error when opening a session fails.
    pub async fn get(&self) -> Result<PooledConnection> {
        let limit = self.source.connection_timeout;
        let got = if limit.is_zero() {
            self.inner.get().await
        } else {
            match tokio::time::timeout(limit, self.inner.get()).await {
                Ok(got) => got,
                Err(_) => return Err(self.timeout(limit)),
            }
        };
        got.map_err(|e| match e {
            PoolError::Backend(e) => e,
            PoolError::Timeout(_) => self.timeout(limit),
            PoolError::Closed => BackendError::PoolClosed(self.source.name.clone()),
            PoolError::NoRuntimeSpecified => {
                BackendError::Internal("deadpool timeouts configured without a runtime")
            }
            PoolError::PostCreateHook(_) => BackendError::Internal("no post-create hook is set"),
        })
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

    /// Takes a session and runs `SELECT 1` on it.
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
