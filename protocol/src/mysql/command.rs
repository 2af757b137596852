//! Commands: what a client sends in the command phase, one packet each,
//! told apart by the first byte.

use bytes::{BufMut, Bytes, BytesMut};

use super::binary::{is_null, put_null_bitmap, BinaryType, Value};
use super::constants::capability::{
    CLIENT_CONNECT_ATTRS, CLIENT_PLUGIN_AUTH, CLIENT_SECURE_CONNECTION,
};
use super::constants::command::*;
use super::handshake::{decode_attributes, encode_attributes};
use super::wire::{put_cstr, Reader};
use crate::error::{ProtocolError, Result};

/// COM_STMT_EXECUTE flag bits (cursor types).
pub const CURSOR_TYPE_NO_CURSOR: u8 = 0;
pub const CURSOR_TYPE_READ_ONLY: u8 = 1;

/// COM_SET_OPTION values.
pub const MYSQL_OPTION_MULTI_STATEMENTS_ON: u16 = 0;
pub const MYSQL_OPTION_MULTI_STATEMENTS_OFF: u16 = 1;

/// A client command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Quit,
    /// COM_INIT_DB: switch the default schema.
    InitDb(String),
    /// COM_QUERY: SQL text as bytes (it may hold binary literals).
    Query(Bytes),
    /// COM_FIELD_LIST (deprecated, still sent by old clients).
    FieldList {
        table: String,
        wildcard: Bytes,
    },
    Ping,
    Statistics,
    ProcessKill(u32),
    Debug,
    StmtPrepare(Bytes),
    StmtExecute(StmtExecute),
    StmtSendLongData {
        statement_id: u32,
        param_id: u16,
        data: Bytes,
    },
    StmtClose(u32),
    StmtReset(u32),
    StmtFetch {
        statement_id: u32,
        rows: u32,
    },
    ResetConnection,
    SetOption(u16),
    ChangeUser(ChangeUser),
    /// A command byte this decoder has no layout for: the session answers
    /// with an error rather than a blind OK.
    Other {
        code: u8,
        body: Bytes,
    },
}

impl Command {
    /// Decodes a command packet. `caps` are the session's negotiated
    /// capabilities (COM_CHANGE_USER's layout depends on them). A server
    /// using this decoder must not offer CLIENT_QUERY_ATTRIBUTES: with it,
    /// COM_QUERY and COM_STMT_EXECUTE carry attribute blocks this decoder
    /// does not read.
    pub fn decode(payload: Bytes, caps: u32) -> Result<Command> {
        let mut r = Reader::new("command", payload);
        let code = r.u8("command byte")?;
        let cmd = match code {
            COM_QUIT => Command::Quit,
            COM_INIT_DB => {
                let db = r.rest();
                Command::InitDb(r.utf8(db, "schema name")?)
            }
            COM_QUERY => Command::Query(r.rest()),
            COM_FIELD_LIST => {
                let table = r.cstr("table")?;
                Command::FieldList {
                    table,
                    wildcard: r.rest(),
                }
            }
            COM_PING => Command::Ping,
            COM_STATISTICS => Command::Statistics,
            COM_DEBUG => Command::Debug,
            COM_PROCESS_KILL => Command::ProcessKill(r.u32("connection id")?),
            COM_STMT_PREPARE => Command::StmtPrepare(r.rest()),
            COM_STMT_EXECUTE => Command::StmtExecute(StmtExecute::decode_body(&mut r)?),
            COM_STMT_SEND_LONG_DATA => Command::StmtSendLongData {
                statement_id: r.u32("statement id")?,
                param_id: r.u16("parameter id")?,
                data: r.rest(),
            },
            COM_STMT_CLOSE => Command::StmtClose(r.u32("statement id")?),
            COM_STMT_RESET => Command::StmtReset(r.u32("statement id")?),
            COM_STMT_FETCH => Command::StmtFetch {
                statement_id: r.u32("statement id")?,
                rows: r.u32("row count")?,
            },
            COM_RESET_CONNECTION => Command::ResetConnection,
            COM_SET_OPTION => Command::SetOption(r.u16("option")?),
            COM_CHANGE_USER => Command::ChangeUser(ChangeUser::decode_body(&mut r, caps)?),
            _ => Command::Other {
                code,
                body: r.rest(),
            },
        };
        r.finish()?;
        Ok(cmd)
    }

