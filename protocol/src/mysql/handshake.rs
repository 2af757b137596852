//! The connection phase: the server's Handshake v10, the client's
//! HandshakeResponse41 and its short form, SSLRequest.

use bytes::{BufMut, Bytes, BytesMut};

use super::constants::capability::*;
use super::wire::{put_cstr, put_lenenc_bytes, put_lenenc_int, Reader};
use crate::error::{ProtocolError, Result};

/// Length of an SSLRequest payload: capabilities, max packet, charset and
/// 23 bytes of filler.
pub const SSL_REQUEST_LEN: usize = 32;

/// The server's first packet (protocol version 10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeV10 {
    /// MariaDB prefixes its version with `5.5.5-` for old clients.
    pub server_version: String,
    pub connection_id: u32,
    /// The scramble (nonce) the auth plugin uses, without the trailing NUL;
    /// 20 bytes for the built-in plugins.
    pub auth_data: Bytes,
    pub capabilities: u32,
    pub charset: u8,
    pub status: u16,
    /// The server's default auth plugin (CLIENT_PLUGIN_AUTH).
    pub auth_plugin: Option<String>,
    /// MariaDB's extended capabilities, sent in the last 4 of the 10
    /// reserved bytes when CLIENT_LONG_PASSWORD (its CLIENT_MYSQL) is clear.
    pub mariadb_capabilities: u32,
}

impl HandshakeV10 {
    pub fn decode(payload: Bytes) -> Result<HandshakeV10> {
        let mut r = Reader::new("handshake", payload);
        let version = r.u8("protocol version")?;
        if version != 10 {
            return Err(r.err(format!("protocol version {version} is not 10")));
        }
        let server_version = String::from_utf8_lossy(&r.cbytes("server version")?).into_owned();
        let connection_id = r.u32("connection id")?;
        let part1 = r.bytes(8, "auth plugin data part 1")?;
        r.skip(1, "filler")?;
        let caps_low = r.u16("capability flags")?;
        let mut hs = HandshakeV10 {
            server_version,
            connection_id,
            auth_data: part1.clone(),
            capabilities: u32::from(caps_low),
            charset: 0,
            status: 0,
            auth_plugin: None,
            mariadb_capabilities: 0,
        };
        // Pre-4.1 servers may end here.
        if r.is_empty() {
            return Ok(hs);
        }
        hs.charset = r.u8("character set")?;
        hs.status = r.u16("status flags")?;
        let caps_high = r.u16("capability flags (upper)")?;
        hs.capabilities |= u32::from(caps_high) << 16;
        let data_len = r.u8("auth plugin data length")?;
        let reserved = r.bytes(10, "reserved")?;
        if hs.capabilities & CLIENT_LONG_PASSWORD == 0 {
            hs.mariadb_capabilities =
                u32::from_le_bytes([reserved[6], reserved[7], reserved[8], reserved[9]]);
        }
        let mut data = BytesMut::from(&part1[..]);
        if hs.capabilities & CLIENT_SECURE_CONNECTION != 0 {
            let len = usize::from(data_len).saturating_sub(8).max(13);
            let part2 = r.bytes(len.min(r.remaining()), "auth plugin data part 2")?;
            // The last byte is a NUL terminator, not scramble.
            let part2 = match part2.last() {
                Some(0) => part2.slice(..part2.len() - 1),
                _ => part2,
            };
            data.extend_from_slice(&part2);
        }
        hs.auth_data = data.freeze();
        if hs.capabilities & CLIENT_PLUGIN_AUTH != 0 && !r.is_empty() {
            let name = r.cbytes_or_rest();
            hs.auth_plugin = Some(r.utf8(name, "auth plugin name")?);
        }
        Ok(hs)
    }

