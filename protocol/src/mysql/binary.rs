//! The binary protocol: values as COM_STMT_EXECUTE sends parameters and
//! as its result rows carry them, and the binary row with its NULL bitmap.

use bytes::{BufMut, Bytes, BytesMut};

use super::column::ColumnDefinition;
use super::constants::column_flag::UNSIGNED_FLAG;
use super::constants::column_type::*;
use super::wire::{put_lenenc_bytes, Reader};
use crate::error::{ProtocolError, Result};

/// A value in the binary protocol. Decimals, strings, blobs, JSON, BIT,
/// ENUM, SET and geometry travel as bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    UInt(u64),
    Float(f32),
    Double(f64),
    Bytes(Bytes),
    /// DATE, DATETIME, TIMESTAMP.
    Date {
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        micros: u32,
    },
    /// TIME: a signed duration of days, hours, minutes, seconds.
    Time {
        negative: bool,
        days: u32,
        hours: u8,
        minutes: u8,
        seconds: u8,
        micros: u32,
    },
}

/// A column's or parameter's type as the binary protocol needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BinaryType {
    /// A `MYSQL_TYPE_*` value.
    pub column_type: u8,
    pub unsigned: bool,
}

impl BinaryType {
    pub fn new(column_type: u8, unsigned: bool) -> Self {
        BinaryType {
            column_type,
            unsigned,
        }
    }
}

impl From<&ColumnDefinition> for BinaryType {
    fn from(c: &ColumnDefinition) -> Self {
        BinaryType {
            column_type: c.column_type,
            unsigned: c.flags & UNSIGNED_FLAG != 0,
        }
    }
}

impl Value {
    /// The parameter type a client sends for this value in COM_STMT_EXECUTE.
    pub fn binary_type(&self) -> BinaryType {
        match self {
            Value::Null => BinaryType::new(MYSQL_TYPE_NULL, false),
            Value::Int(_) => BinaryType::new(MYSQL_TYPE_LONGLONG, false),
            Value::UInt(_) => BinaryType::new(MYSQL_TYPE_LONGLONG, true),
            Value::Float(_) => BinaryType::new(MYSQL_TYPE_FLOAT, false),
            Value::Double(_) => BinaryType::new(MYSQL_TYPE_DOUBLE, false),
            Value::Bytes(_) => BinaryType::new(MYSQL_TYPE_VAR_STRING, false),
            Value::Date { .. } => BinaryType::new(MYSQL_TYPE_DATETIME, false),
            Value::Time { .. } => BinaryType::new(MYSQL_TYPE_TIME, false),
        }
    }

    /// Decodes one non-NULL value of type `ty`.
    pub(crate) fn decode(r: &mut Reader, ty: BinaryType) -> Result<Value> {
        let u = ty.unsigned;
        Ok(match ty.column_type {
            MYSQL_TYPE_NULL => Value::Null,
            MYSQL_TYPE_TINY => {
                let b = r.u8("TINY value")?;
                if u {
                    Value::UInt(u64::from(b))
                } else {
                    Value::Int(i64::from(b as i8))
                }
            }
            MYSQL_TYPE_SHORT | MYSQL_TYPE_YEAR => {
                let v = r.u16("SHORT value")?;
                if u {
                    Value::UInt(u64::from(v))
                } else {
                    Value::Int(i64::from(v as i16))
                }
            }
            MYSQL_TYPE_LONG | MYSQL_TYPE_INT24 => {
                let v = r.u32("LONG value")?;
                if u {
                    Value::UInt(u64::from(v))
                } else {
                    Value::Int(i64::from(v as i32))
                }
            }
            MYSQL_TYPE_LONGLONG => {
                let v = r.u64("LONGLONG value")?;
                if u {
                    Value::UInt(v)
                } else {
                    Value::Int(v as i64)
                }
            }
            MYSQL_TYPE_FLOAT => Value::Float(f32::from_bits(r.u32("FLOAT value")?)),
            MYSQL_TYPE_DOUBLE => Value::Double(f64::from_bits(r.u64("DOUBLE value")?)),
            MYSQL_TYPE_DATE | MYSQL_TYPE_DATETIME | MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_NEWDATE => {
                decode_date(r)?
            }
            MYSQL_TYPE_TIME => decode_time(r)?,
            // DECIMAL, NEWDECIMAL, strings, blobs, ENUM, SET, BIT, JSON,
            // GEOMETRY and types we do not know: length-encoded bytes, the
            // layout every remaining type shares.
            _ => Value::Bytes(r.lenenc_bytes("value")?),
        })
    }

