//! The PostgreSQL session's state, as two small enums moved only by the
//! `transition` functions here: where the session is in the message
//! protocol ([`Phase`]: what the next message means) and in a transaction
//! ([`TxnState`]: what a statement may do, and what ReadyForQuery says).
//!
//! Two enums beside each other rather than one: a transaction outlives
//! many extended-protocol batches and simple Queries, and a batch may open
//! and end several transactions, so one product enum would repeat every
//! phase per transaction state. The registry's listed state is read from
//! both ([`listed`]).

use shardwire_protocol::pg::TransactionStatus;

use crate::core::registry::SessionState;

/// Where the session is in the message flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a simple Query or the first message of an extended
    /// batch.
    #[default]
    Ready,
    /// Inside an extended-protocol batch, before its Sync.
    /// `pending_describe`: a Describe of this portal waits for the Execute
    /// that follows it, so the description comes from the same backend
    /// answer as the rows.
    Extended { pending_describe: Option<String> },
    /// A message of the batch failed: everything up to Sync is skipped.
    SkipToSync,
}

/// What moves a [`Phase`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhaseEvent {
    /// A message of the extended protocol arrived (not Sync).
    Extended,
    /// Describe of a portal: answered with the next Execute.
    DescribePortal(String),
    /// The pending Describe is answered now (taken by the transition).
    TakeDescribe,
    /// An extended-protocol message failed.
    Failed,
    /// Sync ended the batch.
    Sync,
}

impl Phase {
    /// The one place the phase changes; returns the pending Describe's
    /// portal when the event takes it.
    pub fn transition(&mut self, event: PhaseEvent) -> Option<String> {
        let (next, taken) = match (std::mem::take(self), event) {
            (_, PhaseEvent::Sync) => (Phase::Ready, None),
            (Phase::SkipToSync, _) | (_, PhaseEvent::Failed) => (Phase::SkipToSync, None),
            (_, PhaseEvent::DescribePortal(name)) => (
                Phase::Extended {
                    pending_describe: Some(name),
                },
                None,
            ),
            (Phase::Ready, PhaseEvent::Extended) => (
                Phase::Extended {
                    pending_describe: None,
                },
                None,
            ),
            (Phase::Ready, PhaseEvent::TakeDescribe) => (Phase::Ready, None),
            (Phase::Extended { pending_describe }, PhaseEvent::Extended) => {
                (Phase::Extended { pending_describe }, None)
            }
            (Phase::Extended { pending_describe }, PhaseEvent::TakeDescribe) => (
                Phase::Extended {
                    pending_describe: None,
                },
                pending_describe,
            ),
        };
        *self = next;
        taken
    }

    /// Messages up to the next Sync are skipped.
    pub fn skipping(&self) -> bool {
        *self == Phase::SkipToSync
    }
}

/// Where the session is in a transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TxnState {
    #[default]
    Idle,
    /// A transaction block is open. `implicit`: opened by the proxy, not
    /// the client: the statements of one multi-statement Query, or of a
    /// pipeline before one Sync, are one transaction in PostgreSQL, so
    /// their shards must commit or roll back together at its end.
    Open { implicit: bool },
    /// A statement failed inside the transaction: everything but COMMIT
    /// and ROLLBACK (and ROLLBACK TO) is refused until it ends, as
    /// PostgreSQL does.
    Failed { implicit: bool },
}

/// What moves a [`TxnState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnEvent {
    /// The client's BEGIN.
    Begin,
    /// The proxy opens an implicit block (no effect inside a block).
    BeginImplicit,
    /// BEGIN inside an implicit block makes it the client's own.
    Adopt,
    /// A statement failed.
    Fail,
    /// ROLLBACK TO a savepoint made the failed transaction usable again.
    Recover,
    /// COMMIT, ROLLBACK, or the end of an implicit block.
    End,
}

