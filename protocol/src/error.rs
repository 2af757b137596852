//! The one error type of this crate.

/// Everything that can go wrong while framing, decoding, encoding or
/// authenticating. A session that receives one of these ends with an error;
/// nothing here is meant to take the process down.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The socket under a codec failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),

    /// A frame announced a length above the configured maximum. Raised before
    /// any buffer is grown, so a hostile length cannot make us allocate.
    #[error("message length {len} exceeds the maximum of {max} bytes")]
    MessageTooLong { len: usize, max: usize },

    /// A frame was cut or its body did not match its type. `message` is the
    /// type byte as a char, or `'\0'` for the untyped startup packet.
    #[error("malformed {message:?} message: {reason}")]
    Malformed { message: char, reason: String },

    /// A MySQL packet was cut or its body did not match what it claimed to
    /// be; `packet` names the message being decoded.
    #[error("malformed MySQL {packet}: {reason}")]
    MalformedPacket {
        packet: &'static str,
        reason: String,
    },

    /// A MySQL packet arrived with a sequence id other than the next one:
    /// the two sides disagree about where a command's exchange stands.
    #[error("MySQL packet out of order: expected sequence id {expected}, got {got}")]
    PacketOutOfOrder { expected: u8, got: u8 },

    /// A type byte this side of the protocol does not know.
    #[error("unknown message type {:?} (0x{:02x})", char::from(*.0), .0)]
    UnknownMessage(u8),

    /// The client sent bytes after SSLRequest / GSSENCRequest before the
    /// encryption handshake: those bytes would be read as if they had been
    /// encrypted (CVE-2021-23214 class), so the session must end.
    #[error("unencrypted data received after an encryption request")]
    DataAfterEncryptionRequest,

    /// A message could not be encoded: a count or length does not fit its
    /// wire field, or a string holds a NUL byte that would end it early.
    #[error("cannot encode {what}: {reason}")]
    Encode { what: &'static str, reason: String },

    /// Authentication failed or the peer broke the SASL exchange.
    #[error("authentication failed: {0}")]
    Auth(String),

    /// A SCRAM attribute was not valid base64.
    #[error("invalid base64 in SCRAM message: {0}")]
    Base64(#[from] base64::DecodeError),

    /// The operating system random source failed while making a nonce or salt.
    #[error("random source failed: {0}")]
    Random(#[source] getrandom::Error),

    /// This is a Shardwire bug: an invariant of this crate did not hold.
    #[error("internal protocol error (a Shardwire bug): {0}")]
    Internal(&'static str),
}

impl ProtocolError {
    pub(crate) fn malformed(message: u8, reason: impl Into<String>) -> Self {
        ProtocolError::Malformed {
            message: char::from(message),
            reason: reason.into(),
        }
    }
}

/// Result alias used across the crate.
pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;
