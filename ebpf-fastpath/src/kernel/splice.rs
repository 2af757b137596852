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
use crate::{sys, userspace, FastPathError};

/// A pair whose pending bytes were already written by the caller.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) client: TcpStream,
    pub(crate) backend: TcpStream,
    pub(crate) pending_to_backend: u64,
    pub(crate) pending_to_client: u64,
    pub(crate) keep_backend: bool,
    pub(crate) farewell: Option<[u8; 5]>,
}

/// The configured bounds a kernel session works within.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) drain_timeout: Duration,
    pub(crate) max_in_flight: u64,
    pub(crate) idle_check: Duration,
}

/// Runs the session in the kernel. When the set-up fails nothing is left in
/// the maps and the streams come back untouched, for the user-space copy.
pub(crate) async fn splice(
    kernel: &KernelPath,
    counters: &Counters,
    mut pair: Prepared,
    limits: Limits,
) -> Result<SpliceOutcome, (FastPathError, Prepared)> {
    forward_queued(&mut pair, counters).await;
    let (key, bases) = match set_up_retrying(kernel, &pair).await {
        Ok(set) => set,
        Err(e) => return Err((e, pair)),
    };
    let mut guard = PairGuard::new(kernel, counters, key);
    let Prepared {
        client,
        mut backend,
        pending_to_backend,
        pending_to_client,
        keep_backend,
        farewell,
    } = pair;

    let phase = watch_session(
        kernel,
        key,
        bases,
        (&client, &backend),
        farewell.is_some(),
        limits,
    )
    .await;
    let (ended_by, end) = match phase {
        Phase::Ended(side, end) => (side, end),
        Phase::WentOn => {
            let mut outcome = went_on(kernel, counters, &mut guard, (client, backend)).await;
            outcome.client_to_backend += pending_to_backend;
            outcome.backend_to_client += pending_to_client;
            return Ok(outcome);
        }
        Phase::FellBehind(slow) => {
            let mut outcome = demote(
                kernel,
                counters,
                &mut guard,
                bases,
                (client, backend),
                keep_backend,
                farewell,
            )
            .await;
            outcome.user_space_reason = Some(format!(
                "the {} read slower than the other side sent (more than {} bytes held in the kernel); moved to user space",
                match slow {
                    Side::Client => "client",
                    Side::Backend => "backend",
                },
                limits.max_in_flight
            ));
            outcome.client_to_backend += pending_to_backend;
            outcome.backend_to_client += pending_to_client;
            return Ok(outcome);
        }
    };

    // Bytes the closing side sent before its FIN were redirected by the
    // verdict, but the kernel writes them to the peer socket from a work
    // queue: wait for them before removing the pair (which would drop them)
    // or shutting the peer down (the FIN would overtake them).
    let [to_backend, to_client] = kernel.maps().bytes(key);
    let timeout = Some(limits.drain_timeout);
    let delivered = match ended_by {
        Side::Client => watch::drained(&backend, bases.backend, to_backend, timeout).await,
        Side::Backend => watch::drained(&client, bases.client, to_client, timeout).await,
    };

    // Held bytes wait in the client's queue, which dies with the pair:
    // read them now. The farewell alone is withheld; anything else the
    // client sent reaches the backend after what the kernel delivered.
    let mut farewell_held = false;
    let mut by_hand = 0u64;
    if ended_by == Side::Client && kernel.maps().held(guard.key) {
        let held = read_held(&client);
        if farewell.is_some_and(|f| held == f) {
            farewell_held = true;
        } else if delivered && backend.write_all(&held).await.is_ok() {
            by_hand = held.len() as u64;
            Counters::add(&counters.client_to_backend, by_hand);
        }
    }

    let [to_backend, to_client] = guard.remove();
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
        client_to_backend: pending_to_backend + to_backend + by_hand,
        backend_to_client: pending_to_client + to_client,
        backend,
        farewell_held,
    })
}

/// The bytes the verdict kept in the client's queue (see
/// bpf/splice.bpf.c), read without waiting; bounded, since a client that
/// kept sending was demoted long before.
fn read_held(client: &TcpStream) -> Vec<u8> {
    let mut held = Vec::new();
    let mut buf = [0u8; 4096];
    while held.len() < 1 << 20 {
        match client.try_read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => held.extend_from_slice(buf.get(..n).unwrap_or_default()),
        }
    }
    held
}

/// Owns a live pair's map entries and its place in `kernel_active`: if the
/// caller drops the splice future (shutdown, a timeout around it), the pair
/// still leaves the maps and the counters stay true.
struct PairGuard<'a> {
    kernel: &'a KernelPath,
    counters: &'a Counters,
    key: PairKey,
    in_maps: bool,
    kernel_active: bool,
}

