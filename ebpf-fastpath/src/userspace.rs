//! The user-space copy: the same session semantics as the kernel path, with
//! tokio doing the reads and writes. Used when the kernel path is
//! unavailable, when setting up a kernel pair fails, and for streams the
//! kernel cannot see through (TLS on either side).
use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::session::{EndKind, Side};
use crate::stats::Counters;

/// 64 KiB: large enough that a bulk transfer is not syscall-bound, small
/// enough for thousands of sessions.
const BUF: usize = 64 * 1024;

/// How one copied session ended.
#[derive(Debug)]
pub(crate) struct Ended {
    pub(crate) side: Side,
    pub(crate) end: EndKind,
    pub(crate) client_to_backend: u64,
    pub(crate) backend_to_client: u64,
    /// The client's farewell was its last read and was not forwarded.
    pub(crate) farewell_held: bool,
}

/// Copies both directions until one side ends: a read returning 0 or
/// failing ends the session on the side read from, a failed write on the
/// side written to. The direction that ended has written everything it read;
/// the other direction is abandoned mid-copy, which only loses bytes meant
/// for the side that is gone or is about to be shut down.
pub(crate) async fn copy<CR, CW, BR, BW>(
    client_read: &mut CR,
    client_write: &mut CW,
    backend_read: &mut BR,
    backend_write: &mut BW,
    counters: &Counters,
    farewell: Option<[u8; 5]>,
) -> Ended
where
    CR: AsyncRead + Unpin,
    CW: AsyncWrite + Unpin,
    BR: AsyncRead + Unpin,
    BW: AsyncWrite + Unpin,
{
    let open = || std::future::ready(());
    copy_gated(
        client_read,
        client_write,
        backend_read,
        backend_write,
        counters,
        farewell,
        (open(), open()),
    )
    .await
}

/// [`copy`], where each direction first waits for its gate: (to backend,
/// to client).
pub(crate) async fn copy_gated<CR, CW, BR, BW, GB, GC>(
    client_read: &mut CR,
    client_write: &mut CW,
    backend_read: &mut BR,
    backend_write: &mut BW,
    counters: &Counters,
    farewell: Option<[u8; 5]>,
    (to_backend_gate, to_client_gate): (GB, GC),
) -> Ended
where
    CR: AsyncRead + Unpin,
    CW: AsyncWrite + Unpin,
    BR: AsyncRead + Unpin,
    BW: AsyncWrite + Unpin,
    GB: std::future::Future<Output = ()>,
    GC: std::future::Future<Output = ()>,
{
    let mut to_backend = Pumped::default();
    let mut to_client = Pumped::default();
    let (side, end) = tokio::select! {
        r = async {
            to_backend_gate.await;
            pump(client_read, backend_write, &mut to_backend, (Side::Client, Side::Backend), &counters.client_to_backend, farewell).await
        } => r,
        r = async {
            to_client_gate.await;
            pump(backend_read, client_write, &mut to_client, (Side::Backend, Side::Client), &counters.backend_to_client, None).await
        } => r,
    };
    Ended {
        side,
        end,
        client_to_backend: to_backend.moved,
        backend_to_client: to_client.moved,
        farewell_held: to_backend.farewell_held,
    }
}

/// What one direction moved.
#[derive(Debug, Default)]
struct Pumped {
    moved: u64,
    farewell_held: bool,
}

/// Copies one direction until its reader ends. A read that is exactly the
/// `farewell` waits for the next: the end of the stream keeps it back
/// (the client said goodbye), anything else sends it first, in order.
async fn pump<R, W>(
    from: &mut R,
    to: &mut W,
    pumped: &mut Pumped,
    (from_side, to_side): (Side, Side),
    total: &std::sync::atomic::AtomicU64,
    farewell: Option<[u8; 5]>,
) -> (Side, EndKind)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; BUF];
    let mut holding = false;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) => {
                pumped.farewell_held = holding;
                return (from_side, EndKind::Eof);
            }
            Ok(n) => n,
            Err(e) => return (from_side, EndKind::Error(e.kind())),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        if let Some(bye) = farewell {
            if std::mem::take(&mut holding) {
                if let Err(e) = write_flush(to, &bye).await {
                    return (to_side, EndKind::Error(e.kind()));
                }
                pumped.moved += bye.len() as u64;
                Counters::add(total, bye.len() as u64);
            }
            if chunk == bye {
                holding = true;
                continue;
            }
        }
        if let Err(e) = write_flush(to, chunk).await {
            return (to_side, EndKind::Error(e.kind()));
        }
        let n = n as u64;
        pumped.moved += n;
        Counters::add(total, n);
    }
}

/// Copies between two sockets until one side ends, then closes the other
/// side's sending direction, or hands the backend back when asked and the
/// client left cleanly.
pub(crate) async fn copy_tcp(
    client: TcpStream,
    backend: TcpStream,
    keep_backend: bool,
    counters: &Counters,
    farewell: Option<[u8; 5]>,
) -> (Ended, Option<TcpStream>) {
    let open = || std::future::ready(());
    copy_tcp_gated(
        client,
        backend,
        keep_backend,
        counters,
        farewell,
        (open(), open()),
    )
    .await
}

/// [`copy_tcp`] with a gate per direction, as in [`copy_gated`].
pub(crate) async fn copy_tcp_gated<GB, GC>(
    client: TcpStream,
    backend: TcpStream,
    keep_backend: bool,
    counters: &Counters,
    farewell: Option<[u8; 5]>,
    gates: (GB, GC),
) -> (Ended, Option<TcpStream>)
where
    GB: std::future::Future<Output = ()>,
    GC: std::future::Future<Output = ()>,
{
    let active = Active::new(&counters.user_space_active);
    let (mut cr, mut cw) = client.into_split();
    let (mut br, mut bw) = backend.into_split();
    let ended = copy_gated(
        &mut cr, &mut cw, &mut br, &mut bw, counters, farewell, gates,
    )
    .await;
    drop(active);
    let keep = keep_backend && ended.side == Side::Client && ended.end == EndKind::Eof;
    let backend = if keep {
        br.reunite(bw).ok()
    } else {
        // Dropping a write half sends FIN: drop the survivor's first so it
        // sees the end promptly.
        match ended.side {
            Side::Client => drop(bw),
            Side::Backend => drop(cw),
        }
        None
    };
    (ended, backend)
}

/// One session counted in an "active" gauge for as long as it lives, also
/// when the future running it is dropped.
pub(crate) struct Active<'a>(&'a std::sync::atomic::AtomicU64);

impl<'a> Active<'a> {
    pub(crate) fn new(gauge: &'a std::sync::atomic::AtomicU64) -> Self {
        Counters::add(gauge, 1);
        Self(gauge)
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        Counters::sub(self.0, 1);
    }
}

/// Writes and flushes: a TLS stream holds records back until flushed.
pub(crate) async fn write_flush<W: AsyncWrite + Unpin>(to: &mut W, bytes: &[u8]) -> io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    to.write_all(bytes).await?;
    to.flush().await
}
