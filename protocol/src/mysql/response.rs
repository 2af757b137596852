//! The generic responses: OK, ERR and EOF packets, and the rules that tell
//! them apart from rows.

use bytes::{BufMut, Bytes, BytesMut};

use super::constants::capability::{
    CLIENT_DEPRECATE_EOF, CLIENT_PROTOCOL_41, CLIENT_SESSION_TRACK, CLIENT_TRANSACTIONS,
};
use super::constants::status::SERVER_SESSION_STATE_CHANGED;
use super::constants::MAX_PAYLOAD_CHUNK;
use super::wire::{put_lenenc_bytes, put_lenenc_int, Reader};
use crate::error::{ProtocolError, Result};

pub const OK_HEADER: u8 = 0x00;
pub const EOF_HEADER: u8 = 0xfe;
pub const ERR_HEADER: u8 = 0xff;
/// LOCAL INFILE request header, in place of a column count.
pub const LOCAL_INFILE_HEADER: u8 = 0xfb;

/// An OK packet: a command succeeded. With CLIENT_DEPRECATE_EOF it also
/// ends a result set, then with the 0xfe header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OkPacket {
    pub affected_rows: u64,
    pub last_insert_id: u64,
    pub status: u16,
    pub warnings: u16,
    /// Human-readable info, e.g. `Rows matched: 1  Changed: 1  Warnings: 0`.
    pub info: Bytes,
    /// Session state changes (CLIENT_SESSION_TRACK), raw.
    pub session_state: Option<Bytes>,
}

impl OkPacket {
    pub fn with_status(status: u16) -> Self {
        OkPacket {
            status,
            ..OkPacket::default()
        }
    }

    /// Decodes an OK packet with either header (0x00, or 0xfe when it ends
    /// a result set under CLIENT_DEPRECATE_EOF).
    pub fn decode(payload: Bytes, caps: u32) -> Result<OkPacket> {
        let mut r = Reader::new("OK packet", payload);
        let header = r.u8("header")?;
        if header != OK_HEADER && header != EOF_HEADER {
            return Err(r.err(format!("header 0x{header:02x} is not 0x00 or 0xfe")));
        }
        let affected_rows = r.lenenc_int("affected rows")?;
        let last_insert_id = r.lenenc_int("last insert id")?;
        let (mut status, mut warnings) = (0, 0);
        if caps & CLIENT_PROTOCOL_41 != 0 {
            status = r.u16("status flags")?;
            warnings = r.u16("warnings")?;
        } else if caps & CLIENT_TRANSACTIONS != 0 {
            status = r.u16("status flags")?;
        }
        let mut session_state = None;
        let info = if caps & CLIENT_SESSION_TRACK != 0 {
            // The info string is optional at the end of the packet.
            let info = if r.is_empty() {
                Bytes::new()
            } else {
                r.lenenc_bytes("info")?
            };
            if status & SERVER_SESSION_STATE_CHANGED != 0 && !r.is_empty() {
                session_state = Some(r.lenenc_bytes("session state")?);
            }
            info
        } else {
            r.rest()
        };
        r.finish()?;
        Ok(OkPacket {
            affected_rows,
            last_insert_id,
            status,
            warnings,
            info,
            session_state,
        })
    }

    /// Encodes with the 0x00 header.
    pub fn encode(&self, caps: u32, buf: &mut BytesMut) {
        self.encode_with_header(OK_HEADER, caps, buf);
    }

    /// Encodes the packet that ends a result set under
    /// CLIENT_DEPRECATE_EOF: an OK with the 0xfe header.
    pub fn encode_as_eof(&self, caps: u32, buf: &mut BytesMut) {
        self.encode_with_header(EOF_HEADER, caps, buf);
    }

    fn encode_with_header(&self, header: u8, caps: u32, buf: &mut BytesMut) {
        buf.put_u8(header);
        put_lenenc_int(buf, self.affected_rows);
        put_lenenc_int(buf, self.last_insert_id);
        if caps & CLIENT_PROTOCOL_41 != 0 {
            buf.put_u16_le(self.status);
            buf.put_u16_le(self.warnings);
        } else if caps & CLIENT_TRANSACTIONS != 0 {
            buf.put_u16_le(self.status);
        }
        if caps & CLIENT_SESSION_TRACK != 0 {
            let state = self
                .session_state
                .as_ref()
                .filter(|_| self.status & SERVER_SESSION_STATE_CHANGED != 0);
            if !self.info.is_empty() || state.is_some() {
                put_lenenc_bytes(buf, &self.info);
            }
            if let Some(state) = state {
                put_lenenc_bytes(buf, state);
            }
        } else {
            buf.put_slice(&self.info);
        }
    }
}

