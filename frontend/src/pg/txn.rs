//! Transactions of one session over the shards it touches (LOCAL: each
//! shard commits on its own), and the backend connections a statement
//! runs on.
//!
//! BEGIN opens nothing on the backends: a shard joins the transaction the
//! first time a statement reaches it, with the client's own BEGIN text (so
//! isolation level and access mode carry over), and its connection is held
//! until COMMIT or ROLLBACK. Outside a transaction every statement takes
//! connections from the pools and gives them back when it is done.

use shardwire_backend::executor::{Job, Request};
use shardwire_backend::pool::PooledConnection;
use shardwire_protocol::pg::TransactionStatus;

use super::savepoint::JoinScript;
use super::session::Session;
use super::settings::Snapshot;
use super::state::{TxnEvent, TxnState};
use crate::core::txn::Held;
use crate::core::units::ConnectionSource;
use crate::error::StatementError;

#[derive(Debug)]
pub struct Txn {
    /// Moved only by `TxnState::transition` (`state.rs`).
    pub state: TxnState,
    /// BEGIN, SET LOCALs and live savepoints, for shards that join later.
    pub(super) script: JoinScript,
    pub(super) held: Held<PooledConnection>,
    /// A setting reached a connection inside this transaction, so a
    /// rollback takes it away again (see `end_transaction`).
    pub(super) settings_in_block: bool,
    /// The session's SETs when the transaction began, for a rollback.
    settings_before: Snapshot,
}

impl Default for Txn {
    fn default() -> Self {
        Txn {
            state: TxnState::Idle,
            script: JoinScript::default(),
            held: Held::default(),
            settings_in_block: false,
            settings_before: Snapshot::default(),
        }
    }
}

impl Txn {
    pub fn status(&self) -> TransactionStatus {
        self.state.status()
    }

    pub fn in_block(&self) -> bool {
        self.state.in_block()
    }

    /// PostgreSQL's refusal of every statement but COMMIT and ROLLBACK in
    /// a failed transaction.
    pub fn refuse_if_failed(&self) -> Result<(), StatementError> {
        if self.state.is_failed() {
            return Err(StatementError::refused(
                "25P02",
                "current transaction is aborted, commands ignored until end of transaction block",
            ));
        }
        Ok(())
    }
}

impl Session {
    /// `SET LOCAL`: inside a transaction, on every shard it has reached and
    /// on those it reaches later; outside one, PostgreSQL's warning.
    pub(super) async fn set_local(&mut self, statement: String) -> Result<(), StatementError> {
        if !self.txn.in_block() {
            return self
                .notice("SET LOCAL can only be used in transaction blocks")
                .await;
        }
        for (_, conn) in self.txn.held.iter_mut() {
            conn.simple_query(&statement).await?;
        }
        self.txn.script.push_local(statement);
        Ok(())
    }

    /// One job per connection for `units` (data source, request), at most
    /// `max-connections-size-per-query` connections per data source, and
    /// exactly one inside a transaction. Data sources are taken in name
    /// order so that two sessions never wait on each other's pools in a
    /// cycle.
    pub(super) async fn jobs(
        &mut self,
        units: Vec<(String, Request)>,
    ) -> Result<(Vec<Job>, Vec<String>), StatementError> {
        let limit = self.fe.snapshot.global.max_connections_size_per_query as usize;
        let shared = self.txn.in_block();
        crate::core::units::jobs(self, units, limit, shared).await
    }