    pub fn encode(&self, buf: &mut BytesMut) -> Result<()> {
        if self.auth_data.len() < 8 || self.auth_data.len() > 254 {
            return Err(ProtocolError::Encode {
                what: "handshake",
                reason: format!(
                    "auth data of {} bytes, expected 8 to 254",
                    self.auth_data.len()
                ),
            });
        }
        buf.put_u8(10);
        put_cstr(buf, self.server_version.as_bytes(), "server version")?;
        buf.put_u32_le(self.connection_id);
        buf.put_slice(&self.auth_data[..8]);
        buf.put_u8(0);
        buf.put_u16_le(self.capabilities as u16);
        buf.put_u8(self.charset);
        buf.put_u16_le(self.status);
        buf.put_u16_le((self.capabilities >> 16) as u16);
        let plugin_auth = self.capabilities & CLIENT_PLUGIN_AUTH != 0;
        // Length of the scramble plus its NUL; checked above to fit a byte.
        buf.put_u8(if plugin_auth {
            (self.auth_data.len() + 1) as u8
        } else {
            0
        });
        buf.put_bytes(0, 6);
        if self.capabilities & CLIENT_LONG_PASSWORD == 0 {
            buf.put_u32_le(self.mariadb_capabilities);
        } else {
            buf.put_bytes(0, 4);
        }
        if self.capabilities & CLIENT_SECURE_CONNECTION != 0 {
            let part2 = &self.auth_data[8..];
            buf.put_slice(part2);
            // At least 13 bytes, the last a NUL.
            buf.put_bytes(0, 13usize.saturating_sub(part2.len()).max(1));
        }
        if plugin_auth {
            let plugin = self.auth_plugin.as_deref().unwrap_or_default();
            put_cstr(buf, plugin.as_bytes(), "auth plugin name")?;
        }
        Ok(())
    }
}

/// The client's answer to the handshake (protocol 4.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandshakeResponse41 {
    pub capabilities: u32,
    pub max_packet_size: u32,
    pub charset: u8,
    pub username: String,
    pub auth_response: Bytes,
    /// CLIENT_CONNECT_WITH_DB.
    pub database: Option<String>,
    /// CLIENT_PLUGIN_AUTH: the plugin that made `auth_response`.
    pub auth_plugin: Option<String>,
    /// CLIENT_CONNECT_ATTRS, in wire order.
    pub attributes: Vec<(String, String)>,
    /// CLIENT_ZSTD_COMPRESSION_ALGORITHM.
    pub zstd_level: Option<u8>,
}

/// SSLRequest: the first 32 bytes of a handshake response, after which the
/// client starts TLS and sends the full response over it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SslRequest {
    pub capabilities: u32,
    pub max_packet_size: u32,
    pub charset: u8,
}

impl SslRequest {
    pub fn encode(&self, buf: &mut BytesMut) {
        buf.put_u32_le(self.capabilities | CLIENT_SSL);
        buf.put_u32_le(self.max_packet_size);
        buf.put_u8(self.charset);
        buf.put_bytes(0, 23);
    }
}

/// What a client may send in answer to the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientHandshake {
    SslRequest(SslRequest),
    Response(HandshakeResponse41),
}

