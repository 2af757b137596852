//! [`ConformanceError`], the one error type of the crate.

use shardwire_protocol::ProtocolError;

/// Why a capture could not be read, replayed or recorded.
///
/// [`ConformanceError::Unusable`] is the one the command line maps to exit
/// code 2: the capture itself is the problem (truncated, no login, not a
/// database capture), not the server it was replayed against.
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    #[error("the capture cannot be used: {0}")]
    Unusable(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("wire format error: {0}")]
    Protocol(#[from] ProtocolError),
    #[error("manifest {path}: {reason}")]
    Manifest { path: String, reason: String },
    /// The target did not answer in time: reported, never waited on.
    #[error("no answer within {} ms while {during}", .after.as_millis())]
    Timeout {
        during: String,
        after: std::time::Duration,
    },
    #[error("the target closed the connection while {during}")]
    Closed { during: String },
    #[error("the target sent {0}")]
    BadAnswer(String),
    #[error("login to the target failed: {0}")]
    Login(String),
    /// A state the code believed impossible: a Shardwire bug.
    #[error("internal error (a shardwire-conformance bug): {0}")]
    Internal(String),
}

impl ConformanceError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ConformanceError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn unusable(reason: impl Into<String>) -> Self {
        ConformanceError::Unusable(reason.into())
    }
}

pub type Result<T, E = ConformanceError> = std::result::Result<T, E>;
