//! Everything a client sends, as one typed enum.

use bytes::{BufMut, Bytes, BytesMut};

use super::extended::{
    decode_execute, decode_target, encode_execute, encode_target, Bind, Parse, TargetKind,
};
use super::startup::{self, GSSENC_REQUEST_CODE, SSL_REQUEST_CODE};
use super::wire::{frame, put_cstr, put_nullable, Reader};
use crate::error::{ProtocolError, Result};

/// Which message a 'p' frame holds. The byte is shared by four messages and
/// only the authentication exchange in progress tells them apart, so the
/// session sets this on the codec before the client answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PasswordKind {
    /// PasswordMessage: cleartext or MD5 response.
    #[default]
    Password,
    /// SASLInitialResponse: the mechanism and the client-first message.
    SaslInitial,
    /// SASLResponse: the client-final message.
    Sasl,
}

/// A message from client to server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrontendMessage {
    /// StartupMessage; any version is kept so openGauss 3.50 / 3.51 pass.
    Startup {
        protocol_version: u32,
        params: Vec<(String, String)>,
    },
    SslRequest,
    GssEncRequest,
    CancelRequest {
        pid: i32,
        secret: i32,
    },
    Query(String),
    Parse(Parse),
    Bind(Bind),
    Describe {
        kind: TargetKind,
        name: String,
    },
    Execute {
        portal: String,
        max_rows: i32,
    },
    Close {
        kind: TargetKind,
        name: String,
    },
    Sync,
    Flush,
    Terminate,
    /// PasswordMessage (cleartext, or "md5..." hex).
    Password(String),
    SaslInitialResponse {
        mechanism: String,
        /// `None` is the wire's -1 length: no initial response.
        data: Option<Bytes>,
    },
    SaslResponse(Bytes),
    CopyData(Bytes),
    CopyDone,
    CopyFail(String),
    /// FunctionCall ('F'), kept raw: no driver we target uses it and a proxy
    /// only needs to forward or refuse it.
    FunctionCall(Bytes),
    /// A type byte the codec was told to accept without knowing it (openGauss
    /// Batch Bind 'U'); the dialect module that enabled it decodes `body`.
    Extension {
        tag: u8,
        body: Bytes,
    },
}

fn empty(tag: u8, body: Bytes, msg: FrontendMessage) -> Result<FrontendMessage> {
    Reader::new(tag, body).finish()?;
    Ok(msg)
}

fn one_cstr(tag: u8, body: Bytes, what: &str) -> Result<String> {
    let mut r = Reader::new(tag, body);
    let s = r.cstr(what)?;
    r.finish()?;
    Ok(s)
}

impl FrontendMessage {
    /// Decodes the body of an untyped startup-phase packet.
    pub fn decode_startup(body: Bytes) -> Result<Self> {
        startup::decode(body)
    }

    /// Decodes the body of a typed frame. `password` says how to read 'p'.
    /// Unknown tags are an error here; the codec decides about extensions.
    pub fn decode(tag: u8, body: Bytes, password: PasswordKind) -> Result<Self> {
        Ok(match tag {
            b'Q' => FrontendMessage::Query(one_cstr(tag, body, "query")?),
            b'P' => FrontendMessage::Parse(Parse::decode(body)?),
            b'B' => FrontendMessage::Bind(Bind::decode(body)?),
            b'D' => {
                let (kind, name) = decode_target(tag, body)?;
                FrontendMessage::Describe { kind, name }
            }
            b'E' => {
                let (portal, max_rows) = decode_execute(body)?;
                FrontendMessage::Execute { portal, max_rows }
            }
            b'C' => {
                let (kind, name) = decode_target(tag, body)?;
                FrontendMessage::Close { kind, name }
            }
            b'S' => empty(tag, body, FrontendMessage::Sync)?,
            b'H' => empty(tag, body, FrontendMessage::Flush)?,
            b'X' => empty(tag, body, FrontendMessage::Terminate)?,
            b'p' => match password {
                PasswordKind::Password => {
                    FrontendMessage::Password(one_cstr(tag, body, "password")?)
                }
                PasswordKind::SaslInitial => {
                    let mut r = Reader::new(tag, body);
                    let mechanism = r.cstr("SASL mechanism")?;
                    let data = r.nullable_bytes("SASL initial response")?;
                    r.finish()?;
                    FrontendMessage::SaslInitialResponse { mechanism, data }
                }
                PasswordKind::Sasl => FrontendMessage::SaslResponse(body),
            },
            b'd' => FrontendMessage::CopyData(body),
            b'c' => empty(tag, body, FrontendMessage::CopyDone)?,
            b'f' => FrontendMessage::CopyFail(one_cstr(tag, body, "copy failure message")?),
            b'F' => FrontendMessage::FunctionCall(body),
            other => return Err(ProtocolError::UnknownMessage(other)),
        })
    }

    /// Appends the complete frame (type byte, length, body) to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        let none = |_: &mut BytesMut| Ok(());
        match self {
            FrontendMessage::Startup {
                protocol_version,
                params,
            } => startup::encode_startup(dst, *protocol_version, params),
            FrontendMessage::SslRequest => startup::encode_code(dst, SSL_REQUEST_CODE),
            FrontendMessage::GssEncRequest => startup::encode_code(dst, GSSENC_REQUEST_CODE),
            FrontendMessage::CancelRequest { pid, secret } => {
                startup::encode_cancel(dst, *pid, *secret)
            }
            FrontendMessage::Query(q) => frame(dst, Some(b'Q'), |d| put_cstr(d, q, "query")),
            FrontendMessage::Parse(p) => p.encode(dst),
            FrontendMessage::Bind(b) => b.encode(dst),
            FrontendMessage::Describe { kind, name } => encode_target(dst, b'D', *kind, name),
            FrontendMessage::Execute { portal, max_rows } => encode_execute(dst, portal, *max_rows),
            FrontendMessage::Close { kind, name } => encode_target(dst, b'C', *kind, name),
            FrontendMessage::Sync => frame(dst, Some(b'S'), none),
            FrontendMessage::Flush => frame(dst, Some(b'H'), none),
            FrontendMessage::Terminate => frame(dst, Some(b'X'), none),
            FrontendMessage::Password(p) => frame(dst, Some(b'p'), |d| put_cstr(d, p, "password")),
            FrontendMessage::SaslInitialResponse { mechanism, data } => {
                frame(dst, Some(b'p'), |d| {
                    put_cstr(d, mechanism, "SASL mechanism")?;
                    put_nullable(d, data.as_deref(), "SASL initial response")
                })
            }
            FrontendMessage::SaslResponse(data) => raw(dst, b'p', data),
            FrontendMessage::CopyData(data) => raw(dst, b'd', data),
            FrontendMessage::CopyDone => frame(dst, Some(b'c'), none),
            FrontendMessage::CopyFail(m) => {
                frame(dst, Some(b'f'), |d| put_cstr(d, m, "copy failure message"))
            }
            FrontendMessage::FunctionCall(body) => raw(dst, b'F', body),
            FrontendMessage::Extension { tag, body } => raw(dst, *tag, body),
        }
    }
}

pub(crate) fn raw(dst: &mut BytesMut, tag: u8, body: &[u8]) -> Result<()> {
    frame(dst, Some(tag), |d| {
        d.put_slice(body);
        Ok(())
    })
}
