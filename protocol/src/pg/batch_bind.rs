//! openGauss Batch Bind ('U'): one Bind carrying many rows of parameters for
//! one prepared statement, which the server runs once per row on the
//! Execute that follows.
//!
//! Body: int32 batch count; portal (cstring); statement (cstring); int16 n
//! parameter formats + int16 each; int16 n result formats + int16 each;
//! int16 parameters per row; then per row, per parameter, int32 length
//! (-1 = NULL) + bytes. Rows are not delimited on the wire, so a row with the
//! wrong number of parameters shows only against the statement
//! ([`BatchBind::check_params`]) or as a count mismatch at the end.
//!
//! An openGauss server reads the Execute of the batch inside the same frame,
//! after the rows: 'E', the portal name (cstring), int32 max rows (0), with
//! no length of its own, optionally preceded by a Describe ('D', kind, name);
//! that is how openGauss JDBC sends it, and a frame without it is refused
//! there. [`encode_batch_bind_execute`] writes that form; [`BatchBind`]
//! itself holds the rows only. The server also refuses the unnamed
//! statement in a 'U': batches run a named one.
//!
//! The server codec still hands 'U' up as [`FrontendMessage::Extension`]
//! when [`super::PgServerCodec::allow_extension`] is set; this type decodes
//! that body.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::frontend::FrontendMessage;
use super::wire::{frame, put_count16, put_cstr, put_nullable, Reader};
use crate::error::{ProtocolError, Result};

/// A batch of rows without parameters costs no body bytes, so the body
/// length cannot bound it: this does.
pub const MAX_ROWS_WITHOUT_PARAMS: usize = 65_536;

/// A Batch Bind message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchBind {
    pub statement: String,
    pub portal: String,
    /// 0 = text, 1 = binary; empty = all text, one entry = applies to all.
    pub param_formats: Vec<i16>,
    pub result_formats: Vec<i16>,
    pub params_per_row: u16,
    /// Each row holds exactly `params_per_row` values, `None` for NULL.
    pub rows: Vec<Vec<Option<Bytes>>>,
}

fn read_formats(r: &mut Reader, what: &str) -> Result<Vec<i16>> {
    let n = r.count16(what)?;
    if n * 2 > r.remaining() {
        return Err(r.err(format!("truncated {what}: {n} announced")));
    }
    (0..n).map(|_| r.i16(what)).collect()
}

impl BatchBind {
    pub const TAG: u8 = b'U';

    pub fn decode(body: Bytes) -> Result<Self> {
        let mut r = Reader::new(Self::TAG, body);
        let count = r.i32("batch count")?;
        let count =
            usize::try_from(count).map_err(|_| r.err(format!("negative batch count {count}")))?;
        let portal = r.cstr("portal name")?;
        let statement = r.cstr("statement name")?;
        let param_formats = read_formats(&mut r, "parameter formats")?;
        let result_formats = read_formats(&mut r, "result formats")?;
        let per_row = r.count16("parameters per row")?;
        if param_formats.len() > 1 && param_formats.len() != per_row {
            return Err(r.err(format!(
                "wrong number of parameters per row: {per_row}, but {} parameter formats",
                param_formats.len()
            )));
        }
        // Every value costs at least its 4-byte length: check the whole
        // batch against the body before allocating anything for it.
        let min_bytes = count.saturating_mul(per_row).saturating_mul(4);
        if min_bytes > r.remaining() {
            return Err(r.err(format!(
                "count mismatch: fewer rows than the batch count {count} \
                 ({per_row} parameters each need at least {min_bytes} bytes, {} left)",
                r.remaining()
            )));
        }
        if per_row == 0 && count > MAX_ROWS_WITHOUT_PARAMS {
            return Err(r.err(format!(
                "batch count {count} without parameters exceeds {MAX_ROWS_WITHOUT_PARAMS}"
            )));
        }
        let mut rows = Vec::with_capacity(count);
        for row in 0..count {
            if per_row > 0 && r.remaining() == 0 {
                return Err(r.err(format!(
                    "count mismatch: fewer rows than the batch count ({row} of {count})"
                )));
            }
            let mut values = Vec::with_capacity(per_row);
            for p in 0..per_row {
                // The position is formatted only on failure: this loop runs
                // once per value of the batch.
                values.push(r.nullable_bytes("value").map_err(|e| at_value(e, row, p))?);
            }
            rows.push(values);
        }
        if r.remaining() > 0 {
            let extra = extra_rows(&mut r, per_row);
            return Err(match extra {
                Some(n) => r.err(format!(
                    "count mismatch: more rows than the batch count ({count} declared, {} sent)",
                    count + n
                )),
                None => r.err(format!(
                    "{} trailing bytes after the last row",
                    r.remaining()
                )),
            });
        }
        r.finish()?;
        Ok(BatchBind {
            statement,
            portal,
            param_formats,
            result_formats,
            // count16 is at most i16::MAX.
            params_per_row: u16::try_from(per_row)
                .map_err(|_| ProtocolError::Internal("an i16 count exceeds u16"))?,
            rows,
        })
    }

