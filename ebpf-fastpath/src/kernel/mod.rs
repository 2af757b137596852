//! The in-kernel splice: the loaded programs and maps, and the session
//! logic around them.
//!
//! - `load`: the object from build.rs, loaded and attached with aya.
//! - `maps`: the maps and the pair list, changed under one lock.
//! - `splice`: one session: set up, watch both ends, drain, tear down.
//! - `watch`: noticing a close while the kernel takes every byte.
mod load;
mod maps;
mod splice;
mod watch;

use std::os::fd::AsFd;
use std::sync::{Mutex, MutexGuard};

pub(crate) use load::{object_built, BUILD_STATUS};
pub(crate) use splice::{either_closed, splice, Limits, Prepared};

use crate::stats::{MapEntries, PairBytes};
use crate::{sys, FastPathError};

/// The kernel side, loaded once per process (per `FastPath`).
#[derive(Debug)]
pub(crate) struct KernelPath {
    maps: Mutex<maps::Maps>,
    // Declared after `maps` so it drops last: dropping it detaches the
    // programs, which must outlive every pair using them.
    _ebpf: Mutex<aya::Ebpf>,
}

impl KernelPath {
    pub(crate) fn load(max_sessions: u32) -> Result<Self, FastPathError> {
        let (ebpf, maps) = load::load(max_sessions)?;
        Ok(Self {
            maps: Mutex::new(maps),
            _ebpf: Mutex::new(ebpf),
        })
    }

    pub(crate) fn maps(&self) -> MutexGuard<'_, maps::Maps> {
        // A panic while holding the lock leaves the maps as consistent as
        // the kernel made them; keep serving rather than poisoning every
        // later session.
        self.maps.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn live_pairs(&self) -> Vec<PairBytes> {
        self.maps().live_pairs()
    }

    pub(crate) fn entries(&self) -> MapEntries {
        self.maps().entries()
    }
}

/// Splices two sockets for the start-up self-test.
pub(crate) fn probe_pair(
    kernel: &KernelPath,
    client: &impl AsFd,
    backend: &impl AsFd,
) -> Result<maps::PairKey, String> {
    let key = maps::PairKey {
        client: sys::socket_cookie(client).map_err(|e| format!("SO_COOKIE: {e}"))?,
        backend: sys::socket_cookie(backend).map_err(|e| format!("SO_COOKIE: {e}"))?,
    };
    kernel
        .maps()
        .add_pair(key, client.as_fd(), backend.as_fd(), None)
        .map_err(|e| e.to_string())?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    fn connected() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let outer = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (inner, _) = l.accept().unwrap();
        for s in [&outer, &inner] {
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        }
        (outer, inner)
    }

    /// Bytes already waiting in a socket's receive queue when it joins the
    /// sockmap must cross once the receive queue is kicked, without the
    /// sender sending anything more. Needs root and the BPF object.
    #[test]
    fn kick_forwards_bytes_queued_before_the_insert() {
        if !object_built() || crate::detect::tests_privileged().is_err() {
            eprintln!("SKIPPED: needs root and the BPF object");
            return;
        }
        let kernel = KernelPath::load(4).unwrap();
        let (mut app, proxy_client) = connected();
        let (proxy_backend, mut server) = connected();
        app.write_all(b"sent before the splice").unwrap();
        // Let the bytes land in proxy_client's receive queue.
        std::thread::sleep(Duration::from_millis(50));
        let key = probe_pair(&kernel, &proxy_client, &proxy_backend).unwrap();
        sys::kick_receive_queue(&proxy_client).unwrap();
        let mut got = [0u8; 22];
        let read = server.read_exact(&mut got);
        kernel.maps().remove_pair(key);
        read.unwrap();
        assert_eq!(&got, b"sent before the splice");
    }
}