    /// Encodes this (non-NULL) value in the layout of type `ty`; integers
    /// and floats are converted to the column's width, failing when they do
    /// not fit.
    pub fn encode(&self, ty: BinaryType, buf: &mut BytesMut) -> Result<()> {
        let mismatch = || ProtocolError::Encode {
            what: "binary value",
            reason: format!("{self:?} does not fit column type 0x{:02x}", ty.column_type),
        };
        match ty.column_type {
            MYSQL_TYPE_NULL => {}
            MYSQL_TYPE_TINY => buf.put_u8(if ty.unsigned {
                u8::try_from(self.as_u64().ok_or_else(mismatch)?).map_err(|_| mismatch())?
            } else {
                i8::try_from(self.as_i64().ok_or_else(mismatch)?).map_err(|_| mismatch())? as u8
            }),
            MYSQL_TYPE_SHORT | MYSQL_TYPE_YEAR => buf.put_u16_le(if ty.unsigned {
                u16::try_from(self.as_u64().ok_or_else(mismatch)?).map_err(|_| mismatch())?
            } else {
                i16::try_from(self.as_i64().ok_or_else(mismatch)?).map_err(|_| mismatch())? as u16
            }),
            MYSQL_TYPE_LONG | MYSQL_TYPE_INT24 => buf.put_u32_le(if ty.unsigned {
                u32::try_from(self.as_u64().ok_or_else(mismatch)?).map_err(|_| mismatch())?
            } else {
                i32::try_from(self.as_i64().ok_or_else(mismatch)?).map_err(|_| mismatch())? as u32
            }),
            MYSQL_TYPE_LONGLONG => match (self, ty.unsigned) {
                (Value::UInt(v), true) => buf.put_u64_le(*v),
                (Value::Int(v), false) => buf.put_i64_le(*v),
                (Value::Int(v), true) => buf.put_u64_le(u64::try_from(*v).map_err(|_| mismatch())?),
                (Value::UInt(v), false) => {
                    buf.put_i64_le(i64::try_from(*v).map_err(|_| mismatch())?)
                }
                _ => return Err(mismatch()),
            },
            MYSQL_TYPE_FLOAT => match self {
                Value::Float(f) => buf.put_f32_le(*f),
                _ => return Err(mismatch()),
            },
            MYSQL_TYPE_DOUBLE => match self {
                Value::Double(f) => buf.put_f64_le(*f),
                Value::Float(f) => buf.put_f64_le(f64::from(*f)),
                _ => return Err(mismatch()),
            },
            MYSQL_TYPE_DATE | MYSQL_TYPE_DATETIME | MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_NEWDATE => {
                encode_date(self, buf).ok_or_else(mismatch)?
            }
            MYSQL_TYPE_TIME => encode_time(self, buf).ok_or_else(mismatch)?,
            _ => match self {
                Value::Bytes(b) => put_lenenc_bytes(buf, b),
                _ => return Err(mismatch()),
            },
        }
        Ok(())
    }

    fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            Value::UInt(v) => i64::try_from(*v).ok(),
            _ => None,
        }
    }

    fn as_u64(&self) -> Option<u64> {
        match self {
            Value::UInt(v) => Some(*v),
            Value::Int(v) => u64::try_from(*v).ok(),
            _ => None,
        }
    }
}

fn decode_date(r: &mut Reader) -> Result<Value> {
    let len = r.u8("date length")?;
    let (mut year, mut month, mut day) = (0, 0, 0);
    let (mut hour, mut minute, mut second, mut micros) = (0, 0, 0, 0);
    if !matches!(len, 0 | 4 | 7 | 11) {
        return Err(r.err(format!("date length {len} is not 0, 4, 7 or 11")));
    }
    if len >= 4 {
        year = r.u16("year")?;
        month = r.u8("month")?;
        day = r.u8("day")?;
    }
    if len >= 7 {
        hour = r.u8("hour")?;
        minute = r.u8("minute")?;
        second = r.u8("second")?;
    }
    if len == 11 {
        micros = r.u32("microseconds")?;
    }
    Ok(Value::Date {
        year,
        month,
        day,
        hour,
        minute,
        second,
        micros,
    })
}

fn encode_date(v: &Value, buf: &mut BytesMut) -> Option<()> {
    let Value::Date {
        year,
        month,
        day,
        hour,
        minute,
        second,
        micros,
    } = *v
    else {
        return None;
    };
    // The shortest form that loses nothing, as servers send it.
    let len = if micros != 0 {
        11
    } else if hour != 0 || minute != 0 || second != 0 {
        7
    } else if year != 0 || month != 0 || day != 0 {
        4
    } else {
        0
    };
    buf.put_u8(len);
    if len >= 4 {
        buf.put_u16_le(year);
        buf.put_u8(month);
        buf.put_u8(day);
    }
    if len >= 7 {
        buf.put_u8(hour);
        buf.put_u8(minute);
        buf.put_u8(second);
    }
    if len == 11 {
        buf.put_u32_le(micros);
    }
    Some(())
}

