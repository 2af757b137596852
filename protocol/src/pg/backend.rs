//! Everything a server sends, as one typed enum.

use bytes::{BufMut, Bytes, BytesMut};

use super::authentication::Authentication;
use super::copy::CopyResponse;
use super::frontend::raw;
use super::notice::ErrorFields;
use super::rows::{DataRow, RowDescription};
use super::wire::{frame, put_count16, put_cstr, Reader};
use crate::error::{ProtocolError, Result};

/// The transaction state reported by ReadyForQuery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionStatus {
    /// 'I': not in a transaction block.
    Idle,
    /// 'T': in a transaction block.
    InTransaction,
    /// 'E': in a failed transaction block; queries are rejected until it ends.
    Failed,
}

impl TransactionStatus {
    pub fn byte(self) -> u8 {
        match self {
            TransactionStatus::Idle => b'I',
            TransactionStatus::InTransaction => b'T',
            TransactionStatus::Failed => b'E',
        }
    }
}

/// A message from server to client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendMessage {
    /// The single unframed byte answering SSLRequest / GSSENCRequest:
    /// 'S' / 'G' (accepted) or 'N'. Only produced when the client codec was
    /// told to expect it.
    EncryptionResponse {
        accepted: bool,
    },
    Authentication(Authentication),
    ParameterStatus {
        name: String,
        value: String,
    },
    BackendKeyData {
        pid: i32,
        secret: i32,
    },
    ReadyForQuery(TransactionStatus),
    RowDescription(RowDescription),
    DataRow(DataRow),
    CommandComplete(String),
    EmptyQueryResponse,
    ErrorResponse(ErrorFields),
    NoticeResponse(ErrorFields),
    ParseComplete,
    BindComplete,
    CloseComplete,
    NoData,
    PortalSuspended,
    ParameterDescription(Vec<u32>),
    CopyInResponse(CopyResponse),
    CopyOutResponse(CopyResponse),
    CopyBothResponse(CopyResponse),
    CopyData(Bytes),
    CopyDone,
    NegotiateProtocolVersion {
        newest_minor: i32,
        unrecognized: Vec<String>,
    },
    NotificationResponse {
        pid: i32,
        channel: String,
        payload: String,
    },
    /// FunctionCallResponse ('V'), kept raw like FunctionCall.
    FunctionCallResponse(Bytes),
}

fn empty(tag: u8, body: Bytes, msg: BackendMessage) -> Result<BackendMessage> {
    Reader::new(tag, body).finish()?;
    Ok(msg)
}

impl BackendMessage {
    /// Decodes the body of a typed frame. `raw_auth_codes` is passed to
    /// [`Authentication::decode`].
    pub fn decode(tag: u8, body: Bytes, raw_auth_codes: &[i32]) -> Result<Self> {
        Ok(match tag {
            b'R' => BackendMessage::Authentication(Authentication::decode(body, raw_auth_codes)?),
            b'S' => {
                let mut r = Reader::new(tag, body);
                let name = r.cstr("parameter name")?;
                let value = r.cstr("parameter value")?;
                r.finish()?;
                BackendMessage::ParameterStatus { name, value }
            }
            b'K' => {
                let mut r = Reader::new(tag, body);
                let pid = r.i32("process id")?;
                let secret = r.i32("secret key")?;
                r.finish()?;
                BackendMessage::BackendKeyData { pid, secret }
            }
            b'Z' => {
                let mut r = Reader::new(tag, body);
                let status = match r.u8("transaction status")? {
                    b'I' => TransactionStatus::Idle,
                    b'T' => TransactionStatus::InTransaction,
                    b'E' => TransactionStatus::Failed,
                    other => return Err(r.err(format!("unknown transaction status 0x{other:02x}"))),
                };
                r.finish()?;
                BackendMessage::ReadyForQuery(status)
            }
            b'T' => BackendMessage::RowDescription(RowDescription::decode(body)?),
            b'D' => BackendMessage::DataRow(DataRow::decode(body)?),
            b'C' => {
                let mut r = Reader::new(tag, body);
                let t = r.cstr("command tag")?;
                r.finish()?;
                BackendMessage::CommandComplete(t)
            }
            b'I' => empty(tag, body, BackendMessage::EmptyQueryResponse)?,
            b'E' => BackendMessage::ErrorResponse(ErrorFields::decode(tag, body)?),
            b'N' => BackendMessage::NoticeResponse(ErrorFields::decode(tag, body)?),
            b'1' => empty(tag, body, BackendMessage::ParseComplete)?,
            b'2' => empty(tag, body, BackendMessage::BindComplete)?,
            b'3' => empty(tag, body, BackendMessage::CloseComplete)?,
            b'n' => empty(tag, body, BackendMessage::NoData)?,
            b's' => empty(tag, body, BackendMessage::PortalSuspended)?,
            b't' => {
                let mut r = Reader::new(tag, body);
                let n = r.count16("parameter count")?;
                let mut oids = Vec::with_capacity(n.min(r.remaining() / 4));
                for _ in 0..n {
                    oids.push(r.u32("parameter type")?);
                }
                r.finish()?;
                BackendMessage::ParameterDescription(oids)
            }
            b'G' => BackendMessage::CopyInResponse(CopyResponse::decode(tag, body)?),
            b'H' => BackendMessage::CopyOutResponse(CopyResponse::decode(tag, body)?),
            b'W' => BackendMessage::CopyBothResponse(CopyResponse::decode(tag, body)?),
            b'd' => BackendMessage::CopyData(body),
            b'c' => empty(tag, body, BackendMessage::CopyDone)?,
            b'v' => {
                let mut r = Reader::new(tag, body);
                let newest_minor = r.i32("newest minor version")?;
                let n = r.i32("option count")?;
                let n =
                    usize::try_from(n).map_err(|_| r.err(format!("negative option count {n}")))?;
                let mut unrecognized = Vec::with_capacity(n.min(r.remaining()));
                for _ in 0..n {
                    unrecognized.push(r.cstr("option name")?);
                }
                r.finish()?;
                BackendMessage::NegotiateProtocolVersion {
                    newest_minor,
                    unrecognized,
                }
            }
            b'A' => {
                let mut r = Reader::new(tag, body);
                let pid = r.i32("process id")?;
                let channel = r.cstr("channel")?;
                let payload = r.cstr("payload")?;
                r.finish()?;
                BackendMessage::NotificationResponse {
                    pid,
                    channel,
                    payload,
                }
            }
            b'V' => BackendMessage::FunctionCallResponse(body),
            other => return Err(ProtocolError::UnknownMessage(other)),
        })
    }

