//! The recording relay: listens, forwards each client to the upstream
//! server, and writes both directions to a pcap as synthesised TCP/IP, so
//! recording needs neither root nor tcpdump.
//!
//! Each chunk is written to the capture before it is forwarded, so the
//! capture's order is causal: a request always precedes its answer.

use std::fs::File;
use std::io::BufWriter;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::error::{ConformanceError, Result};
use crate::pcap_write::{PcapWriter, TcpFlow};

/// Relayed connections open at once at most; more wait in the backlog.
pub const MAX_ACTIVE: usize = 256;
const READ_BUF: usize = 64 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What to record.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    pub listen: String,
    pub upstream: String,
    pub out: PathBuf,
    /// Stop after this many connections have come and gone.
    pub connections: Option<usize>,
}

/// What was recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecordSummary {
    pub connections: usize,
    pub packets: usize,
}

type SharedPcap = Arc<Mutex<(PcapWriter<BufWriter<File>>, usize)>>;

/// A bound relay, ready to [`Recorder::run`].
#[derive(Debug)]
pub struct Recorder {
    listener: TcpListener,
    opts: RecordOptions,
    pcap: SharedPcap,
}

fn write_frames(pcap: &SharedPcap, frames: &[Vec<u8>]) -> Result<()> {
    let mut guard = pcap
        .lock()
        .map_err(|_| ConformanceError::Internal("the pcap writer lock is poisoned".into()))?;
    let now = SystemTime::now();
    for f in frames {
        guard
            .0
            .packet(now, f)
            .map_err(|e| ConformanceError::io("writing the capture", e))?;
        guard.1 += 1;
    }
    Ok(())
}

impl Recorder {
    /// Creates the capture file and binds the listener.
    pub async fn bind(opts: RecordOptions) -> Result<Recorder> {
        let file = File::create(&opts.out)
            .map_err(|e| ConformanceError::io(format!("creating {}", opts.out.display()), e))?;
        let writer = PcapWriter::new(BufWriter::new(file))
            .map_err(|e| ConformanceError::io("writing the capture header", e))?;
        let listener = TcpListener::bind(&opts.listen)
            .await
            .map_err(|e| ConformanceError::io(format!("listening on {}", opts.listen), e))?;
        Ok(Recorder {
            listener,
            opts,
            pcap: Arc::new(Mutex::new((writer, 0))),
        })
    }

    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener
            .local_addr()
            .map_err(|e| ConformanceError::io("reading the listen address", e))
    }

    /// Relays until `shutdown` completes or the connection limit is
    /// reached and those connections ended; then closes open connections
    /// (with FINs in the capture) and flushes the file.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<RecordSummary> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks: JoinSet<Result<()>> = JoinSet::new();
        let mut accepted = 0usize;
        let limit = self.opts.connections.unwrap_or(usize::MAX);
        tokio::pin!(shutdown);
        let mut first_error = None;
        loop {
            if accepted >= limit && tasks.is_empty() {
                break;
            }
            tokio::select! {
                _ = &mut shutdown => break,
                accept = self.listener.accept(), if accepted < limit && tasks.len() < MAX_ACTIVE => {
                    let (client, peer) = accept
                        .map_err(|e| ConformanceError::io("accepting a connection", e))?;
                    accepted += 1;
                    let upstream = self.opts.upstream.clone();
                    let pcap = Arc::clone(&self.pcap);
                    let stop = stop_rx.clone();
                    tasks.spawn(relay_one(client, peer, upstream, pcap, stop));
                }
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Ok(Err(e)) = done {
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        let _ = stop_tx.send(true);
        while let Some(done) = tasks.join_next().await {
            if let Ok(Err(e)) = done {
                first_error.get_or_insert(e);
            }
        }
        let mut guard = self
            .pcap
            .lock()
            .map_err(|_| ConformanceError::Internal("the pcap writer lock is poisoned".into()))?;
        guard
            .0
            .flush()
            .map_err(|e| ConformanceError::io("flushing the capture", e))?;
        if let Some(e) = first_error {
            return Err(e);
        }
        Ok(RecordSummary {
            connections: accepted,
            packets: guard.1,
        })
    }
}

async fn relay_one(
    mut client: TcpStream,
    peer: SocketAddr,
    upstream: String,
    pcap: SharedPcap,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    // An unreachable upstream closes this client only: the client sees
    // the refusal, and the capture simply has no such connection.
    let Ok(Ok(mut server)) =
        tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&upstream)).await
    else {
        return Ok(());
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let Ok(server_addr) = server.peer_addr() else {
        return Ok(());
    };
    let mut flow = TcpFlow::new(peer, server_addr);
    write_frames(&pcap, &flow.handshake())?;
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let mut cbuf = vec![0u8; READ_BUF];
    let mut sbuf = vec![0u8; READ_BUF];
    let (mut client_open, mut server_open) = (true, true);
    while client_open || server_open {
        tokio::select! {
            r = cr.read(&mut cbuf), if client_open => {
                match r {
                    Ok(n) if n > 0 => {
                        write_frames(&pcap, &flow.data(true, &cbuf[..n]))?;
                        if sw.write_all(&cbuf[..n]).await.is_err() {
                            server_open = false;
                        }
                    }
                    _ => {
                        client_open = false;
                        write_frames(&pcap, &[flow.fin(true)])?;
                        let _ = sw.shutdown().await;
                    }
                }
            }
            r = sr.read(&mut sbuf), if server_open => {
                match r {
                    Ok(n) if n > 0 => {
                        write_frames(&pcap, &flow.data(false, &sbuf[..n]))?;
                        if cw.write_all(&sbuf[..n]).await.is_err() {
                            client_open = false;
                        }
                    }
                    _ => {
                        server_open = false;
                        write_frames(&pcap, &[flow.fin(false)])?;
                        let _ = cw.shutdown().await;
                    }
                }
            }
            _ = stop.changed() => {
                let mut fins = Vec::new();
                if client_open {
                    fins.push(flow.fin(true));
                }
                if server_open {
                    fins.push(flow.fin(false));
                }
                write_frames(&pcap, &fins)?;
                break;
            }
        }
    }
    Ok(())
}

/// A future that completes on SIGINT or SIGTERM. The handlers are
/// installed here, before the future is first polled, so a signal that
/// arrives right after the relay says it listens is not lost (nor kills
/// the process with the default action). Call it inside a runtime.
pub fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let install =
        |kind| signal(kind).map_err(|e| ConformanceError::io("installing a signal handler", e));
    let mut term = install(SignalKind::terminate())?;
    let mut int = install(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