fn decode_time(r: &mut Reader) -> Result<Value> {
    let len = r.u8("time length")?;
    if !matches!(len, 0 | 8 | 12) {
        return Err(r.err(format!("time length {len} is not 0, 8 or 12")));
    }
    let mut v = Value::Time {
        negative: false,
        days: 0,
        hours: 0,
        minutes: 0,
        seconds: 0,
        micros: 0,
    };
    if len >= 8 {
        let negative = r.u8("sign")? != 0;
        let days = r.u32("days")?;
        let hours = r.u8("hours")?;
        let minutes = r.u8("minutes")?;
        let seconds = r.u8("seconds")?;
        let micros = if len == 12 { r.u32("microseconds")? } else { 0 };
        v = Value::Time {
            negative,
            days,
            hours,
            minutes,
            seconds,
            micros,
        };
    }
    Ok(v)
}

fn encode_time(v: &Value, buf: &mut BytesMut) -> Option<()> {
    let Value::Time {
        negative,
        days,
        hours,
        minutes,
        seconds,
        micros,
    } = *v
    else {
        return None;
    };
    let len = if micros != 0 {
        12
    } else if negative || days != 0 || hours != 0 || minutes != 0 || seconds != 0 {
        8
    } else {
        0
    };
    buf.put_u8(len);
    if len >= 8 {
        buf.put_u8(u8::from(negative));
        buf.put_u32_le(days);
        buf.put_u8(hours);
        buf.put_u8(minutes);
        buf.put_u8(seconds);
    }
    if len == 12 {
        buf.put_u32_le(micros);
    }
    Some(())
}

/// The NULL bitmap of a binary row starts 2 bits in: the first two bits
/// were once reserved.
const ROW_BITMAP_OFFSET: usize = 2;

fn bitmap_len(columns: usize, offset: usize) -> usize {
    (columns + 7 + offset) / 8
}

/// A binary result row, kept raw like [`super::TextRow`]; values are
/// decoded on demand with the column types of its result set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryRow {
    raw: Bytes,
}

impl BinaryRow {
    /// Keeps the payload after checking that it decodes with `types`.
    pub fn decode(payload: Bytes, types: &[BinaryType]) -> Result<BinaryRow> {
        decode_binary_values(payload.clone(), types)?;
        Ok(BinaryRow { raw: payload })
    }

    /// Keeps the payload without checking it (fast path: forwarding only).
    pub fn from_raw(payload: Bytes) -> BinaryRow {
        BinaryRow { raw: payload }
    }

    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// The values, NULLs as [`Value::Null`].
    pub fn values(&self, types: &[BinaryType]) -> Result<Vec<Value>> {
        decode_binary_values(self.raw.clone(), types)
    }

    /// Encodes a row of `values` typed by `types` (same length).
    pub fn encode(values: &[Value], types: &[BinaryType], buf: &mut BytesMut) -> Result<()> {
        if values.len() != types.len() {
            return Err(ProtocolError::Encode {
                what: "binary row",
                reason: format!("{} values for {} columns", values.len(), types.len()),
            });
        }
        buf.put_u8(0x00);
        put_null_bitmap(values, ROW_BITMAP_OFFSET, buf);
        for (v, ty) in values.iter().zip(types) {
            if *v != Value::Null {
                v.encode(*ty, buf)?;
            }
        }
        Ok(())
    }
}

pub(crate) fn put_null_bitmap(values: &[Value], offset: usize, buf: &mut BytesMut) {
    let mut bitmap = vec![0u8; bitmap_len(values.len(), offset)];
    for (i, v) in values.iter().enumerate() {
        if *v == Value::Null {
            let bit = i + offset;
            bitmap[bit / 8] |= 1 << (bit % 8);
        }
    }
    buf.put_slice(&bitmap);
}

pub(crate) fn is_null(bitmap: &[u8], i: usize, offset: usize) -> bool {
    let bit = i + offset;
    bitmap
        .get(bit / 8)
        .is_some_and(|b| b & (1 << (bit % 8)) != 0)
}

