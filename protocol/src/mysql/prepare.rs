//! COM_STMT_PREPARE's answer: the first packet (statement id and counts);
//! parameter and column definitions follow it as ordinary
//! [`super::ColumnDefinition`] packets, each group ended by an EOF unless
//! CLIENT_DEPRECATE_EOF was negotiated.

use bytes::{BufMut, Bytes, BytesMut};

use super::wire::Reader;
use crate::error::Result;

/// COM_STMT_PREPARE_OK.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StmtPrepareOk {
    pub statement_id: u32,
    pub num_columns: u16,
    pub num_params: u16,
    pub warnings: u16,
}

impl StmtPrepareOk {
    pub fn decode(payload: Bytes) -> Result<StmtPrepareOk> {
        let mut r = Reader::new("COM_STMT_PREPARE_OK", payload);
        let header = r.u8("header")?;
        if header != 0 {
            return Err(r.err(format!("header 0x{header:02x} is not 0x00")));
        }
        let statement_id = r.u32("statement id")?;
        let num_columns = r.u16("column count")?;
        let num_params = r.u16("parameter count")?;
        r.skip(1, "filler")?;
        // The warning count is absent in very old servers; MySQL 8 may add
        // a metadata-follows byte (CLIENT_OPTIONAL_RESULTSET_METADATA),
        // which we never negotiate.
        let warnings = if r.is_empty() {
            0
        } else {
            r.u16("warning count")?
        };
        r.finish()?;
        Ok(StmtPrepareOk {
            statement_id,
            num_columns,
            num_params,
            warnings,
        })
    }

    pub fn encode(&self, buf: &mut BytesMut) {
        buf.put_u8(0);
        buf.put_u32_le(self.statement_id);
        buf.put_u16_le(self.num_columns);
        buf.put_u16_le(self.num_params);
        buf.put_u8(0);
        buf.put_u16_le(self.warnings);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let ok = StmtPrepareOk {
            statement_id: 77,
            num_columns: 3,
            num_params: 2,
            warnings: 1,
        };
        let mut buf = BytesMut::new();
        ok.encode(&mut buf);
        let full = buf.freeze();
        assert_eq!(StmtPrepareOk::decode(full.clone()).unwrap(), ok);
        for cut in 0..10 {
            assert!(StmtPrepareOk::decode(full.slice(..cut)).is_err(), "{cut}");
        }
        assert!(StmtPrepareOk::decode(full.slice(..11)).is_err());
        assert!(StmtPrepareOk::decode(Bytes::from_static(&[0xff, 0, 0])).is_err());
    }
}
