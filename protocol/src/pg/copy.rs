//! CopyInResponse ('G'), CopyOutResponse ('H'), CopyBothResponse ('W').
//! CopyData / CopyDone / CopyFail are plain enum variants on either side.

use bytes::{BufMut, Bytes, BytesMut};

use super::wire::{frame, put_count16, Reader};
use crate::error::Result;

/// The body shared by the three copy responses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyResponse {
    /// Overall format: 0 = text, 1 = binary.
    pub format: i8,
    /// Per-column formats.
    pub column_formats: Vec<i16>,
}

impl CopyResponse {
    pub(crate) fn decode(tag: u8, body: Bytes) -> Result<Self> {
        let mut r = Reader::new(tag, body);
        let format = i8::from_be_bytes([r.u8("copy format")?]);
        let n = r.count16("column count")?;
        let mut column_formats = Vec::with_capacity(n.min(r.remaining() / 2));
        for _ in 0..n {
            column_formats.push(r.i16("column format")?);
        }
        r.finish()?;
        Ok(CopyResponse {
            format,
            column_formats,
        })
    }

    pub(crate) fn encode(&self, tag: u8, dst: &mut BytesMut) -> Result<()> {
        frame(dst, Some(tag), |d| {
            d.put_i8(self.format);
            put_count16(d, self.column_formats.len(), "copy column formats")?;
            for f in &self.column_formats {
                d.put_i16(*f);
            }
            Ok(())
        })
    }
}
