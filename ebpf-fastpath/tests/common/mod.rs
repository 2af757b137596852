//! Shared by the crate's integration tests: getting a FastPath in the mode a
//! test asks for, and a tiny proxy that accepts a client, connects to a
//! backend and splices the two.
#![allow(dead_code)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use shardwire_fastpath::{FastPath, FastPathConfig, Mode, SpliceOutcome, SplicePair};
use tokio::net::{TcpListener, TcpStream};

/// Generous bound for things that take microseconds: only a hang hits it.
pub const PATIENCE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Kernel,
    UserSpace,
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// The fast path in the wanted mode, or None (with the reason printed) when
/// the kernel mode is wanted and this machine cannot have it: not root, or
/// built without clang. As root with the object built, the kernel mode must
/// come up, so a broken kernel path fails the test instead of quietly
/// testing the fallback.
pub fn fast_path(want: Want) -> Option<Arc<FastPath>> {
    fast_path_with(want, FastPathConfig::default())
}

pub fn fast_path_with(want: Want, config: FastPathConfig) -> Option<Arc<FastPath>> {
    match want {
        Want::UserSpace => {
            let fast = FastPath::detect_with(FastPathConfig {
                force_user_space: true,
                ..config
            });
            assert!(matches!(fast.mode(), Mode::UserSpace { .. }));
            Some(Arc::new(fast))
        }
        Want::Kernel => {
            let fast = FastPath::detect_with(config);
            if !is_root() {
                eprintln!("SKIPPED: the kernel splice needs root; {}", fast.describe());
                return None;
            }
            if let Mode::UserSpace { reason } = fast.mode() {
                if reason.contains("built without the BPF object") {
                    eprintln!("SKIPPED: {reason}");
                    return None;
                }
            }
            assert_eq!(fast.mode(), &Mode::Kernel, "{}", fast.describe());
            Some(Arc::new(fast))
        }
    }
}

/// A proxy listening on loopback: each accepted client is connected to
/// `backend` and spliced; outcomes come back on the channel.
pub struct Proxy {
    pub addr: SocketAddr,
    pub outcomes: tokio::sync::mpsc::UnboundedReceiver<SpliceOutcome>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How the proxy reads ahead before splicing, to exercise pending bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProxyOptions {
    /// Read this many bytes from the client in user space first and pass
    /// them as pending.
    pub read_ahead: usize,
    pub keep_backend: bool,
    /// The client's farewell, see `SplicePair::farewell`.
    pub farewell: Option<[u8; 5]>,
}

pub async fn proxy(fast: Arc<FastPath>, backend: SocketAddr, opts: ProxyOptions) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, outcomes) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let fast = fast.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut client = client;
                let pending = if opts.read_ahead > 0 {
                    use tokio::io::AsyncReadExt;
                    let mut buf = vec![0u8; opts.read_ahead];
                    client.read_exact(&mut buf).await.unwrap();
                    Bytes::from(buf)
                } else {
                    Bytes::new()
                };
                let server = TcpStream::connect(backend).await.unwrap();
                let pair = SplicePair::new(client, server)
                    .client_pending(pending)
                    .keep_backend(opts.keep_backend);
                let pair = match opts.farewell {
                    Some(bye) => pair.farewell(bye),
                    None => pair,
                };
                let outcome = fast.splice(pair).await;
                let _ = tx.send(outcome);
            });
        }
    });
    Proxy {
        addr,
        outcomes,
        task,
    }
}

/// A backend that hands each accepted connection to the test.
pub async fn backend() -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            if tx.send(s).is_err() {
                return;
            }
        }
    });
    (addr, rx)
}

/// A backend that echoes every connection until EOF.
pub async fn echo_backend() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

pub async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(PATIENCE, f)
        .await
        .unwrap_or_else(|_| panic!("timed out after {PATIENCE:?}: {what}"))
}

/// Open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Waits until the proxy has `n` sessions set up (on either path). A test
/// that closes a socket while its session is still being set up sees the
/// kernel refuse the closed socket and the copy take over, which is right
/// but not what the test is about.
pub async fn wait_active(fast: &FastPath, n: u64) {
    within("session set up", async {
        loop {
            let s = fast.stats();
            if s.kernel_active + s.user_space_active >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
}

/// Each named scenario `async fn name(fast, path)` as two tests,
/// `name::kernel` (skipped without root or the BPF object, as
/// [`fast_path`] says) and `name::user_space`.
#[allow(unused_macros)] // only the binaries with scenarios on both paths use it
macro_rules! both_paths {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn kernel() {
                if let Some(fast) = fast_path(Want::Kernel) {
                    super::$name(fast, Path::Kernel).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn user_space() {
                let fast = fast_path(Want::UserSpace).unwrap();
                super::$name(fast, Path::UserSpace).await;
            }
        }
    )*};
}
