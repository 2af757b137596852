//! A session's socket handed to a passthrough client and taken back: the
//! session object keeps its pool slot, cancel key and age while the bytes
//! flow elsewhere (the eBPF splice or a user-space relay).

use bytes::Bytes;
use shardwire_protocol::pg::PgClientCodec;
use tokio_util::codec::Framed;

use super::connection::PgConnection;
use crate::error::{BackendError, Result};
use crate::socket::Socket;

impl PgConnection {
    /// Gives up the session's socket, and any bytes already read from it,
    /// so the caller can relay the session raw (passthrough sessions, the
    /// eBPF splice).
    pub fn into_socket(self) -> Result<(Socket, Bytes)> {
        self.lendable()?;
        let parts = self.framed.into_parts();
        Ok((parts.io, parts.read_buf.freeze()))
    }

    /// Lends the socket, and any bytes already read from it, to a
    /// passthrough session while this object stays in its pool slot; give
    /// it back with [`PgConnection::restore_socket`]. Until then the
    /// session is unusable and the pool discards it.
    pub fn lend_socket(&mut self) -> Result<(Socket, Bytes)> {
        self.lendable()?;
        let lent = Framed::new(Socket::Lent, PgClientCodec::new());
        let parts = std::mem::replace(&mut self.framed, lent).into_parts();
        Ok((parts.io, parts.read_buf.freeze()))
    }

    /// Only an idle session with nothing in flight, and not lent already,
    /// can be handed over: anything else would leave the two ends out of
    /// step.
    fn lendable(&self) -> Result<()> {
        if self.broken || self.pending > 0 || self.framed.get_ref().is_lent() {
            return Err(BackendError::Broken);
        }
        Ok(())
    }

    /// Takes back a lent socket. The session's state is unknown: the
    /// passthrough client may have done anything with it, so it stays
    /// broken until [`PgConnection::reset_session`] proves it clean.
    pub fn restore_socket(&mut self, socket: Socket) {
        self.framed = Framed::new(socket, PgClientCodec::new());
        self.broken = true;
        self.pending = 0;
        // The client may have deallocated them, and DISCARD ALL will.
        self.statement_cache.clear();
        self.cached_in_flight = None;
    }

    /// Whether the socket is out on loan.
    pub fn is_lent(&self) -> bool {
        self.framed.get_ref().is_lent()
    }
}