    /// Refuses a batch whose rows do not carry what the statement takes.
    pub fn check_params(&self, statement_params: usize) -> Result<()> {
        if usize::from(self.params_per_row) != statement_params {
            return Err(ProtocolError::malformed(
                Self::TAG,
                format!(
                    "wrong number of parameters per row: {}, statement {:?} takes {statement_params}",
                    self.params_per_row, self.statement
                ),
            ));
        }
        Ok(())
    }

    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        encode_batch_bind(
            dst,
            &self.statement,
            &self.portal,
            &self.param_formats,
            &self.result_formats,
            self.params_per_row,
            self.rows.iter().map(Vec::as_slice),
        )
    }

    /// As a message for [`super::PgClientCodec`]: the backend's encoder.
    pub fn to_message(&self) -> Result<FrontendMessage> {
        let mut buf = BytesMut::new();
        self.encode(&mut buf)?;
        buf.advance(5);
        Ok(FrontendMessage::Extension {
            tag: Self::TAG,
            body: buf.freeze(),
        })
    }
}

/// Says which value an error is about.
fn at_value(e: ProtocolError, row: usize, p: usize) -> ProtocolError {
    match e {
        ProtocolError::Malformed { message, reason } => ProtocolError::Malformed {
            message,
            reason: reason.replacen("value", &format!("value of row {row} parameter {p}"), 1),
        },
        other => other,
    }
}

/// Counts whole rows left in `r`, if the rest is exactly that.
fn extra_rows(r: &mut Reader, per_row: usize) -> Option<usize> {
    if per_row == 0 {
        return None;
    }
    let mut n = 0;
    while r.remaining() > 0 {
        for _ in 0..per_row {
            r.nullable_bytes("extra value").ok()?;
        }
        n += 1;
    }
    Some(n)
}

/// Writes a whole 'U' frame for `rows` without first collecting them into
/// a [`BatchBind`], so the backend can encode shared rows in chunks.
pub fn encode_batch_bind<'a>(
    dst: &mut BytesMut,
    statement: &str,
    portal: &str,
    param_formats: &[i16],
    result_formats: &[i16],
    params_per_row: u16,
    rows: impl ExactSizeIterator<Item = &'a [Option<Bytes>]>,
) -> Result<()> {
    let head = Head {
        statement,
        portal,
        param_formats,
        result_formats,
        params_per_row,
    };
    encode_frame(dst, head, rows, false)
}

/// [`encode_batch_bind`] for the unnamed portal with the Execute (no row
/// limit) inside the frame, as an openGauss server reads it.
pub fn encode_batch_bind_execute<'a>(
    dst: &mut BytesMut,
    statement: &str,
    param_formats: &[i16],
    params_per_row: u16,
    rows: impl ExactSizeIterator<Item = &'a [Option<Bytes>]>,
) -> Result<()> {
    let head = Head {
        statement,
        portal: "",
        param_formats,
        result_formats: &[],
        params_per_row,
    };
    encode_frame(dst, head, rows, true)
}

/// Everything of a 'U' frame before its rows.
#[derive(Clone, Copy)]
struct Head<'h> {
    statement: &'h str,
    portal: &'h str,
    param_formats: &'h [i16],
    result_formats: &'h [i16],
    params_per_row: u16,
}

/// The embedded Execute of the unnamed portal without a row limit.
pub const EMBEDDED_EXECUTE: [u8; 6] = [b'E', 0, 0, 0, 0, 0];

fn encode_frame<'a>(
    dst: &mut BytesMut,
    head: Head<'_>,
    rows: impl ExactSizeIterator<Item = &'a [Option<Bytes>]>,
    execute: bool,
) -> Result<()> {
    let Head {
        statement,
        portal,
        param_formats,
        result_formats,
        params_per_row,
    } = head;
    let enc = |reason: String| ProtocolError::Encode {
        what: "Batch Bind",
        reason,
    };
    let count = i32::try_from(rows.len()).map_err(|_| enc("more than i32::MAX rows".into()))?;
    let per_row =
        i16::try_from(params_per_row).map_err(|_| enc("more than i16::MAX parameters".into()))?;
    frame(dst, Some(BatchBind::TAG), |d| {
        d.put_i32(count);
        put_cstr(d, portal, "portal name")?;
        put_cstr(d, statement, "statement name")?;
        put_count16(d, param_formats.len(), "parameter formats")?;
        param_formats.iter().for_each(|f| d.put_i16(*f));
        put_count16(d, result_formats.len(), "result formats")?;
        result_formats.iter().for_each(|f| d.put_i16(*f));
        d.put_i16(per_row);
        for (i, row) in rows.enumerate() {
            if row.len() != usize::from(params_per_row) {
                return Err(enc(format!(
                    "row {i} has {} values, the batch {params_per_row}",
                    row.len()
                )));
            }
            for v in row {
                put_nullable(d, v.as_deref(), "parameter value")?;
            }
        }
        if execute {
            d.put_slice(&EMBEDDED_EXECUTE);
        }
        Ok(())
    })
}

#[cfg(test)]
#[path = "batch_bind_tests.rs"]
mod tests;