    pub fn encode(&self, caps: u32, buf: &mut BytesMut) -> Result<()> {
        match self {
            Command::Quit => buf.put_u8(COM_QUIT),
            Command::InitDb(db) => {
                buf.put_u8(COM_INIT_DB);
                buf.put_slice(db.as_bytes());
            }
            Command::Query(sql) => {
                buf.put_u8(COM_QUERY);
                buf.put_slice(sql);
            }
            Command::FieldList { table, wildcard } => {
                buf.put_u8(COM_FIELD_LIST);
                put_cstr(buf, table.as_bytes(), "table")?;
                buf.put_slice(wildcard);
            }
            Command::Ping => buf.put_u8(COM_PING),
            Command::Statistics => buf.put_u8(COM_STATISTICS),
            Command::Debug => buf.put_u8(COM_DEBUG),
            Command::ProcessKill(id) => {
                buf.put_u8(COM_PROCESS_KILL);
                buf.put_u32_le(*id);
            }
            Command::StmtPrepare(sql) => {
                buf.put_u8(COM_STMT_PREPARE);
                buf.put_slice(sql);
            }
            Command::StmtExecute(e) => e.encode(buf)?,
            Command::StmtSendLongData {
                statement_id,
                param_id,
                data,
            } => {
                buf.put_u8(COM_STMT_SEND_LONG_DATA);
                buf.put_u32_le(*statement_id);
                buf.put_u16_le(*param_id);
                buf.put_slice(data);
            }
            Command::StmtClose(id) => {
                buf.put_u8(COM_STMT_CLOSE);
                buf.put_u32_le(*id);
            }
            Command::StmtReset(id) => {
                buf.put_u8(COM_STMT_RESET);
                buf.put_u32_le(*id);
            }
            Command::StmtFetch { statement_id, rows } => {
                buf.put_u8(COM_STMT_FETCH);
                buf.put_u32_le(*statement_id);
                buf.put_u32_le(*rows);
            }
            Command::ResetConnection => buf.put_u8(COM_RESET_CONNECTION),
            Command::SetOption(o) => {
                buf.put_u8(COM_SET_OPTION);
                buf.put_u16_le(*o);
            }
            Command::ChangeUser(c) => c.encode(caps, buf)?,
            Command::Other { code, body } => {
                buf.put_u8(*code);
                buf.put_slice(body);
            }
        }
        Ok(())
    }
}

/// COM_STMT_EXECUTE. The parameters cannot be read without knowing how
/// many the statement has (and, when the client does not rebind, their
/// types from the last execution), so they stay raw until
/// [`StmtExecute::params`] is called with that knowledge.
#[derive(Debug, Clone, PartialEq)]
pub struct StmtExecute {
    pub statement_id: u32,
    /// Cursor flags (`CURSOR_TYPE_*`).
    pub flags: u8,
    /// Always 1.
    pub iteration_count: u32,
    /// Everything after the iteration count: NULL bitmap, new-params-bound
    /// flag, types, values.
    pub raw_params: Bytes,
}

/// The decoded parameters of a COM_STMT_EXECUTE.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecuteParams {
    /// The types in force: sent with this execution or kept from the last.
    pub types: Vec<BinaryType>,
    /// True when the client sent types with this execution.
    pub new_params_bound: bool,
    /// One per parameter; parameters sent with COM_STMT_SEND_LONG_DATA are
    /// `None` (their value is the accumulated long data).
    pub values: Vec<Option<Value>>,
}

impl StmtExecute {
    /// A client-side execute of `values`, with types bound from them.
    pub fn new(statement_id: u32, values: &[Value]) -> Result<StmtExecute> {
        let types: Vec<BinaryType> = values.iter().map(Value::binary_type).collect();
        Self::with_types(statement_id, values, &types)
    }

    /// A client-side execute with explicit parameter types.
    pub fn with_types(
        statement_id: u32,
        values: &[Value],
        types: &[BinaryType],
    ) -> Result<StmtExecute> {
        if values.len() != types.len() {
            return Err(ProtocolError::Encode {
                what: "COM_STMT_EXECUTE",
                reason: format!("{} values for {} types", values.len(), types.len()),
            });
        }
        let mut raw = BytesMut::new();
        if !values.is_empty() {
            put_null_bitmap(values, 0, &mut raw);
            raw.put_u8(1);
            for t in types {
                raw.put_u8(t.column_type);
                raw.put_u8(if t.unsigned { 0x80 } else { 0 });
            }
            for (v, t) in values.iter().zip(types) {
                if *v != Value::Null {
                    v.encode(*t, &mut raw)?;
                }
            }
        }
        Ok(StmtExecute {
            statement_id,
            flags: CURSOR_TYPE_NO_CURSOR,
            iteration_count: 1,
            raw_params: raw.freeze(),
        })
    }

    fn decode_body(r: &mut Reader) -> Result<StmtExecute> {
        Ok(StmtExecute {
            statement_id: r.u32("statement id")?,
            flags: r.u8("flags")?,
            iteration_count: r.u32("iteration count")?,
            raw_params: r.rest(),
        })
    }

