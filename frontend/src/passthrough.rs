//! What the passthrough sessions of both protocols share once their
//! splice has ended.

use std::fmt;

use shardwire_fastpath::SpliceOutcome;

/// What became of a passthrough session's backend session.
pub(crate) enum Returned {
    Pooled,
    Closed(String),
}

impl fmt::Display for Returned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Returned::Pooled => f.write_str("reset and returned to the pool"),
            Returned::Closed(why) => write!(f, "closed: {why}"),
        }
    }
}

/// The debug line of an ended passthrough session: which path its bytes
/// took and why, who ended it, the byte counts, and what became of its
/// backend session (pooled again, or closed and why).
pub(crate) fn log_ended<B>(protocol: &str, outcome: &SpliceOutcome<B>, backend: &Returned) {
    tracing::debug!(
        protocol,
        path = ?outcome.path,
        reason = ?outcome.user_space_reason,
        ended_by = ?outcome.ended_by,
        end = ?outcome.end,
        to_backend = outcome.client_to_backend,
        to_client = outcome.backend_to_client,
        backend_session = %backend,
        "passthrough session ended"
    );
}
