//! The openGauss frontend: only what openGauss adds to PostgreSQL. A
//! session on an openGauss listener is a PostgreSQL session ([`crate::pg`])
//! with these deltas plugged in at a few hooks:
//!
//! - [`startup`]: protocol versions 3.50 and 3.51 accepted on an openGauss
//!   listener (never answered with NegotiateProtocolVersion); a 3.0 client
//!   there is served as PostgreSQL.
//! - [`auth`]: the SHA256 login (AuthenticationRequest code 10, which on a
//!   PostgreSQL listener stays SASL) against keys derived once per user, or
//!   MD5 for users configured with it.
//! - [`batch_bind`]: Batch Bind ('U'), one prepared statement with many
//!   rows of parameters: each row routed, rows grouped by data node, each
//!   node's rows run as one batch on its connection, one answer.
//! - [`answers`]: what openGauss drivers read at connect and parse
//!   (`version()` names openGauss).

pub mod answers;
pub mod auth;
pub mod batch_bind;
pub mod startup;

pub use startup::OgVersion;

/// What an openGauss session carries beside the PostgreSQL session state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OgSession {
    /// The protocol version the client logged in with.
    pub version: OgVersion,
    /// A Batch Bind without its Execute inside the frame was answered
    /// whole; the Execute of the unnamed portal that follows it is its own.
    pub batch_execute_pending: bool,
}

impl OgSession {
    pub fn new(version: OgVersion) -> Self {
        OgSession {
            version,
            batch_execute_pending: false,
        }
    }
}
