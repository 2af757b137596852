//! The kernel's one error type. Every variant is something a client can be
//! told: the frontend maps it to SQLSTATE / MySQL error numbers in one place.

use shardwire_rules::AlgorithmError;

use crate::merge::MergeError;

#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// The SQL does not parse; the message carries the line and column
    /// sqlparser reports.
    #[error("SQL parse error: {0}")]
    Parse(String),

    /// Parsed, but routing it correctly is beyond this kernel: refusing is
    /// better than answering from too few shards.
    #[error("unsupported: {construct}{}: {reason}", describe_tables(tables))]
    Unsupported {
        construct: String,
        tables: Vec<String>,
        reason: String,
    },

    /// A table no rule places, in a logical database with no default data
    /// source for it: to the client the table does not exist, and it is
    /// told so with the database's own error class (42P01, MySQL 1146), so
    /// drivers raise what they would raise against one database. `reason`
    /// is the proxy's side of it, for a hint.
    #[error("relation \"{table}\" does not exist")]
    UnknownTable {
        database: String,
        table: String,
        reason: String,
    },

    /// An INSERT's values do not fit the table's columns: the message is
    /// the client's database's own (PostgreSQL 42601, MySQL 1136), since
    /// one database would have refused the statement the same way.
    #[error("{0}")]
    ColumnCount(String),

    /// Planning the statement needs the columns of logical table `table`
    /// (an INSERT without a column list) and the metadata handed to the
    /// planner does not have them: the caller loads them and plans again.
    /// Reaching a client, it is a Shardwire bug.
    #[error("the metadata of table {table} is needed to plan this statement and was not loaded")]
    MetadataNeeded { table: String },

    /// Planning a PostgreSQL DROP INDEX / ALTER INDEX needs to know which
    /// sharding table owns these index names, and the owners handed to the
    /// planner do not say: the caller looks them up in the shards'
    /// catalogs and plans again. Reaching a client, it is a Shardwire bug.
    #[error(
        "the owners of indexes {} are needed to plan this statement and were not looked up",
        describe_lookups(lookups)
    )]
    IndexOwnersNeeded {
        lookups: Vec<crate::index_names::IndexLookup>,
    },

    #[error(transparent)]
    Algorithm(#[from] AlgorithmError),

    /// Merging the shards' rows failed: a memory limit, a type the merge
    /// cannot combine, or a shard's own error (kept as the source).
    #[error(transparent)]
    Merge(#[from] MergeError),

    /// A placeholder refers to a parameter the client did not send
    /// (1-based, as `$n` and the n-th `?` count).
    #[error("parameter {0} is referenced by the statement but was not supplied")]
    MissingParameter(usize),

    #[error("internal error (this is a Shardwire bug): {0}")]
    Internal(String),
}

fn describe_lookups(lookups: &[crate::index_names::IndexLookup]) -> String {
    lookups
        .iter()
        .map(|l| l.index.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_tables(tables: &[String]) -> String {
    if tables.is_empty() {
        String::new()
    } else {
        format!(" (tables: {})", tables.join(", "))
    }
}

impl KernelError {
    pub(crate) fn unsupported(
        construct: impl Into<String>,
        tables: impl IntoIterator<Item = impl Into<String>>,
        reason: impl Into<String>,
    ) -> Self {
        KernelError::Unsupported {
            construct: construct.into(),
            tables: tables.into_iter().map(Into::into).collect(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_errors_keep_their_message() {
        let e: KernelError = MergeError::MemoryLimit {
            limit: 200,
            what: "GROUP BY over shards",
            hint: "add an ORDER BY",
        }
        .into();
        assert!(e.to_string().contains("200 bytes"), "{e}");
    }
}
