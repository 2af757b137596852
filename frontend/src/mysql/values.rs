//! Cells between the MySQL wire and the kernel's merge: column types to
//! [`ColumnKind`]s, text and binary rows to merge [`Row`]s and back, and
//! a client's binary parameters to sharding values.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use shardwire_kernel::merge::{ColumnKind, Decimal, MergeError, Row, Value};
use shardwire_protocol::mysql::constants::column_type::*;
use shardwire_protocol::mysql::{BinaryRow, BinaryType, ColumnDefinition, TextRow, Value as Wire};
use shardwire_rules::ShardingValue;

/// The collation id MySQL gives binary strings (BLOB, VARBINARY) and
/// numbers.
const BINARY_CHARSET: u16 = 63;

/// How the merge reads a column.
pub fn column_kind(c: &ColumnDefinition) -> ColumnKind {
    match c.column_type {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_INT24
        | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_YEAR => ColumnKind::Int,
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => ColumnKind::Decimal,
        MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => ColumnKind::Float,
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => ColumnKind::Date,
        MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP2 => ColumnKind::Timestamp,
        MYSQL_TYPE_BIT | MYSQL_TYPE_GEOMETRY => ColumnKind::Bytes,
        MYSQL_TYPE_NULL => ColumnKind::Unknown,
        _ if c.charset == BINARY_CHARSET => ColumnKind::Bytes,
        _ => ColumnKind::Text,
    }
}

/// Reads one text cell. Dates MySQL allows but the calendar does not
/// (`0000-00-00`) are kept as text rather than failing the query.
fn parse_cell(kind: ColumnKind, cell: Option<&[u8]>) -> Result<Value, MergeError> {
    match Value::parse_text(kind, cell) {
        Ok(v) => Ok(v),
        Err(_) if matches!(kind, ColumnKind::Date | ColumnKind::Timestamp) => {
            Value::parse_text(ColumnKind::Text, cell)
        }
        Err(e) => Err(e),
    }
}

/// A text row as merge values, its payload kept for forwarding.
pub fn text_row(row: &TextRow, kinds: &[ColumnKind]) -> Result<Row, MergeError> {
    let values = row
        .cells()
        .enumerate()
        .map(|(i, cell)| {
            let kind = kinds.get(i).copied().unwrap_or(ColumnKind::Unknown);
            parse_cell(kind, cell.as_deref())
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Row::with_raw(values, row.raw().to_vec()))
}

/// A binary row as merge values, its payload kept for forwarding.
pub fn binary_row(
    row: &BinaryRow,
    types: &[BinaryType],
    kinds: &[ColumnKind],
) -> Result<Row, MergeError> {
    let wire = row.values(types).map_err(|e| MergeError::Decode {
        kind: ColumnKind::Unknown,
        text: e.to_string(),
    })?;
    let values = wire
        .into_iter()
        .enumerate()
        .map(|(i, v)| from_wire(v, kinds.get(i).copied().unwrap_or(ColumnKind::Unknown)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Row::with_raw(values, row.raw().to_vec()))
}

fn from_wire(v: Wire, kind: ColumnKind) -> Result<Value, MergeError> {
    Ok(match v {
        Wire::Null => Value::Null,
        Wire::Int(i) => Value::Int(i),
        Wire::UInt(u) => match i64::try_from(u) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Decimal(Decimal::new(i128::from(u), 0)),
        },
        Wire::Float(f) => Value::Float(f64::from(f)),
        Wire::Double(f) => Value::Float(f),
        Wire::Bytes(b) => parse_cell(kind, Some(&b))?,
        Wire::Date {
            year,
            month,
            day,
            hour,
            minute,
            second,
            micros,
        } => {
            let date = NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), u32::from(day));
            let time = NaiveTime::from_hms_micro_opt(
                u32::from(hour),
                u32::from(minute),
                u32::from(second),
                micros,
            );
            match (date, time, kind) {
                (Some(d), _, ColumnKind::Date) => Value::Date(d),
                (Some(d), Some(t), _) => Value::Timestamp(NaiveDateTime::new(d, t)),
                _ => Value::Text(format!(
                    "{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}"
                )),
            }
        }
        Wire::Time {
            negative,
            days,
            hours,
            minutes,
            seconds,
            micros,
        } => {
            let h = u64::from(days) * 24 + u64::from(hours);
            let sign = if negative { "-" } else { "" };
            let frac = if micros > 0 {
                format!(".{micros:06}")
            } else {
                String::new()
            };
            Value::Text(format!("{sign}{h:02}:{minutes:02}:{seconds:02}{frac}"))
        }
    })
}

/// A merged cell in MySQL's text format; `None` is NULL.
pub fn to_text(v: &Value) -> Option<Vec<u8>> {
    Some(match v {
        Value::Null => return None,
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Decimal(d) => d.to_string().into_bytes(),
        Value::Float(f) => f.to_string().into_bytes(),
        Value::Text(s) => s.clone().into_bytes(),
        Value::Bytes(b) => b.clone(),
        Value::Bool(b) => {
            if *b {
                b"1".to_vec()
            } else {
                b"0".to_vec()
            }
        }
        Value::Date(d) => d.format("%Y-%m-%d").to_string().into_bytes(),
        Value::Timestamp(t) => {
            let fmt = if t.nanosecond() == 0 {
                "%Y-%m-%d %H:%M:%S"
            } else {
                "%Y-%m-%d %H:%M:%S%.6f"
            };
            t.format(fmt).to_string().into_bytes()
        }
    })
}

