//! The MySQL session's transaction state, one enum moved only by
//! [`TxnState::transition`], and the scope of the statement running
//! ([`Scope`]), which says whether it may open a transaction.
//!
//! MySQL has no message phase worth an enum of its own: every command
//! starts at sequence id 0 and is answered before the next is read, so
//! the codec's sequence ids are all the framing state there is
//! (`conn.rs`).

use crate::core::registry::SessionState;

/// Where the session is in a transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TxnState {
    #[default]
    Idle,
    /// The client's transaction. `begin`: its BEGIN / START TRANSACTION
    /// text, replayed on each shard that joins; `None` when it started
    /// implicitly (autocommit off), as on the server.
    Client { begin: Option<String> },
    /// The proxy's own, around one write over several data sources in
    /// autocommit: the client sees none (no SERVER_STATUS_IN_TRANS).
    Proxy,
}

/// What moves a [`TxnState`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnEvent {
    /// The client's BEGIN / START TRANSACTION (an open one was committed
    /// first).
    Begin(String),
    /// The first statement reaching a shard with autocommit off.
    AutoBegin,
    /// The proxy opens its own transaction around one write.
    ProxyBegin,
    /// COMMIT, ROLLBACK, an implicit commit, or the client leaving.
    End,
}

impl TxnState {
    /// The one place the transaction state changes.
    pub fn transition(&mut self, event: TxnEvent) {
        *self = match (std::mem::take(self), event) {
            (_, TxnEvent::End) => TxnState::Idle,
            (_, TxnEvent::Begin(sql)) => TxnState::Client { begin: Some(sql) },
            (TxnState::Idle, TxnEvent::AutoBegin) => TxnState::Client { begin: None },
            (TxnState::Idle, TxnEvent::ProxyBegin) => TxnState::Proxy,
            (state, TxnEvent::AutoBegin | TxnEvent::ProxyBegin) => state,
        };
    }

    pub fn is_open(&self) -> bool {
        *self != TxnState::Idle
    }

    /// Whether the client sees a transaction open (SERVER_STATUS_IN_TRANS).
    pub fn client_sees(&self) -> bool {
        matches!(self, TxnState::Client { .. })
    }

    /// What a shard joining the transaction runs first.
    pub fn begin_sql(&self) -> &str {
        match self {
            TxnState::Client { begin: Some(sql) } => sql,
            _ => "START TRANSACTION",
        }
    }

    /// The session's state as the admin plane lists it between commands.
    pub fn listed(&self) -> SessionState {
        if self.client_sees() {
            SessionState::IdleInTransaction
        } else {
            SessionState::Idle
        }
    }
}

/// Whether the statement running may open an implicit transaction
/// (autocommit off).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scope {
    /// It joins or opens the transaction, as statements do.
    #[default]
    Transactional,
    /// It opens none: it commits implicitly (DDL, LOCK TABLES; what was
    /// open is committed first) or only reads the dictionary (DESCRIBE,
    /// SHOW; it joins a transaction already open), as on the server.
    Outside,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactions_of_the_client_and_of_the_proxy() {
        let mut txn = TxnState::Idle;
        txn.transition(TxnEvent::AutoBegin);
        assert_eq!(txn, TxnState::Client { begin: None });
        assert_eq!(txn.begin_sql(), "START TRANSACTION");
        assert_eq!(txn.listed(), SessionState::IdleInTransaction);
        txn.transition(TxnEvent::ProxyBegin);
        assert!(txn.client_sees(), "an open transaction stays the client's");
        txn.transition(TxnEvent::End);
        txn.transition(TxnEvent::ProxyBegin);
        assert!(txn.is_open() && !txn.client_sees());
        assert_eq!(txn.listed(), SessionState::Idle);
        txn.transition(TxnEvent::End);
        txn.transition(TxnEvent::Begin("START TRANSACTION READ ONLY".into()));
        assert_eq!(txn.begin_sql(), "START TRANSACTION READ ONLY");
        txn.transition(TxnEvent::AutoBegin);
        assert_eq!(txn.begin_sql(), "START TRANSACTION READ ONLY");
        txn.transition(TxnEvent::End);
        assert_eq!(txn, TxnState::Idle);
    }
}
