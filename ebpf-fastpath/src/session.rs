//! What the caller hands to a splice and what it gets back.
use bytes::Bytes;
use tokio::net::TcpStream;

/// Which end of a spliced session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Backend,
}

/// Which path carried a session's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    Kernel,
    UserSpace,
    /// Started in the kernel, moved to user space when one side fell behind.
    KernelThenUserSpace,
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndKind {
    /// The side closed its sending direction (read returned 0).
    Eof,
    /// The side's socket failed (reset, timeout, ...).
    Error(std::io::ErrorKind),
}

/// Two connected sockets to splice, and the bytes the caller already read
/// from each but did not consume (they are forwarded first, in order).
///
/// The sockets are `TcpStream`s for [`crate::FastPath::splice`]; any
/// `AsyncRead + AsyncWrite` streams (TLS) for
/// [`crate::FastPath::splice_streams`], which always copies in user space.
#[derive(Debug)]
pub struct SplicePair<C = TcpStream, B = TcpStream> {
    pub(crate) client: C,
    pub(crate) backend: B,
    pub(crate) client_pending: Bytes,
    pub(crate) backend_pending: Bytes,
    pub(crate) keep_backend: bool,
    pub(crate) farewell: Option<[u8; 5]>,
}

impl<C, B> SplicePair<C, B> {
    pub fn new(client: C, backend: B) -> Self {
        Self {
            client,
            backend,
            client_pending: Bytes::new(),
            backend_pending: Bytes::new(),
            keep_backend: false,
            farewell: None,
        }
    }

    /// Bytes read from the client that belong to the backend.
    pub fn client_pending(mut self, bytes: Bytes) -> Self {
        self.client_pending = bytes;
        self
    }

    /// Bytes read from the backend that belong to the client.
    pub fn backend_pending(mut self, bytes: Bytes) -> Self {
        self.backend_pending = bytes;
        self
    }

    /// When the client ends the session and the backend is still healthy,
    /// hand the backend socket back in [`SpliceOutcome::backend`] instead of
    /// shutting it down. Whatever the client sent before leaving has reached
    /// the backend, but replies to it may still arrive on the returned
    /// socket: a pool must resynchronise the connection before reuse.
    /// Default: false (the backend is shut down, as a closed client would
    /// want).
    pub fn keep_backend(mut self, keep: bool) -> Self {
        self.keep_backend = keep;
        self
    }
}

impl<C, B> SplicePair<C, B> {
    /// The client's goodbye message (PostgreSQL Terminate, MySQL
    /// COM_QUIT): when the client's last bytes before it closes are exactly
    /// these five, received as one unit, they are withheld from the backend,
    /// so the backend session survives for the pool
    /// ([`SpliceOutcome::farewell_held`]). The same five bytes followed by
    /// anything else are forwarded, in order: the rule never drops a byte
    /// of a session that goes on. Default: none (every byte is forwarded).
    pub fn farewell(mut self, bytes: [u8; 5]) -> Self {
        self.farewell = Some(bytes);
        self
    }
}

/// The result of a finished splice.
#[derive(Debug)]
pub struct SpliceOutcome<B = TcpStream> {
    pub path: Path,
    /// Why the kernel path was not used for this session, when it was not.
    pub user_space_reason: Option<String>,
    pub ended_by: Side,
    pub end: EndKind,
    /// Bytes delivered to the backend, pending bytes included.
    pub client_to_backend: u64,
    /// Bytes delivered to the client, pending bytes included.
    pub backend_to_client: u64,
    /// The backend socket, out of every BPF map, when the pair asked for it
    /// with [`SplicePair::keep_backend`], the client ended the session and
    /// the backend was still open.
    pub backend: Option<B>,
    /// The client's last bytes were its farewell ([`SplicePair::farewell`])
    /// and the backend never saw them.
    pub farewell_held: bool,
}

impl<B> SpliceOutcome<B> {
    /// The same outcome with the backend socket wrapped (e.g. a plain
    /// socket as one kind of a caller's socket enum).
    pub fn map_backend<C>(self, f: impl FnOnce(B) -> C) -> SpliceOutcome<C> {
        SpliceOutcome {
            path: self.path,
            user_space_reason: self.user_space_reason,
            ended_by: self.ended_by,
            end: self.end,
            client_to_backend: self.client_to_backend,
            backend_to_client: self.backend_to_client,
            backend: self.backend.map(f),
            farewell_held: self.farewell_held,
        }
    }
}
