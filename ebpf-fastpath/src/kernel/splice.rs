//! One session through the kernel: put the pair in the maps, wait for either
//! end to close, let bytes already redirected reach the other socket, take
//! the pair out, and close or hand back the sockets.
use std::os::fd::AsFd;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::maps::PairKey;
use super::watch;
use super::KernelPath;
use crate::session::{EndKind, Path, Side, SpliceOutcome};
use crate::stats::Counters;
use crate::{sys, FastPathError};

/// A pair whose pending bytes were already written by the caller.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) client: TcpStream,
    pub(crate) backend: TcpStream,
    pub(crate) pending_to_backend: u64,
    pub(crate) pending_to_client: u64,
    pub(crate) keep_backend: bool,
}

/// Runs the session in the kernel. When the set-up fails nothing is left in
/// the maps and the streams come back untouched, for the user-space copy.
pub(crate) async fn splice(
    kernel: &KernelPath,
    counters: &Counters,
    mut pair: Prepared,
    drain_timeout: Duration,
) -> Result<SpliceOutcome, (FastPathError, Prepared)> {
    forward_queued(&mut pair, counters).await;
    let (key, bases) = match set_up(kernel, &pair) {
        Ok(set) => set,
        Err(e) => return Err((e, pair)),
    };
    Counters::add(&counters.kernel_active, 1);
    let Prepared {
        client,
        backend,
        pending_to_backend,
        pending_to_client,
        keep_backend,
    } = pair;

    let (ended_by, end) = tokio::select! {
        end = watch::closed(&client) => (Side::Client, end),
        end = watch::closed(&backend) => (Side::Backend, end),
    };

    // Bytes the closing side sent before its FIN were redirected by the
    // verdict, but the kernel writes them to the peer socket from a work
    // queue: wait for them before removing the pair (which would drop them)
    // or shutting the peer down (the FIN would overtake them).
    let [to_backend, to_client] = kernel.maps().bytes(key);
    let delivered = match ended_by {
        Side::Client => watch::drained(&backend, bases.backend, to_backend, drain_timeout).await,
        Side::Backend => watch::drained(&client, bases.client, to_client, drain_timeout).await,
    };

    let [to_backend, to_client] = kernel.maps().remove_pair(key);
    Counters::sub(&counters.kernel_active, 1);
    Counters::add(&counters.client_to_backend, to_backend);
    Counters::add(&counters.backend_to_client, to_client);

    let backend = match ended_by {
        Side::Client
            if keep_backend && delivered && end == EndKind::Eof && backend_usable(&backend) =>
        {
            Some(backend)
        }
        Side::Client => {
            shut_down(&backend);
            None
        }
        Side::Backend => {
            shut_down(&client);
            None
        }
    };
    Ok(SpliceOutcome {
        path: Path::Kernel,
        user_space_reason: None,
        ended_by,
        end,
        client_to_backend: pending_to_backend + to_backend,
        backend_to_client: pending_to_client + to_client,
        backend,
    })
}

/// Forwards by hand what already sits in either socket's receive queue.
///
/// The stream parser must never start on a partly read skb: it hands the
/// whole skb to the parser program, whose `skb->len` then counts bytes user
/// space already consumed, and the message waits for bytes that never come.
/// After this, the queues are empty; segments arriving before the insert
/// are whole skbs, which the kick in `set_up` sends through the parser.
/// A read or write failure stops the copy; the watch then ends the session.
async fn forward_queued(pair: &mut Prepared, counters: &Counters) {
    let mut buf = vec![0u8; 64 * 1024];
    let moved = drain(&pair.client, &mut pair.backend, &mut buf).await;
    pair.pending_to_backend += moved;
    Counters::add(&counters.client_to_backend, moved);
    let moved = drain(&pair.backend, &mut pair.client, &mut buf).await;
    pair.pending_to_client += moved;
    Counters::add(&counters.backend_to_client, moved);
}

async fn drain(from: &TcpStream, to: &mut TcpStream, buf: &mut [u8]) -> u64 {
    let mut moved = 0u64;
    loop {
        let n = match from.try_read(buf) {
            Ok(0) | Err(_) => return moved,
            Ok(n) => n,
        };
        let Some(chunk) = buf.get(..n) else {
            return moved;
        };
        if to.write_all(chunk).await.is_err() {
            return moved;
        }
        moved += n as u64;
    }
}

fn set_up(kernel: &KernelPath, pair: &Prepared) -> Result<(PairKey, Bases), FastPathError> {
    // Read before the pair is armed: from then on the kernel may write to
    // either socket, and those bytes are what the drain wait counts.
    let bases = Bases::read(&pair.client, &pair.backend)?;
    let key = PairKey {
        client: sys::socket_cookie(&pair.client)
            .map_err(FastPathError::io("client socket cookie"))?,
        backend: sys::socket_cookie(&pair.backend)
            .map_err(FastPathError::io("backend socket cookie"))?,
    };
    kernel
        .maps()
        .add_pair(key, pair.client.as_fd(), pair.backend.as_fd())?;
    // Bytes that reached either socket before it joined the intercept map
    // sit in its receive queue; make the parser take them now, in order,
    // instead of when the next segment arrives.
    for stream in [&pair.client, &pair.backend] {
        if let Err(e) = sys::kick_receive_queue(stream) {
            kernel.maps().remove_pair(key);
            return Err(FastPathError::Io {
                what: "SO_RCVLOWAT on a spliced socket",
                source: e,
            });
        }
    }
    Ok((key, bases))
}

/// Each socket's send-queue position when the splice started.
#[derive(Debug, Clone, Copy)]
struct Bases {
    client: u64,
    backend: u64,
}

impl Bases {
    fn read(client: &TcpStream, backend: &TcpStream) -> Result<Self, FastPathError> {
        Ok(Self {
            client: sys::send_state(client)
                .map_err(FastPathError::io("TCP_INFO of the client"))?
                .written,
            backend: sys::send_state(backend)
                .map_err(FastPathError::io("TCP_INFO of the backend"))?
                .written,
        })
    }
}

/// The backend can go back to a pool only if it neither closed nor failed.
fn backend_usable(backend: &TcpStream) -> bool {
    matches!(backend.take_error(), Ok(None))
        && matches!(sys::send_state(backend), Ok(s) if s.tcp_state == sys::TCP_ESTABLISHED)
}

/// Sends our FIN; the socket closes when the caller drops the stream (here,
/// on return). A socket the peer already reset fails this harmlessly.
fn shut_down(stream: &TcpStream) {
    let _ = sys::shutdown_write(stream);
}
