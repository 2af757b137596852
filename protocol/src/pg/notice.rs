//! ErrorResponse ('E') and NoticeResponse ('N'): typed fields on the wire.

use bytes::{BufMut, Bytes, BytesMut};

use super::wire::{frame, put_cstr, Reader};
use crate::error::{ProtocolError, Result};

/// Field type bytes, as listed in the PostgreSQL protocol documentation.
pub mod field {
    pub const SEVERITY: u8 = b'S';
    /// Severity never localized (9.6+).
    pub const SEVERITY_NONLOCALIZED: u8 = b'V';
    pub const CODE: u8 = b'C';
    pub const MESSAGE: u8 = b'M';
    pub const DETAIL: u8 = b'D';
    pub const HINT: u8 = b'H';
    pub const POSITION: u8 = b'P';
    pub const INTERNAL_POSITION: u8 = b'p';
    pub const INTERNAL_QUERY: u8 = b'q';
    pub const WHERE: u8 = b'W';
    pub const SCHEMA: u8 = b's';
    pub const TABLE: u8 = b't';
    pub const COLUMN: u8 = b'c';
    pub const DATA_TYPE: u8 = b'd';
    pub const CONSTRAINT: u8 = b'n';
    pub const FILE: u8 = b'F';
    pub const LINE: u8 = b'L';
    pub const ROUTINE: u8 = b'R';
}

/// The body of an ErrorResponse or NoticeResponse. Fields stay in wire
/// order and unknown field types are kept, as the protocol asks clients to
/// ignore (and a proxy to pass on) fields it does not recognise.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorFields {
    pub fields: Vec<(u8, String)>,
}

impl ErrorFields {
    /// The minimum a well-formed error needs: severity, SQLSTATE, message.
    pub fn new(severity: &str, code: &str, message: impl Into<String>) -> Self {
        ErrorFields {
            fields: vec![
                (field::SEVERITY, severity.to_owned()),
                (field::SEVERITY_NONLOCALIZED, severity.to_owned()),
                (field::CODE, code.to_owned()),
                (field::MESSAGE, message.into()),
            ],
        }
    }

    /// Appends a field (builder style).
    pub fn with(mut self, field: u8, value: impl Into<String>) -> Self {
        self.fields.push((field, value.into()));
        self
    }

    pub fn get(&self, field: u8) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.as_str())
    }

    pub fn severity(&self) -> Option<&str> {
        self.get(field::SEVERITY_NONLOCALIZED)
            .or_else(|| self.get(field::SEVERITY))
    }

    /// The SQLSTATE.
    pub fn code(&self) -> Option<&str> {
        self.get(field::CODE)
    }

    pub fn message(&self) -> Option<&str> {
        self.get(field::MESSAGE)
    }

    pub fn detail(&self) -> Option<&str> {
        self.get(field::DETAIL)
    }

    pub fn hint(&self) -> Option<&str> {
        self.get(field::HINT)
    }

    /// The 1-based character position in the query, if the server sent one.
    pub fn position(&self) -> Option<u32> {
        self.get(field::POSITION).and_then(|p| p.parse().ok())
    }

    pub(crate) fn decode(tag: u8, body: Bytes) -> Result<Self> {
        let mut r = Reader::new(tag, body);
        let mut fields = Vec::new();
        loop {
            let f = r.u8("field type")?;
            if f == 0 {
                break;
            }
            fields.push((f, r.cstr("field value")?));
        }
        r.finish()?;
        Ok(ErrorFields { fields })
    }

    pub(crate) fn encode(&self, tag: u8, dst: &mut BytesMut) -> Result<()> {
        frame(dst, Some(tag), |d| {
            for (f, v) in &self.fields {
                if *f == 0 {
                    return Err(ProtocolError::Encode {
                        what: "error field",
                        reason: "field type 0 would end the field list".into(),
                    });
                }
                d.put_u8(*f);
                put_cstr(d, v, "error field")?;
            }
            d.put_u8(0);
            Ok(())
        })
    }
}
