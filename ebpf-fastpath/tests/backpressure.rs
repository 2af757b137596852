#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! A client that stops reading while its backend keeps sending. The kernel
//! redirect has no backpressure of its own, so the kernel path must move
//! the session to user space once it holds more than `max_in_flight`, and
//! every byte must still arrive, in order. Also: a session beyond the maps'
//! capacity is copied in user space instead of failing.
mod common;

use std::time::Duration;

use common::{backend, fast_path_with, proxy, wait_active, within, ProxyOptions, Want};
use shardwire_fastpath::{FastPathConfig, MapEntries, Path, Side};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const LIMIT: u64 = 1 << 20;
/// 64 MiB of consecutive u64 counters.
const VALUES: u64 = 8 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_client_kernel() {
    slow_client(Want::Kernel, Path::KernelThenUserSpace).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_client_user_space() {
    slow_client(Want::UserSpace, Path::UserSpace).await;
}

async fn slow_client(want: Want, path: Path) {
    let config = FastPathConfig {
        max_in_flight: LIMIT,
        ..FastPathConfig::default()
    };
    let Some(fast) = fast_path_with(want, config) else {
        return;
    };
    let (addr, mut accepted) = backend().await;
    let mut proxy = proxy(fast.clone(), addr, ProxyOptions::default()).await;
    let client = TcpStream::connect(proxy.addr).await.unwrap();
    let mut server = within("accept", accepted.recv()).await.unwrap();
    let writer = tokio::spawn(async move {
        let mut next = 0u64;
        while next < VALUES {
            let mut chunk = Vec::with_capacity(64 * 1024);
            for v in next..next + 8192 {
                chunk.extend_from_slice(&v.to_le_bytes());
            }
            next += 8192;
            server.write_all(&chunk).await.unwrap();
        }
        server
    });
    // Not reading for a while: the backend runs ahead until something pushes back.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut reader = BufReader::with_capacity(1 << 20, client);
    let mut buf = [0u8; 8];
    for expect in 0..VALUES {
        within("next value", reader.read_exact(&mut buf))
            .await
            .unwrap();
        assert_eq!(u64::from_le_bytes(buf), expect, "stream altered");
    }
    let server = within("writer", writer).await.unwrap();
    drop(server);
    let mut rest = [0u8; 1];
    assert_eq!(within("EOF", reader.read(&mut rest)).await.unwrap(), 0);
    let outcome = within("outcome", proxy.outcomes.recv()).await.unwrap();
    assert_eq!(outcome.path, path, "{:?}", outcome.user_space_reason);
    assert_eq!(outcome.ended_by, Side::Backend);
    assert_eq!(outcome.backend_to_client, VALUES * 8);
    if path == Path::KernelThenUserSpace {
        let reason = outcome.user_space_reason.unwrap();
        assert!(reason.contains("client read slower"), "{reason}");
        assert_eq!(fast.stats().demoted, 1);
    }
    if let Some(entries) = fast.map_entries() {
        assert_eq!(entries, MapEntries::default());
    }
}

/// With room for one kernel session, a second concurrent one is copied in
/// user space, says why, and works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_capacity_falls_back_to_user_space() {
    let config = FastPathConfig {
        max_kernel_sessions: 1,
        ..FastPathConfig::default()
    };
    let Some(fast) = fast_path_with(Want::Kernel, config) else {
        return;
    };
    let echo = common::echo_backend().await;
    let mut proxy = proxy(fast.clone(), echo, ProxyOptions::default()).await;
    let mut first = TcpStream::connect(proxy.addr).await.unwrap();
    ping(&mut first).await;
    // The echo may come back through the by-hand forwarding of queued
    // bytes, before the first pair is armed; under load the second session
    // could then take the only slot. Wait until the first one holds it.
    within("first pair armed", async {
        while fast.live_pairs().len() != 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let mut second = TcpStream::connect(proxy.addr).await.unwrap();
    ping(&mut second).await;
    // Closed before its set-up, the second would be refused as a closed
    // socket, not for want of room.
    wait_active(&fast, 2).await;
    ping(&mut first).await;
    drop(second);
    let outcome = within("second outcome", proxy.outcomes.recv())
        .await
        .unwrap();
    assert_eq!(outcome.path, Path::UserSpace);
    let reason = outcome.user_space_reason.unwrap();
    assert!(reason.contains("kernel set-up failed"), "{reason}");
    drop(first);
    let outcome = within("first outcome", proxy.outcomes.recv())
        .await
        .unwrap();
    assert_eq!(outcome.path, Path::Kernel);
    let stats = fast.stats();
    assert_eq!(stats.kernel_setup_failures, 1);
    assert_eq!(fast.map_entries().unwrap(), MapEntries::default());
}

async fn ping(stream: &mut TcpStream) {
    stream.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    within("ping echo", stream.read_exact(&mut buf))
        .await
        .unwrap();
    assert_eq!(&buf, b"ping");
}
