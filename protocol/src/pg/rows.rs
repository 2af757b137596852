//! RowDescription ('T') and DataRow ('D').

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::wire::{frame, put_count16, put_cstr, put_nullable, Reader};
use crate::error::{ProtocolError, Result};

/// One column of a RowDescription.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldDescription {
    pub name: String,
    /// OID of the source table, 0 if the column is computed.
    pub table_oid: u32,
    /// Attribute number in that table, 0 if computed.
    pub column_attr: i16,
    pub type_oid: u32,
    /// pg_type.typlen: negative for variable width.
    pub type_size: i16,
    pub type_modifier: i32,
    /// 0 = text, 1 = binary.
    pub format: i16,
}

/// RowDescription: the shape of the rows that follow.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RowDescription {
    pub fields: Vec<FieldDescription>,
}

impl RowDescription {
    pub const TAG: u8 = b'T';

    pub fn decode(body: Bytes) -> Result<Self> {
        let mut r = Reader::new(Self::TAG, body);
        let n = r.count16("field count")?;
        // Each field is at least 19 bytes; capping the capacity by what the
        // body can hold keeps a lying count from allocating.
        let mut fields = Vec::with_capacity(n.min(r.remaining() / 19));
        for _ in 0..n {
            fields.push(FieldDescription {
                name: r.cstr("field name")?,
                table_oid: r.u32("table oid")?,
                column_attr: r.i16("column attribute")?,
                type_oid: r.u32("type oid")?,
                type_size: r.i16("type size")?,
                type_modifier: r.i32("type modifier")?,
                format: r.i16("format code")?,
            });
        }
        r.finish()?;
        Ok(RowDescription { fields })
    }

    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        frame(dst, Some(Self::TAG), |d| {
            put_count16(d, self.fields.len(), "fields")?;
            for f in &self.fields {
                put_cstr(d, &f.name, "field name")?;
                d.put_u32(f.table_oid);
                d.put_i16(f.column_attr);
                d.put_u32(f.type_oid);
                d.put_i16(f.type_size);
                d.put_i32(f.type_modifier);
                d.put_i16(f.format);
            }
            Ok(())
        })
    }
}

/// DataRow, kept as its raw body (int16 count, then int32 length + bytes per
/// column) so the fast path forwards rows without touching the values.
/// The body is validated once at construction, which is what lets
/// [`DataRow::columns`] be an infallible iterator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRow {
    body: Bytes,
    len: usize,
}

impl DataRow {
    pub const TAG: u8 = b'D';

    /// Validates a raw DataRow body: a count and exactly that many columns.
    pub fn decode(body: Bytes) -> Result<Self> {
        let mut r = Reader::new(Self::TAG, body.clone());
        let len = r.count16("column count")?;
        for _ in 0..len {
            r.nullable_bytes("column value")?;
        }
        r.finish()?;
        Ok(DataRow { body, len })
    }

    /// Builds a row from column values (`None` = NULL).
    pub fn from_values<'a>(values: impl IntoIterator<Item = Option<&'a [u8]>>) -> Result<Self> {
        let mut d = BytesMut::new();
        d.put_i16(0);
        let mut len = 0usize;
        for v in values {
            put_nullable(&mut d, v, "column value")?;
            len += 1;
        }
        let n = i16::try_from(len).map_err(|_| ProtocolError::Encode {
            what: "DataRow",
            reason: format!("{len} columns exceed i16::MAX"),
        })?;
        d[0..2].copy_from_slice(&n.to_be_bytes());
        Ok(DataRow {
            body: d.freeze(),
            len,
        })
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The raw body, for forwarding.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The columns in order, `None` for NULL; values are zero-copy slices.
    pub fn columns(&self) -> DataRowColumns {
        let mut rest = self.body.clone();
        rest.advance(2.min(rest.len()));
        DataRowColumns {
            rest,
            left: self.len,
        }
    }

    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        super::frontend::raw(dst, Self::TAG, &self.body)
    }
}

/// Iterator over the columns of a validated [`DataRow`].
#[derive(Debug, Clone)]
pub struct DataRowColumns {
    rest: Bytes,
    left: usize,
}

impl Iterator for DataRowColumns {
    type Item = Option<Bytes>;

    fn next(&mut self) -> Option<Self::Item> {
        // The row was validated at construction; the length checks below only
        // stop iteration instead of panicking if that invariant ever broke.
        if self.left == 0 || self.rest.len() < 4 {
            return None;
        }
        self.left -= 1;
        let n = self.rest.get_i32();
        let Ok(n) = usize::try_from(n) else {
            return Some(None);
        };
        if n > self.rest.len() {
            self.left = 0;
            return None;
        }
        Some(Some(self.rest.split_to(n)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}