/// A merged cell as the binary protocol value for a column of type `ty`.
pub fn to_wire(v: &Value, ty: BinaryType) -> Wire {
    let integer = matches!(
        ty.column_type,
        MYSQL_TYPE_TINY
            | MYSQL_TYPE_SHORT
            | MYSQL_TYPE_LONG
            | MYSQL_TYPE_INT24
            | MYSQL_TYPE_LONGLONG
            | MYSQL_TYPE_YEAR
    );
    let float = matches!(ty.column_type, MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE);
    let text = |v: &Value| Wire::Bytes(to_text(v).unwrap_or_default().into());
    match v {
        Value::Null => Wire::Null,
        Value::Int(i) if integer => {
            if ty.unsigned {
                u64::try_from(*i).map_or(Wire::Int(*i), Wire::UInt)
            } else {
                Wire::Int(*i)
            }
        }
        Value::Int(i) if float => Wire::Double(*i as f64),
        Value::Decimal(d) if integer && d.scale() == 0 => match i64::try_from(d.mantissa()) {
            Ok(i) => Wire::Int(i),
            Err(_) => u64::try_from(d.mantissa()).map_or_else(|_| text(v), Wire::UInt),
        },
        Value::Decimal(d) if float => Wire::Double(d.to_f64()),
        Value::Float(f) if float => Wire::Double(*f),
        Value::Bool(b) if integer => Wire::Int(i64::from(*b)),
        Value::Date(d) if is_date_type(ty.column_type) => Wire::Date {
            year: u16::try_from(d.year()).unwrap_or(0),
            month: d.month() as u8,
            day: d.day() as u8,
            hour: 0,
            minute: 0,
            second: 0,
            micros: 0,
        },
        Value::Timestamp(t) if is_date_type(ty.column_type) => Wire::Date {
            year: u16::try_from(t.year()).unwrap_or(0),
            month: t.month() as u8,
            day: t.day() as u8,
            hour: t.hour() as u8,
            minute: t.minute() as u8,
            second: t.second() as u8,
            micros: t.nanosecond() / 1000,
        },
        other => text(other),
    }
}

fn is_date_type(t: u8) -> bool {
    matches!(
        t,
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE | MYSQL_TYPE_DATETIME | MYSQL_TYPE_TIMESTAMP
    )
}

/// A merged row in the binary protocol, typed by `types`.
pub fn encode_binary(row: &Row, types: &[BinaryType]) -> Result<Vec<u8>, String> {
    let values: Vec<Wire> = row
        .values()
        .iter()
        .zip(types)
        .map(|(v, ty)| to_wire(v, *ty))
        .collect();
    let mut buf = bytes::BytesMut::new();
    BinaryRow::encode(&values, &types[..values.len()], &mut buf).map_err(|e| e.to_string())?;
    Ok(buf.to_vec())
}

/// A client's parameter as a sharding value, for routing.
pub fn sharding_value(v: &Wire) -> ShardingValue {
    match v {
        Wire::Int(i) => ShardingValue::Int(*i),
        Wire::UInt(u) => i64::try_from(*u)
            .map_or_else(|_| ShardingValue::Text(u.to_string()), ShardingValue::Int),
        Wire::Bytes(b) => ShardingValue::Text(String::from_utf8_lossy(b).into_owned()),
        Wire::Float(f) => ShardingValue::Text(f.to_string()),
        Wire::Double(f) => ShardingValue::Text(f.to_string()),
        Wire::Null => ShardingValue::Null,
        Wire::Date {
            year,
            month,
            day,
            hour,
            minute,
            second,
            ..
        } => ShardingValue::Text(format!(
            "{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}"
        )),
        Wire::Time { .. } => ShardingValue::Text(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_values_print_as_mysql_does() {
        assert_eq!(to_text(&Value::Int(-3)).unwrap(), b"-3");
        assert_eq!(to_text(&Value::Float(2.5)).unwrap(), b"2.5");
        assert_eq!(to_text(&Value::Null), None);
        let d = Decimal::parse("12.340").unwrap();
        assert_eq!(to_text(&Value::Decimal(d)).unwrap(), b"12.340");
    }

    #[test]
    fn binary_rows_round_trip_through_merge_values() {
        let types = [
            BinaryType::new(MYSQL_TYPE_LONGLONG, false),
            BinaryType::new(MYSQL_TYPE_VAR_STRING, false),
            BinaryType::new(MYSQL_TYPE_DATETIME, false),
        ];
        let wire = [
            Wire::Int(7),
            Wire::Null,
            Wire::Date {
                year: 2024,
                month: 2,
                day: 29,
                hour: 1,
                minute: 2,
                second: 3,
                micros: 0,
            },
        ];
        let mut buf = bytes::BytesMut::new();
        BinaryRow::encode(&wire, &types, &mut buf).unwrap();
        let row = BinaryRow::decode(buf.freeze(), &types).unwrap();
        let kinds = [ColumnKind::Int, ColumnKind::Text, ColumnKind::Timestamp];
        let merged = binary_row(&row, &types, &kinds).unwrap();
        assert_eq!(merged.values()[0], Value::Int(7));
        assert!(merged.values()[1].is_null());
        let again = encode_binary(&Row::new(merged.values().to_vec()), &types).unwrap();
        assert_eq!(&again[..], &row.raw()[..]);
    }
}
