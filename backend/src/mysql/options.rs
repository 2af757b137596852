//! [`ConnectOptions`]: the capability choices of the MySQL client.

use shardwire_protocol::mysql::DEFAULT_MAX_PACKET_LEN;

/// How a [`super::MySqlConnection`] negotiates its session. The defaults
/// suit a proxy: multi-statements on, EOF packets replaced by OK packets
/// when the server can, and a packet limit equal to MySQL's default
/// `max_allowed_packet`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Ask for CLIENT_DEPRECATE_EOF when the server offers it.
    /// Default true.
    pub deprecate_eof: bool,
    /// CLIENT_MULTI_STATEMENTS: several statements in one COM_QUERY.
    /// Default true.
    pub multi_statements: bool,
    /// CLIENT_FOUND_ROWS: UPDATE reports matched rather than changed rows,
    /// as Connector/J asks by default. Default false.
    pub found_rows: bool,
    /// CLIENT_MULTI_RESULTS: a command may answer with several result
    /// sets (stored procedures). Default true.
    pub multi_results: bool,
    /// CLIENT_PS_MULTI_RESULTS: the same for COM_STMT_EXECUTE. Default
    /// true. mysql2 and mysql-connector-python do not ask for it, and a
    /// passthrough session must read packets as its client does.
    pub ps_multi_results: bool,
    /// CLIENT_SESSION_TRACK: OK packets carry session state changes.
    /// Default false.
    pub session_track: bool,
    /// Largest packet accepted from the server; a longer one breaks the
    /// connection with a clear error. Default 64 MiB.
    pub max_packet_len: usize,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            deprecate_eof: true,
            multi_statements: true,
            found_rows: false,
            multi_results: true,
            ps_multi_results: true,
            session_track: false,
            max_packet_len: DEFAULT_MAX_PACKET_LEN,
        }
    }
}
