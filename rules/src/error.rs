//! The crate's errors. `ConfigError` is what loading a conf directory
//! reports: it names the file, the line and the problem. `AlgorithmError`
//! comes from building or running a sharding algorithm or key generator.

use std::path::PathBuf;

use crate::inline::InlineError;

/// An error from creating or running a sharding algorithm or key generator.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AlgorithmError {
    #[error("unknown algorithm type `{0}`")]
    UnknownType(String),
    #[error("{algorithm}: missing required prop `{prop}`")]
    MissingProp { algorithm: String, prop: String },
    #[error("{algorithm}: prop `{prop}` = `{value}`: {reason}")]
    BadProp {
        algorithm: String,
        prop: String,
        value: String,
        reason: String,
    },
    /// The value maps to no available target (e.g. an inline expression that
    /// names a table that is not a data node, or a date outside INTERVAL's
    /// bounds). Routing must fail rather than guess.
    #[error("{algorithm}: value {value} maps to no available target ({detail})")]
    NoTarget {
        algorithm: String,
        value: String,
        detail: String,
    },
    /// The value has a type the algorithm cannot shard on.
    #[error("{algorithm}: cannot shard on value {value}: {reason}")]
    BadValue {
        algorithm: String,
        value: String,
        reason: String,
    },
    /// The algorithm does not serve this kind of request (a range on INLINE
    /// without `allow-range-query-with-inline-sharding`, a hint on MOD, ...).
    #[error("{algorithm}: {what} is not supported")]
    Unsupported { algorithm: String, what: String },
    #[error(transparent)]
    Inline(#[from] InlineError),
    #[error("key generator {generator}: {reason}")]
    KeyGenerator { generator: String, reason: String },
}

/// An error loading a conf directory: the file, the line (1-based, when
/// known), the YAML path of the offending node and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    /// Dotted path of the node, e.g. `rules[0].tables.t_order.actualDataNodes`.
    pub path: String,
    pub kind: ConfigErrorKind,
    pub message: String,
}

/// What kind of problem a `ConfigError` is, so tests and tools can match on
/// it without parsing the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigErrorKind {
    Io,
    /// YAML syntax, a wrong type, or an unknown key (`deny_unknown_fields`).
    Syntax,
    UnknownKey,
    UnknownAlgorithm,
    UnknownKeyGenerator,
    BadAlgorithm,
    DataNodeOutsideDataSources,
    BindingTablesMismatch,
    DuplicateLogicalTable,
    PasswordMisplaced,
    BadDataSource,
    BadInlineExpression,
    BadStrategy,
    UnknownDataSource,
    MissingFile,
    DuplicateDatabase,
    BadAuthority,
    BadListener,
}
