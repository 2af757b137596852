//! The crate's one error type.
use std::io;

/// Why a splice or the kernel path's set-up failed.
#[derive(Debug, thiserror::Error)]
pub enum FastPathError {
    /// A socket call on one of the session's sockets failed.
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    /// Loading or attaching the BPF programs failed.
    #[error("loading the sk_skb programs: {0}")]
    Load(#[from] aya::EbpfError),
    /// The kernel refused a program (verifier, attach type, privilege).
    #[error("{what}: {}", chain(source))]
    Program {
        what: &'static str,
        #[source]
        source: aya::programs::ProgramError,
    },
    /// A BPF map operation failed (map full, socket not in a usable state).
    #[error("{what}: {}", chain(source))]
    Map {
        what: &'static str,
        #[source]
        source: aya::maps::MapError,
    },
    /// The BPF object does not have what this code expects: a Shardwire bug.
    #[error("internal error (a Shardwire bug): {0}")]
    Internal(String),
}

/// aya's errors say which call failed and keep the errno as their source:
/// show both, since the errno is what tells a full map from a closed socket.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(inner) = next {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        next = inner.source();
    }
    text
}

impl FastPathError {
    /// The kernel refused a map update with EBUSY: a socket still carries
    /// the state of a splice that is being torn down.
    pub(crate) fn is_busy(&self) -> bool {
        match self {
            Self::Map {
                source: aya::maps::MapError::SyscallError(e),
                ..
            } => e.io_error.raw_os_error() == Some(libc::EBUSY),
            _ => false,
        }
    }

    pub(crate) fn io(what: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| Self::Io { what, source }
    }

    pub(crate) fn map(what: &'static str) -> impl FnOnce(aya::maps::MapError) -> Self {
        move |source| Self::Map { what, source }
    }

    pub(crate) fn program(what: &'static str) -> impl FnOnce(aya::programs::ProgramError) -> Self {
        move |source| Self::Program { what, source }
    }
}
