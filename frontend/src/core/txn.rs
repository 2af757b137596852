//! A transaction's backend connections, the same for both protocols
//! (LOCAL transactions: each shard commits on its own; XA will plug in
//! at [`Held::end`]).
//!
//! BEGIN opens nothing on the backends: a shard joins the transaction the
//! first time a statement reaches it, and its connection is held here
//! until the transaction ends. Each adapter decides how a connection
//! joins (PostgreSQL replays its join script, MySQL its BEGIN text) and
//! what the transaction's state is; the bookkeeping of what is held, and
//! ending it on every shard, is written once.

use std::future::Future;

use shardwire_backend::mysql::PooledMySqlConnection;
use shardwire_backend::pool::PooledConnection;
use shardwire_backend::BackendError;

use crate::error::StatementError;

/// A backend connection a transaction can be ended on.
pub trait TxnConnection: Send {
    /// Runs one transaction-control statement (COMMIT, ROLLBACK,
    /// SAVEPOINT, ...), its answer discarded.
    fn control(&mut self, sql: &str) -> impl Future<Output = Result<(), BackendError>> + Send;
}

impl TxnConnection for PooledConnection {
    async fn control(&mut self, sql: &str) -> Result<(), BackendError> {
        self.simple_query(sql).await.map(drop)
    }
}

impl TxnConnection for PooledMySqlConnection {
    async fn control(&mut self, sql: &str) -> Result<(), BackendError> {
        self.simple_query(sql).await.map(drop)
    }
}

/// The connections a transaction holds: at most one per data source, in
/// the order the data sources joined.
#[derive(Debug)]
pub struct Held<C> {
    conns: Vec<(String, C)>,
}

impl<C> Default for Held<C> {
    fn default() -> Self {
        Held { conns: Vec::new() }
    }
}

impl<C: TxnConnection> Held<C> {
    /// Takes the connection to `ds` out for a statement; it comes back
    /// with [`Held::put`].
    pub fn take(&mut self, ds: &str) -> Option<(String, C)> {
        let pos = self.conns.iter().position(|(name, _)| name == ds)?;
        Some(self.conns.swap_remove(pos))
    }

    pub fn put(&mut self, ds: String, conn: C) {
        self.conns.push((ds, conn));
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// The data sources held, for the session registry.
    pub fn sources(&self) -> impl ExactSizeIterator<Item = &str> + Clone {
        self.conns.iter().map(|(ds, _)| ds.as_str())
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut C)> {
        self.conns.iter_mut().map(|(ds, c)| (ds.as_str(), c))
    }

    /// Runs `sql` on every held connection; every one is told even after
    /// one fails, and the first error is returned.
    pub async fn on_each(&mut self, sql: &str) -> Result<(), StatementError> {
        let mut first_error = None;
        for (ds, conn) in &mut self.conns {
            if let Err(e) = conn.control(sql).await {
                tracing::warn!(data_source = %ds, "{sql} failed: {e}");
                first_error.get_or_insert(StatementError::Backend(e));
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Ends the transaction on every shard it reached (COMMIT or
    /// ROLLBACK) and lets the connections go back to their pools; every
    /// shard is told even after one fails, and the first error is
    /// returned. `before` sees each connection first (PostgreSQL forgets
    /// the settings a rollback undid).
    pub async fn end(
        &mut self,
        commit: bool,
        mut before: impl FnMut(&mut C) + Send,
    ) -> Result<(), StatementError> {
        let sql = if commit { "COMMIT" } else { "ROLLBACK" };
        let mut first_error = None;
        for (ds, mut conn) in std::mem::take(&mut self.conns) {
            before(&mut conn);
            if let Err(e) = conn.control(sql).await {
                tracing::warn!(data_source = %ds, "{sql} failed: {e}");
                first_error.get_or_insert(StatementError::Backend(e));
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection that records what it ran and fails what it is told
    /// to: ending a transaction is pure bookkeeping around the backends'
    /// answers, and the backends' side is covered end to end.
    #[derive(Debug, Default)]
    struct Recorder {
        ran: Vec<String>,
        fails: bool,
    }

    impl TxnConnection for Recorder {
        async fn control(&mut self, sql: &str) -> Result<(), BackendError> {
            self.ran.push(sql.to_owned());
            if self.fails {
                return Err(BackendError::Internal("refused"));
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn every_shard_is_told_even_after_one_fails() {
        let mut held = Held::default();
        held.put("ds_0".into(), Recorder::default());
        held.put(
            "ds_1".into(),
            Recorder {
                fails: true,
                ..Recorder::default()
            },
        );
        held.put("ds_2".into(), Recorder::default());
        assert!(held.on_each("SAVEPOINT a").await.is_err());
        for (_, conn) in held.iter_mut() {
            assert_eq!(conn.ran, vec!["SAVEPOINT a"]);
        }
        let (ds, conn) = held.take("ds_2").unwrap();
        assert!(held.take("ds_2").is_none());
        held.put(ds, conn);
        assert_eq!(held.sources().collect::<Vec<_>>(), ["ds_0", "ds_1", "ds_2"]);
        let mut seen = 0;
        let result = held.end(false, |_| seen += 1).await;
        assert!(matches!(result, Err(StatementError::Backend(_))));
        assert_eq!(seen, 3, "every connection was seen before its ROLLBACK");
        assert!(held.is_empty());
    }
}
