//! The extended-query messages a client sends: Parse, Bind, Describe,
//! Execute and Close. Sync and Flush carry no body and live in the enum.

use bytes::{BufMut, Bytes, BytesMut};

use super::wire::{frame, put_count16, put_cstr, put_nullable, Reader};
use crate::error::Result;

/// Parse ('P'): prepare `query` under `name` ("" is the unnamed statement).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parse {
    pub name: String,
    pub query: String,
    /// Parameter type OIDs; 0 leaves a parameter's type to the server.
    pub param_types: Vec<u32>,
}

impl Parse {
    pub const TAG: u8 = b'P';

    pub fn decode(body: Bytes) -> Result<Self> {
        let mut r = Reader::new(Self::TAG, body);
        let name = r.cstr("statement name")?;
        let query = r.cstr("query")?;
        let n = r.count16("parameter type count")?;
        let mut param_types = Vec::with_capacity(n.min(r.remaining() / 4));
        for _ in 0..n {
            param_types.push(r.u32("parameter type")?);
        }
        r.finish()?;
        Ok(Parse {
            name,
            query,
            param_types,
        })
    }

    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        frame(dst, Some(Self::TAG), |d| {
            put_cstr(d, &self.name, "statement name")?;
            put_cstr(d, &self.query, "query")?;
            put_count16(d, self.param_types.len(), "parameter types")?;
            for t in &self.param_types {
                d.put_u32(*t);
            }
            Ok(())
        })
    }
}

/// Bind ('B'): bind parameter values to a prepared statement, making a portal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bind {
    pub portal: String,
    pub statement: String,
    /// 0 = text, 1 = binary; empty = all text, one entry = applies to all.
    pub param_formats: Vec<i16>,
    /// Raw parameter values, `None` for SQL NULL. Kept as `Bytes` so a
    /// forwarded Bind never copies its values.
    pub params: Vec<Option<Bytes>>,
    pub result_formats: Vec<i16>,
}

fn read_formats(r: &mut Reader, what: &str) -> Result<Vec<i16>> {
    let n = r.count16(what)?;
    let mut v = Vec::with_capacity(n.min(r.remaining() / 2));
    for _ in 0..n {
        v.push(r.i16(what)?);
    }
    Ok(v)
}

fn put_formats(d: &mut BytesMut, f: &[i16], what: &'static str) -> Result<()> {
    put_count16(d, f.len(), what)?;
    for x in f {
        d.put_i16(*x);
    }
    Ok(())
}

impl Bind {
    pub const TAG: u8 = b'B';

    pub fn decode(body: Bytes) -> Result<Self> {
        let mut r = Reader::new(Self::TAG, body);
        let portal = r.cstr("portal name")?;
        let statement = r.cstr("statement name")?;
        let param_formats = read_formats(&mut r, "parameter formats")?;
        let n = r.count16("parameter count")?;
        let mut params = Vec::with_capacity(n.min(r.remaining() / 4));
        for _ in 0..n {
            params.push(r.nullable_bytes("parameter value")?);
        }
        let result_formats = read_formats(&mut r, "result formats")?;
        r.finish()?;
        Ok(Bind {
            portal,
            statement,
            param_formats,
            params,
            result_formats,
        })
    }

    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        frame(dst, Some(Self::TAG), |d| {
            put_cstr(d, &self.portal, "portal name")?;
            put_cstr(d, &self.statement, "statement name")?;
            put_formats(d, &self.param_formats, "parameter formats")?;
            put_count16(d, self.params.len(), "parameters")?;
            for p in &self.params {
                put_nullable(d, p.as_deref(), "parameter value")?;
            }
            put_formats(d, &self.result_formats, "result formats")
        })
    }
}

/// What a Describe or Close refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Statement,
    Portal,
}

impl TargetKind {
    fn byte(self) -> u8 {
        match self {
            TargetKind::Statement => b'S',
            TargetKind::Portal => b'P',
        }
    }

    fn read(r: &mut Reader) -> Result<Self> {
        match r.u8("target kind")? {
            b'S' => Ok(TargetKind::Statement),
            b'P' => Ok(TargetKind::Portal),
            other => Err(r.err(format!("target kind must be 'S' or 'P', got 0x{other:02x}"))),
        }
    }
}

/// Body shared by Describe ('D') and Close ('C'): a kind byte and a name.
pub(crate) fn decode_target(tag: u8, body: Bytes) -> Result<(TargetKind, String)> {
    let mut r = Reader::new(tag, body);
    let kind = TargetKind::read(&mut r)?;
    let name = r.cstr("name")?;
    r.finish()?;
    Ok((kind, name))
}

pub(crate) fn encode_target(
    dst: &mut BytesMut,
    tag: u8,
    kind: TargetKind,
    name: &str,
) -> Result<()> {
    frame(dst, Some(tag), |d| {
        d.put_u8(kind.byte());
        put_cstr(d, name, "name")
    })
}

pub(crate) fn decode_execute(body: Bytes) -> Result<(String, i32)> {
    let mut r = Reader::new(b'E', body);
    let portal = r.cstr("portal name")?;
    let max_rows = r.i32("max rows")?;
    r.finish()?;
    Ok((portal, max_rows))
}

pub(crate) fn encode_execute(dst: &mut BytesMut, portal: &str, max_rows: i32) -> Result<()> {
    frame(dst, Some(b'E'), |d| {
        put_cstr(d, portal, "portal name")?;
        d.put_i32(max_rows);
        Ok(())
    })
}
