//! The packet that opens a result set: the column count, a length-encoded
//! integer alone in its packet. A result set is then the column
//! definitions, an EOF (unless CLIENT_DEPRECATE_EOF), the rows, and a
//! closing EOF or 0xfe-OK (see [`super::ResultEnd`]).

use bytes::{Bytes, BytesMut};

use super::wire::{put_lenenc_int, Reader};
use crate::error::Result;

/// Servers never send more columns than this (MySQL's limit is 4096);
/// a larger count is a corrupt packet, refused before anything is sized by it.
pub const MAX_COLUMNS: u64 = 65_535;

pub fn decode_column_count(payload: Bytes) -> Result<usize> {
    let mut r = Reader::new("column count", payload);
    let n = r.lenenc_int("column count")?;
    r.finish()?;
    if n == 0 || n > MAX_COLUMNS {
        return Err(crate::ProtocolError::MalformedPacket {
            packet: "column count",
            reason: format!("{n} columns"),
        });
    }
    // Bounded by MAX_COLUMNS above.
    Ok(n as usize)
}

pub fn encode_column_count(n: usize, buf: &mut BytesMut) {
    put_lenenc_int(buf, n as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        let mut buf = BytesMut::new();
        encode_column_count(300, &mut buf);
        assert_eq!(decode_column_count(buf.freeze()).unwrap(), 300);
        assert!(decode_column_count(Bytes::from_static(&[0])).is_err());
        assert!(decode_column_count(Bytes::from_static(&[0xfc, 1])).is_err());
        assert!(decode_column_count(Bytes::from_static(&[0xfe, 0, 0, 0, 0, 0, 0, 0, 1])).is_err());
        assert!(decode_column_count(Bytes::from_static(&[1, 1])).is_err());
    }
}