    /// `BEGIN` / `START TRANSACTION`, kept to be replayed on each shard.
    pub(super) fn begin(&mut self, sql: &str) -> Option<&'static str> {
        if self.txn.state.implicit() {
            // BEGIN inside an implicit block makes it the client's own.
            self.txn.state.transition(TxnEvent::Adopt);
            return None;
        }
        if self.txn.in_block() {
            // PostgreSQL warns and carries on.
            return Some("there is already a transaction in progress");
        }
        self.txn.state.transition(TxnEvent::Begin);
        self.txn.script = JoinScript::new(sql);
        self.txn.settings_before = self.settings.snapshot();
        None
    }

    /// Opens an implicit transaction if none is open.
    pub(crate) fn begin_implicit(&mut self) {
        if !self.txn.state.in_block() {
            self.txn.state.transition(TxnEvent::BeginImplicit);
            self.txn.script = JoinScript::new("BEGIN");
            self.txn.settings_before = self.settings.snapshot();
        }
    }

    /// Ends an implicit transaction: commit if nothing failed, else roll
    /// back. A client's own transaction is left alone.
    pub(super) async fn end_implicit(&mut self) -> Option<StatementError> {
        if !self.txn.state.implicit() {
            return None;
        }
        let (_, error) = self.end_transaction(true).await;
        error
    }

    /// Ends the transaction on every shard it reached: COMMIT when it is
    /// open and `commit` is asked, ROLLBACK otherwise. Returns the command
    /// tag and the first error; every shard is told even after one fails.
    pub(super) async fn end_transaction(
        &mut self,
        commit: bool,
    ) -> (&'static str, Option<StatementError>) {
        // Portals end with their transaction; their connections first
        // come back to it.
        self.close_runs().await;
        let commit = commit && self.txn.state.is_open();
        let mut held = std::mem::take(&mut self.txn.held);
        self.txn.state.transition(TxnEvent::End);
        self.txn.script = JoinScript::default();
        let forget = std::mem::take(&mut self.txn.settings_in_block) && !commit;
        let before = std::mem::take(&mut self.txn.settings_before);
        if !commit {
            // PostgreSQL undoes a rolled-back transaction's SETs.
            self.rewind_settings(before);
        }
        let first_error = held
            .end(commit, |conn| {
                if forget {
                    // The rollback undid settings sent inside the block.
                    conn.forget_settings();
                }
            })
            .await
            .err();
        (if commit { "COMMIT" } else { "ROLLBACK" }, first_error)
    }

    /// Back to the SETs of `snapshot` (a rollback), reporting the changed
    /// values of reported settings as the server does at its next
    /// ReadyForQuery.
    pub(super) fn rewind_settings(&mut self, snapshot: Snapshot) {
        let before: Vec<Option<String>> = super::local::REPORTED
            .iter()
            .map(|k| self.settings.get(k).map(str::to_owned))
            .collect();
        self.settings.rewind(snapshot);
        for (key, was) in super::local::REPORTED.iter().zip(before) {
            let now = self.settings.get(key);
            if now != was.as_deref() {
                if let Some(now) = now.map(str::to_owned) {
                    self.reports.retain(|(name, _)| name != key);
                    self.reports.push(((*key).to_owned(), now));
                }
            }
        }
    }

    /// A statement failed: inside a transaction block, the block fails.
    pub(super) fn statement_failed(&mut self) {
        self.txn.state.transition(TxnEvent::Fail);
    }

    /// The client left: roll back what it left open, so no shard keeps
    /// its locks until the pool happens to look at the connection again.
    pub(super) async fn abandon_transaction(&mut self) {
        if self.txn.in_block() {
            let _ = self.end_transaction(false).await;
        }
    }
}

impl ConnectionSource for Session {
    type Conn = PooledConnection;

    /// A connection to `ds` for the next statement: the transaction's own,
    /// joining it to the transaction first if needed, or a pooled one;
    /// either way with the session's settings.
    async fn acquire(&mut self, ds: &str) -> Result<PooledConnection, StatementError> {
        self.park_runs_on(ds).await?;
        if self.txn.state.is_open() {
            if let Some((name, mut conn)) = self.txn.held.take(ds) {
                match conn.replay_settings(self.settings.replay(), None).await {
                    Ok(sent) => {
                        self.txn.settings_in_block |= sent;
                        return Ok(conn);
                    }
                    Err(e) => {
                        // Still the transaction's, for its rollback.
                        self.txn.held.put(name, conn);
                        return Err(e.into());
                    }
                }
            }
        }
        let cluster = self.cluster()?;
        let mut conn = cluster.pool(ds)?.get().await?;
        let begin = self.txn.state.is_open().then(|| self.txn.script.sql());
        let sent = conn
            .replay_settings(self.settings.replay(), begin.as_deref())
            .await?;
        // Settings sent with the BEGIN are inside the block that opens.
        self.txn.settings_in_block |= sent && begin.is_some();
        Ok(conn)
    }

    /// A second pooled connection to `ds` for one statement, if free now.
    /// Inside a transaction a statement has one connection per data source.
    async fn try_acquire(&mut self, ds: &str) -> Result<Option<PooledConnection>, StatementError> {
        if self.txn.in_block() {
            return Ok(None);
        }
        let Some(mut conn) = self.cluster()?.pool(ds)?.try_get().await? else {
            return Ok(None);
        };
        conn.replay_settings(self.settings.replay(), None).await?;
        Ok(Some(conn))
    }

    /// Gives a connection back after a statement: to the transaction, or
    /// to its pool.
    fn release(&mut self, ds: String, conn: PooledConnection) {
        if self.txn.in_block() {
            self.txn.held.put(ds, conn);
        }
    }

    fn running(&mut self, tokens: Vec<shardwire_backend::pg::CancelToken>) {
        self.cancel.set_running(tokens);
    }
}
