//! Transactions of one MySQL session over the shards it touches (LOCAL:
//! each shard commits on its own), and the backend connections a
//! statement runs on.
//!
//! As in the PostgreSQL frontend, BEGIN opens nothing on the backends: a
//! shard joins the transaction the first time a statement reaches it, with
//! the client's own BEGIN text, and its connection is held until COMMIT or
//! ROLLBACK. With autocommit off every statement is inside a transaction:
//! one starts implicitly at the first statement after the last end, as in
//! MySQL. Unlike PostgreSQL, a failed statement does not doom the
//! transaction.

use shardwire_backend::executor::Job;
use shardwire_backend::mysql::{MySqlRequest, PooledMySqlConnection, Replayed};

use super::session::Session;
use super::state::{Scope, TxnEvent, TxnState};
use crate::core::txn::Held;
use crate::core::units::ConnectionSource;
use crate::error::StatementError;

#[derive(Debug, Default)]
pub struct Txn {
    /// Moved only by `TxnState::transition` (`state.rs`).
    pub state: TxnState,
    held: Held<PooledMySqlConnection>,
    /// Whether the statement running may open a transaction.
    scope: Scope,
}

impl Txn {
    /// The data sources whose connections the transaction holds.
    pub fn held_sources(&self) -> impl ExactSizeIterator<Item = &str> + Clone {
        self.held.sources()
    }

    /// Gives the transaction's connections the session's variables.
    pub async fn replay_on_held(&mut self, settings: &[Replayed]) -> Result<(), StatementError> {
        for (_, conn) in self.held.iter_mut() {
            conn.replay_settings(settings).await?;
        }
        Ok(())
    }
}

impl Session {
    /// One job per connection for `units`, at most
    /// `max-connections-size-per-query` connections per data source, and
    /// exactly one inside a transaction; data sources in name order so two
    /// sessions never wait on each other's pools in a cycle.
    pub(super) async fn jobs(
        &mut self,
        units: Vec<(String, MySqlRequest)>,
    ) -> Result<(Vec<Job<PooledMySqlConnection>>, Vec<String>), StatementError> {
        let limit = self.fe.snapshot.global.max_connections_size_per_query as usize;
        let shared = self.txn.state.is_open() || !self.autocommit;
        crate::core::units::jobs(self, units, limit, shared).await
    }

    /// Before a statement that commits implicitly: what the transaction
    /// holds is committed, and the statement runs outside any transaction
    /// until [`Session::statement_done`].
    pub(super) async fn commit_implicitly(&mut self) -> Result<(), StatementError> {
        if self.txn.state.is_open() || !self.txn.held.is_empty() {
            self.end_transaction(true).await?;
        }
        self.txn.scope = Scope::Outside;
        Ok(())
    }

    /// Before a statement that reads only the dictionary: it joins an open
    /// transaction but starts none.
    pub(super) fn start_no_transaction(&mut self) {
        self.txn.scope = Scope::Outside;
    }

    /// Whether no transaction is open or wanted: autocommit on, nothing
    /// open, and the statement is not one that commits implicitly.
    pub(super) fn txn_is_idle(&self) -> bool {
        self.autocommit && !self.txn.state.is_open() && self.txn.scope == Scope::Transactional
    }

    /// Opens the proxy's own transaction around one write; it ends with
    /// [`Session::end_transaction`].
    pub(super) fn open_implicit_transaction(&mut self) {
        self.txn.state.transition(TxnEvent::ProxyBegin);
    }

    /// Whether the client sees a transaction open (SERVER_STATUS_IN_TRANS).
    pub(super) fn client_in_transaction(&self) -> bool {
        self.txn.state.client_sees()
    }

    /// After every statement, whatever its outcome.
    pub(super) fn statement_done(&mut self) {
        self.txn.scope = Scope::Transactional;
    }

    /// BEGIN / START TRANSACTION: MySQL commits an open transaction first.
    pub(super) async fn begin(&mut self, sql: &str) -> Result<(), StatementError> {
        if self.txn.state.is_open() {
            self.end_transaction(true).await?;
        }
        self.txn.state.transition(TxnEvent::Begin(sql.to_owned()));
        Ok(())
    }

    /// COMMIT or ROLLBACK on every shard the transaction reached; every
    /// shard is told even after one fails, and the first error is returned.
    pub(super) async fn end_transaction(&mut self, commit: bool) -> Result<(), StatementError> {
        let mut held = std::mem::take(&mut self.txn.held);
        self.txn.state.transition(TxnEvent::End);
        held.end(commit, |_| {}).await
    }

    /// The client left or the session was reset: roll back what is open,
    /// so no shard keeps its locks.
    pub(super) async fn abandon_transaction(&mut self) {
        if self.txn.state.is_open() || !self.txn.held.is_empty() {
            let _ = self.end_transaction(false).await;
        }
    }
}

impl ConnectionSource for Session {
    type Conn = PooledMySqlConnection;

    /// A connection to `ds` for the next statement: the transaction's own,
    /// joining it first if needed, or a pooled one.
    async fn acquire(&mut self, ds: &str) -> Result<PooledMySqlConnection, StatementError> {
        if !self.autocommit && self.txn.scope == Scope::Transactional {
            self.txn.state.transition(TxnEvent::AutoBegin);
        }
        if self.txn.state.is_open() {
            if let Some((_, conn)) = self.txn.held.take(ds) {
                return Ok(conn);
            }
        }
        let mut conn = self.cluster()?.pool(ds)?.get().await?;
        conn.replay_settings(&self.settings).await?;
        if self.txn.state.is_open() {
            conn.simple_query(self.txn.state.begin_sql()).await?;
        }
        Ok(conn)
    }

    /// A second pooled connection to `ds` for one statement, if free now.
    /// Inside a transaction a statement has one connection per data source.
    async fn try_acquire(
        &mut self,
        ds: &str,
    ) -> Result<Option<PooledMySqlConnection>, StatementError> {
        if self.txn.state.is_open() || !self.autocommit {
            return Ok(None);
        }
        let Some(mut conn) = self.cluster()?.pool(ds)?.try_get().await? else {
            return Ok(None);
        };
        conn.replay_settings(&self.settings).await?;
        Ok(Some(conn))
    }

    /// Gives a connection back after a statement: to the transaction, or
    /// to its pool.
    fn release(&mut self, ds: String, conn: PooledMySqlConnection) {
        if self.txn.state.is_open() {
            self.txn.held.put(ds, conn);
        }
    }
}
