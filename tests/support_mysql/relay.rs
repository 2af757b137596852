//! A TCP relay between a driver and Shardwire that counts the commands the
//! driver sends, by command byte. A driver test asserts on these counts to
//! prove it exercised the protocol it claims (COM_STMT_PREPARE and
//! COM_STMT_EXECUTE for server-side prepared statements, only COM_QUERY for
//! the text protocol): a driver option that silently fell back to the
//! other protocol would pass the scenario unseen otherwise.
//!
//! Only plain MySQL packets are understood: no TLS, no compression (the
//! test deployments offer neither unless asked).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

pub const COM_QUERY: u8 = 0x03;
pub const COM_STMT_PREPARE: u8 = 0x16;
pub const COM_STMT_EXECUTE: u8 = 0x17;

pub struct CommandCounter {
    pub port: u16,
    counts: Arc<Vec<AtomicU64>>,
}

impl CommandCounter {
    /// Listens on a free loopback port and relays every connection to
    /// `upstream`. The threads live until the test process ends.
    pub fn start(upstream: u16) -> CommandCounter {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let counts: Arc<Vec<AtomicU64>> = Arc::new((0..256).map(|_| AtomicU64::new(0)).collect());
        let shared = Arc::clone(&counts);
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                relay(client, server, Arc::clone(&shared));
            }
        });
        CommandCounter { port, counts }
    }

    /// Commands with this command byte the drivers sent so far.
    pub fn count(&self, command: u8) -> u64 {
        self.counts[usize::from(command)].load(Ordering::SeqCst)
    }
}

fn relay(client: TcpStream, server: TcpStream, counts: Arc<Vec<AtomicU64>>) {
    let (mut client_in, mut server_out) =
        (client.try_clone().unwrap(), server.try_clone().unwrap());
    let (mut server_in, mut client_out) = (server, client);
    thread::spawn(move || {
        let _ = std::io::copy(&mut server_in, &mut client_out);
        let _ = client_out.shutdown(Shutdown::Write);
    });
    thread::spawn(move || {
        let mut pending = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = match client_in.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if server_out.write_all(&chunk[..n]).is_err() {
                break;
            }
            pending.extend_from_slice(&chunk[..n]);
            count_commands(&mut pending, &counts);
        }
        let _ = server_out.shutdown(Shutdown::Write);
    });
}

/// Consumes the complete packets in `pending`. A command is a packet with
/// sequence id 0; login and auth-switch packets have higher ones.
fn count_commands(pending: &mut Vec<u8>, counts: &[AtomicU64]) {
    let mut at = 0;
    while pending.len() - at >= 4 {
        let len = usize::from(pending[at])
            | usize::from(pending[at + 1]) << 8
            | usize::from(pending[at + 2]) << 16;
        if pending.len() - at < 4 + len {
            break;
        }
        if pending[at + 3] == 0 && len > 0 {
            counts[usize::from(pending[at + 4])].fetch_add(1, Ordering::SeqCst);
        }
        at += 4 + len;
    }
    pending.drain(..at);
}
