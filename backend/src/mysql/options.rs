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
            max_packet_len: DEFAULT_MAX_PACKET_LEN,
        }
    }
}
