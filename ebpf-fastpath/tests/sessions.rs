#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Session behaviour, each test run twice: spliced in the kernel (as root;
//! the mode is asserted, so it cannot quietly pass on the fallback) and
//! with the fast path forced off.
#[macro_use]
mod common;

use std::sync::Arc;

use common::{
    backend, echo_backend, fast_path, fast_path_with, proxy, wait_active, within, ProxyOptions,
    Want,
};
use shardwire_fastpath::{EndKind, FastPath, FastPathConfig, MapEntries, Path, Side};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

both_paths!(
    round_trips_with_pending_bytes,
    bytes_queued_before_the_splice_are_forwarded,
    bulk_both_ways_arrives_intact,
    client_killed_mid_stream_frees_backend,
    backend_killed_mid_stream_closes_client,
    clean_client_close_can_return_the_backend,
);

fn assert_no_entries(fast: &FastPath) {
    if let Some(entries) = fast.map_entries() {
        assert_eq!(entries, MapEntries::default());
    }
}

async fn round_trips_with_pending_bytes(fast: Arc<FastPath>, path: Path) {
    let echo = echo_backend().await;
    let opts = ProxyOptions {
        read_ahead: 5,
        ..Default::default()
    };
    let mut proxy = proxy(fast.clone(), echo, opts).await;
    let mut client = TcpStream::connect(proxy.addr).await.unwrap();
    client.write_all(b"hello").await.unwrap();
    let mut sent = 5u64;
    let mut buf = [0u8; 64];
    client.read_exact(&mut buf[..5]).await.unwrap();
    assert_eq!(&buf[..5], b"hello");
    wait_active(&fast, 1).await;
    for i in 0..1000u32 {
        let msg = [(i % 251) as u8; 64];
        client.write_all(&msg).await.unwrap();
        within("echo", client.read_exact(&mut buf)).await.unwrap();
        assert_eq!(buf, msg, "round trip {i}");
        sent += 64;
    }
    if path == Path::Kernel {
        let live = fast.live_pairs();
        assert_eq!(live.len(), 1);
        // The first 5 bytes were pending, forwarded by hand.
        assert_eq!(live[0].client_to_backend, sent - 5);
        assert_eq!(fast.stats().kernel_active, 1);
    }
    drop(client);
    let outcome = within("outcome", proxy.outcomes.recv()).await.unwrap();
    assert_eq!(outcome.path, path, "{:?}", outcome.user_space_reason);
    assert_eq!(outcome.ended_by, Side::Client);
    assert_eq!(outcome.end, EndKind::Eof);
    assert_eq!(outcome.client_to_backend, sent);
    assert_eq!(outcome.backend_to_client, sent);
    assert!(outcome.backend.is_none());
    let stats = fast.stats();
    assert_eq!(stats.sessions_total, 1);
    assert_eq!(stats.client_to_backend, sent);
    assert_eq!(stats.backend_to_client, sent);
    assert_eq!(stats.kernel_active + stats.user_space_active, 0);
    assert_no_entries(&fast);
}

/// The proxy reads only the first 10 of 100 bytes the client sent at once:
/// the other 90 wait in the client socket's receive queue when it joins the
/// sockmap, and must come through without the client sending more.
async fn bytes_queued_before_the_splice_are_forwarded(fast: Arc<FastPath>, path: Path) {
    let echo = echo_backend().await;
    let opts = ProxyOptions {
        read_ahead: 10,
        ..Default::default()
    };
    let mut proxy = proxy(fast.clone(), echo, opts).await;
    let mut client = TcpStream::connect(proxy.addr).await.unwrap();
    let msg: Vec<u8> = (0..100u8).collect();
    client.write_all(&msg).await.unwrap();
    let mut got = vec![0u8; 100];
    within("echo of queued bytes", client.read_exact(&mut got))
        .await
        .unwrap();
    assert_eq!(got, msg);
    wait_active(&fast, 1).await;
    client.shutdown().await.unwrap();
    let outcome = within("outcome", proxy.outcomes.recv()).await.unwrap();
    assert_eq!(outcome.path, path, "{outcome:?}");
    assert_eq!(outcome.client_to_backend, 100);
    assert_no_entries(&fast);
}

/// 8 MiB each way at once: backpressure on both sockets, order kept. The
/// in-flight limit is raised so the whole transfer stays in the kernel
/// (tests/backpressure.rs covers the limit).
async fn bulk_both_ways_arrives_intact(_: Arc<FastPath>, path: Path) {
    let want = if path == Path::Kernel {
        Want::Kernel
    } else {
        Want::UserSpace
    };
    let config = FastPathConfig {
        max_in_flight: u64::MAX,
        ..FastPathConfig::default()
    };
    let fast = fast_path_with(want, config).unwrap();
    const LEN: usize = 8 << 20;
    let echo = echo_backend().await;
    let mut proxy = proxy(fast.clone(), echo, ProxyOptions::default()).await;
    let client = TcpStream::connect(proxy.addr).await.unwrap();
    wait_active(&fast, 1).await;
    let (mut r, mut w) = client.into_split();
    let data: Vec<u8> = (0..LEN).map(|i| (i * 7 + i / 4099) as u8).collect();
    let expected = data.clone();
    let writer = tokio::spawn(async move {
        w.write_all(&data).await.unwrap();
        w
    });
    let mut got = vec![0u8; LEN];
    within("bulk echo", r.read_exact(&mut got)).await.unwrap();
    assert!(got == expected, "bulk data altered");
    let w = writer.await.unwrap();
    drop(w);
    drop(r);
    let outcome = within("outcome", proxy.outcomes.recv()).await.unwrap();
    assert_eq!(outcome.path, path, "{outcome:?}");
    assert_eq!(outcome.client_to_backend, LEN as u64);
    assert_eq!(outcome.backend_to_client, LEN as u64);
    assert_no_entries(&fast);
}

