//! Primitive readers and writers shared by every MySQL message: fixed
//! little-endian integers, length-encoded integers and strings,
//! NUL-terminated strings.
//!
//! Every read is bounds-checked against the payload of one packet, so a
//! truncated or lying packet is an error naming the message, never a panic.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{ProtocolError, Result};

/// A bounds-checked cursor over one packet payload.
#[derive(Debug, Clone)]
pub(crate) struct Reader {
    packet: &'static str,
    buf: Bytes,
}

impl Reader {
    pub(crate) fn new(packet: &'static str, buf: Bytes) -> Self {
        Reader { packet, buf }
    }

    pub(crate) fn err(&self, reason: impl Into<String>) -> ProtocolError {
        ProtocolError::MalformedPacket {
            packet: self.packet,
            reason: reason.into(),
        }
    }

    fn need(&self, n: usize, what: &str) -> Result<()> {
        if self.buf.remaining() < n {
            return Err(self.err(format!(
                "truncated {what}: need {n} bytes, {} left",
                self.buf.remaining()
            )));
        }
        Ok(())
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.remaining()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.first().copied()
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8> {
        self.need(1, what)?;
        Ok(self.buf.get_u8())
    }

    pub(crate) fn u16(&mut self, what: &str) -> Result<u16> {
        self.need(2, what)?;
        Ok(self.buf.get_u16_le())
    }

    pub(crate) fn u24(&mut self, what: &str) -> Result<u32> {
        self.need(3, what)?;
        let b = self.buf.split_to(3);
        Ok(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
    }

    pub(crate) fn u32(&mut self, what: &str) -> Result<u32> {
        self.need(4, what)?;
        Ok(self.buf.get_u32_le())
    }

    pub(crate) fn u64(&mut self, what: &str) -> Result<u64> {
        self.need(8, what)?;
        Ok(self.buf.get_u64_le())
    }

    pub(crate) fn bytes(&mut self, n: usize, what: &str) -> Result<Bytes> {
        self.need(n, what)?;
        Ok(self.buf.split_to(n))
    }

    pub(crate) fn skip(&mut self, n: usize, what: &str) -> Result<()> {
        self.need(n, what)?;
        self.buf.advance(n);
        Ok(())
    }

    /// A length-encoded integer. 0xfb (NULL in rows) and 0xff (an ERR
    /// header) are not integers: callers that allow NULL use
    /// [`Reader::lenenc_bytes_or_null`].
    pub(crate) fn lenenc_int(&mut self, what: &str) -> Result<u64> {
        let first = self.u8(what)?;
        match first {
            0..=0xfa => Ok(u64::from(first)),
            0xfc => self.u16(what).map(u64::from),
            0xfd => self.u24(what).map(u64::from),
            0xfe => self.u64(what),
            _ => Err(self.err(format!(
                "invalid length-encoded integer prefix 0x{first:02x} in {what}"
            ))),
        }
    }

    /// A length-encoded integer used as a length or count: it must fit
    /// what is left of the packet, so it can size an allocation safely.
    pub(crate) fn lenenc_len(&mut self, what: &str) -> Result<usize> {
        let n = self.lenenc_int(what)?;
        match usize::try_from(n) {
            Ok(n) if n <= self.remaining() => Ok(n),
            _ => Err(self.err(format!(
                "{what} length {n} exceeds the {} bytes left",
                self.remaining()
            ))),
        }
    }

    pub(crate) fn lenenc_bytes(&mut self, what: &str) -> Result<Bytes> {
        let n = self.lenenc_len(what)?;
        self.bytes(n, what)
    }

    pub(crate) fn lenenc_bytes_or_null(&mut self, what: &str) -> Result<Option<Bytes>> {
        if self.peek() == Some(0xfb) {
            self.buf.advance(1);
            return Ok(None);
        }
        self.lenenc_bytes(what).map(Some)
    }

    pub(crate) fn lenenc_str(&mut self, what: &str) -> Result<String> {
        let b = self.lenenc_bytes(what)?;
        self.utf8(b, what)
    }

    /// Bytes up to a NUL, which is consumed.
    pub(crate) fn cbytes(&mut self, what: &str) -> Result<Bytes> {
        let Some(end) = self.buf.iter().position(|&b| b == 0) else {
            return Err(self.err(format!("{what} is not NUL-terminated")));
        };
        let raw = self.buf.split_to(end);
        self.buf.advance(1);
        Ok(raw)
    }

    pub(crate) fn cstr(&mut self, what: &str) -> Result<String> {
        let b = self.cbytes(what)?;
        self.utf8(b, what)
    }

    /// Bytes up to a NUL or the end of the packet, whichever comes first
    /// (servers differ on whether the last string of a packet has a NUL).
    pub(crate) fn cbytes_or_rest(&mut self) -> Bytes {
        match self.buf.iter().position(|&b| b == 0) {
            Some(end) => {
                let raw = self.buf.split_to(end);
                self.buf.advance(1);
                raw
            }
            None => self.rest(),
        }
    }

    pub(crate) fn rest(&mut self) -> Bytes {
        let n = self.buf.remaining();
        self.buf.split_to(n)
    }

    pub(crate) fn utf8(&self, b: Bytes, what: &str) -> Result<String> {
        String::from_utf8(b.to_vec()).map_err(|_| self.err(format!("{what} is not valid UTF-8")))
    }

    /// Trailing bytes mean the two sides disagree on the layout.
    pub(crate) fn finish(self) -> Result<()> {
        if !self.buf.is_empty() {
            return Err(self.err(format!("{} unexpected trailing bytes", self.buf.len())));
        }
        Ok(())
    }
}

/// Appends a length-encoded integer.
pub fn put_lenenc_int(buf: &mut BytesMut, n: u64) {
    if n < 0xfb {
        buf.put_u8(n as u8);
    } else if n <= 0xffff {
        buf.put_u8(0xfc);
        buf.put_u16_le(n as u16);
    } else if n <= 0xff_ffff {
        buf.put_u8(0xfd);
        buf.put_uint_le(n, 3);
    } else {
        buf.put_u8(0xfe);
        buf.put_u64_le(n);
    }
}

/// Appends a length-encoded string.
pub fn put_lenenc_bytes(buf: &mut BytesMut, b: &[u8]) {
    put_lenenc_int(buf, b.len() as u64);
    buf.put_slice(b);
}

/// Appends a NUL-terminated string; a NUL inside it would end it early.
pub(crate) fn put_cstr(buf: &mut BytesMut, b: &[u8], what: &'static str) -> Result<()> {
    if b.contains(&0) {
        return Err(ProtocolError::Encode {
            what,
            reason: "contains a NUL byte".into(),
        });
    }
    buf.put_slice(b);
    buf.put_u8(0);
    Ok(())
}

pub(crate) fn put_u24(buf: &mut BytesMut, n: u32) {
    buf.put_uint_le(u64::from(n), 3);
}

/// Length of a length-encoded integer with this value, in bytes.
pub fn lenenc_int_len(n: u64) -> usize {
    match n {
        0..=0xfa => 1,
        0xfb..=0xffff => 3,
        0x1_0000..=0xff_ffff => 4,
        _ => 9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenenc_ints_round_trip_at_every_boundary() {
        for n in [
            0u64,
            0xfa,
            0xfb,
            0xffff,
            0x1_0000,
            0xff_ffff,
            0x100_0000,
            u64::MAX,
        ] {
            let mut buf = BytesMut::new();
            put_lenenc_int(&mut buf, n);
            assert_eq!(buf.len(), lenenc_int_len(n), "{n}");
            let mut r = Reader::new("test", buf.freeze());
            assert_eq!(r.lenenc_int("n").unwrap(), n);
            r.finish().unwrap();
        }
    }

    #[test]
    fn bad_prefixes_and_lengths_are_errors() {
        let mut r = Reader::new("test", Bytes::from_static(&[0xff]));
        assert!(r.lenenc_int("n").is_err());
        let mut r = Reader::new("test", Bytes::from_static(&[0xfc, 1]));
        assert!(r.lenenc_int("n").is_err());
        // A string announcing more bytes than the packet holds.
        let mut r = Reader::new("test", Bytes::from_static(&[5, b'a']));
        assert!(r.lenenc_bytes("s").is_err());
        let mut r = Reader::new("test", Bytes::from_static(b"abc"));
        assert!(r.cstr("s").is_err());
        let mut r = Reader::new("test", Bytes::from_static(&[0xfb]));
        assert_eq!(r.lenenc_bytes_or_null("s").unwrap(), None);
    }
}