fn decode_binary_values(payload: Bytes, types: &[BinaryType]) -> Result<Vec<Value>> {
    let mut r = Reader::new("binary row", payload);
    let header = r.u8("header")?;
    if header != 0 {
        return Err(r.err(format!("header 0x{header:02x} is not 0x00")));
    }
    let bitmap = r.bytes(bitmap_len(types.len(), ROW_BITMAP_OFFSET), "NULL bitmap")?;
    let mut values = Vec::with_capacity(types.len());
    for (i, ty) in types.iter().enumerate() {
        if is_null(&bitmap, i, ROW_BITMAP_OFFSET) {
            values.push(Value::Null);
        } else {
            values.push(Value::decode(&mut r, *ty)?);
        }
    }
    r.finish()?;
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Vec<Value>, Vec<BinaryType>) {
        let values = vec![
            Value::Int(-5),
            Value::UInt(200),
            Value::Int(-30_000),
            Value::Int(-2_000_000_000),
            Value::UInt(u64::MAX),
            Value::Null,
            Value::Float(1.5),
            Value::Double(-2.25),
            Value::Bytes(Bytes::from_static(b"12.50")),
            Value::Bytes(Bytes::from(vec![b'z'; 300])),
            Value::Date {
                year: 2024,
                month: 2,
                day: 29,
                hour: 0,
                minute: 0,
                second: 0,
                micros: 0,
            },
            Value::Date {
                year: 2024,
                month: 2,
                day: 29,
                hour: 13,
                minute: 14,
                second: 15,
                micros: 123_456,
            },
            Value::Time {
                negative: true,
                days: 1,
                hours: 2,
                minutes: 3,
                seconds: 4,
                micros: 0,
            },
            Value::Null,
        ];
        let types = vec![
            BinaryType::new(MYSQL_TYPE_TINY, false),
            BinaryType::new(MYSQL_TYPE_TINY, true),
            BinaryType::new(MYSQL_TYPE_SHORT, false),
            BinaryType::new(MYSQL_TYPE_LONG, false),
            BinaryType::new(MYSQL_TYPE_LONGLONG, true),
            BinaryType::new(MYSQL_TYPE_VAR_STRING, false),
            BinaryType::new(MYSQL_TYPE_FLOAT, false),
            BinaryType::new(MYSQL_TYPE_DOUBLE, false),
            BinaryType::new(MYSQL_TYPE_NEWDECIMAL, false),
            BinaryType::new(MYSQL_TYPE_BLOB, false),
            BinaryType::new(MYSQL_TYPE_DATE, false),
            BinaryType::new(MYSQL_TYPE_DATETIME, false),
            BinaryType::new(MYSQL_TYPE_TIME, false),
            BinaryType::new(MYSQL_TYPE_LONG, false),
        ];
        (values, types)
    }

    #[test]
    fn rows_round_trip() {
        let (values, types) = sample();
        let mut buf = BytesMut::new();
        BinaryRow::encode(&values, &types, &mut buf).unwrap();
        let row = BinaryRow::decode(buf.clone().freeze(), &types).unwrap();
        assert_eq!(row.values(&types).unwrap(), values);
        assert_eq!(row.raw()[..], buf[..]);
    }

    #[test]
    fn truncated_rows_are_errors() {
        let (values, types) = sample();
        let mut buf = BytesMut::new();
        BinaryRow::encode(&values, &types, &mut buf).unwrap();
        for cut in 0..buf.len() {
            assert!(
                BinaryRow::decode(buf.clone().freeze().slice(..cut), &types).is_err(),
                "cut {cut}"
            );
        }
        // Bad date and time lengths.
        let bad = Bytes::from_static(&[0, 0, 5, 1, 2, 3, 4, 5]);
        assert!(BinaryRow::decode(bad, &[BinaryType::new(MYSQL_TYPE_DATE, false)]).is_err());
        let bad = Bytes::from_static(&[0, 0, 3, 1, 2, 3]);
        assert!(BinaryRow::decode(bad, &[BinaryType::new(MYSQL_TYPE_TIME, false)]).is_err());
    }

    #[test]
    fn values_that_do_not_fit_are_refused() {
        let mut buf = BytesMut::new();
        let tiny = BinaryType::new(MYSQL_TYPE_TINY, false);
        assert!(Value::Int(300).encode(tiny, &mut buf).is_err());
        assert!(Value::Int(-1)
            .encode(BinaryType::new(MYSQL_TYPE_LONGLONG, true), &mut buf)
            .is_err());
        assert!(Value::Bytes(Bytes::new()).encode(tiny, &mut buf).is_err());
        assert!(BinaryRow::encode(&[Value::Null], &[], &mut buf).is_err());
    }
}
