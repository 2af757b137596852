//! [`MySqlServerError`]: the typed form of a MySQL ERR packet.

use std::fmt;

use shardwire_protocol::mysql::ErrPacket;

use crate::error::BackendError;

/// An ERR packet from a MySQL server: error number, SQLSTATE and message,
/// kept as sent so the frontend can pass them on unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MySqlServerError {
    /// The MySQL error number, e.g. 1146.
    pub code: u16,
    /// The SQLSTATE, e.g. `42S02`.
    pub sql_state: String,
    pub message: String,
}

/// Error numbers after which the server has ended the session.
const FATAL_CODES: &[u16] = &[
    1053, // ER_SERVER_SHUTDOWN
    1152, // ER_ABORTING_CONNECTION
    1927, // ER_CONNECTION_KILLED (MariaDB)
    4031, // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
];

impl MySqlServerError {
    /// True when the server closes the connection after this error.
    pub fn is_fatal(&self) -> bool {
        FATAL_CODES.contains(&self.code)
    }
}

impl From<ErrPacket> for MySqlServerError {
    fn from(e: ErrPacket) -> Self {
        MySqlServerError {
            code: e.code,
            sql_state: e.sql_state,
            message: e.message,
        }
    }
}

impl From<MySqlServerError> for ErrPacket {
    fn from(e: MySqlServerError) -> Self {
        ErrPacket {
            code: e.code,
            sql_state: e.sql_state,
            message: e.message,
        }
    }
}

impl fmt::Display for MySqlServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ERROR {} ({}): {}",
            self.code, self.sql_state, self.message
        )
    }
}

impl std::error::Error for MySqlServerError {}

impl From<MySqlServerError> for BackendError {
    fn from(e: MySqlServerError) -> Self {
        BackendError::MySqlServer(Box::new(e))
    }
}

impl BackendError {
    /// The MySQL server's error, if this is one.
    pub fn mysql_server_error(&self) -> Option<&MySqlServerError> {
        match self {
            BackendError::MySqlServer(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_both_ways_and_displays() {
        let e = MySqlServerError::from(ErrPacket::new(1146, "42S02", "Table 't' doesn't exist"));
        assert_eq!(e.to_string(), "ERROR 1146 (42S02): Table 't' doesn't exist");
        assert!(!e.is_fatal());
        let back = ErrPacket::from(e.clone());
        assert_eq!(back.code, 1146);
        let err = BackendError::from(e);
        assert_eq!(err.mysql_server_error().map(|e| e.code), Some(1146));
        assert!(std::error::Error::source(&err).is_some());
        assert!(MySqlServerError::from(ErrPacket::new(1927, "70100", "killed")).is_fatal());
    }
}
