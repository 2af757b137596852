//! Column Definition 41: one packet per column of a result set, and per
//! parameter in a COM_STMT_PREPARE answer.

use std::borrow::Cow;

use bytes::{BufMut, Bytes, BytesMut};

use super::constants::charset;
use super::constants::column_flag::UNSIGNED_FLAG;
use super::wire::{put_lenenc_bytes, Reader};
use crate::error::Result;

/// One column's metadata. Names are kept as bytes: they are in the
/// connection's charset and are passed on to clients unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDefinition {
    /// Always `def`.
    pub catalog: Bytes,
    pub schema: Bytes,
    /// The table alias.
    pub table: Bytes,
    pub org_table: Bytes,
    /// The column alias.
    pub name: Bytes,
    pub org_name: Bytes,
    /// Character set id of the column (63 = binary).
    pub charset: u16,
    /// Maximum length of a value, in bytes.
    pub column_length: u32,
    /// A `MYSQL_TYPE_*` value.
    pub column_type: u8,
    /// `*_FLAG` bits.
    pub flags: u16,
    pub decimals: u8,
    /// Default values, only in answers to COM_FIELD_LIST.
    pub default_values: Option<Bytes>,
}

impl ColumnDefinition {
    /// A column with the given name and type and otherwise neutral
    /// metadata, for answers the proxy builds itself.
    pub fn new(name: &str, column_type: u8) -> Self {
        ColumnDefinition {
            catalog: Bytes::from_static(b"def"),
            schema: Bytes::new(),
            table: Bytes::new(),
            org_table: Bytes::new(),
            name: Bytes::copy_from_slice(name.as_bytes()),
            org_name: Bytes::copy_from_slice(name.as_bytes()),
            charset: u16::from(charset::UTF8MB4_GENERAL_CI),
            column_length: 0,
            column_type,
            flags: 0,
            decimals: 0,
            default_values: None,
        }
    }

    /// The column alias as text (lossy for non-UTF-8 names).
    pub fn name_str(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.name)
    }

    pub fn is_unsigned(&self) -> bool {
        self.flags & UNSIGNED_FLAG != 0
    }

    pub fn decode(payload: Bytes) -> Result<ColumnDefinition> {
        Self::decode_inner(payload, false)
    }

    /// Decodes a column of a COM_FIELD_LIST answer, which may carry
    /// default values after the fixed fields.
    pub fn decode_field_list(payload: Bytes) -> Result<ColumnDefinition> {
        Self::decode_inner(payload, true)
    }

    fn decode_inner(payload: Bytes, field_list: bool) -> Result<ColumnDefinition> {
        let mut r = Reader::new("column definition", payload);
        let catalog = r.lenenc_bytes("catalog")?;
        let schema = r.lenenc_bytes("schema")?;
        let table = r.lenenc_bytes("table")?;
        let org_table = r.lenenc_bytes("org_table")?;
        let name = r.lenenc_bytes("name")?;
        let org_name = r.lenenc_bytes("org_name")?;
        let fixed = r.lenenc_int("length of fixed fields")?;
        if fixed != 0x0c {
            return Err(r.err(format!("length of fixed fields is {fixed}, expected 12")));
        }
        let charset = r.u16("character set")?;
        let column_length = r.u32("column length")?;
        let column_type = r.u8("column type")?;
        let flags = r.u16("flags")?;
        let decimals = r.u8("decimals")?;
        r.skip(2, "filler")?;
        let default_values = if field_list && !r.is_empty() {
            Some(r.lenenc_bytes("default values")?)
        } else {
            None
        };
        r.finish()?;
        Ok(ColumnDefinition {
            catalog,
            schema,
            table,
            org_table,
            name,
            org_name,
            charset,
            column_length,
            column_type,
            flags,
            decimals,
            default_values,
        })
    }

    pub fn encode(&self, buf: &mut BytesMut) {
        put_lenenc_bytes(buf, &self.catalog);
        put_lenenc_bytes(buf, &self.schema);
        put_lenenc_bytes(buf, &self.table);
        put_lenenc_bytes(buf, &self.org_table);
        put_lenenc_bytes(buf, &self.name);
        put_lenenc_bytes(buf, &self.org_name);
        buf.put_u8(0x0c);
        buf.put_u16_le(self.charset);
        buf.put_u32_le(self.column_length);
        buf.put_u8(self.column_type);
        buf.put_u16_le(self.flags);
        buf.put_u8(self.decimals);
        buf.put_u16_le(0);
        if let Some(d) = &self.default_values {
            put_lenenc_bytes(buf, d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::constants::column_type::MYSQL_TYPE_LONGLONG;
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let mut col = ColumnDefinition::new("id", MYSQL_TYPE_LONGLONG);
        col.schema = Bytes::from_static(b"shardwire");
        col.table = Bytes::from_static(b"t_order");
        col.flags = UNSIGNED_FLAG;
        col.column_length = 20;
        let mut buf = BytesMut::new();
        col.encode(&mut buf);
        let full = buf.freeze();
        let back = ColumnDefinition::decode(full.clone()).unwrap();
        assert_eq!(back, col);
        assert!(back.is_unsigned());
        assert_eq!(back.name_str(), "id");
        for cut in 0..full.len() {
            assert!(
                ColumnDefinition::decode(full.slice(..cut)).is_err(),
                "{cut}"
            );
        }

        col.default_values = Some(Bytes::from_static(b"0"));
        let mut buf = BytesMut::new();
        col.encode(&mut buf);
        assert_eq!(
            ColumnDefinition::decode_field_list(buf.clone().freeze()).unwrap(),
            col
        );
        assert!(
            ColumnDefinition::decode(buf.freeze()).is_err(),
            "trailing bytes"
        );
    }
}
