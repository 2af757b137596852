//! [`Socket`]: a backend connection's TCP stream (in the clear or under
//! TLS), or the mark that it is lent to a passthrough session.
//!
//! A pooled session lends its socket to the splice and gets it back when
//! the client leaves, so the pool keeps the session object (its slot, its
//! cancel key, its age) while the bytes flow elsewhere. While lent, every
//! read and write fails: a caller that forgot the loan gets an error, not
//! another session's bytes.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

#[derive(Debug)]
pub enum Socket {
    Tcp(TcpStream),
    /// Boxed: a TLS session's state is large, and most sockets are plain.
    Tls(Box<TlsStream<TcpStream>>),
    Lent,
}

impl Socket {
    pub fn is_lent(&self) -> bool {
        matches!(self, Socket::Lent)
    }
}

fn lent() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "the socket is lent to a passthrough session",
    )
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Socket::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Socket::Lent => Poll::Ready(Err(lent())),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Socket::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Socket::Lent => Poll::Ready(Err(lent())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_flush(cx),
            Socket::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Socket::Lent => Poll::Ready(Err(lent())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Socket::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Socket::Lent => Poll::Ready(Ok(())),
        }
    }
}
