//! Picking a free loopback port.

use std::net::{Ipv4Addr, TcpListener};

use crate::HarnessError;

/// A TCP port on 127.0.0.1 that was free a moment ago.
///
/// The kernel picks it from the ephemeral range (so never 5432 / 3306, where
/// other servers may run); the listener is dropped before the server binds,
/// so another process can still take it in between. Callers retry the start
/// with a fresh port when the server reports the address in use.
pub fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| HarnessError::io("binding 127.0.0.1:0 to find a free port", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| HarnessError::io("reading the address of a listener on 127.0.0.1:0", e))?;
    Ok(addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_a_bindable_port() {
        // Another process may take a port between the check and the bind
        // (the race the harness's retries exist for); a few tries must
        // not all lose it.
        let bound = (0..5).any(|_| {
            let port = free_port().unwrap();
            assert_ne!(port, 0);
            TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
        });
        assert!(
            bound,
            "five free ports in a row were taken before they could be bound"
        );
    }
}
