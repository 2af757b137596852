//! `tokio_util::codec` framing for both ends of a PostgreSQL connection.
//!
//! Framing is separate from message decoding: a frame is cut out of the
//! buffer only once it is complete and its announced length has passed the
//! limit, so no decoder ever sees bytes of the next message and a hostile
//! length never grows a buffer.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::authentication::Authentication;
use super::backend::BackendMessage;
use super::frontend::{FrontendMessage, PasswordKind};
use super::startup::MAX_STARTUP_PACKET_LEN;
use crate::error::{ProtocolError, Result};

/// Default cap on one message: generous for any statement or row a proxy
/// should buffer, small enough that a bad length cannot exhaust memory.
pub const DEFAULT_MAX_MESSAGE_LEN: usize = 16 * 1024 * 1024;

/// Cuts one typed frame (tag, int32 length including itself, body) off `src`.
fn typed_frame(src: &mut BytesMut, max: usize) -> Result<Option<(u8, Bytes)>> {
    if src.len() < 5 {
        return Ok(None);
    }
    let tag = src[0];
    let len = i32::from_be_bytes([src[1], src[2], src[3], src[4]]);
    if len < 4 {
        return Err(ProtocolError::malformed(
            tag,
            format!("length {len} is below 4"),
        ));
    }
    // i32 -> usize cannot fail for a positive i32 on the 32/64-bit targets we build.
    let len =
        usize::try_from(len).map_err(|_| ProtocolError::Internal("i32 length overflows usize"))?;
    if len > max {
        return Err(ProtocolError::MessageTooLong { len, max });
    }
    let total = 1 + len;
    if src.len() < total {
        src.reserve(total - src.len());
        return Ok(None);
    }
    src.advance(5);
    Ok(Some((tag, src.split_to(len - 4).freeze())))
}

/// Cuts one untyped startup-phase packet (int32 length, body) off `src`.
fn startup_frame(src: &mut BytesMut, max: usize) -> Result<Option<Bytes>> {
    if src.len() < 4 {
        return Ok(None);
    }
    let len = i32::from_be_bytes([src[0], src[1], src[2], src[3]]);
    // Length, plus the version / request code.
    if len < 8 {
        return Err(ProtocolError::malformed(
            0,
            format!("startup packet length {len} is below 8"),
        ));
    }
    let len =
        usize::try_from(len).map_err(|_| ProtocolError::Internal("i32 length overflows usize"))?;
    if len > max {
        return Err(ProtocolError::MessageTooLong { len, max });
    }
    if src.len() < len {
        src.reserve(len - src.len());
        return Ok(None);
    }
    src.advance(4);
    Ok(Some(src.split_to(len - 4).freeze()))
}

/// Where the server side is in the connection: the first packets carry no
/// type byte, every later one does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerPhase {
    /// Expecting StartupMessage, SSLRequest, GSSENCRequest or CancelRequest.
    Startup,
    /// Typed messages.
    Regular,
}

/// The server end: decodes [`FrontendMessage`], encodes [`BackendMessage`].
#[derive(Debug, Clone)]
pub struct PgServerCodec {
    phase: ServerPhase,
    password: PasswordKind,
    max_message_len: usize,
    max_startup_len: usize,
    extension_tags: Vec<u8>,
}

impl Default for PgServerCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl PgServerCodec {
    pub fn new() -> Self {
        PgServerCodec {
            phase: ServerPhase::Startup,
            password: PasswordKind::Password,
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
            max_startup_len: MAX_STARTUP_PACKET_LEN,
            extension_tags: Vec::new(),
        }
    }

    /// Cap on a typed message, counting its length field but not its type byte.
    pub fn with_max_message_len(mut self, max: usize) -> Self {
        self.max_message_len = max;
        self
    }

    pub fn with_max_startup_len(mut self, max: usize) -> Self {
        self.max_startup_len = max;
        self
    }

    /// Accepts `tag` as [`FrontendMessage::Extension`] instead of rejecting it:
    /// the hook through which the openGauss module adds Batch Bind ('U').
    pub fn allow_extension(&mut self, tag: u8) {
        if !self.extension_tags.contains(&tag) {
            self.extension_tags.push(tag);
        }
    }

    pub fn phase(&self) -> ServerPhase {
        self.phase
    }

    /// Lets the session force a phase, e.g. back to startup after TLS.
    pub fn set_phase(&mut self, phase: ServerPhase) {
        self.phase = phase;
    }

