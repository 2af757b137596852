//! The untyped packets a client may send first: StartupMessage, SSLRequest,
//! GSSENCRequest and CancelRequest. They share one position on the wire and
//! are told apart by the int32 that follows the length.

use bytes::{BufMut, Bytes, BytesMut};

use super::wire::{frame, put_cstr, Reader};
use super::FrontendMessage;
use crate::error::Result;

/// Protocol 3.0, the version every PostgreSQL driver sends.
pub const PROTOCOL_VERSION_3_0: u32 = 196_608;
/// Magic "version" of SSLRequest.
pub const SSL_REQUEST_CODE: u32 = 80_877_103;
/// Magic "version" of CancelRequest.
pub const CANCEL_REQUEST_CODE: u32 = 80_877_102;
/// Magic "version" of GSSENCRequest.
pub const GSSENC_REQUEST_CODE: u32 = 80_877_104;

/// PostgreSQL's own cap on the startup packet (MAX_STARTUP_PACKET_LENGTH):
/// nothing legitimate is longer, and the peer is not authenticated yet.
pub const MAX_STARTUP_PACKET_LEN: usize = 10_000;

/// Decodes a startup-phase packet body (everything after the length).
/// Any version other than the three magic codes is a StartupMessage, so
/// that openGauss's 3.50 / 3.51 reach the session, which decides.
pub(crate) fn decode(body: Bytes) -> Result<FrontendMessage> {
    let mut r = Reader::new(0, body);
    let code = r.u32("protocol version")?;
    let msg = match code {
        SSL_REQUEST_CODE => FrontendMessage::SslRequest,
        GSSENC_REQUEST_CODE => FrontendMessage::GssEncRequest,
        CANCEL_REQUEST_CODE => {
            let pid = r.i32("process id")?;
            let secret = r.i32("secret key")?;
            FrontendMessage::CancelRequest { pid, secret }
        }
        protocol_version => {
            let mut params = Vec::new();
            loop {
                let key = r.cstr("parameter name")?;
                if key.is_empty() {
                    break;
                }
                let value = r.cstr("parameter value")?;
                params.push((key, value));
            }
            FrontendMessage::Startup {
                protocol_version,
                params,
            }
        }
    };
    r.finish()?;
    Ok(msg)
}

pub(crate) fn encode_startup(
    dst: &mut BytesMut,
    protocol_version: u32,
    params: &[(String, String)],
) -> Result<()> {
    frame(dst, None, |d| {
        d.put_u32(protocol_version);
        for (k, v) in params {
            if k.is_empty() {
                // An empty name is the list terminator on the wire.
                return Err(crate::ProtocolError::Encode {
                    what: "startup parameter",
                    reason: "empty parameter name".into(),
                });
            }
            put_cstr(d, k, "startup parameter name")?;
            put_cstr(d, v, "startup parameter value")?;
        }
        d.put_u8(0);
        Ok(())
    })
}

pub(crate) fn encode_code(dst: &mut BytesMut, code: u32) -> Result<()> {
    frame(dst, None, |d| {
        d.put_u32(code);
        Ok(())
    })
}

pub(crate) fn encode_cancel(dst: &mut BytesMut, pid: i32, secret: i32) -> Result<()> {
    frame(dst, None, |d| {
        d.put_u32(CANCEL_REQUEST_CODE);
        d.put_i32(pid);
        d.put_i32(secret);
        Ok(())
    })
}