/// The backend streams to the client; the client dies abruptly (RST, as
/// when its process is killed with unread data). The backend must see its
/// connection end, not stay tied to a dead session.
async fn client_killed_mid_stream_frees_backend(fast: Arc<FastPath>, path: Path) {
    let (addr, mut accepted) = backend().await;
    let mut proxy = proxy(fast.clone(), addr, ProxyOptions::default()).await;
    let mut client = TcpStream::connect(proxy.addr).await.unwrap();
    let mut server = within("accept", accepted.recv()).await.unwrap();
    wait_active(&fast, 1).await;
    let streamer = tokio::spawn(async move {
        let chunk = [b'x'; 4096];
        // Runs until the proxy lets go of the backend connection.
        while server.write_all(&chunk).await.is_ok() {}
        let mut rest = [0u8; 4096];
        loop {
            match server.read(&mut rest).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    let mut buf = [0u8; 4096];
    client.read_exact(&mut buf).await.unwrap();
    client.set_zero_linger().unwrap();
    drop(client);
    within("backend freed", streamer).await.unwrap();
    let outcome = within("outcome", proxy.outcomes.recv()).await.unwrap();
    assert_eq!(outcome.path, path, "{outcome:?}");
    assert_eq!(outcome.ended_by, Side::Client);
    assert!(outcome.backend_to_client >= 4096);
    assert_no_entries(&fast);
}

/// The client streams to the backend; the backend dies abruptly. The
/// client must see its connection end.
async fn backend_killed_mid_stream_closes_client(fast: Arc<FastPath>, path: Path) {
    let (addr, mut accepted) = backend().await;
    let mut proxy = proxy(fast.clone(), addr, ProxyOptions::default()).await;
    let client = TcpStream::connect(proxy.addr).await.unwrap();
    let mut server = within("accept", accepted.recv()).await.unwrap();
    wait_active(&fast, 1).await;
    let (mut cr, mut cw) = client.into_split();
    let streamer = tokio::spawn(async move {
        let chunk = [b'y'; 4096];
        while cw.write_all(&chunk).await.is_ok() {}
    });
    let mut buf = [0u8; 4096];
    server.read_exact(&mut buf).await.unwrap();
    assert_eq!(buf, [b'y'; 4096]);
    server.set_zero_linger().unwrap();
    drop(server);
    // The client's read side ends (EOF or reset) and its writes start failing.
    let mut sink = [0u8; 4096];
    let closed = within("client closed", async {
        loop {
            match cr.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    closed.await;
    within("client writes fail", streamer).await.unwrap();
    let outcome = within("outcome", proxy.outcomes.recv()).await.unwrap();
    assert_eq!(outcome.path, path, "{outcome:?}");
    assert_eq!(outcome.ended_by, Side::Backend);
    assert!(outcome.client_to_backend >= 4096);
    assert_no_entries(&fast);
}

/// With keep_backend, a client that leaves cleanly hands the backend back:
/// out of every map, everything the client sent delivered, and usable with
/// ordinary reads and writes again.
async fn clean_client_close_can_return_the_backend(fast: Arc<FastPath>, path: Path) {
    let (addr, mut accepted) = backend().await;
    let opts = ProxyOptions {
        keep_backend: true,
        ..Default::default()
    };
    let mut proxy = proxy(fast.clone(), addr, opts).await;
    let mut client = TcpStream::connect(proxy.addr).await.unwrap();
    let mut server = within("accept", accepted.recv()).await.unwrap();
    wait_active(&fast, 1).await;
    client.write_all(b"query-1").await.unwrap();
    let mut buf = [0u8; 7];
    within("query reaches backend", server.read_exact(&mut buf))
        .await
        .unwrap();
    assert_eq!(&buf, b"query-1");
    server.write_all(b"reply-1").await.unwrap();
    within("reply reaches client", client.read_exact(&mut buf))
        .await
        .unwrap();
    assert_eq!(&buf, b"reply-1");
    // Sent right before leaving: must still reach the backend.
    client.write_all(b"goodbye").await.unwrap();
    drop(client);

    let outcome = within("outcome", proxy.outcomes.recv()).await.unwrap();
    assert_eq!(outcome.path, path, "{outcome:?}");
    assert_eq!(outcome.ended_by, Side::Client);
    assert_eq!(outcome.client_to_backend, 14);
    let mut returned = outcome.backend.expect("backend handed back");
    within("last bytes reach backend", server.read_exact(&mut buf))
        .await
        .unwrap();
    assert_eq!(&buf, b"goodbye");
    assert_no_entries(&fast);

    // The returned socket is an ordinary socket again: what the server
    // sends is readable in user space, and nothing is redirected anywhere.
    server.write_all(b"reply-2").await.unwrap();
    within("read on returned backend", returned.read_exact(&mut buf))
        .await
        .unwrap();
    assert_eq!(&buf, b"reply-2");
    returned.write_all(b"query-2").await.unwrap();
    within("write on returned backend", server.read_exact(&mut buf))
        .await
        .unwrap();
    assert_eq!(&buf, b"query-2");
}
