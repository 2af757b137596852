//! Lending a pooled session's socket to a passthrough client and taking it
//! back: the pool keeps the session object (its slot, its kill token)
//! while the bytes flow elsewhere, and the session returns only when it
//! proves clean.
//!
//! The proof is three requests answered exactly as expected, in order:
//! COM_PING (one OK, whose status must show no open transaction: a client
//! that left mid-transaction costs its session), COM_RESET_CONNECTION (one
//! OK: it drops temporary tables,
//! prepared statements and user variables, and resets session variables),
//! then `SELECT '<nonce>'` (one row holding the nonce). Anything the client
//! left behind (the answer to a command it sent before leaving) arrives
//! first and shifts the answers: an OK left over is taken for the reset's,
//! the reset's OK then answers the SELECT, and the nonce is missing. Such
//! a session is closed, never repaired.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use futures::StreamExt;
use shardwire_protocol::mysql::MySqlCodec;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use super::connection::MySqlConnection;
use super::results::ReadState;
use crate::error::{BackendError, Result};
use crate::socket::Socket;

const DURING: &str = "resetting a passthrough session";

/// Makes each reset's nonce differ from the last, in this process.
static NONCE: AtomicU64 = AtomicU64::new(0);

impl MySqlConnection {
    /// Lends the socket, and any bytes already read from it; the session
    /// is unusable (and the pool discards it) until
    /// [`MySqlConnection::restore_socket`]. Same preconditions as
    /// [`MySqlConnection::into_socket`].
    pub fn lend_socket(&mut self) -> Result<(TcpStream, Bytes)> {
        if self.is_broken() || self.has_pending_results() || self.is_lent() {
            return Err(BackendError::Broken);
        }
        let codec = self.framed.codec().clone();
        let lent = Framed::new(Socket::Lent, codec);
        let parts = std::mem::replace(&mut self.framed, lent).into_parts();
        match parts.io {
            Socket::Tcp(io) => Ok((io, parts.read_buf.freeze())),
            // The MySQL client never opens TLS, so only a lent socket.
            Socket::Lent | Socket::Tls(_) => Err(BackendError::Broken),
        }
    }

    /// Takes back a lent socket. The session stays broken until
    /// [`MySqlConnection::reset_session`] proves it clean.
    pub fn restore_socket(&mut self, socket: TcpStream) {
        let codec: MySqlCodec = self.framed.codec().clone();
        self.framed = Framed::new(Socket::Tcp(socket), codec);
        self.state = ReadState::Idle;
        self.columns = None;
        self.binary_types = None;
        self.broken = true;
    }

    /// Whether the socket is out on loan.
    pub fn is_lent(&self) -> bool {
        self.framed.get_ref().is_lent()
    }

    /// Resets a session whose socket came back from a passthrough client;
    /// on success it may go back to the pool. `limit` bounds the whole
    /// exchange. On any error the session stays broken.
    pub async fn reset_session(&mut self, limit: Duration) -> Result<()> {
        self.broken = false;
        let result = match tokio::time::timeout(limit, self.reset_and_prove()).await {
            Ok(r) => r,
            Err(_) => Err(BackendError::Timeout {
                what: "COM_RESET_CONNECTION after a passthrough session",
                after: limit,
            }),
        };
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    async fn reset_and_prove(&mut self) -> Result<()> {
        // COM_PING's OK carries the status the client left: a session left
        // inside a transaction is closed, not rolled back and reused.
        self.ping().await?;
        if self.in_transaction() {
            return Err(BackendError::Unexpected {
                message: "the client left inside a transaction".into(),
                during: DURING,
            });
        }
        self.reset_connection().await?;
        let nonce = format!(
            "shardwire-reset-{}-{}",
            self.connection_id(),
            NONCE.fetch_add(1, Ordering::Relaxed)
        );
        let sets = self.simple_query(&format!("SELECT '{nonce}'")).await?;
        let rows: Vec<Vec<Option<Bytes>>> = sets
            .iter()
            .flat_map(|s| s.rows.iter())
            .map(|r| r.as_text().map(|t| t.cells().collect()).unwrap_or_default())
            .collect();
        if rows != [vec![Some(Bytes::from(nonce))]] {
            return Err(BackendError::Unexpected {
                message: "answers left over from the passthrough client".into(),
                during: DURING,
            });
        }
        if !self.framed.read_buffer().is_empty() || self.framed.next().now_or_never().is_some() {
            return Err(BackendError::Unexpected {
                message: "bytes after the reset's answers".into(),
                during: DURING,
            });
        }
        if self.in_transaction() {
            return Err(BackendError::Unexpected {
                message: "a transaction after COM_RESET_CONNECTION".into(),
                during: DURING,
            });
        }
        Ok(())
    }
}
