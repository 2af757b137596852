//! The raw socket calls the splice needs and no safe wrapper offers: every
//! `unsafe` block of the crate lives here, each over a borrowed fd that the
//! caller keeps open for the duration of the call.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::mem::{size_of, MaybeUninit};
use std::os::fd::{AsFd, AsRawFd};

/// `getsockopt(SOL_SOCKET, SO_COOKIE)`: the kernel's unique, never reused id
/// of a socket, which is the key of every BPF map of the fast path.
pub(crate) fn socket_cookie(fd: impl AsFd) -> io::Result<u64> {
    let mut cookie: u64 = 0;
    let mut len = size_of::<u64>() as libc::socklen_t;
    // SAFETY: the fd is borrowed (open for the call); the kernel writes at
    // most `len` bytes into `cookie`, which is a u64 of that size.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_COOKIE,
            (&mut cookie as *mut u64).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(cookie)
}

/// What TCP_INFO and SIOCOUTQ tell about the send side of a socket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SendState {
    /// `tcpi_state`: 1 is ESTABLISHED, 8 is CLOSE_WAIT (peer sent FIN).
    pub(crate) tcp_state: u8,
    /// Bytes ever accepted into the socket's send queue, counted from an
    /// arbitrary origin: only differences between two readings mean
    /// anything. Never more than the true value (see `send_state`).
    pub(crate) written: u64,
}

pub(crate) const TCP_ESTABLISHED: u8 = 1;
pub(crate) const TCP_CLOSE_WAIT: u8 = 8;

/// Reads `tcpi_bytes_acked` and then the unacknowledged+unsent queue
/// length. In that order, an ACK landing between the two calls can only make
/// the sum smaller than the truth, so a caller waiting for `written` to
/// reach a target never stops early.
pub(crate) fn send_state(fd: impl AsFd) -> io::Result<SendState> {
    let raw = fd.as_fd().as_raw_fd();
    let mut info = MaybeUninit::<libc::tcp_info>::zeroed();
    let mut len = size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: fd borrowed; the kernel writes at most `len` bytes into the
    // zero-initialised tcp_info buffer of exactly that size.
    let rc = unsafe {
        libc::getsockopt(
            raw,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: zero-initialised plain-old-data, partly overwritten by the
    // kernel; every bit pattern is a valid tcp_info.
    let info = unsafe { info.assume_init() };
    let mut outq: libc::c_int = 0;
    // SAFETY: SIOCOUTQ writes one int through the pointer; fd borrowed.
    let rc = unsafe { libc::ioctl(raw, libc::TIOCOUTQ, &mut outq as *mut libc::c_int) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(SendState {
        tcp_state: info.tcpi_state,
        written: info
            .tcpi_bytes_acked
            .wrapping_add(u64::try_from(outq).unwrap_or(0)),
    })
}

/// Sets SO_RCVLOWAT to 1 (the default). The point is the side effect: the
/// kernel re-runs the socket's data-ready callback, which for a socket just
/// put in the sockmap makes the stream parser take bytes that were already
/// queued before the insert instead of waiting for the next segment.
pub(crate) fn kick_receive_queue(fd: impl AsFd) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: fd borrowed; the kernel reads one int from the pointer.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            (&one as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `recv(MSG_PEEK | MSG_DONTWAIT)` of one byte: Ok(0) is end of stream,
/// WouldBlock means nothing queued for user space.
pub(crate) fn peek(fd: impl AsFd) -> io::Result<usize> {
    let mut byte = 0u8;
    // SAFETY: fd borrowed; the kernel writes at most 1 byte into `byte`.
    let n = unsafe {
        libc::recv(
            fd.as_fd().as_raw_fd(),
            (&mut byte as *mut u8).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(usize::try_from(n).unwrap_or(0))
}

/// `mount -t bpf bpf <target>`.
pub(crate) fn mount_bpffs(target: &str) -> io::Result<()> {
    let source = c"bpf";
    let fstype = c"bpf";
    let target = CString::new(target).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: all three strings are NUL-terminated and outlive the call; no
    // data argument is passed.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `shutdown(SHUT_WR)`: sends FIN after whatever is queued.
pub(crate) fn shutdown_write(fd: impl AsFd) -> io::Result<()> {
    // SAFETY: fd borrowed; shutdown takes no pointers.
    let rc = unsafe { libc::shutdown(fd.as_fd().as_raw_fd(), libc::SHUT_WR) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (b, _) = l.accept().unwrap();
        (a, b)
    }

    #[test]
    fn cookies_are_per_socket_and_stable() {
        let (a, b) = pair();
        let ca = socket_cookie(&a).unwrap();
        assert_ne!(ca, socket_cookie(&b).unwrap());
        assert_eq!(ca, socket_cookie(&a).unwrap());
    }

    #[test]
    fn written_counts_bytes_handed_to_the_socket() {
        let (mut a, mut b) = pair();
        let before = send_state(&a).unwrap();
        assert_eq!(before.tcp_state, TCP_ESTABLISHED);
        a.write_all(&[7u8; 1000]).unwrap();
        // An ACK landing between the two calls of send_state can make one
        // reading short (never long): look until it settles.
        let mut seen = 0;
        for _ in 0..100 {
            seen = send_state(&a).unwrap().written.wrapping_sub(before.written);
            assert!(seen <= 1000, "over-counted: {seen}");
            if seen == 1000 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(seen, 1000);
        let mut buf = [0u8; 1000];
        b.read_exact(&mut buf).unwrap();
    }

    #[test]
    fn peek_sees_data_then_end_of_stream() {
        let (mut a, b) = pair();
        b.set_nonblocking(true).unwrap();
        assert_eq!(peek(&b).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        a.write_all(b"x").unwrap();
        shutdown_write(&a).unwrap();
        // Loopback delivers before write returns; the byte is still there
        // after a peek.
        assert_eq!(peek(&b).unwrap(), 1);
        let mut b = b;
        let mut one = [0u8; 1];
        b.set_nonblocking(false).unwrap();
        b.read_exact(&mut one).unwrap();
        assert_eq!(peek(&b).unwrap(), 0);
        drop(a);
    }
}
