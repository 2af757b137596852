//! Telling the protocol and the client side from the traffic itself, never
//! from the port: a PostgreSQL client opens with a length-prefixed startup
//! packet (protocol 3.x, SSLRequest, GSSENCRequest or CancelRequest); a
//! MySQL server opens with its greeting (protocol version 10) or an ERR.

use serde::Serialize;
use shardwire_protocol::pg::{
    CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, MAX_STARTUP_PACKET_LEN, SSL_REQUEST_CODE,
};

use crate::reassembly::TcpConnection;

/// The wire protocol of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Protocol {
    Postgres,
    MySql,
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Postgres => "postgresql",
            Protocol::MySql => "mysql",
        })
    }
}

/// Whether `bytes` open like a PostgreSQL client.
pub fn looks_like_pg_client(bytes: &[u8]) -> bool {
    let (Some(len), Some(code)) = (be_u32(bytes, 0), be_u32(bytes, 4)) else {
        return false;
    };
    let Ok(len) = usize::try_from(len) else {
        return false;
    };
    let known_request =
        [SSL_REQUEST_CODE, GSSENC_REQUEST_CODE, CANCEL_REQUEST_CODE].contains(&code);
    if known_request {
        return len == 8 || len == 16;
    }
    // Protocol 3.x startup: major version 3 in the high half.
    code >> 16 == 3 && (8..=MAX_STARTUP_PACKET_LEN).contains(&len)
}

/// Whether `bytes` open like a MySQL server: a greeting or an ERR with
/// sequence id 0.
pub fn looks_like_mysql_server(bytes: &[u8]) -> bool {
    let Some(header) = bytes.get(..4) else {
        return false;
    };
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    if header[3] != 0 || !(2..=4096).contains(&len) {
        return false;
    }
    match bytes.get(4) {
        Some(10) => {
            // The server version: printable ASCII up to a NUL.
            let version = bytes.get(5..).unwrap_or_default();
            let Some(nul) = version.iter().position(|&b| b == 0) else {
                return false;
            };
            nul > 0
                && version[..nul]
                    .iter()
                    .all(|b| b.is_ascii_graphic() || *b == b' ')
        }
        Some(0xff) => true,
        _ => false,
    }
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// For a connection whose SYN was not captured: whether side `a` is the
/// client. Decided by the opening bytes when they are recognisable, else
/// by who spoke first.
pub(crate) fn first_sender_is_client(
    a_bytes: &[u8],
    b_bytes: &[u8],
    deliveries: &[(bool, usize, u64, usize, bool)],
) -> bool {
    if looks_like_pg_client(a_bytes) || looks_like_mysql_server(b_bytes) {
        return true;
    }
    if looks_like_pg_client(b_bytes) || looks_like_mysql_server(a_bytes) {
        return false;
    }
    deliveries.first().is_none_or(|d| d.0)
}

/// The protocol a connection speaks, if it is a database connection.
pub fn detect(conn: &TcpConnection) -> Option<Protocol> {
    if looks_like_pg_client(&conn.client_bytes) {
        Some(Protocol::Postgres)
    } else if looks_like_mysql_server(&conn.server_bytes) {
        Some(Protocol::MySql)
    } else {
        None
    }
}