    /// How the next 'p' frame is read. Encoding an Authentication request
    /// sets this already; the setter exists for sessions that need otherwise.
    pub fn set_password_kind(&mut self, kind: PasswordKind) {
        self.password = kind;
    }

    pub fn password_kind(&self) -> PasswordKind {
        self.password
    }
}

impl Decoder for PgServerCodec {
    type Item = FrontendMessage;
    type Error = ProtocolError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<FrontendMessage>> {
        match self.phase {
            ServerPhase::Startup => {
                let Some(body) = startup_frame(src, self.max_startup_len)? else {
                    return Ok(None);
                };
                let msg = FrontendMessage::decode_startup(body)?;
                match msg {
                    FrontendMessage::SslRequest | FrontendMessage::GssEncRequest
                        if !src.is_empty() =>
                    {
                        return Err(ProtocolError::DataAfterEncryptionRequest);
                    }
                    FrontendMessage::Startup { .. } => self.phase = ServerPhase::Regular,
                    _ => {}
                }
                Ok(Some(msg))
            }
            ServerPhase::Regular => {
                let Some((tag, body)) = typed_frame(src, self.max_message_len)? else {
                    return Ok(None);
                };
                if self.extension_tags.contains(&tag) {
                    return Ok(Some(FrontendMessage::Extension { tag, body }));
                }
                FrontendMessage::decode(tag, body, self.password).map(Some)
            }
        }
    }
}

impl Encoder<BackendMessage> for PgServerCodec {
    type Error = ProtocolError;

    // Only the owned form is implemented: a second `Encoder<&T>` impl would
    // make `SinkExt::flush` on a `Framed` ambiguous for every caller.
    fn encode(&mut self, item: BackendMessage, dst: &mut BytesMut) -> Result<()> {
        // The request we send decides what the client's next 'p' means.
        if let BackendMessage::Authentication(a) = &item {
            match a {
                Authentication::CleartextPassword | Authentication::Md5Password { .. } => {
                    self.password = PasswordKind::Password
                }
                Authentication::Sasl { .. } => self.password = PasswordKind::SaslInitial,
                Authentication::SaslContinue(_) => self.password = PasswordKind::Sasl,
                _ => {}
            }
        }
        item.encode(dst)
    }
}

/// The client end: decodes [`BackendMessage`], encodes [`FrontendMessage`].
#[derive(Debug, Clone)]
pub struct PgClientCodec {
    max_message_len: usize,
    expect_encryption_response: bool,
    raw_auth_codes: Vec<i32>,
}

impl Default for PgClientCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl PgClientCodec {
    pub fn new() -> Self {
        PgClientCodec {
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
            expect_encryption_response: false,
            raw_auth_codes: Vec::new(),
        }
    }

    pub fn with_max_message_len(mut self, max: usize) -> Self {
        self.max_message_len = max;
        self
    }

    /// Keeps these authentication codes raw (see [`Authentication::decode`]).
    pub fn with_raw_auth_codes(mut self, codes: Vec<i32>) -> Self {
        self.raw_auth_codes = codes;
        self
    }
}

impl Decoder for PgClientCodec {
    type Item = BackendMessage;
    type Error = ProtocolError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BackendMessage>> {
        if self.expect_encryption_response {
            let Some(&b) = src.first() else {
                return Ok(None);
            };
            self.expect_encryption_response = false;
            match b {
                b'S' | b'G' | b'N' => {
                    src.advance(1);
                    let accepted = b != b'N';
                    // Bytes after 'S' arrived unencrypted yet would be read as
                    // TLS-protected (CVE-2021-23222 class).
                    if accepted && !src.is_empty() {
                        return Err(ProtocolError::DataAfterEncryptionRequest);
                    }
                    return Ok(Some(BackendMessage::EncryptionResponse { accepted }));
                }
                // Old servers answer with an ErrorResponse; read it normally.
                _ => {}
            }
        }
        let Some((tag, body)) = typed_frame(src, self.max_message_len)? else {
            return Ok(None);
        };
        BackendMessage::decode(tag, body, &self.raw_auth_codes).map(Some)
    }
}

impl Encoder<FrontendMessage> for PgClientCodec {
    type Error = ProtocolError;

    fn encode(&mut self, item: FrontendMessage, dst: &mut BytesMut) -> Result<()> {
        if matches!(
            &item,
            FrontendMessage::SslRequest | FrontendMessage::GssEncRequest
        ) {
            self.expect_encryption_response = true;
        }
        item.encode(dst)
    }
}
