#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The farewell rule, in both paths: the client's goodbye is withheld only
//! when it is the last thing the client sends; otherwise every byte still
//! reaches the backend, in order.
#[macro_use]
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{backend, fast_path, proxy, wait_active, within, ProxyOptions, Want};
use shardwire_fastpath::{FastPath, MapEntries, Path, Side};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BYE: [u8; 5] = [b'X', 0, 0, 0, 4];

both_paths!(
    farewell_before_close_is_withheld,
    farewell_followed_by_more_is_forwarded_in_order,
    farewell_inside_a_larger_write_is_forwarded,
);

fn options() -> ProxyOptions {
    ProxyOptions {
        keep_backend: true,
        farewell: Some(BYE),
        ..Default::default()
    }
}

fn assert_no_entries(fast: &FastPath) {
    if let Some(entries) = fast.map_entries() {
        assert_eq!(entries, MapEntries::default());
    }
}

/// One request and its reply through the splice.
async fn round_trip(client: &mut TcpStream, server: &mut TcpStream, tag: &[u8; 7]) {
    let mut buf = [0u8; 7];
    client.write_all(tag).await.unwrap();
    within("request", server.read_exact(&mut buf))
        .await
        .unwrap();
    assert_eq!(&buf, tag);
    server.write_all(tag).await.unwrap();
    within("reply", client.read_exact(&mut buf)).await.unwrap();
    assert_eq!(&buf, tag);
}

/// Nothing arrives on `server` for a while.
async fn assert_silent(server: &mut TcpStream) {
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_millis(300), server.read(&mut buf)).await;
    assert!(read.is_err(), "the backend received {read:?}");
}

async fn farewell_before_close_is_withheld(fast: Arc<FastPath>, path: Path) {
    let (addr, mut accepted) = backend().await;
    let mut proxy = proxy(fast.clone(), addr, options()).await;
    let mut client = TcpStream::connect(proxy.addr).await.unwrap();
    let mut server = within("accept", accepted.recv()).await.unwrap();
    wait_active(&fast, 1).await;
    round_trip(&mut client, &mut server, b"query-1").await;
    client.write_all(&BYE).await.unwrap();
    drop(client);

    let outcome = within("outcome", proxy.outcomes.recv()).await.unwrap();
    assert_eq!(outcome.path, path, "{outcome:?}");
    assert_eq!(outcome.ended_by, Side::Client);
    assert!(outcome.farewell_held, "{outcome:?}");
    assert_eq!(outcome.client_to_backend, 7);
    let mut returned = outcome.backend.expect("backend handed back");
    assert_no_entries(&fast);
    assert_silent(&mut server).await;
    // Still a working connection.
    returned.write_all(b"query-2").await.unwrap();
    let mut buf = [0u8; 7];
    within("after", server.read_exact(&mut buf)).await.unwrap();
    assert_eq!(&buf, b"query-2");
}

/// The farewell's bytes as a segment of their own, then more: they were not
/// a goodbye. The user-space copy forwards them all, in order, and goes on;
/// the kernel path cannot carry on safely after holding bytes back (see
/// `went_on` in src/kernel/splice.rs) and ends the session without
/// forwarding anything out of order.
async fn farewell_followed_by_more_is_forwarded_in_order(fast: Arc<FastPath>, path: Path) {
    let (addr, mut accepted) = backend().await;
    let mut proxy = proxy(fast.clone(), addr, options()).await;
    let mut client = TcpStream::connect(proxy.addr).await.unwrap();
    let mut server = within("accept", accepted.recv()).await.unwrap();
    wait_active(&fast, 1).await;
    round_trip(&mut client, &mut server, b"query-1").await;
    client.write_all(&BYE).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    client.write_all(b"more").await.unwrap();
    if path == Path::Kernel {
        let mut buf = [0u8; 16];
        let n = within("server sees the end", server.read(&mut buf))
            .await
            .unwrap();
        assert_eq!(n, 0, "the backend got {:?}", &buf[..n]);
        let end = within("client sees the end", client.read(&mut buf)).await;
        assert!(matches!(end, Ok(0) | Err(_)), "{end:?}");
        let outcome = within("outcome", proxy.outcomes.recv()).await.unwrap();
        assert_eq!(outcome.path, Path::Kernel, "{outcome:?}");
        assert!(!outcome.farewell_held);
        assert_eq!(outcome.client_to_backend, 7);
        assert!(outcome.backend.is_none());
        assert_no_entries(&fast);
        return;
    }
    let mut buf = [0u8; 9];
    within("held bytes and more", server.read_exact(&mut buf))
        .await
        .unwrap();
    assert_eq!(&buf[..5], &BYE);
    assert_eq!(&buf[5..], b"more");
    // The session goes on both ways.
    round_trip(&mut client, &mut server, b"query-2").await;
    drop(client);

    let outcome = within("outcome", proxy.outcomes.recv()).await.unwrap();
    assert!(!outcome.farewell_held, "{outcome:?}");
    assert_eq!(outcome.client_to_backend, 7 + 9 + 7);
    assert_eq!(outcome.path, path, "{outcome:?}");
    assert_no_entries(&fast);
}

async fn farewell_inside_a_larger_write_is_forwarded(fast: Arc<FastPath>, path: Path) {
    let (addr, mut accepted) = backend().await;
    let mut proxy = proxy(fast.clone(), addr, options()).await;
    let mut client = TcpStream::connect(proxy.addr).await.unwrap();
    let mut server = within("accept", accepted.recv()).await.unwrap();
    wait_active(&fast, 1).await;
    let mut last = b"tail".to_vec();
    last.extend_from_slice(&BYE);
    client.write_all(&last).await.unwrap();
    drop(client);
    let mut buf = [0u8; 9];
    within("everything", server.read_exact(&mut buf))
        .await
        .unwrap();
    assert_eq!(&buf[..], &last[..]);

    let outcome = within("outcome", proxy.outcomes.recv()).await.unwrap();
    assert_eq!(outcome.path, path, "{outcome:?}");
    assert!(!outcome.farewell_held, "{outcome:?}");
    assert_eq!(outcome.client_to_backend, 9);
    assert_no_entries(&fast);
}