    /// Appends the complete frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        let none = |_: &mut BytesMut| Ok(());
        match self {
            BackendMessage::EncryptionResponse { accepted } => {
                dst.put_u8(if *accepted { b'S' } else { b'N' });
                Ok(())
            }
            BackendMessage::Authentication(a) => a.encode(dst),
            BackendMessage::ParameterStatus { name, value } => frame(dst, Some(b'S'), |d| {
                put_cstr(d, name, "parameter name")?;
                put_cstr(d, value, "parameter value")
            }),
            BackendMessage::BackendKeyData { pid, secret } => frame(dst, Some(b'K'), |d| {
                d.put_i32(*pid);
                d.put_i32(*secret);
                Ok(())
            }),
            BackendMessage::ReadyForQuery(s) => frame(dst, Some(b'Z'), |d| {
                d.put_u8(s.byte());
                Ok(())
            }),
            BackendMessage::RowDescription(rd) => rd.encode(dst),
            BackendMessage::DataRow(row) => row.encode(dst),
            BackendMessage::CommandComplete(t) => {
                frame(dst, Some(b'C'), |d| put_cstr(d, t, "command tag"))
            }
            BackendMessage::EmptyQueryResponse => frame(dst, Some(b'I'), none),
            BackendMessage::ErrorResponse(e) => e.encode(b'E', dst),
            BackendMessage::NoticeResponse(e) => e.encode(b'N', dst),
            BackendMessage::ParseComplete => frame(dst, Some(b'1'), none),
            BackendMessage::BindComplete => frame(dst, Some(b'2'), none),
            BackendMessage::CloseComplete => frame(dst, Some(b'3'), none),
            BackendMessage::NoData => frame(dst, Some(b'n'), none),
            BackendMessage::PortalSuspended => frame(dst, Some(b's'), none),
            BackendMessage::ParameterDescription(oids) => frame(dst, Some(b't'), |d| {
                put_count16(d, oids.len(), "parameter types")?;
                for o in oids {
                    d.put_u32(*o);
                }
                Ok(())
            }),
            BackendMessage::CopyInResponse(c) => c.encode(b'G', dst),
            BackendMessage::CopyOutResponse(c) => c.encode(b'H', dst),
            BackendMessage::CopyBothResponse(c) => c.encode(b'W', dst),
            BackendMessage::CopyData(data) => raw(dst, b'd', data),
            BackendMessage::CopyDone => frame(dst, Some(b'c'), none),
            BackendMessage::NegotiateProtocolVersion {
                newest_minor,
                unrecognized,
            } => frame(dst, Some(b'v'), |d| {
                d.put_i32(*newest_minor);
                let n = i32::try_from(unrecognized.len()).map_err(|_| ProtocolError::Encode {
                    what: "NegotiateProtocolVersion",
                    reason: "too many options".into(),
                })?;
                d.put_i32(n);
                for o in unrecognized {
                    put_cstr(d, o, "option name")?;
                }
                Ok(())
            }),
            BackendMessage::NotificationResponse {
                pid,
                channel,
                payload,
            } => frame(dst, Some(b'A'), |d| {
                d.put_i32(*pid);
                put_cstr(d, channel, "channel")?;
                put_cstr(d, payload, "payload")
            }),
            BackendMessage::FunctionCallResponse(body) => raw(dst, b'V', body),
        }
    }
}
