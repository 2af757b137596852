//! A pool of [`MySqlConnection`]s per data source, on `deadpool::managed`,
//! with the same settings and recycle rules as the PostgreSQL pool
//! ([`crate::pool::PgPool`]): `max_pool_size` caps it, `connection_timeout`
//! bounds one acquire as a whole, `max_lifetime` and `idle_timeout` retire
//! sessions when they are handed out again (zero disables either), and
//! `min_pool_size` sessions are opened by [`MySqlPool::warm_up`].
//!
//! Recycling discards rather than repairs: a session is dropped when it is
//! broken, has an answer not read to its end, is inside a transaction
//! (SERVER_STATUS_IN_TRANS), is too old or was idle too long, or when a
//! non-blocking read shows the server closed it.

use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{self, Metrics, PoolError, RecycleError, RecycleResult};
use shardwire_rules::snapshot::DataSource;

use super::connection::MySqlConnection;
use crate::error::{BackendError, Result};
use crate::pool::PoolStatus;

/// Opens and vets sessions for one data source.
#[derive(Debug)]
pub struct MySqlManager {
    source: Arc<DataSource>,
}

impl managed::Manager for MySqlManager {
    type Type = MySqlConnection;
    type Error = BackendError;

    async fn create(&self) -> Result<MySqlConnection> {
        MySqlConnection::connect(&self.source).await
    }

    async fn recycle(
        &self,
        conn: &mut MySqlConnection,
        _: &Metrics,
    ) -> RecycleResult<BackendError> {
        let s = &self.source;
        if conn.is_broken() {
            return Err(RecycleError::message("connection is broken"));
        }
        if conn.has_pending_results() {
            return Err(RecycleError::message("a query was abandoned mid-result"));
        }
        if conn.in_transaction() {
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

/// A session on loan from a [`MySqlPool`]; it goes back when dropped.
pub type PooledMySqlConnection = managed::Object<MySqlManager>;

/// The connection pool of one MySQL data source.
#[derive(Debug, Clone)]
pub struct MySqlPool {
    inner: managed::Pool<MySqlManager>,
    source: Arc<DataSource>,
}

impl MySqlPool {
    /// Builds the pool; no session is opened until the first get.
    pub fn new(source: DataSource) -> Result<MySqlPool> {
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
        let inner = managed::Pool::builder(MySqlManager {
            source: Arc::clone(&source),
        })
        .max_size(max)
        .build()
        .map_err(|e| config_err(format!("cannot build pool: {e}")))?;
        Ok(MySqlPool { inner, source })
    }

    pub fn data_source(&self) -> &DataSource {
        &self.source
    }

    /// Lends a session, opening one if none is idle and the pool is not
    /// full; fails with [`BackendError::PoolTimeout`] after the data
    /// source's `connection_timeout` (zero: wait forever).
    pub async fn get(&self) -> Result<PooledMySqlConnection> {
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

    /// Opens sessions until `min_pool_size` (capped by `max_pool_size`)
    /// are idle in the pool.
    pub async fn warm_up(&self) -> Result<()> {
        let want = usize::try_from(self.source.min_pool_size)
            .unwrap_or(usize::MAX)
            .min(self.status().max_size);
        // Holding every session until all are open forces distinct ones.
        let held = futures::future::try_join_all((0..want).map(|_| self.get())).await?;
        drop(held);
        Ok(())
    }

    /// Takes a session and pings the server with it.
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

    /// Closes the pool: idle sessions are dropped, lent ones when returned.
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