    fn encode(&self, buf: &mut BytesMut) -> Result<()> {
        buf.put_u8(COM_STMT_EXECUTE);
        buf.put_u32_le(self.statement_id);
        buf.put_u8(self.flags);
        buf.put_u32_le(self.iteration_count);
        buf.put_slice(&self.raw_params);
        Ok(())
    }

    /// Decodes the parameters of a statement with `param_count` of them.
    /// `bound` are the types from the previous execution (needed when the
    /// client does not send types again); `long_data[i]` is true when
    /// parameter `i` was sent with COM_STMT_SEND_LONG_DATA.
    pub fn params(
        &self,
        param_count: usize,
        bound: Option<&[BinaryType]>,
        long_data: &[bool],
    ) -> Result<ExecuteParams> {
        let mut r = Reader::new("COM_STMT_EXECUTE", self.raw_params.clone());
        if param_count == 0 {
            r.finish()?;
            return Ok(ExecuteParams {
                types: Vec::new(),
                new_params_bound: false,
                values: Vec::new(),
            });
        }
        let bitmap = r.bytes(param_count.div_ceil(8), "NULL bitmap")?;
        let new_params_bound = r.u8("new-params-bound flag")? == 1;
        let types =
            if new_params_bound {
                let mut types = Vec::with_capacity(param_count.min(r.remaining() / 2));
                for _ in 0..param_count {
                    let t = r.u8("parameter type")?;
                    let flags = r.u8("parameter flags")?;
                    types.push(BinaryType::new(t, flags & 0x80 != 0));
                }
                types
            } else {
                match bound {
                    Some(b) if b.len() == param_count => b.to_vec(),
                    _ => return Err(r.err(
                        "parameters not bound: no types sent and none from an earlier execution",
                    )),
                }
            };
        let mut values = Vec::with_capacity(types.len());
        for (i, ty) in types.iter().enumerate() {
            if is_null(&bitmap, i, 0) {
                values.push(Some(Value::Null));
            } else if long_data.get(i).copied().unwrap_or(false) {
                values.push(None);
            } else {
                values.push(Some(Value::decode(&mut r, *ty)?));
            }
        }
        r.finish()?;
        Ok(ExecuteParams {
            types,
            new_params_bound,
            values,
        })
    }
}

/// COM_CHANGE_USER: re-authenticates the session as another user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeUser {
    pub username: String,
    pub auth_response: Bytes,
    pub database: String,
    pub charset: Option<u16>,
    pub auth_plugin: Option<String>,
    pub attributes: Vec<(String, String)>,
}

impl ChangeUser {
    fn decode_body(r: &mut Reader, caps: u32) -> Result<ChangeUser> {
        let username = r.cstr("user name")?;
        let auth_response = if caps & CLIENT_SECURE_CONNECTION != 0 {
            let n = r.u8("auth response length")?;
            r.bytes(usize::from(n), "auth response")?
        } else {
            r.cbytes("auth response")?
        };
        let database = r.cstr("database")?;
        let mut c = ChangeUser {
            username,
            auth_response,
            database,
            ..ChangeUser::default()
        };
        if !r.is_empty() {
            c.charset = Some(r.u16("character set")?);
        }
        if caps & CLIENT_PLUGIN_AUTH != 0 && !r.is_empty() {
            let name = r.cbytes_or_rest();
            c.auth_plugin = Some(r.utf8(name, "auth plugin name")?);
        }
        if caps & CLIENT_CONNECT_ATTRS != 0 && !r.is_empty() {
            c.attributes = decode_attributes(r)?;
        }
        Ok(c)
    }

