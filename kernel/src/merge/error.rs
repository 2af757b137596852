//! [`MergeError`]: everything that can stop a merged result stream.

use super::value::ColumnKind;

/// Why a merged result stream stopped. The stream yields at most one error and
/// then ends, so the frontend can turn it into one wire error.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// An in-memory merge (hash GROUP BY, hash DISTINCT) outgrew its budget.
    /// The budget exists so that one query cannot take the proxy down.
    #[error(
        "{what} over shards needs more than {limit} bytes of proxy memory; {hint}, \
         or raise the merge memory limit"
    )]
    MemoryLimit {
        limit: usize,
        what: &'static str,
        hint: &'static str,
    },

    /// A value the merge must compute with has the wrong type, e.g. SUM of text.
    #[error("cannot {op} column {column}: {detail}")]
    Type {
        op: &'static str,
        column: usize,
        detail: String,
    },

    /// A cell's text form did not parse as its column's kind.
    #[error("cannot read {text:?} as a {kind:?} value")]
    Decode { kind: ColumnKind, text: String },

    /// An exact sum or count left the range the merge computes in.
    #[error("{op} of column {column} overflowed")]
    Overflow { op: &'static str, column: usize },

    /// PostgreSQL integer arithmetic left its operands' type (`integer out
    /// of range`, SQLSTATE 22003): int4 + int4 is an int4 there, so it
    /// fails where 64-bit arithmetic would go on.
    #[error("{type_name} out of range")]
    OutOfRange { type_name: &'static str },

    /// An expression the proxy evaluates after the merge divided by zero
    /// where the client's server fails (PostgreSQL, SQLSTATE 22012; MySQL
    /// answers NULL instead and never gets here).
    #[error("division by zero")]
    DivisionByZero,

    /// A shard's stream failed; the cause is kept as the source.
    #[error("reading a shard's rows failed")]
    Source(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),

    /// A plan or a row broke an invariant the planner promised.
    #[error("internal error while merging shard results (this is a Shardwire bug): {0}")]
    Internal(String),
}
