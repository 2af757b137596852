//! The start-up self-test: two loopback connections spliced in the kernel,
//! a few bytes each way, the pair removed again. Blocking std sockets with
//! timeouts: it runs once, before any runtime may exist.
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

use crate::kernel::KernelPath;

const TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) fn run(kernel: &KernelPath) -> Result<(), String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("local_addr: {e}"))?;
    let connect = || -> Result<(TcpStream, TcpStream), String> {
        let outer = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
        let (inner, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        for s in [&outer, &inner] {
            s.set_read_timeout(Some(TIMEOUT))
                .map_err(|e| e.to_string())?;
        }
        Ok((outer, inner))
    };
    // The "application" and the proxy's client-facing socket...
    let (mut app, proxy_client) = connect()?;
    // ...and the proxy's backend socket and the "server".
    let (proxy_backend, mut server) = connect()?;

    let key = crate::kernel::probe_pair(kernel, &proxy_client, &proxy_backend)?;
    let result = exchange(&mut app, &mut server);
    kernel.maps().remove_pair(key);
    let _ = proxy_client.shutdown(Shutdown::Both);
    result
}

fn exchange(app: &mut TcpStream, server: &mut TcpStream) -> Result<(), String> {
    send_and_expect(app, server, b"shardwire probe ->")?;
    send_and_expect(server, app, b"<- shardwire probe")
}

fn send_and_expect(from: &mut TcpStream, to: &mut TcpStream, msg: &[u8]) -> Result<(), String> {
    from.write_all(msg).map_err(|e| format!("write: {e}"))?;
    let mut got = vec![0u8; msg.len()];
    to.read_exact(&mut got)
        .map_err(|e| format!("bytes did not cross the splice within {TIMEOUT:?}: {e}"))?;
    if got != msg {
        return Err("bytes crossed the splice altered".to_string());
    }
    Ok(())
}