impl ClientHandshake {
    /// Decodes the client's first packet. A 32-byte packet with CLIENT_SSL
    /// is an SSLRequest; clients without CLIENT_PROTOCOL_41 are refused.
    pub fn decode(payload: Bytes) -> Result<ClientHandshake> {
        let short = payload.len() == SSL_REQUEST_LEN;
        let mut r = Reader::new("handshake response", payload);
        let capabilities = r.u32("capability flags")?;
        if capabilities & CLIENT_PROTOCOL_41 == 0 {
            return Err(r.err("the client does not speak protocol 4.1 (HandshakeResponse320)"));
        }
        let max_packet_size = r.u32("max packet size")?;
        let charset = r.u8("character set")?;
        r.skip(23, "filler")?;
        if short && capabilities & CLIENT_SSL != 0 {
            return Ok(ClientHandshake::SslRequest(SslRequest {
                capabilities,
                max_packet_size,
                charset,
            }));
        }
        let username = r.cstr("user name")?;
        let auth_response = if capabilities & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA != 0 {
            r.lenenc_bytes("auth response")?
        } else if capabilities & CLIENT_SECURE_CONNECTION != 0 {
            let n = r.u8("auth response length")?;
            r.bytes(usize::from(n), "auth response")?
        } else {
            r.cbytes("auth response")?
        };
        let mut resp = HandshakeResponse41 {
            capabilities,
            max_packet_size,
            charset,
            username,
            auth_response,
            ..HandshakeResponse41::default()
        };
        // Optional fields may be missing at the end even with their flag
        // set (older connectors); present fields must be well formed.
        if capabilities & CLIENT_CONNECT_WITH_DB != 0 && !r.is_empty() {
            resp.database = Some(r.cstr("database")?);
        }
        if capabilities & CLIENT_PLUGIN_AUTH != 0 && !r.is_empty() {
            let name = r.cbytes_or_rest();
            resp.auth_plugin = Some(r.utf8(name, "auth plugin name")?);
        }
        if capabilities & CLIENT_CONNECT_ATTRS != 0 && !r.is_empty() {
            resp.attributes = decode_attributes(&mut r)?;
        }
        if capabilities & CLIENT_ZSTD_COMPRESSION_ALGORITHM != 0 && !r.is_empty() {
            resp.zstd_level = Some(r.u8("zstd compression level")?);
        }
        r.finish()?;
        Ok(ClientHandshake::Response(resp))
    }
}

pub(crate) fn decode_attributes(r: &mut Reader) -> Result<Vec<(String, String)>> {
    let total = r.lenenc_len("connection attributes")?;
    let mut attrs = Reader::new("connection attributes", r.bytes(total, "attributes")?);
    let mut out = Vec::new();
    while !attrs.is_empty() {
        let k = attrs.lenenc_str("attribute name")?;
        let v = attrs.lenenc_str("attribute value")?;
        out.push((k, v));
    }
    Ok(out)
}

pub(crate) fn encode_attributes(attrs: &[(String, String)], buf: &mut BytesMut) {
    let mut body = BytesMut::new();
    for (k, v) in attrs {
        put_lenenc_bytes(&mut body, k.as_bytes());
        put_lenenc_bytes(&mut body, v.as_bytes());
    }
    put_lenenc_bytes(buf, &body);
}

