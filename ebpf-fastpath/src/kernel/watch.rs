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

/// How the watch on a client with a held farewell ended.
pub(crate) enum ClientWatch {
    Closed(EndKind),
    /// The verdict held bytes back (they looked like the farewell) and the
    /// client did not close: they were not a goodbye, or not the last one.
    WentOn,
}

/// How long held bytes may wait for the client's close before they are
/// treated as ordinary bytes. A client that says goodbye closes at once
/// (libpq and the MySQL clients send the message and close).
const HELD_WAIT: Duration = Duration::from_millis(200);

/// [`closed`] for the client of a pair watching for its farewell: bytes in
/// the client's own queue are the ones the verdict held back when `held()`
/// says so; then the close shows in the TCP state (the FIN is queued behind
/// them, so the peek cannot return 0).
pub(crate) async fn client_closed(stream: &TcpStream, held: impl Fn() -> bool) -> ClientWatch {
    let mut held_since: Option<Instant> = None;
    loop {
        let ready = match stream.ready(Interest::READABLE).await {
            Ok(ready) => ready,
            Err(e) => return ClientWatch::Closed(EndKind::Error(e.kind())),
        };
        if ready.is_error() {
            return ClientWatch::Closed(match stream.take_error() {
                Ok(Some(e)) => EndKind::Error(e.kind()),
                Ok(None) => EndKind::Eof,
                Err(e) => EndKind::Error(e.kind()),
            });
        }
        match stream.try_io(Interest::READABLE, || sys::peek(stream)) {
            Ok(0) => return ClientWatch::Closed(EndKind::Eof),
            Ok(_) if held() => {
                if sys::send_state(stream).is_ok_and(|s| s.tcp_state != sys::TCP_ESTABLISHED) {
                    return ClientWatch::Closed(EndKind::Eof);
                }
                let since = *held_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= HELD_WAIT {
                    return ClientWatch::WentOn;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(1)).await,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return ClientWatch::Closed(EndKind::Error(e.kind())),
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
