#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! A splice whose future is dropped mid-session (the proxy shutting down, a
//! task aborted) leaves no map entry behind, keeps its counters true, and
//! closes both sockets.
mod common;

use std::sync::Arc;

use common::{fast_path, wait_active, within, Want};
use shardwire_fastpath::{FastPath, MapEntries, SplicePair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_splice_cleans_up_kernel() {
    if let Some(fast) = fast_path(Want::Kernel) {
        dropped_splice_cleans_up(fast).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_splice_cleans_up_user_space() {
    dropped_splice_cleans_up(fast_path(Want::UserSpace).unwrap()).await;
}

/// Two connected pairs: (outside end, the proxy's end).
async fn connected() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let outside = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    let (inside, _) = l.accept().await.unwrap();
    (outside, inside)
}

async fn dropped_splice_cleans_up(fast: Arc<FastPath>) {
    let (mut app, proxy_client) = connected().await;
    let (mut server, proxy_backend) = connected().await;
    let task = {
        let fast = fast.clone();
        tokio::spawn(async move {
            fast.splice(SplicePair::new(proxy_client, proxy_backend))
                .await
        })
    };
    wait_active(&fast, 1).await;
    app.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    within("ping", server.read_exact(&mut buf)).await.unwrap();
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());

    let stats = fast.stats();
    assert_eq!(
        stats.kernel_active + stats.user_space_active,
        0,
        "{stats:?}"
    );
    assert_eq!(stats.client_to_backend, 4, "{stats:?}");
    if let Some(entries) = fast.map_entries() {
        assert_eq!(entries, MapEntries::default());
    }
    // Both proxy sockets were closed with the future.
    let mut rest = [0u8; 1];
    let n = within("app sees the close", app.read(&mut rest)).await;
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    let n = within("server sees the close", server.read(&mut rest)).await;
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
}
