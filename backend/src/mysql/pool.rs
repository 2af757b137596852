//! [`MySqlPool`]: the generic [`SessionPool`] over [`MySqlConnection`],
//! with the same settings and recycle rules as the PostgreSQL pool (see
//! [`crate::pool`]). "In a transaction" is SERVER_STATUS_IN_TRANS of the
//! last OK or EOF; the health check is COM_PING.

use std::future::Future;
use std::time::Duration;

use deadpool::managed;
use shardwire_rules::snapshot::DataSource;

use super::connection::MySqlConnection;
use crate::error::Result;
use crate::pool::{PoolSession, SessionManager, SessionPool};

impl PoolSession for MySqlConnection {
    fn connect(source: &DataSource) -> impl Future<Output = Result<Self>> + Send {
        MySqlConnection::connect(source)
    }

    fn unfit_reason(&self) -> Option<&'static str> {
        if self.is_lent() {
            Some("socket lent to a passthrough session and not given back")
        } else if self.is_broken() {
            Some("connection is broken")
        } else if self.has_pending_results() {
            Some("a query was abandoned mid-result")
        } else if self.in_transaction() {
            Some("connection left inside a transaction")
        } else {
            None
        }
    }

    fn age(&self) -> Duration {
        MySqlConnection::age(self)
    }

    fn idle_for(&self) -> Duration {
        MySqlConnection::idle_for(self)
    }

    fn check_idle(&mut self) -> bool {
        MySqlConnection::check_idle(self)
    }

    fn health_check(&mut self) -> impl Future<Output = Result<()>> + Send {
        MySqlConnection::health_check(self)
    }
}

/// Opens and vets MySQL sessions.
pub type MySqlManager = SessionManager<MySqlConnection>;

/// A MySQL session on loan from a [`MySqlPool`]; it goes back when dropped.
pub type PooledMySqlConnection = managed::Object<MySqlManager>;

/// The connection pool of one MySQL data source.
pub type MySqlPool = SessionPool<MySqlConnection>;
