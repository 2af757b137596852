//! PostgreSQL values at the proxy's edge: column kinds by type OID for the
//! merge, merged cells written back in text or binary format, and bound
//! parameters read as sharding values.

use bytes::Bytes;
use chrono::NaiveDate;
use shardwire_kernel::merge::{ColumnKind, Decimal, Value};
use shardwire_rules::ShardingValue;

pub mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const NUMERIC: u32 = 1700;
}

/// How the merge reads a column of type `type_oid`.
pub fn column_kind(type_oid: u32) -> ColumnKind {
    match type_oid {
        oid::INT2 | oid::INT4 | oid::INT8 | oid::OID => ColumnKind::Int,
        oid::NUMERIC => ColumnKind::Decimal,
        oid::FLOAT4 | oid::FLOAT8 => ColumnKind::Float,
        oid::BOOL => ColumnKind::Bool,
        oid::DATE => ColumnKind::Date,
        oid::TIMESTAMP | oid::TIMESTAMPTZ => ColumnKind::Timestamp,
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME => ColumnKind::Text,
        // bytea's text form (`\x..` hex) sorts like its bytes; keep it as
        // text so it is written back unchanged.
        _ => ColumnKind::Unknown,
    }
}

/// A merged cell in PostgreSQL's text format; `None` is NULL.
pub fn to_text(value: &Value, type_oid: u32) -> Option<Vec<u8>> {
    Some(match value {
        Value::Null => return None,
        Value::Int(v) => v.to_string().into_bytes(),
        Value::Decimal(d) => d.to_string().into_bytes(),
        Value::Float(f) => float_text(*f).into_bytes(),
        Value::Text(s) => s.as_bytes().to_vec(),
        Value::Bytes(b) => b.clone(),
        Value::Bool(b) => {
            if *b {
                b"t".to_vec()
            } else {
                b"f".to_vec()
            }
        }
        Value::Date(d) => d.format("%Y-%m-%d").to_string().into_bytes(),
        Value::Timestamp(t) => {
            let mut s = t.format("%Y-%m-%d %H:%M:%S%.f").to_string();
            // The merge read zoned values into UTC.
            if type_oid == oid::TIMESTAMPTZ {
                s.push_str("+00");
            }
            s.into_bytes()
        }
    })
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        // Rust prints the shortest text that reads back exactly, as
        // PostgreSQL 12+ does by default.
        format!("{f}")
    }
}

/// A merged cell in PostgreSQL's binary format for `type_oid`.
pub fn to_binary(value: &Value, type_oid: u32) -> Result<Option<Vec<u8>>, String> {
    if value.is_null() {
        return Ok(None);
    }
    let int = || match value {
        Value::Int(v) => Some(*v),
        Value::Decimal(d) if d.scale() == 0 => i64::try_from(d.mantissa()).ok(),
        Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
        _ => None,
    };
    let bad = || format!("cannot write {value:?} as binary type {type_oid}");
    Ok(Some(match type_oid {
        oid::INT2 => i16::try_from(int().ok_or_else(bad)?)
            .map_err(|_| bad())?
            .to_be_bytes()
            .to_vec(),
        oid::INT4 | oid::OID => i32::try_from(int().ok_or_else(bad)?)
            .map_err(|_| bad())?
            .to_be_bytes()
            .to_vec(),
        oid::INT8 => int().ok_or_else(bad)?.to_be_bytes().to_vec(),
        oid::FLOAT4 => (value.as_f64().ok_or_else(bad)? as f32)
            .to_be_bytes()
            .to_vec(),
        oid::FLOAT8 => value.as_f64().ok_or_else(bad)?.to_be_bytes().to_vec(),
        oid::BOOL => match value {
            Value::Bool(b) => vec![u8::from(*b)],
            _ => return Err(bad()),
        },
        oid::NUMERIC => numeric_binary(&match value {
            Value::Int(v) => Decimal::from(*v),
            Value::Decimal(d) => *d,
            _ => return Err(bad()),
        }),
        oid::DATE => match value {
            Value::Date(d) => {
                let days = d.signed_duration_since(pg_epoch_date()).num_days();
                i32::try_from(days)
                    .map_err(|_| bad())?
                    .to_be_bytes()
                    .to_vec()
            }
            _ => return Err(bad()),
        },
        oid::TIMESTAMP | oid::TIMESTAMPTZ => match value {
            Value::Timestamp(t) => {
                let micros = t
                    .signed_duration_since(pg_epoch_date().and_hms_opt(0, 0, 0).ok_or_else(bad)?)
                    .num_microseconds()
                    .ok_or_else(bad)?;
                micros.to_be_bytes().to_vec()
            }
            _ => return Err(bad()),
        },
        oid::BYTEA => match value {
            Value::Text(s) => decode_bytea_hex(s).ok_or_else(bad)?,
            Value::Bytes(b) => decode_bytea_hex(&String::from_utf8_lossy(b)).ok_or_else(bad)?,
            _ => return Err(bad()),
        },
        // Text-like types have the same bytes in both formats.
        _ => match value {
            Value::Text(s) => s.as_bytes().to_vec(),
            Value::Bytes(b) => b.clone(),
            other => to_text(other, type_oid).unwrap_or_default(),
        },
    }))
}

fn pg_epoch_date() -> NaiveDate {
    // 2000-01-01 always exists; the fallback is never taken.
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default()
}