    fn encode(&self, caps: u32, buf: &mut BytesMut) -> Result<()> {
        buf.put_u8(COM_CHANGE_USER);
        put_cstr(buf, self.username.as_bytes(), "user name")?;
        if caps & CLIENT_SECURE_CONNECTION != 0 {
            let n = u8::try_from(self.auth_response.len()).map_err(|_| ProtocolError::Encode {
                what: "COM_CHANGE_USER",
                reason: "auth response longer than 255 bytes".into(),
            })?;
            buf.put_u8(n);
            buf.put_slice(&self.auth_response);
        } else {
            put_cstr(buf, &self.auth_response, "auth response")?;
        }
        put_cstr(buf, self.database.as_bytes(), "database")?;
        buf.put_u16_le(self.charset.unwrap_or(45));
        if caps & CLIENT_PLUGIN_AUTH != 0 {
            let plugin = self.auth_plugin.as_deref().unwrap_or_default();
            put_cstr(buf, plugin.as_bytes(), "auth plugin name")?;
        }
        if caps & CLIENT_CONNECT_ATTRS != 0 {
            encode_attributes(&self.attributes, buf);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::constants::capability::*;
    use super::super::constants::column_type::*;
    use super::*;

    const CAPS: u32 =
        CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS;

    fn round_trip(cmd: Command) -> Bytes {
        let mut buf = BytesMut::new();
        cmd.encode(CAPS, &mut buf).unwrap();
        let full = buf.freeze();
        assert_eq!(Command::decode(full.clone(), CAPS).unwrap(), cmd);
        full
    }

    #[test]
    fn every_command_round_trips() {
        let cmds = vec![
            Command::Quit,
            Command::InitDb("shardwire".into()),
            Command::Query(Bytes::from_static(b"SELECT 1")),
            Command::FieldList {
                table: "t".into(),
                wildcard: Bytes::from_static(b"%"),
            },
            Command::Ping,
            Command::Statistics,
            Command::Debug,
            Command::ProcessKill(7),
            Command::StmtPrepare(Bytes::from_static(b"SELECT ?")),
            Command::StmtExecute(StmtExecute::new(3, &[Value::Int(1), Value::Null]).unwrap()),
            Command::StmtSendLongData {
                statement_id: 3,
                param_id: 1,
                data: Bytes::from_static(b"chunk"),
            },
            Command::StmtClose(3),
            Command::StmtReset(3),
            Command::StmtFetch {
                statement_id: 3,
                rows: 10,
            },
            Command::ResetConnection,
            Command::SetOption(MYSQL_OPTION_MULTI_STATEMENTS_OFF),
            Command::ChangeUser(ChangeUser {
                username: "app".into(),
                auth_response: Bytes::from_static(&[1; 20]),
                database: "db".into(),
                charset: Some(45),
                auth_plugin: Some("mysql_native_password".into()),
                attributes: vec![("k".into(), "v".into())],
            }),
            Command::Other {
                code: 0x99,
                body: Bytes::from_static(b"?"),
            },
        ];
        for cmd in cmds {
            let full = round_trip(cmd.clone());
            // Truncated fixed-size commands are errors, never panics.
            for cut in 0..full.len() {
                let _ = Command::decode(full.slice(..cut), CAPS);
            }
        }
        assert!(Command::decode(Bytes::new(), CAPS).is_err());
        assert!(Command::decode(Bytes::from_static(&[COM_STMT_CLOSE, 1, 2]), CAPS).is_err());
        assert!(Command::decode(Bytes::from_static(&[COM_PING, 0]), CAPS).is_err());
    }

    #[test]
    fn execute_params_decode_with_and_without_rebinding() {
        let values = vec![
            Value::Int(-7),
            Value::Null,
            Value::Bytes(Bytes::from_static(b"abc")),
            Value::Double(2.5),
        ];
        let exec = StmtExecute::new(9, &values).unwrap();
        let p = exec.params(4, None, &[]).unwrap();
        assert!(p.new_params_bound);
        assert_eq!(
            p.values,
            values.iter().cloned().map(Some).collect::<Vec<_>>()
        );
        assert_eq!(p.types[0], BinaryType::new(MYSQL_TYPE_LONGLONG, false));

        // Not rebound: bitmap, flag 0, values typed by the earlier binding.
        let mut raw = BytesMut::new();
        raw.put_u8(0);
        raw.put_u8(0);
        raw.put_i64_le(5);
        let again = StmtExecute {
            raw_params: raw.freeze(),
            ..exec.clone()
        };
        let types = [BinaryType::new(MYSQL_TYPE_LONGLONG, false)];
        let p = again.params(1, Some(&types), &[]).unwrap();
        assert_eq!(p.values, vec![Some(Value::Int(5))]);
        assert!(again.params(1, None, &[]).is_err(), "no types known");

        // A long-data parameter has no inline value.
        let exec = StmtExecute::new(9, &[Value::Bytes(Bytes::new())]).unwrap();
        let mut raw = BytesMut::from(&exec.raw_params[..4]);
        let exec = StmtExecute {
            raw_params: raw.split().freeze(),
            ..exec
        };
        assert_eq!(exec.params(1, None, &[true]).unwrap().values, vec![None]);

        // Truncated parameter blocks are errors.
        let exec = StmtExecute::new(9, &values).unwrap();
        for cut in 0..exec.raw_params.len() {
            let cut = StmtExecute {
                raw_params: exec.raw_params.slice(..cut),
                ..exec.clone()
            };
            assert!(cut.params(4, None, &[]).is_err());
        }
        // A huge parameter count cannot allocate beyond the packet.
        assert!(exec.params(1 << 30, None, &[]).is_err());
    }
}
