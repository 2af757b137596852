//! Text protocol rows (answers to COM_QUERY): kept as the raw payload, so
//! the fast path forwards them byte for byte, with a cheap cell accessor.

use bytes::{Bytes, BytesMut};

use super::wire::{put_lenenc_bytes, Reader};
use crate::error::Result;

const NULL_CELL: u8 = 0xfb;

/// One text row: each cell is a length-encoded string or 0xfb for NULL.
/// The layout is checked once at decode, so the accessors cannot fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextRow {
    raw: Bytes,
    columns: usize,
}

impl TextRow {
    /// Checks that `payload` holds exactly `columns` cells.
    pub fn decode(payload: Bytes, columns: usize) -> Result<TextRow> {
        let mut r = Reader::new("text row", payload.clone());
        for _ in 0..columns {
            r.lenenc_bytes_or_null("cell")?;
        }
        r.finish()?;
        Ok(TextRow {
            raw: payload,
            columns,
        })
    }

    /// Builds a row from cell values (`None` is NULL).
    pub fn encode<'a>(cells: impl IntoIterator<Item = Option<&'a [u8]>>, buf: &mut BytesMut) {
        for cell in cells {
            match cell {
                Some(v) => put_lenenc_bytes(buf, v),
                None => buf.extend_from_slice(&[NULL_CELL]),
            }
        }
    }

    /// The payload as it came off the wire.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    pub fn len(&self) -> usize {
        self.columns
    }

    pub fn is_empty(&self) -> bool {
        self.columns == 0
    }

    /// Cell `i`: `None` past the last column, `Some(None)` for NULL.
    pub fn cell(&self, i: usize) -> Option<Option<Bytes>> {
        self.cells().nth(i)
    }

    /// The cells in order, as slices of the payload (no copy).
    pub fn cells(&self) -> impl Iterator<Item = Option<Bytes>> + '_ {
        let mut r = Reader::new("text row", self.raw.clone());
        // The layout was checked in `decode`, so the reads succeed; a
        // failure would end the iteration early rather than panic.
        (0..self.columns).map_while(move |_| r.lenenc_bytes_or_null("cell").ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_and_nulls() {
        let long = vec![b'x'; 300];
        let mut buf = BytesMut::new();
        TextRow::encode(
            [Some(&b"1"[..]), None, Some(&long[..]), Some(b"")],
            &mut buf,
        );
        let row = TextRow::decode(buf.clone().freeze(), 4).unwrap();
        assert_eq!(row.len(), 4);
        assert_eq!(row.cell(0), Some(Some(Bytes::from_static(b"1"))));
        assert_eq!(row.cell(1), Some(None));
        assert_eq!(row.cell(2).unwrap().unwrap().len(), 300);
        assert_eq!(row.cell(3), Some(Some(Bytes::new())));
        assert_eq!(row.cell(4), None);
        assert_eq!(row.raw()[..], buf[..]);

        assert!(
            TextRow::decode(buf.clone().freeze(), 3).is_err(),
            "extra cell"
        );
        assert!(
            TextRow::decode(buf.clone().freeze(), 5).is_err(),
            "missing cell"
        );
        for cut in 0..buf.len() {
            assert!(TextRow::decode(buf.clone().freeze().slice(..cut), 4).is_err());
        }
    }
}
