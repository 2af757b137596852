//! The one error type of this crate, and [`ServerError`], the typed form of
//! a PostgreSQL ErrorResponse.

use std::fmt;
use std::time::Duration;

use shardwire_protocol::pg::ErrorFields;
use shardwire_protocol::ProtocolError;

/// An ErrorResponse from a backend server, with the fields a caller acts on
/// pulled out. `fields` keeps every field in wire order, so the frontend can
/// pass the error on to its client unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// Non-localized severity when the server sent one (ERROR, FATAL, PANIC).
    pub severity: String,
    /// The SQLSTATE, e.g. `42P01`.
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based character position in the statement.
    pub position: Option<u32>,
    pub fields: ErrorFields,
}

impl ServerError {
    /// FATAL and PANIC end the server session: the connection is unusable.
    pub fn is_fatal(&self) -> bool {
        matches!(self.severity.as_str(), "FATAL" | "PANIC")
    }
}

impl From<ErrorFields> for ServerError {
    fn from(fields: ErrorFields) -> Self {
        ServerError {
            severity: fields.severity().unwrap_or("ERROR").to_owned(),
            // XX000 is internal_error: the honest code for a server that
            // omitted the mandatory field.
            code: fields.code().unwrap_or("XX000").to_owned(),
            message: fields.message().unwrap_or_default().to_owned(),
            detail: fields.detail().map(str::to_owned),
            hint: fields.hint().map(str::to_owned),
            position: fields.position(),
            fields,
        }
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.severity, self.code, self.message)?;
        if let Some(d) = &self.detail {
            write!(f, " (detail: {d})")?;
        }
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServerError {}

/// Everything that can go wrong talking to a backend or taking a connection
/// from a pool.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The TCP connection to the server could not be opened.
    #[error("cannot connect to {host}:{port}: {source}")]
    Connect {
        host: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },

    /// A socket operation outside the codec failed (the cancel connection).
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),

    /// Framing or decoding failed, or the socket under the codec failed.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),

    /// The server refused the login or asked for a method we cannot answer.
    /// `reason` is the server's own message when it sent one.
    #[error("authentication failed: {reason}")]
    Auth {
        reason: String,
        #[source]
        source: Option<Box<ServerError>>,
    },

    /// The server answered with an ErrorResponse. The connection stays
    /// usable unless the error was FATAL.
    #[error("server error: {0}")]
    Server(#[source] Box<ServerError>),

    /// A MySQL server answered with an ERR packet. The connection stays
    /// usable unless the error ended the session.
    #[error("server error: {0}")]
    MySqlServer(#[source] Box<crate::mysql::MySqlServerError>),

    /// The server sent a message that makes no sense at this point.
    #[error("unexpected {message} from the server while {during}")]
    Unexpected {
        message: String,
        during: &'static str,
    },

    /// The server closed the connection.
    #[error("the server closed the connection")]
    Closed,

    /// An operation did not finish in time.
    #[error("{what} timed out after {after:?}")]
    Timeout { what: &'static str, after: Duration },

    /// The connection failed earlier (socket, protocol, or an operation
    /// abandoned half-way) and cannot be used any more.
    #[error("the connection is broken and cannot be used")]
    Broken,

    /// No connection became available within the acquire timeout.
    #[error("no connection available from pool {pool:?} within {after:?}")]
    PoolTimeout { pool: String, after: Duration },

    /// The pool was closed.
    #[error("pool {0:?} is closed")]
    PoolClosed(String),

    /// The data source cannot be served by this client (wrong protocol,
    /// zero pool size, ...).
    #[error("data source {name:?}: {reason}")]
    Config { name: String, reason: String },

    /// This is a Shardwire bug: an invariant of this crate did not hold.
    #[error("internal backend error (a Shardwire bug): {0}")]
    Internal(&'static str),
}

impl From<ServerError> for BackendError {
    fn from(e: ServerError) -> Self {
        BackendError::Server(Box::new(e))
    }
}

impl BackendError {
    /// The server's error, if this is one.
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            BackendError::Server(e) => Some(e),
            BackendError::Auth { source, .. } => source.as_deref(),
            _ => None,
        }
    }
}

/// Result alias used across the crate.
pub type Result<T, E = BackendError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use shardwire_protocol::pg::field;

    use super::*;

    #[test]
    fn server_error_keeps_every_field() {
        let fields = ErrorFields::new("ERROR", "23505", "duplicate key")
            .with(field::DETAIL, "Key (id)=(1) already exists.")
            .with(field::HINT, "use another id")
            .with(field::POSITION, "8")
            .with(b'Z', "unknown field type, kept");
        let e = ServerError::from(fields.clone());
        assert_eq!(e.severity, "ERROR");
        assert_eq!(e.code, "23505");
        assert_eq!(e.message, "duplicate key");
        assert_eq!(e.detail.as_deref(), Some("Key (id)=(1) already exists."));
        assert_eq!(e.hint.as_deref(), Some("use another id"));
        assert_eq!(e.position, Some(8));
        assert_eq!(e.fields, fields);
        assert!(!e.is_fatal());
        assert_eq!(
            e.to_string(),
            "ERROR 23505: duplicate key (detail: Key (id)=(1) already exists.) (hint: use another id)"
        );

        let err = BackendError::from(e);
        assert_eq!(err.server_error().map(|e| e.code.as_str()), Some("23505"));
        assert!(std::error::Error::source(&err).is_some(), "source kept");
    }

    #[test]
    fn a_server_error_missing_fields_still_converts() {
        let e = ServerError::from(ErrorFields::default());
        assert_eq!((e.severity.as_str(), e.code.as_str()), ("ERROR", "XX000"));
        let fatal = ServerError::from(ErrorFields::new("FATAL", "57P01", "bye"));
        assert!(fatal.is_fatal());
    }
}