/// An ERR packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrPacket {
    /// The MySQL error number, e.g. 1146 (no such table).
    pub code: u16,
    /// The SQLSTATE, e.g. `42S02`. Servers omit it in errors sent before
    /// the handshake (too many connections); `HY000` stands in then.
    pub sql_state: String,
    pub message: String,
}

impl ErrPacket {
    pub fn new(code: u16, sql_state: &str, message: impl Into<String>) -> Self {
        ErrPacket {
            code,
            sql_state: sql_state.to_owned(),
            message: message.into(),
        }
    }

    pub fn decode(payload: Bytes) -> Result<ErrPacket> {
        let mut r = Reader::new("ERR packet", payload);
        let header = r.u8("header")?;
        if header != ERR_HEADER {
            return Err(r.err(format!("header 0x{header:02x} is not 0xff")));
        }
        let code = r.u16("error code")?;
        let sql_state = if r.peek() == Some(b'#') {
            r.skip(1, "SQL state marker")?;
            let state = r.bytes(5, "SQL state")?;
            r.utf8(state, "SQL state")?
        } else {
            "HY000".to_owned()
        };
        // Messages are in the server's error charset; a stray byte must not
        // cost the caller the error itself.
        let message = String::from_utf8_lossy(&r.rest()).into_owned();
        Ok(ErrPacket {
            code,
            sql_state,
            message,
        })
    }

    /// Encodes the error; the SQL state is sent with CLIENT_PROTOCOL_41
    /// (and must then be 5 ASCII characters).
    pub fn encode(&self, caps: u32, buf: &mut BytesMut) -> Result<()> {
        buf.put_u8(ERR_HEADER);
        buf.put_u16_le(self.code);
        if caps & CLIENT_PROTOCOL_41 != 0 {
            if self.sql_state.len() != 5 || !self.sql_state.is_ascii() {
                return Err(ProtocolError::Encode {
                    what: "ERR packet",
                    reason: format!("SQL state {:?} is not 5 ASCII characters", self.sql_state),
                });
            }
            buf.put_u8(b'#');
            buf.put_slice(self.sql_state.as_bytes());
        }
        buf.put_slice(self.message.as_bytes());
        Ok(())
    }
}

/// A (deprecated) EOF packet: ends column definitions and rows when the
/// client did not set CLIENT_DEPRECATE_EOF.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EofPacket {
    pub warnings: u16,
    pub status: u16,
}

impl EofPacket {
    pub fn decode(payload: Bytes, caps: u32) -> Result<EofPacket> {
        let mut r = Reader::new("EOF packet", payload);
        let header = r.u8("header")?;
        if header != EOF_HEADER {
            return Err(r.err(format!("header 0x{header:02x} is not 0xfe")));
        }
        if caps & CLIENT_PROTOCOL_41 == 0 {
            r.finish()?;
            return Ok(EofPacket::default());
        }
        let warnings = r.u16("warnings")?;
        let status = r.u16("status flags")?;
        r.finish()?;
        Ok(EofPacket { warnings, status })
    }

    pub fn encode(&self, caps: u32, buf: &mut BytesMut) {
        buf.put_u8(EOF_HEADER);
        if caps & CLIENT_PROTOCOL_41 != 0 {
            buf.put_u16_le(self.warnings);
            buf.put_u16_le(self.status);
        }
    }
}

/// True for an ERR packet.
pub fn is_err(payload: &[u8]) -> bool {
    payload.first() == Some(&ERR_HEADER)
}

/// True for an OK packet in a position where no rows can come (answer to
/// a command without a result set).
pub fn is_ok(payload: &[u8]) -> bool {
    payload.first() == Some(&OK_HEADER)
}

/// True when a packet in row position ends the result set rather than
/// being a row: an EOF packet (shorter than 9 bytes, which no row starting
/// with the 0xfe length prefix can be), or under CLIENT_DEPRECATE_EOF an OK
/// with the 0xfe header (shorter than a full chunk, which a row whose first
/// cell is at least 16 MiB long cannot be).
pub fn is_result_end(payload: &[u8], caps: u32) -> bool {
    if payload.first() != Some(&EOF_HEADER) {
        return false;
    }
    if caps & CLIENT_DEPRECATE_EOF != 0 {
        payload.len() < MAX_PAYLOAD_CHUNK
    } else {
        payload.len() < 9
    }
}

/// The end of a result set, whichever packet carried it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultEnd {
    pub status: u16,
    pub warnings: u16,
    /// Set when the end was an OK packet (CLIENT_DEPRECATE_EOF).
    pub ok: Option<OkPacket>,
}

impl ResultEnd {
    /// Decodes a packet for which [`is_result_end`] holds.
    pub fn decode(payload: Bytes, caps: u32) -> Result<ResultEnd> {
        if caps & CLIENT_DEPRECATE_EOF != 0 {
            let ok = OkPacket::decode(payload, caps)?;
            Ok(ResultEnd {
                status: ok.status,
                warnings: ok.warnings,
                ok: Some(ok),
            })
        } else {
            let eof = EofPacket::decode(payload, caps)?;
            Ok(ResultEnd {
                status: eof.status,
                warnings: eof.warnings,
                ok: None,
            })
        }
    }

