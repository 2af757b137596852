#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Races around setting a pair up in the kernel.
//!
//! - A pooled backend socket is spliced again the moment its client
//!   leaves, as the proxy's session pool does. The kernel may still be
//!   tearing down the socket's previous splice then; the new one must
//!   still be set up in the kernel, not fall back to the copy.
//! - A client that sent its bytes and closed before the set-up is refused
//!   by the kernel; its bytes still reach the backend, and that is not
//!   counted as a failure of the kernel path.
mod common;

use std::sync::Arc;

use common::{fast_path, wait_active, within, Want};
use shardwire_fastpath::{FastPath, Path, SplicePair};
use tokio::io::Interest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Enough per round that the kernel's backlog worker is still busy with
/// the backend socket when the client's goodbye ends the session.
const PER_ROUND: usize = 256 * 1024;
const ROUNDS: usize = 150;

/// A connected pair of loopback sockets: (the far end, the proxy's end).
async fn socket_pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
    let addr = listener.local_addr().unwrap();
    let (far, near) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (far.unwrap(), near.unwrap().0)
}

async fn one_round(
    fast: &Arc<FastPath>,
    listener: &TcpListener,
    backend: TcpStream,
    server: &mut TcpStream,
    round: usize,
) -> TcpStream {
    let (mut client, near) = socket_pair(listener).await;
    let pair = SplicePair::new(near, backend).keep_backend(true);
    let splicer = fast.clone();
    let session = tokio::spawn(async move { splicer.splice(pair).await });
    // A client gone before its splice is set up is refused by the kernel
    // for another reason; that race is not this test's.
    wait_active(fast, 1).await;

    let payload = vec![(round % 251) as u8; PER_ROUND];
    let writer = async {
        client.write_all(&payload).await.unwrap();
        client
    };
    let mut got = vec![0u8; PER_ROUND];
    let (client, read) = tokio::join!(writer, within("payload", server.read_exact(&mut got)));
    read.unwrap();
    assert!(got == payload, "round {round}: the backend got other bytes");
    drop(client);

    let outcome = within("outcome", session).await.unwrap();
    assert_eq!(
        outcome.path,
        Path::Kernel,
        "round {round}: {:?}",
        outcome.user_space_reason
    );
    outcome.backend.expect("the backend handed back")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_respliced_at_once_stays_in_the_kernel() {
    let Some(fast) = fast_path(Want::Kernel) else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (mut server, mut backend) = socket_pair(&listener).await;
    for round in 0..ROUNDS {
        backend = one_round(&fast, &listener, backend, &mut server, round).await;
    }
    let stats = fast.stats();
    assert_eq!(stats.kernel_setup_failures, 0, "{stats:?}");
    assert_eq!(stats.sessions_total, ROUNDS as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_gone_before_set_up_is_copied_not_failed() {
    let Some(fast) = fast_path(Want::Kernel) else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (mut server, backend) = socket_pair(&listener).await;
    let (mut client, near) = socket_pair(&listener).await;
    client.write_all(b"last words").await.unwrap();
    drop(client);
    // epoll reports the read side closed once the client's FIN is in.
    within("the client's FIN", async {
        while !near
            .ready(Interest::READABLE)
            .await
            .unwrap()
            .is_read_closed()
        {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    })
    .await;

    let outcome = fast.splice(SplicePair::new(near, backend)).await;
    assert_eq!(outcome.path, Path::UserSpace, "{outcome:?}");
    let reason = outcome.user_space_reason.unwrap_or_default();
    assert!(reason.contains("peer closed before"), "{reason}");
    let mut got = Vec::new();
    within("the bytes", server.read_to_end(&mut got))
        .await
        .unwrap();
    assert_eq!(got, b"last words");
    assert_eq!(fast.stats().kernel_setup_failures, 0, "{:?}", fast.stats());
}
