//! Reading the client's next message without holding buffers while the
//! client is quiet.
//!
//! Thousands of clients may sit idle on one proxy, so what an idle session
//! keeps is what the proxy costs per connection. The framing buffers start
//! at 8 KB each and keep whatever a large message grew them to; a session
//! that finds nothing more to read gives both back and waits for the
//! socket to become readable with no buffer at all (a plain TCP client; a
//! TLS client may have bytes already decrypted inside the TLS layer, so it
//! keeps a small buffer and reads as before). The cost is one allocation
//! per wake-up, against several KB per idle client.

use bytes::BytesMut;
use futures::{FutureExt, StreamExt};
use shardwire_protocol::pg::FrontendMessage;
use shardwire_protocol::ProtocolError;

use super::startup::ClientConn;
use crate::tls::ClientStream;

/// Where the read buffer starts after an idle wait: room for any ordinary
/// statement in one read; a longer message grows it to its exact length
/// (the codec reserves what a frame's header announces).
pub const READ_CAPACITY: usize = 2048;

/// The next message from the client; `None` once it has closed the
/// connection.
pub async fn next_message(conn: &mut ClientConn) -> Option<Result<FrontendMessage, ProtocolError>> {
    // Whatever is already buffered or readable is taken without letting go
    // of anything: a pipelined batch is read at full speed.
    if let Some(next) = conn.next().now_or_never() {
        return next;
    }
    release(conn);
    if let ClientStream::Plain(tcp) = conn.get_ref() {
        // An error shows up again on the read below, which reports it.
        let _ = tcp.readable().await;
    }
    let buf = conn.read_buffer_mut();
    if buf.capacity() < READ_CAPACITY {
        buf.reserve(READ_CAPACITY);
    }
    conn.next().await
}

/// Gives back the framing buffers where nothing in them is still owed:
/// answers not yet flushed (an extended-protocol client may pause before
/// its Sync) and the start of a message cut in two by the network stay.
fn release(conn: &mut ClientConn) {
    if conn.write_buffer().is_empty() && conn.write_buffer().capacity() > 0 {
        *conn.write_buffer_mut() = BytesMut::new();
    }
    if conn.read_buffer().is_empty() {
        let small = matches!(conn.get_ref(), ClientStream::Tls(_));
        *conn.read_buffer_mut() = if small {
            BytesMut::with_capacity(READ_CAPACITY)
        } else {
            BytesMut::new()
        };
    }
}
