//! Primitive readers and writers shared by every PostgreSQL message.
//!
//! Every read is bounds-checked against the frame body, which is a `Bytes`
//! holding exactly one message: a decoder can never read into the next frame.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{ProtocolError, Result};

/// A bounds-checked cursor over one message body.
pub(crate) struct Reader {
    tag: u8,
    buf: Bytes,
}

impl Reader {
    pub(crate) fn new(tag: u8, buf: Bytes) -> Self {
        Reader { tag, buf }
    }

    pub(crate) fn err(&self, reason: impl Into<String>) -> ProtocolError {
        ProtocolError::malformed(self.tag, reason)
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

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8> {
        self.need(1, what)?;
        Ok(self.buf.get_u8())
    }

    pub(crate) fn i16(&mut self, what: &str) -> Result<i16> {
        self.need(2, what)?;
        Ok(self.buf.get_i16())
    }

    pub(crate) fn i32(&mut self, what: &str) -> Result<i32> {
        self.need(4, what)?;
        Ok(self.buf.get_i32())
    }

    pub(crate) fn u32(&mut self, what: &str) -> Result<u32> {
        self.need(4, what)?;
        Ok(self.buf.get_u32())
    }

    /// A non-negative int16 count, as used before arrays.
    pub(crate) fn count16(&mut self, what: &str) -> Result<usize> {
        let n = self.i16(what)?;
        usize::try_from(n).map_err(|_| self.err(format!("negative {what}: {n}")))
    }

    pub(crate) fn bytes(&mut self, n: usize, what: &str) -> Result<Bytes> {
        self.need(n, what)?;
        Ok(self.buf.split_to(n))
    }

    /// An int32 length followed by that many bytes; -1 is NULL.
    pub(crate) fn nullable_bytes(&mut self, what: &str) -> Result<Option<Bytes>> {
        let len = self.i32(what)?;
        if len == -1 {
            return Ok(None);
        }
        let n =
            usize::try_from(len).map_err(|_| self.err(format!("invalid {what} length {len}")))?;
        self.bytes(n, what).map(Some)
    }

    /// A NUL-terminated string. PostgreSQL strings are in the session's
    /// client_encoding; we require UTF-8, which every driver we target uses.
    pub(crate) fn cstr(&mut self, what: &str) -> Result<String> {
        let Some(end) = self.buf.iter().position(|&b| b == 0) else {
            return Err(self.err(format!("{what} is not NUL-terminated")));
        };
        let raw = self.buf.split_to(end);
        self.buf.advance(1);
        String::from_utf8(raw.to_vec()).map_err(|_| self.err(format!("{what} is not valid UTF-8")))
    }

    pub(crate) fn rest(&mut self) -> Bytes {
        let n = self.buf.remaining();
        self.buf.split_to(n)
    }

    /// Trailing bytes mean the two sides disagree on the layout; accepting them
    /// would hide a framing bug until it corrupts something later.
    pub(crate) fn finish(self) -> Result<()> {
        if self.buf.has_remaining() {
            return Err(self.err(format!(
                "{} unexpected trailing bytes",
                self.buf.remaining()
            )));
        }
        Ok(())
    }
}

fn enc_err(what: &'static str, reason: impl Into<String>) -> ProtocolError {
    ProtocolError::Encode {
        what,
        reason: reason.into(),
    }
}

/// Writes an optional type byte and a length-prefixed body produced by `body`,
/// patching the length afterwards so bodies need no size pre-computation.
pub(crate) fn frame(
    dst: &mut BytesMut,
    tag: Option<u8>,
    body: impl FnOnce(&mut BytesMut) -> Result<()>,
) -> Result<()> {
    if let Some(t) = tag {
        dst.put_u8(t);
    }
    let len_at = dst.len();
    dst.put_i32(0);
    body(dst)?;
    let len = i32::try_from(dst.len() - len_at)
        .map_err(|_| enc_err("message", "longer than i32::MAX"))?;
    dst[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

pub(crate) fn put_cstr(dst: &mut BytesMut, s: &str, what: &'static str) -> Result<()> {
    if s.as_bytes().contains(&0) {
        return Err(enc_err(what, "contains a NUL byte"));
    }
    dst.put_slice(s.as_bytes());
    dst.put_u8(0);
    Ok(())
}

pub(crate) fn put_count16(dst: &mut BytesMut, n: usize, what: &'static str) -> Result<()> {
    let n = i16::try_from(n).map_err(|_| enc_err(what, format!("{n} items exceed i16::MAX")))?;
    dst.put_i16(n);
    Ok(())
}

pub(crate) fn put_nullable(dst: &mut BytesMut, v: Option<&[u8]>, what: &'static str) -> Result<()> {
    match v {
        None => dst.put_i32(-1),
        Some(b) => {
            let n = i32::try_from(b.len()).map_err(|_| enc_err(what, "longer than i32::MAX"))?;
            dst.put_i32(n);
            dst.put_slice(b);
        }
    }
    Ok(())
}
