//! Noticing that a spliced socket's peer closed, and waiting for bytes in
//! flight to reach a socket.
//!
//! While a socket is in the sockmap its data-ready callback belongs to the
//! stream parser, so user space is never woken for data and a read would
//! see nothing. A FIN or RST still wakes waiters through the state-change
//! callback, and tcp_poll then reports RDHUP/HUP/ERR: tokio's
//! `ready(READABLE)` resolves on that. Other wake-ups (write space, a
//! segment the parser has not yet taken) are filtered with a non-blocking
//! MSG_PEEK: 0 is the end of the stream, WouldBlock clears tokio's readiness.
use std::io;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use tokio::io::Interest;
use tokio::net::TcpStream;

use crate::session::EndKind;
use crate::sys;

/// Resolves when the peer of `stream` has closed or reset the connection.
pub(crate) async fn closed(stream: &TcpStream) -> EndKind {
    loop {
        let ready = match stream.ready(Interest::READABLE).await {
            Ok(ready) => ready,
            Err(e) => return EndKind::Error(e.kind()),
        };
        if ready.is_error() {
            return match stream.take_error() {
                Ok(Some(e)) => EndKind::Error(e.kind()),
                Ok(None) => EndKind::Eof,
                Err(e) => EndKind::Error(e.kind()),
            };
        }
        match stream.try_io(Interest::READABLE, || sys::peek(stream)) {
            Ok(0) => return EndKind::Eof,
            // Bytes the parser has not taken yet: it will within
            // microseconds; look again shortly rather than spin.
            Ok(_) => tokio::time::sleep(Duration::from_millis(1)).await,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return EndKind::Error(e.kind()),
        }
    }
}

/// Waits until `target` has accepted `expected` more bytes into its send
/// queue than at `base` (bytes the verdict program redirected to it, which
/// the kernel sends from a work queue after the verdict). Gives up when the
/// socket is no longer able to send, or after `timeout` if any; returns
/// whether everything arrived.
pub(crate) async fn drained(
    target: impl AsFd,
    base: u64,
    expected: u64,
    timeout: Option<Duration>,
) -> bool {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut pause = Duration::from_micros(50);
    loop {
        let Ok(state) = sys::send_state(&target) else {
            return false;
        };
        if state.written.wrapping_sub(base) >= expected {
            return true;
        }
        if state.tcp_state != sys::TCP_ESTABLISHED && state.tcp_state != sys::TCP_CLOSE_WAIT {
            return false;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}
