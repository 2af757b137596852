//! The one error type of the harness.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while starting, driving or stopping a
/// throwaway server. Messages name the command or server and carry the tail
/// of the server log, because a test failure is usually read from CI output
/// alone.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A program the harness needs is not installed.
    #[error("{program} not found (looked in {searched}); install the Debian package `{package}` (scripts/install-deps.sh does it)")]
    MissingBinary {
        program: String,
        package: &'static str,
        searched: String,
    },

    /// A filesystem or process operation failed.
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    /// A command ran and exited unsuccessfully.
    #[error("`{command}` failed ({status}):\n{stderr}{log}")]
    CommandFailed {
        command: String,
        status: String,
        stderr: String,
        /// Server log tail, already formatted, or empty.
        log: String,
    },

    /// The server process exited while the harness waited for it.
    #[error("{server} exited during startup ({status}); log {log_path}:\n{log_tail}", log_path = .log_path.display())]
    ServerExited {
        server: &'static str,
        status: String,
        log_path: PathBuf,
        log_tail: String,
    },

    /// The server did not become ready in time.
    #[error("{server} on port {port} not ready after {timeout:?}; log {log_path}:\n{log_tail}", log_path = .log_path.display())]
    StartTimeout {
        server: &'static str,
        port: u16,
        timeout: Duration,
        log_path: PathBuf,
        log_tail: String,
    },

    /// Every free port we picked was taken by someone else before the
    /// server could bind it.
    #[error("{server} could not bind a free port after {attempts} attempts; log {log_path}:\n{log_tail}", log_path = .log_path.display())]
    PortCollisions {
        server: &'static str,
        attempts: u32,
        log_path: PathBuf,
        log_tail: String,
    },

    /// The OS account a server must run as does not exist or is unusable.
    #[error("cannot run as OS user `{user}`: {reason}")]
    OsUser { user: String, reason: String },

    /// An operation that needs a running server was called after `kill`.
    #[error("{server} on port {port} is not running (killed; call restart)")]
    NotRunning { server: &'static str, port: u16 },

    /// A broken invariant of the harness itself: this is a Shardwire bug.
    #[error("shardwire-testkit bug: {0}")]
    Internal(String),
}

impl HarnessError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        HarnessError::Io {
            context: context.into(),
            source,
        }
    }
}