impl<'a> PairGuard<'a> {
    fn new(kernel: &'a KernelPath, counters: &'a Counters, key: PairKey) -> Self {
        Counters::add(&counters.kernel_active, 1);
        Self {
            kernel,
            counters,
            key,
            in_maps: true,
            kernel_active: true,
        }
    }

    fn not_kernel_active(&mut self) {
        if std::mem::take(&mut self.kernel_active) {
            Counters::sub(&self.counters.kernel_active, 1);
        }
    }

    /// Takes the pair out of the maps; returns its final byte counts.
    fn remove(&mut self) -> [u64; 2] {
        self.not_kernel_active();
        if std::mem::take(&mut self.in_maps) {
            self.kernel.maps().remove_pair(self.key)
        } else {
            [0, 0]
        }
    }
}

impl Drop for PairGuard<'_> {
    fn drop(&mut self) {
        // A demoted session counted its kernel bytes when it left the kernel.
        let uncounted = self.kernel_active;
        if self.in_maps {
            let [to_backend, to_client] = self.remove();
            if uncounted {
                Counters::add(&self.counters.client_to_backend, to_backend);
                Counters::add(&self.counters.backend_to_client, to_client);
            }
        }
        self.not_kernel_active();
    }
}

/// How the kernel phase of a session ended.
enum Phase {
    Ended(Side, EndKind),
    /// This side reads slower than the other sends, and the kernel holds
    /// more than the limit for it.
    FellBehind(Side),
    /// The client's bytes were held back as a farewell, and it went on.
    WentOn,
}

/// While the kernel holds anything back, a look every 5 ms, so a fast
/// sender cannot run far past the limit between looks; otherwise every
/// `FastPathConfig::idle_check`.
const BUSY_LOOK: Duration = Duration::from_millis(5);

/// Waits for either side to close, checking that neither side falls behind.
///
/// The kernel gives redirected bytes no backpressure: the verdict takes
/// every segment off the sender's receive queue (so its window stays open),
/// and what the receiving socket cannot take yet waits in the kernel's work
/// queue without limit. Measured here: 160 MiB queued in 2 s for a client
/// that did not read.
async fn watch_session(
    kernel: &KernelPath,
    key: PairKey,
    bases: Bases,
    (client, backend): (&TcpStream, &TcpStream),
    farewell: bool,
    limits: Limits,
) -> Phase {
    let idle = limits.idle_check.max(BUSY_LOOK);
    let mut pause = idle;
    let client_end = async {
        if !farewell {
            return Phase::Ended(Side::Client, watch::closed(client).await);
        }
        match watch::client_closed(client, || kernel.maps().held(key)).await {
            watch::ClientWatch::Closed(end) => Phase::Ended(Side::Client, end),
            watch::ClientWatch::WentOn => Phase::WentOn,
        }
    };
    tokio::pin!(client_end);
    loop {
        tokio::select! {
            phase = &mut client_end => return phase,
            end = watch::closed(backend) => return Phase::Ended(Side::Backend, end),
            () = tokio::time::sleep(pause) => {
                let (held, slow) = in_flight(kernel, key, bases, client, backend);
                if held > limits.max_in_flight {
                    return Phase::FellBehind(slow);
                }
                pause = if held > 0 { BUSY_LOOK } else { idle };
            }
        }
    }
}

/// Bytes redirected but not yet accepted by the receiving socket, for the
/// direction holding more, and that direction's receiver.
fn in_flight(
    kernel: &KernelPath,
    key: PairKey,
    bases: Bases,
    client: &TcpStream,
    backend: &TcpStream,
) -> (u64, Side) {
    let [to_backend, to_client] = kernel.maps().bytes(key);
    let accepted = |s: &TcpStream, base: u64| {
        sys::send_state(s).map_or(u64::MAX, |st| st.written.wrapping_sub(base))
    };
    let behind_client = to_client.saturating_sub(accepted(client, bases.client));
    let behind_backend = to_backend.saturating_sub(accepted(backend, bases.backend));
    if behind_client >= behind_backend {
        (behind_client, Side::Client)
    } else {
        (behind_backend, Side::Backend)
    }
}

