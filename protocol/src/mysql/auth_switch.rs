//! The authentication exchange after the handshake response:
//! AuthSwitchRequest, AuthMoreData, and the server packets a client reads
//! while authenticating.

use bytes::{BufMut, Bytes, BytesMut};

use super::response::{ErrPacket, OkPacket, EOF_HEADER, ERR_HEADER, OK_HEADER};
use super::wire::{put_cstr, Reader};
use crate::error::Result;

pub const AUTH_MORE_DATA_HEADER: u8 = 0x01;

/// The server asks the client to authenticate with another plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSwitchRequest {
    pub plugin: String,
    /// Plugin data: for the built-in plugins a 20-byte scramble (the
    /// trailing NUL servers add is removed).
    pub data: Bytes,
}

impl AuthSwitchRequest {
    pub fn decode(payload: Bytes) -> Result<AuthSwitchRequest> {
        let mut r = Reader::new("AuthSwitchRequest", payload);
        let header = r.u8("header")?;
        if header != EOF_HEADER {
            return Err(r.err(format!("header 0x{header:02x} is not 0xfe")));
        }
        if r.is_empty() {
            // The pre-4.1 form: switch to mysql_old_password, no data.
            return Ok(AuthSwitchRequest {
                plugin: "mysql_old_password".into(),
                data: Bytes::new(),
            });
        }
        let plugin = r.cstr("plugin name")?;
        let mut data = r.rest();
        if data.last() == Some(&0) {
            data.truncate(data.len() - 1);
        }
        Ok(AuthSwitchRequest { plugin, data })
    }

    /// Encodes the request; the data gets the trailing NUL clients expect.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<()> {
        buf.put_u8(EOF_HEADER);
        put_cstr(buf, self.plugin.as_bytes(), "plugin name")?;
        buf.put_slice(&self.data);
        buf.put_u8(0);
        Ok(())
    }
}

/// Extra data from the server inside an auth plugin's exchange (e.g.
/// caching_sha2_password's fast-auth result or its public key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthMoreData(pub Bytes);

impl AuthMoreData {
    pub fn decode(payload: Bytes) -> Result<AuthMoreData> {
        let mut r = Reader::new("AuthMoreData", payload);
        let header = r.u8("header")?;
        if header != AUTH_MORE_DATA_HEADER {
            return Err(r.err(format!("header 0x{header:02x} is not 0x01")));
        }
        Ok(AuthMoreData(r.rest()))
    }

    pub fn encode(&self, buf: &mut BytesMut) {
        buf.put_u8(AUTH_MORE_DATA_HEADER);
        buf.put_slice(&self.0);
    }
}

/// A server packet during authentication, as a client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthPacket {
    Ok(OkPacket),
    Err(ErrPacket),
    Switch(AuthSwitchRequest),
    MoreData(Bytes),
}

impl AuthPacket {
    pub fn decode(payload: Bytes, caps: u32) -> Result<AuthPacket> {
        match payload.first() {
            Some(&OK_HEADER) => OkPacket::decode(payload, caps).map(AuthPacket::Ok),
            Some(&ERR_HEADER) => ErrPacket::decode(payload).map(AuthPacket::Err),
            Some(&EOF_HEADER) => AuthSwitchRequest::decode(payload).map(AuthPacket::Switch),
            Some(&AUTH_MORE_DATA_HEADER) => {
                AuthMoreData::decode(payload).map(|d| AuthPacket::MoreData(d.0))
            }
            other => Err(crate::ProtocolError::MalformedPacket {
                packet: "authentication response",
                reason: match other {
                    Some(b) => format!("unexpected header 0x{b:02x}"),
                    None => "empty packet".into(),
                },
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::constants::capability::CLIENT_PROTOCOL_41;
    use super::*;

    #[test]
    fn switch_and_more_data_round_trip() {
        let sw = AuthSwitchRequest {
            plugin: "mysql_native_password".into(),
            data: Bytes::from_static(b"01234567890123456789"),
        };
        let mut buf = BytesMut::new();
        sw.encode(&mut buf).unwrap();
        assert_eq!(
            AuthPacket::decode(buf.clone().freeze(), CLIENT_PROTOCOL_41).unwrap(),
            AuthPacket::Switch(sw)
        );
        // Cut inside the plugin name (cut 1 is the legal pre-4.1 form).
        for cut in 2..23 {
            assert!(AuthSwitchRequest::decode(buf.clone().freeze().slice(..cut)).is_err());
        }
        assert!(AuthSwitchRequest::decode(Bytes::new()).is_err());
        let more = AuthMoreData(Bytes::from_static(&[3]));
        let mut buf = BytesMut::new();
        more.encode(&mut buf);
        assert_eq!(
            AuthPacket::decode(buf.freeze(), CLIENT_PROTOCOL_41).unwrap(),
            AuthPacket::MoreData(Bytes::from_static(&[3]))
        );
        assert!(AuthPacket::decode(Bytes::new(), CLIENT_PROTOCOL_41).is_err());
        assert!(AuthPacket::decode(Bytes::from_static(&[0x42]), CLIENT_PROTOCOL_41).is_err());
        assert!(AuthPacket::decode(Bytes::from_static(&[0x00, 1]), CLIENT_PROTOCOL_41).is_err());
    }
}