impl TxnState {
    /// The one place the transaction state changes.
    pub fn transition(&mut self, event: TxnEvent) {
        *self = match (*self, event) {
            (_, TxnEvent::End) => TxnState::Idle,
            (TxnState::Idle, TxnEvent::Begin) => TxnState::Open { implicit: false },
            (TxnState::Idle, TxnEvent::BeginImplicit) => TxnState::Open { implicit: true },
            (TxnState::Open { .. }, TxnEvent::Adopt) => TxnState::Open { implicit: false },
            (TxnState::Failed { .. }, TxnEvent::Adopt) => TxnState::Failed { implicit: false },
            (TxnState::Open { implicit }, TxnEvent::Fail) => TxnState::Failed { implicit },
            (TxnState::Failed { implicit }, TxnEvent::Recover) => TxnState::Open { implicit },
            (state, _) => state,
        };
    }

    pub fn in_block(self) -> bool {
        self != TxnState::Idle
    }

    pub fn is_open(self) -> bool {
        matches!(self, TxnState::Open { .. })
    }

    pub fn is_failed(self) -> bool {
        matches!(self, TxnState::Failed { .. })
    }

    pub fn implicit(self) -> bool {
        matches!(
            self,
            TxnState::Open { implicit: true } | TxnState::Failed { implicit: true }
        )
    }

    /// What ReadyForQuery reports.
    pub fn status(self) -> TransactionStatus {
        match self {
            TxnState::Idle => TransactionStatus::Idle,
            TxnState::Open { .. } => TransactionStatus::InTransaction,
            TxnState::Failed { .. } => TransactionStatus::Failed,
        }
    }
}

/// The session's state as the admin plane lists it while it waits for
/// the client.
pub fn listed(phase: &Phase, txn: TxnState) -> SessionState {
    match (phase, txn) {
        (_, TxnState::Failed { .. }) => SessionState::FailedTransaction,
        (_, TxnState::Open { .. }) => SessionState::IdleInTransaction,
        (_, TxnState::Idle) => SessionState::Idle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_with_a_pending_describe() {
        let mut phase = Phase::Ready;
        assert_eq!(phase.transition(PhaseEvent::Extended), None);
        assert_eq!(
            phase,
            Phase::Extended {
                pending_describe: None
            }
        );
        phase.transition(PhaseEvent::DescribePortal("p".into()));
        phase.transition(PhaseEvent::Extended);
        assert_eq!(phase.transition(PhaseEvent::TakeDescribe), Some("p".into()));
        assert_eq!(phase.transition(PhaseEvent::TakeDescribe), None);
        phase.transition(PhaseEvent::Sync);
        assert_eq!(phase, Phase::Ready);
    }

    #[test]
    fn a_failure_skips_to_sync_and_nothing_else_leaves_it() {
        let mut phase = Phase::Extended {
            pending_describe: None,
        };
        phase.transition(PhaseEvent::Failed);
        assert!(phase.skipping());
        for event in [
            PhaseEvent::Extended,
            PhaseEvent::DescribePortal("p".into()),
            PhaseEvent::TakeDescribe,
        ] {
            assert_eq!(phase.transition(event), None);
            assert!(phase.skipping());
        }
        phase.transition(PhaseEvent::Sync);
        assert_eq!(phase, Phase::Ready);
    }

    #[test]
    fn transactions_open_fail_recover_and_end() {
        let mut txn = TxnState::Idle;
        txn.transition(TxnEvent::Fail);
        assert_eq!(txn, TxnState::Idle, "outside a block nothing fails");
        txn.transition(TxnEvent::BeginImplicit);
        assert!(txn.implicit() && txn.is_open());
        txn.transition(TxnEvent::Adopt);
        assert_eq!(txn, TxnState::Open { implicit: false });
        txn.transition(TxnEvent::BeginImplicit);
        assert_eq!(txn, TxnState::Open { implicit: false });
        txn.transition(TxnEvent::Fail);
        assert_eq!(txn.status(), TransactionStatus::Failed);
        assert_eq!(listed(&Phase::Ready, txn), SessionState::FailedTransaction);
        txn.transition(TxnEvent::Recover);
        assert_eq!(txn, TxnState::Open { implicit: false });
        txn.transition(TxnEvent::End);
        assert_eq!(txn.status(), TransactionStatus::Idle);
        txn.transition(TxnEvent::Begin);
        assert_eq!(listed(&Phase::Ready, txn), SessionState::IdleInTransaction);
    }
}