/// Moves a session whose reader fell behind to the user-space copy, where
/// TCP's own backpressure applies, without losing or reordering a byte:
/// interception stops (bytes arriving from now on stay in the sender's
/// receive queue, and its window closes when that fills), each direction's
/// kernel queue drains into its receiver, then tokio copies that direction.
async fn demote(
    kernel: &KernelPath,
    counters: &Counters,
    guard: &mut PairGuard<'_>,
    bases: Bases,
    (client, backend): (TcpStream, TcpStream),
    keep_backend: bool,
    farewell: Option<[u8; 5]>,
) -> SpliceOutcome {
    let key = guard.key;
    kernel.maps().stop_intercept(key);
    let [to_backend, to_client] = settled_bytes(kernel, key).await;
    guard.not_kernel_active();
    Counters::add(&counters.demoted, 1);
    Counters::add(&counters.client_to_backend, to_backend);
    Counters::add(&counters.backend_to_client, to_client);

    // Each direction starts copying once the kernel's queue for its receiver
    // has drained, independently: waiting for both first could deadlock a
    // client that reads only after its own write completes. No deadline:
    // the receiver is slow, not gone; if it goes, its socket leaves
    // ESTABLISHED and the wait ends. The gates poll duplicates of the fds,
    // since the copy owns the sockets.
    let gate = |target: &TcpStream, base: u64, expected: u64| {
        let fd = target.as_fd().try_clone_to_owned();
        async move {
            if let Ok(fd) = fd {
                watch::drained(fd, base, expected, None).await;
            }
        }
    };
    let gates = (
        gate(&backend, bases.backend, to_backend),
        gate(&client, bases.client, to_client),
    );
    let (ended, backend) =
        userspace::copy_tcp_gated(client, backend, keep_backend, counters, farewell, gates).await;
    // Only now: a socket leaving its last map discards what the kernel still
    // had queued for it.
    guard.remove();
    SpliceOutcome {
        path: Path::KernelThenUserSpace,
        user_space_reason: None,
        ended_by: ended.side,
        end: ended.end,
        client_to_backend: to_backend + ended.client_to_backend,
        backend_to_client: to_client + ended.backend_to_client,
        backend,
        farewell_held: ended.farewell_held,
    }
}

/// The client went on after bytes the verdict held back as its farewell.
/// Carrying on is not safe on the kernels we run: bytes the verdict passed
/// to the socket's own queue are read without advancing the TCP copied
/// sequence, and the next ordinary read then stalls with a "TCP recvmsg
/// seq # bug" warning (seen on 6.18 when this path demoted to the
/// user-space copy). So the session ends here, both sockets closed, without
/// forwarding the held bytes: the client sees its connection drop rather
/// than a stream with bytes missing or reordered. Only a client that sends
/// the farewell's exact bytes as one segment and then keeps sending gets
/// here; the user-space path carries such a client on.
async fn went_on(
    kernel: &KernelPath,
    counters: &Counters,
    guard: &mut PairGuard<'_>,
    (client, backend): (TcpStream, TcpStream),
) -> SpliceOutcome {
    let key = guard.key;
    kernel.maps().stop_intercept(key);
    let [to_backend, to_client] = settled_bytes(kernel, key).await;
    guard.not_kernel_active();
    Counters::add(&counters.client_to_backend, to_backend);
    Counters::add(&counters.backend_to_client, to_client);
    guard.remove();
    shut_down(&client);
    shut_down(&backend);
    SpliceOutcome {
        path: Path::Kernel,
        user_space_reason: None,
        ended_by: Side::Client,
        end: EndKind::Error(std::io::ErrorKind::InvalidData),
        client_to_backend: to_backend,
        backend_to_client: to_client,
        backend: None,
        farewell_held: false,
    }
}

/// The pair's byte counters once no verdict is still running for it: one
/// that started before interception stopped may still add.
async fn settled_bytes(kernel: &KernelPath, key: PairKey) -> [u64; 2] {
    let mut last = kernel.maps().bytes(key);
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(1)).await;
        let now = kernel.maps().bytes(key);
        if now == last {
            return now;
        }
        last = now;
    }
    last
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

/// How long a socket whose last splice is still being torn down may keep a
/// new one waiting, in doubling steps from 1 ms.
const BUSY_RETRIES: u32 = 8;

/// [`set_up`], again while the kernel says a socket is busy.
///
/// A pooled backend socket is spliced again as soon as its previous client
/// left. Read from the kernel's sockmap code (not caught in the act here):
/// the backlog worker that writes redirected bytes holds its own reference
/// to the socket's psock, so for a moment after the old pair left the maps
/// that psock can survive with its old programs, and joining `sw_intercept`
/// then fails with EBUSY until the worker is done (microseconds, or
/// milliseconds on a loaded machine). Any other error is final at once.
async fn set_up_retrying(
    kernel: &KernelPath,
    pair: &Prepared,
) -> Result<(PairKey, Bases), FastPathError> {
    let mut wait = Duration::from_millis(1);
    for _ in 0..BUSY_RETRIES {
        match set_up(kernel, pair) {
            Err(e) if e.is_busy() => {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            done => return done,
        }
    }
    set_up(kernel, pair)
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
    kernel.maps().add_pair(
        key,
        pair.client.as_fd(),
        pair.backend.as_fd(),
        pair.farewell,
    )?;
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

/// Whether either socket has left the established state (its peer sent
/// FIN or reset it), which is why the kernel refuses it a map entry.
pub(crate) fn either_closed(pair: &Prepared) -> bool {
    [&pair.client, &pair.backend]
        .iter()
        .any(|s| !matches!(sys::send_state(s), Ok(st) if st.tcp_state == sys::TCP_ESTABLISHED))
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