    /// Encodes the end of a result set as the client's capabilities want.
    pub fn encode(status: u16, warnings: u16, caps: u32, buf: &mut BytesMut) {
        if caps & CLIENT_DEPRECATE_EOF != 0 {
            OkPacket {
                status,
                warnings,
                ..OkPacket::default()
            }
            .encode_as_eof(caps, buf);
        } else {
            EofPacket { warnings, status }.encode(caps, buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::constants::capability::*;
    use super::*;

    const CAPS: u32 = CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS;

    #[test]
    fn ok_round_trips_under_several_capability_sets() {
        let ok = OkPacket {
            affected_rows: 300,
            last_insert_id: 70_000,
            status: 2,
            warnings: 1,
            info: Bytes::from_static(b"Rows matched: 1"),
            session_state: None,
        };
        for caps in [CAPS, CAPS | CLIENT_SESSION_TRACK, CLIENT_TRANSACTIONS, 0] {
            let mut buf = BytesMut::new();
            ok.encode(caps, &mut buf);
            let back = OkPacket::decode(buf.freeze(), caps).unwrap();
            let mut want = ok.clone();
            if caps & CLIENT_PROTOCOL_41 == 0 {
                want.warnings = 0;
                if caps & CLIENT_TRANSACTIONS == 0 {
                    want.status = 0;
                }
            }
            assert_eq!(back, want, "caps {caps:x}");
        }
        let mut buf = BytesMut::new();
        ok.encode_as_eof(CAPS | CLIENT_DEPRECATE_EOF, &mut buf);
        assert_eq!(buf[0], EOF_HEADER);
        assert!(is_result_end(&buf, CAPS | CLIENT_DEPRECATE_EOF));
        let end = ResultEnd::decode(buf.freeze(), CAPS | CLIENT_DEPRECATE_EOF).unwrap();
        assert_eq!((end.status, end.warnings), (2, 1));
        assert_eq!(end.ok.unwrap().affected_rows, 300);
    }

    #[test]
    fn err_round_trips_and_tolerates_a_missing_state() {
        let e = ErrPacket::new(1146, "42S02", "Table 'x.t' doesn't exist");
        let mut buf = BytesMut::new();
        e.encode(CAPS, &mut buf).unwrap();
        assert!(is_err(&buf));
        assert_eq!(ErrPacket::decode(buf.freeze()).unwrap(), e);

        let pre_handshake = Bytes::from_static(b"\xff\x10\x04Too many connections");
        let e = ErrPacket::decode(pre_handshake).unwrap();
        assert_eq!((e.code, e.sql_state.as_str()), (1040, "HY000"));
        assert_eq!(e.message, "Too many connections");

        let mut buf = BytesMut::new();
        assert!(ErrPacket::new(1, "bad", "x")
            .encode(CAPS, &mut buf)
            .is_err());
    }

    #[test]
    fn eof_round_trips_and_rows_are_not_ends() {
        let eof = EofPacket {
            warnings: 3,
            status: 0x0a,
        };
        let mut buf = BytesMut::new();
        eof.encode(CAPS, &mut buf);
        assert!(is_result_end(&buf, CAPS));
        assert_eq!(EofPacket::decode(buf.freeze(), CAPS).unwrap(), eof);
        // A row whose first cell has an 8-byte length prefix is 9+ bytes.
        let row = [0xfe, 1, 0, 0, 0, 0, 0, 0, 0, b'x'];
        assert!(!is_result_end(&row, CAPS));
        assert!(!is_result_end(b"\x01a", CAPS));
    }

    #[test]
    fn truncated_packets_are_errors() {
        let mut ok = BytesMut::new();
        OkPacket {
            affected_rows: 1_000_000,
            last_insert_id: 5,
            status: 2,
            ..OkPacket::default()
        }
        .encode(CAPS, &mut ok);
        for cut in 0..ok.len() {
            assert!(OkPacket::decode(ok.clone().freeze().slice(..cut), CAPS).is_err());
        }
        let mut eof = BytesMut::new();
        EofPacket::default().encode(CAPS, &mut eof);
        for cut in 0..eof.len() {
            assert!(EofPacket::decode(eof.clone().freeze().slice(..cut), CAPS).is_err());
        }
        for cut in 0..3 {
            assert!(
                ErrPacket::decode(Bytes::from_static(b"\xff\x01\x02#HY000m").slice(..cut)).is_err()
            );
        }
        assert!(ErrPacket::decode(Bytes::from_static(b"\xff\x01\x02#HY0")).is_err());
    }
}
