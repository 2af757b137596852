#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! 1000 sessions opened and closed leave no BPF map entry and no file
//! descriptor behind. One test per binary and both paths in sequence, since
//! counting the process's fds needs no other test opening sockets meanwhile.
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{echo_backend, fast_path, open_fds, proxy, within, ProxyOptions, Want, PATIENCE};
use shardwire_fastpath::{FastPath, MapEntries, Path};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SESSIONS: usize = 1000;
const CONCURRENT: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_sessions_leave_nothing_behind() {
    if let Some(fast) = fast_path(Want::Kernel) {
        run(fast, Path::Kernel).await;
    }
    run(fast_path(Want::UserSpace).unwrap(), Path::UserSpace).await;
}

async fn run(fast: Arc<FastPath>, path: Path) {
    let echo = echo_backend().await;
    let mut proxy = proxy(
        fast.clone(),
        echo,
        ProxyOptions {
            read_ahead: 3,
            ..Default::default()
        },
    )
    .await;
    // One session first, so lazily opened runtime fds are in the baseline.
    session(proxy.addr, 0).await;
    within("warm-up outcome", proxy.outcomes.recv())
        .await
        .unwrap();
    settle_fds(usize::MAX).await;
    let baseline = open_fds();

    for batch in 0..SESSIONS / CONCURRENT {
        let clients: Vec<_> = (0..CONCURRENT)
            .map(|i| tokio::spawn(session(proxy.addr, batch * CONCURRENT + i)))
            .collect();
        for c in clients {
            within("session", c).await.unwrap();
        }
    }
    // A session can finish while it is being set up (its echo forwarded by
    // hand before the sockets join the maps); its client socket is then
    // closed, the kernel refuses it, and the user-space copy takes over.
    // That must stay rare and say so.
    let mut by_kernel = 0;
    for i in 0..SESSIONS {
        let outcome = within("outcome", proxy.outcomes.recv()).await.unwrap();
        assert!(outcome.client_to_backend >= 64, "session {i}: {outcome:?}");
        if outcome.path == path {
            by_kernel += 1;
        } else {
            assert_eq!(outcome.path, Path::UserSpace, "session {i}: {outcome:?}");
            let reason = outcome.user_space_reason.unwrap_or_default();
            assert!(
                reason.contains("kernel set-up failed"),
                "session {i}: {reason}"
            );
        }
    }
    assert!(
        by_kernel >= SESSIONS * 99 / 100,
        "{path:?}: only {by_kernel} sessions"
    );
    if let Some(entries) = fast.map_entries() {
        assert_eq!(entries, MapEntries::default(), "{path:?}");
    }
    let stats = fast.stats();
    assert_eq!(stats.sessions_total, SESSIONS as u64 + 1);
    assert_eq!(stats.kernel_active + stats.user_space_active, 0);
    let after = settle_fds(baseline).await;
    assert_eq!(after, baseline, "{path:?}: file descriptors leaked");
}

/// One client: 3 + 61 bytes, their echo, then a clean close or, for every
/// third session, an abortive one (RST, as a killed process with unread
/// data would send).
async fn session(addr: std::net::SocketAddr, i: usize) {
    let mut client = TcpStream::connect(addr).await.unwrap();
    let msg = [(i % 256) as u8; 64];
    client.write_all(&msg).await.unwrap();
    let mut got = [0u8; 64];
    client.read_exact(&mut got).await.unwrap();
    assert_eq!(got, msg);
    if i % 3 == 2 {
        client.set_zero_linger().unwrap();
    }
}

/// Waits for the fd count to come down to `target` (the echo server closes
/// its side a moment after the proxy does), or to stop changing.
async fn settle_fds(target: usize) -> usize {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut last = open_fds();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = open_fds();
        if now <= target
            || (target == usize::MAX && now == last)
            || tokio::time::Instant::now() > deadline
        {
            return now;
        }
        last = now;
    }
}