impl HandshakeResponse41 {
    /// Encodes the response; which optional fields are written follows
    /// `capabilities`, as the server will read it.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<()> {
        let caps = self.capabilities;
        buf.put_u32_le(caps);
        buf.put_u32_le(self.max_packet_size);
        buf.put_u8(self.charset);
        buf.put_bytes(0, 23);
        put_cstr(buf, self.username.as_bytes(), "user name")?;
        if caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA != 0 {
            put_lenenc_int(buf, self.auth_response.len() as u64);
            buf.put_slice(&self.auth_response);
        } else if caps & CLIENT_SECURE_CONNECTION != 0 {
            let n = u8::try_from(self.auth_response.len()).map_err(|_| ProtocolError::Encode {
                what: "handshake response",
                reason: "auth response longer than 255 bytes without lenenc client data".into(),
            })?;
            buf.put_u8(n);
            buf.put_slice(&self.auth_response);
        } else {
            put_cstr(buf, &self.auth_response, "auth response")?;
        }
        if caps & CLIENT_CONNECT_WITH_DB != 0 {
            let db = self.database.as_deref().unwrap_or_default();
            put_cstr(buf, db.as_bytes(), "database")?;
        }
        if caps & CLIENT_PLUGIN_AUTH != 0 {
            let plugin = self.auth_plugin.as_deref().unwrap_or_default();
            put_cstr(buf, plugin.as_bytes(), "auth plugin name")?;
        }
        if caps & CLIENT_CONNECT_ATTRS != 0 {
            encode_attributes(&self.attributes, buf);
        }
        if caps & CLIENT_ZSTD_COMPRESSION_ALGORITHM != 0 {
            buf.put_u8(self.zstd_level.unwrap_or(3));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake() -> HandshakeV10 {
        HandshakeV10 {
            server_version: "5.5.5-10.11.6-MariaDB".into(),
            connection_id: 42,
            auth_data: Bytes::from_static(b"abcdefghijklmnopqrst"),
            capabilities: CLIENT_LONG_PASSWORD
                | CLIENT_PROTOCOL_41
                | CLIENT_SECURE_CONNECTION
                | CLIENT_PLUGIN_AUTH
                | CLIENT_CONNECT_WITH_DB
                | CLIENT_DEPRECATE_EOF,
            charset: 45,
            status: 2,
            auth_plugin: Some("mysql_native_password".into()),
            mariadb_capabilities: 0,
        }
    }

    #[test]
    fn handshake_round_trips() {
        let hs = handshake();
        let mut buf = BytesMut::new();
        hs.encode(&mut buf).unwrap();
        assert_eq!(HandshakeV10::decode(buf.clone().freeze()).unwrap(), hs);
        // Any cut: no panic. Before the capability flags: an error (after
        // them a pre-4.1 handshake may legitimately end).
        for cut in 0..buf.len() {
            let got = HandshakeV10::decode(buf.clone().freeze().slice(..cut));
            if cut < 16 {
                assert!(got.is_err(), "cut {cut}");
            }
        }
        let mut maria = hs.clone();
        maria.capabilities &= !CLIENT_LONG_PASSWORD;
        maria.mariadb_capabilities = 0x1d;
        let mut buf = BytesMut::new();
        maria.encode(&mut buf).unwrap();
        assert_eq!(HandshakeV10::decode(buf.freeze()).unwrap(), maria);
    }

    #[test]
    fn response_round_trips_with_every_optional_field() {
        let resp = HandshakeResponse41 {
            capabilities: CLIENT_PROTOCOL_41
                | CLIENT_SECURE_CONNECTION
                | CLIENT_PLUGIN_AUTH
                | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
                | CLIENT_CONNECT_WITH_DB
                | CLIENT_CONNECT_ATTRS,
            max_packet_size: 1 << 24,
            charset: 45,
            username: "root".into(),
            auth_response: Bytes::from_static(&[7; 20]),
            database: Some("shardwire".into()),
            auth_plugin: Some("mysql_native_password".into()),
            attributes: vec![("_client_name".into(), "shardwire".into())],
            zstd_level: None,
        };
        let mut buf = BytesMut::new();
        resp.encode(&mut buf).unwrap();
        let full = buf.freeze();
        assert_eq!(
            ClientHandshake::decode(full.clone()).unwrap(),
            ClientHandshake::Response(resp.clone())
        );
        // Truncations: errors, or a valid prefix where optional fields end.
        for cut in 0..full.len() {
            if let Ok(ClientHandshake::Response(r)) = ClientHandshake::decode(full.slice(..cut)) {
                assert_ne!(r, resp, "cut {cut} decoded as the whole");
            }
        }
        // Without lenenc client data, a one-byte length prefix.
        let mut short = resp.clone();
        short.capabilities &= !(CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_CONNECT_ATTRS);
        short.attributes.clear();
        let mut buf = BytesMut::new();
        short.encode(&mut buf).unwrap();
        assert_eq!(
            ClientHandshake::decode(buf.freeze()).unwrap(),
            ClientHandshake::Response(short)
        );
    }

    #[test]
    fn ssl_request_is_recognised_and_old_clients_refused() {
        let req = SslRequest {
            capabilities: CLIENT_PROTOCOL_41 | CLIENT_SSL,
            max_packet_size: 1 << 24,
            charset: 45,
        };
        let mut buf = BytesMut::new();
        req.encode(&mut buf);
        assert_eq!(buf.len(), SSL_REQUEST_LEN);
        assert_eq!(
            ClientHandshake::decode(buf.freeze()).unwrap(),
            ClientHandshake::SslRequest(req)
        );
        let old = Bytes::from_static(&[0x05, 0x02, 0, 0, 0, 0, 0, 0]);
        assert!(ClientHandshake::decode(old).is_err());
    }
}