fn decode_bytea_hex(s: &str) -> Option<Vec<u8>> {
    let hex = s.strip_prefix("\\x")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// NUMERIC's binary form: base-10000 digits with a weight, sign and
/// display scale.
fn numeric_binary(d: &Decimal) -> Vec<u8> {
    let scale = d.scale();
    let negative = d.mantissa() < 0;
    let digits = d.mantissa().unsigned_abs().to_string();
    // Split into integer and fraction parts, then pad each to whole groups
    // of four decimal digits around the decimal point.
    let scale_us = scale as usize;
    let (int_part, frac_part) = if digits.len() > scale_us {
        digits.split_at(digits.len() - scale_us)
    } else {
        ("", digits.as_str())
    };
    let frac_owned;
    let frac_part = if frac_part.len() < scale_us {
        frac_owned = format!("{}{}", "0".repeat(scale_us - frac_part.len()), frac_part);
        frac_owned.as_str()
    } else {
        frac_part
    };
    let int_pad = (4 - int_part.len() % 4) % 4;
    let int_str = format!("{}{}", "0".repeat(int_pad), int_part);
    let frac_pad = (4 - frac_part.len() % 4) % 4;
    let frac_str = format!("{}{}", frac_part, "0".repeat(frac_pad));
    let mut groups: Vec<i16> = Vec::new();
    for chunk in int_str
        .as_bytes()
        .chunks(4)
        .chain(frac_str.as_bytes().chunks(4))
    {
        let text = std::str::from_utf8(chunk).unwrap_or("0");
        groups.push(text.parse().unwrap_or(0));
    }
    let int_groups = int_str.len() / 4;
    let mut weight = int_groups as i32 - 1;
    // Strip leading and trailing zero groups; the weight follows the first
    // non-zero group.
    let first = groups.iter().position(|g| *g != 0);
    let (digits, weight) = match first {
        None => (Vec::new(), 0),
        Some(first) => {
            weight -= first as i32;
            let last = groups.iter().rposition(|g| *g != 0).unwrap_or(first);
            (groups[first..=last].to_vec(), weight)
        }
    };
    let mut out = Vec::with_capacity(8 + digits.len() * 2);
    out.extend_from_slice(&(digits.len() as i16).to_be_bytes());
    out.extend_from_slice(&(weight as i16).to_be_bytes());
    let sign: u16 = if negative && !digits.is_empty() {
        0x4000
    } else {
        0
    };
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&(scale as i16).to_be_bytes());
    for g in digits {
        out.extend_from_slice(&g.to_be_bytes());
    }
    out
}

/// A bound parameter as the router sees it. Binary integers are read by
/// their declared type; anything else is kept as text, which the
/// algorithms parse when they need a number.
pub fn sharding_value(raw: Option<&Bytes>, format: i16, type_oid: u32) -> ShardingValue {
    let Some(raw) = raw else {
        return ShardingValue::Null;
    };
    if format == 1 {
        let int = match (type_oid, raw.len()) {
            (oid::INT2, 2) => Some(i64::from(i16::from_be_bytes([raw[0], raw[1]]))),
            (oid::INT4 | oid::OID, 4) => Some(i64::from(i32::from_be_bytes([
                raw[0], raw[1], raw[2], raw[3],
            ]))),
            (oid::INT8, 8) => {
                let mut b = [0u8; 8];
                b.copy_from_slice(raw);
                Some(i64::from_be_bytes(b))
            }
            _ => None,
        };
        if let Some(v) = int {
            return ShardingValue::Int(v);
        }
    }
    let text = String::from_utf8_lossy(raw).into_owned();
    match text.parse::<i64>() {
        Ok(v) if matches!(type_oid, oid::INT2 | oid::INT4 | oid::INT8) => ShardingValue::Int(v),
        _ => ShardingValue::Text(text),
    }
}

/// The format of result column `i` under a Bind's result format codes.
pub fn result_format(formats: &[i16], i: usize) -> i16 {
    match formats {
        [] => 0,
        [one] => *one,
        many => many.get(i).copied().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_binary_matches_postgres_layout() {
        // 12345.678: groups 1 2345 6780, weight 1, dscale 3.
        let d = Decimal::parse("12345.678").unwrap();
        assert_eq!(
            numeric_binary(&d),
            vec![0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c]
        );
        // 0.0001: one group 1 at weight -1.
        let d = Decimal::parse("0.0001").unwrap();
        assert_eq!(numeric_binary(&d), vec![0, 1, 0xff, 0xff, 0, 0, 0, 4, 0, 1]);
        // -5: sign bit set.
        let d = Decimal::parse("-5").unwrap();
        assert_eq!(numeric_binary(&d), vec![0, 1, 0, 0, 0x40, 0, 0, 0, 0, 5]);
        // Zero has no digit groups.
        let d = Decimal::parse("0.00").unwrap();
        assert_eq!(numeric_binary(&d), vec![0, 0, 0, 0, 0, 0, 0, 2]);
    }

    #[test]
    fn binary_integers_route_by_value() {
        let raw = Bytes::from_static(&[0, 0, 0, 42]);
        assert_eq!(
            sharding_value(Some(&raw), 1, oid::INT4),
            ShardingValue::Int(42)
        );
        let raw = Bytes::from_static(b"17");
        assert_eq!(
            sharding_value(Some(&raw), 0, oid::INT8),
            ShardingValue::Int(17)
        );
        assert_eq!(
            sharding_value(Some(&raw), 0, 0),
            ShardingValue::Text("17".into())
        );
    }

    #[test]
    fn bytea_hex_round_trip() {
        assert_eq!(decode_bytea_hex("\\x00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(decode_bytea_hex("\\x0"), None);
        assert_eq!(decode_bytea_hex("00"), None);
    }
}
