//! Errors of a client session, and the one place where they become the
//! client's wire errors (SQLSTATE for PostgreSQL, error number and SQLSTATE
//! for MySQL).

use shardwire_backend::BackendError;
use shardwire_kernel::merge::MergeError;
use shardwire_kernel::KernelError;
use shardwire_protocol::pg::{field, ErrorFields};
use shardwire_protocol::ProtocolError;

/// Why a statement failed. The session answers it with an error and goes
/// on; only [`SessionError`] ends a session.
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error(transparent)]
    Kernel(#[from] KernelError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// Refused by the proxy itself, with a SQLSTATE.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
}

impl StatementError {
    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        StatementError::Refused {
            code,
            message: message.into(),
        }
    }

    /// The backend connection behind this error is unusable: the client's
    /// transaction cannot go on.
    pub fn is_connection_loss(&self) -> bool {
        match self {
            StatementError::Backend(e) => is_connection_loss(e),
            _ => false,
        }
    }
}

fn is_connection_loss(e: &BackendError) -> bool {
    matches!(
        e,
        BackendError::Connect { .. }
            | BackendError::Io(_)
            | BackendError::Protocol(_)
            | BackendError::Closed
            | BackendError::Broken
            | BackendError::Timeout { .. }
    ) || e.server_error().is_some_and(|s| s.is_fatal())
}

impl From<MergeError> for StatementError {
    fn from(e: MergeError) -> Self {
        // A shard's own error travels through the merge as its source;
        // unwrap it so the client sees the server's error, not "merge failed".
        match e {
            MergeError::Source(inner) => match inner.downcast::<BackendError>() {
                Ok(b) => StatementError::Backend(*b),
                Err(other) => StatementError::Kernel(KernelError::Merge(MergeError::Source(other))),
            },
            other => StatementError::Kernel(KernelError::Merge(other)),
        }
    }
}

/// Why a whole session ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("client protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("TLS handshake failed: {0}")]
    Tls(std::io::Error),
    /// The session was refused (authentication, unknown database, ...):
    /// the client has been told.
    #[error("{0}")]
    Refused(String),
}

/// An ErrorResponse for `e`. Errors from a backend server are passed on
/// field for field; the proxy's own get the closest SQLSTATE.
pub fn pg_error(e: &StatementError) -> ErrorFields {
    match e {
        StatementError::Refused { code, message } => ErrorFields::new("ERROR", code, message),
        StatementError::Backend(b) => pg_backend_error(b),
        StatementError::Kernel(k @ KernelError::UnknownTable { reason, .. }) => {
            ErrorFields::new("ERROR", "42P01", k.to_string()).with(field::HINT, reason.clone())
        }
        StatementError::Kernel(k) => {
            let code = match k {
                KernelError::Parse(_) | KernelError::ColumnCount(_) => "42601",
                KernelError::UnknownTable { .. } => "42P01",
                KernelError::Unsupported { .. } => "0A000",
                KernelError::Algorithm(_) => "22023",
                KernelError::MissingParameter(_) => "08P01",
                KernelError::Merge(MergeError::MemoryLimit { .. }) => "53200",
                KernelError::Merge(MergeError::DivisionByZero) => "22012",
                KernelError::Merge(MergeError::Overflow { .. } | MergeError::OutOfRange { .. }) => {
                    "22003"
                }
                KernelError::Merge(MergeError::Type { .. } | MergeError::Decode { .. }) => "42804",
                KernelError::Merge(_)
                | KernelError::Internal(_)
                | KernelError::MetadataNeeded { .. }
                | KernelError::IndexOwnersNeeded { .. } => "XX000",
            };
            ErrorFields::new("ERROR", code, k.to_string())
        }
    }
}

fn pg_backend_error(e: &BackendError) -> ErrorFields {
    if let Some(server) = e.server_error() {
        let mut fields = server.fields.clone();
        // A FATAL ended the backend's session, not the client's: the
        // client's session goes on, so it must not read FATAL.
        if server.is_fatal() {
            fields = ErrorFields::new("ERROR", &server.code, &server.message);
        }
        return fields;
    }
    let code = match e {
        BackendError::PoolTimeout { .. } => "53300",
        BackendError::Config { .. } | BackendError::Internal(_) => "XX000",
        _ => "08006",
    };
    ErrorFields::new("ERROR", code, format!("backend: {e}"))
}

/// A MySQL ERR for `e`: (error number, SQLSTATE, message). Errors from a
/// MySQL backend are passed on as the server sent them; the proxy's own
/// get the closest MySQL error number.
pub fn mysql_error(e: &StatementError) -> (u16, String, String) {
    match e {
        StatementError::Refused { code, message } => {
            let number = match *code {
                "42000" => 1064,
                "3D000" => 1046,
                "0A000" => 1235,
                "08S01" => 1047,
                _ => 1105,
            };
            (number, (*code).to_owned(), message.clone())
        }
        StatementError::Backend(BackendError::MySqlServer(server)) => (
            server.code,
            server.sql_state.clone(),
            server.message.clone(),
        ),
        StatementError::Backend(b) => {
            // Server error numbers only: 2000 and up are the client
            // library's own (2013 is CR_SERVER_LOST), and a client that
            // receives one thinks its link to the proxy dropped (the
            // mariadb CLI then reports a malformed packet). A shard that
            // cannot be reached or fails mid-query is MySQL's "foreign
            // data source" failure.
            let (number, state) = match b {
                BackendError::PoolTimeout { .. } => (1040, "08004"),
                BackendError::Config { .. } | BackendError::Internal(_) => (1105, "HY000"),
                BackendError::Connect { .. } => (1429, "HY000"),
                _ => (1430, "HY000"),
            };
            (number, state.to_owned(), format!("backend: {b}"))
        }
        StatementError::Kernel(KernelError::UnknownTable {
            database, table, ..
        }) => (
            1146,
            "42S02".to_owned(),
            format!("Table '{database}.{table}' doesn't exist"),
        ),
        StatementError::Kernel(k) => {
            let (number, state) = match k {
                KernelError::Parse(_) => (1064, "42000"),
                KernelError::ColumnCount(_) => (1136, "21S01"),
                KernelError::UnknownTable { .. } => (1146, "42S02"),
                KernelError::Unsupported { .. } => (1235, "42000"),
                KernelError::MissingParameter(_) => (1210, "HY000"),
                KernelError::Merge(MergeError::MemoryLimit { .. }) => (1038, "HY001"),
                KernelError::Merge(MergeError::DivisionByZero) => (1365, "22012"),
                KernelError::Merge(MergeError::Overflow { .. } | MergeError::OutOfRange { .. }) => {
                    (1690, "22003")
                }
                KernelError::Algorithm(_)
                | KernelError::Merge(_)
                | KernelError::Internal(_)
                | KernelError::MetadataNeeded { .. }
                | KernelError::IndexOwnersNeeded { .. } => (1105, "HY000"),
            };
            (number, state.to_owned(), k.to_string())
        }
    }
}
