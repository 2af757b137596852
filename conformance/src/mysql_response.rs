//! Reading one MySQL command's response packet by packet. The same reader
//! cuts the capture's server stream into per-command answers and decides
//! when a live server has finished answering, so both sides are read by
//! one set of rules.

use bytes::Bytes;
use shardwire_protocol::mysql::constants::capability::CLIENT_DEPRECATE_EOF;
use shardwire_protocol::mysql::constants::command as cmd;
use shardwire_protocol::mysql::constants::status::SERVER_MORE_RESULTS_EXISTS;
use shardwire_protocol::mysql::{
    decode_column_count, is_err, is_result_end, ColumnDefinition, ErrPacket, OkPacket, ResultEnd,
    StmtPrepareOk, TextRow, EOF_HEADER, LOCAL_INFILE_HEADER, OK_HEADER,
};

use crate::answer::{cell_text, hex, Answer, Column};
use crate::error::Result;

/// What kind of answer a command gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A result (OK, ERR or result sets, possibly several).
    Result {
        binary: bool,
    },
    Prepare,
    FieldList,
    /// Binary rows until an EOF (COM_STMT_FETCH).
    Rows,
    /// One string packet (COM_STATISTICS).
    Raw,
    /// OK or ERR.
    Status,
    /// No answer at all (COM_STMT_CLOSE, SEND_LONG_DATA, QUIT).
    Nothing,
}

/// The answer a command (its first payload byte) gets.
pub fn expect_for(command: u8) -> Expect {
    match command {
        cmd::COM_QUERY => Expect::Result { binary: false },
        cmd::COM_STMT_EXECUTE => Expect::Result { binary: true },
        cmd::COM_STMT_PREPARE => Expect::Prepare,
        cmd::COM_FIELD_LIST => Expect::FieldList,
        cmd::COM_STMT_FETCH => Expect::Rows,
        cmd::COM_STATISTICS => Expect::Raw,
        cmd::COM_STMT_CLOSE | cmd::COM_STMT_SEND_LONG_DATA | cmd::COM_QUIT => Expect::Nothing,
        _ => Expect::Status,
    }
}

/// The column count, and whether definitions follow: MariaDB clients with
/// MARIADB_CLIENT_CACHE_METADATA get one more byte saying so.
fn column_count(payload: Bytes) -> Result<(usize, bool)> {
    if payload.len() >= 2 {
        let lenenc_len = match payload[0] {
            0xfc => 3,
            0xfd => 4,
            0xfe => 9,
            _ => 1,
        };
        if payload.len() == lenenc_len + 1 {
            let follows = payload[lenenc_len] != 0;
            let n = decode_column_count(payload.slice(..lenenc_len))?;
            return Ok((n, follows));
        }
    }
    Ok((decode_column_count(payload)?, true))
}

/// Length-encoded bytes at `*at`, advancing it.
fn lenenc_bytes<'a>(p: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let first = *p.get(*at)?;
    let (len, skip) = match first {
        0xfc => (
            usize::from(u16::from_le_bytes([*p.get(*at + 1)?, *p.get(*at + 2)?])),
            3,
        ),
        0xfd => (
            usize::from(*p.get(*at + 1)?)
                | usize::from(*p.get(*at + 2)?) << 8
                | usize::from(*p.get(*at + 3)?) << 16,
            4,
        ),
        0xfb | 0xfe | 0xff => return None,
        n => (usize::from(n), 1),
    };
    let start = *at + skip;
    let out = p.get(start..start + len)?;
    *at = start + len;
    Some(out)
}

/// A column definition with MariaDB's extended metadata string.
fn extended_column(p: &[u8]) -> Option<Column> {
    let mut at = 0usize;
    let mut name = &[][..];
    for i in 0..6 {
        let s = lenenc_bytes(p, &mut at)?;
        if i == 4 {
            name = s;
        }
    }
    if *p.get(at)? != 0x0c {
        lenenc_bytes(p, &mut at)?;
    }
    if *p.get(at)? != 0x0c {
        return None;
    }
    // 0x0c, charset (2), length (4), then the type byte.
    let ty = *p.get(at + 7)?;
    Some(Column {
        name: String::from_utf8_lossy(name).into_owned(),
        ty: format!("mysql:{ty}"),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    First,
    ColumnDefs { left: usize, ncols: usize },
    ColumnsEof { ncols: usize },
    Rows { ncols: usize },
    PrepareParams { left: usize, cols: usize },
    PrepareParamsEof { cols: usize },
    PrepareColumns { left: usize },
    PrepareColumnsEof,
    FieldList,
    Done,
}

/// Reads one command's response.
#[derive(Debug)]
pub struct ResponseReader {
    caps: u32,
    expect: Expect,
    state: State,
    columns: Vec<Column>,
    /// The answers so far.
    pub answers: Vec<Answer>,
    /// The COM_STMT_PREPARE_OK, for statement id remapping.
    pub prepared: Option<StmtPrepareOk>,
}

impl ResponseReader {
    pub fn new(caps: u32, expect: Expect) -> ResponseReader {
        ResponseReader {
            caps,
            expect,
            state: if expect == Expect::Nothing {
                State::Done
            } else if expect == Expect::FieldList {
                State::FieldList
            } else if expect == Expect::Rows {
                State::Rows { ncols: 0 }
            } else {
                State::First
            },
            columns: Vec::new(),
            answers: Vec::new(),
            prepared: None,
        }
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn eof_follows(&self) -> bool {
        self.caps & CLIENT_DEPRECATE_EOF == 0
    }

    fn end_of(&self, payload: &[u8]) -> bool {
        payload.first() == Some(&EOF_HEADER) && is_result_end(payload, self.caps)
    }

    fn column(payload: Bytes) -> Result<Column> {
        match ColumnDefinition::decode(payload.clone()) {
            Ok(def) => Ok(Column {
                name: def.name_str().into_owned(),
                ty: format!("mysql:{}", def.column_type),
            }),
            // MariaDB clients that negotiate MARIADB_CLIENT_EXTENDED_METADATA
            // get one more length-encoded string (type name, format) before
            // the fixed fields, which the shared decoder does not expect.
            Err(e) => extended_column(&payload).ok_or(e.into()),
        }
    }

    fn error(&mut self, payload: Bytes) -> Result<()> {
        let e = ErrPacket::decode(payload)?;
        self.answers.push(Answer::Error {
            code: e.code.to_string(),
            message: e.message,
        });
        self.state = State::Done;
        Ok(())
    }

    fn columns_done(&mut self, ncols: usize) {
        self.answers.push(Answer::Columns {
            columns: std::mem::take(&mut self.columns),
        });
        self.state = State::Rows { ncols };
    }

    /// Takes the next packet of the response.
    pub fn feed(&mut self, payload: Bytes) -> Result<()> {
        if is_err(&payload) && !matches!(self.state, State::Done) {
            return self.error(payload);
        }
        match self.state {
            State::Done => {}
            State::First => match self.expect {
                Expect::Raw => {
                    self.answers.push(Answer::Data {
                        text: cell_text(&payload),
                    });
                    self.state = State::Done;
                }
                Expect::Prepare => {
                    let ok = StmtPrepareOk::decode(payload)?;
                    self.answers.push(Answer::PrepareOk {
                        statement_id: ok.statement_id,
                        params: ok.num_params,
                        columns: ok.num_columns,
                    });
                    let (params, cols) = (usize::from(ok.num_params), usize::from(ok.num_columns));
                    self.prepared = Some(ok);
                    self.state = if params > 0 {
                        State::PrepareParams { left: params, cols }
                    } else if cols > 0 {
                        State::PrepareColumns { left: cols }
                    } else {
                        State::Done
                    };
                }
                _ if payload.first() == Some(&OK_HEADER) => {
                    let ok = OkPacket::decode(payload, self.caps)?;
                    self.answers.push(Answer::Ok {
                        affected_rows: ok.affected_rows,
                        last_insert_id: ok.last_insert_id,
                        status: ok.status,
                        warnings: ok.warnings,
                    });
                    self.state = if ok.status & SERVER_MORE_RESULTS_EXISTS != 0 {
                        State::First
                    } else {
                        State::Done
                    };
                }
                _ if payload.first() == Some(&LOCAL_INFILE_HEADER) => {
                    // The client would now send a file; replay does not
                    // follow LOAD DATA LOCAL, so the answer ends here.
                    self.answers.push(Answer::Signal {
                        name: "LocalInfileRequest".into(),
                    });
                    self.state = State::Done;
                }
                _ => {
                    let (ncols, metadata_follows) = column_count(payload)?;
                    if metadata_follows {
                        self.state = State::ColumnDefs { left: ncols, ncols };
                    } else {
                        // MariaDB's cached metadata: the definitions are the
                        // ones the client already holds. Replay does not ask
                        // for the cache, so such a capture answers with the
                        // definitions there and shows as a difference.
                        self.answers.push(Answer::Signal {
                            name: "ColumnsCached".into(),
                        });
                        self.state = State::Rows { ncols };
                    }
                }
            },
            State::ColumnDefs { left, ncols } => {
                self.columns.push(Self::column(payload)?);
                if left > 1 {
                    self.state = State::ColumnDefs {
                        left: left - 1,
                        ncols,
                    };
                } else if self.eof_follows() {
                    self.state = State::ColumnsEof { ncols };
                } else {
                    self.columns_done(ncols);
                }
            }
            State::ColumnsEof { ncols } => self.columns_done(ncols),
            State::Rows { ncols } => {
                if self.end_of(&payload) {
                    let end = ResultEnd::decode(payload, self.caps)?;
                    self.answers.push(Answer::End {
                        status: end.status,
                        warnings: end.warnings,
                    });
                    let more = end.status & SERVER_MORE_RESULTS_EXISTS != 0;
                    self.state = if more && self.expect != Expect::Rows {
                        State::First
                    } else {
                        State::Done
                    };
                } else if matches!(self.expect, Expect::Result { binary: false }) {
                    let row = TextRow::decode(payload, ncols)?;
                    self.answers.push(Answer::Row {
                        values: row.cells().map(|c| c.map(|b| cell_text(&b))).collect(),
                    });
                } else {
                    // Binary rows need the column types to decode; equal
                    // bytes are equal values, which is what is compared.
                    self.answers.push(Answer::Row {
                        values: vec![Some(hex(&payload))],
                    });
                }
            }
            State::PrepareParams { left, cols } => {
                self.state = if left > 1 {
                    State::PrepareParams {
                        left: left - 1,
                        cols,
                    }
                } else if self.eof_follows() {
                    State::PrepareParamsEof { cols }
                } else if cols > 0 {
                    State::PrepareColumns { left: cols }
                } else {
                    State::Done
                };
            }
            State::PrepareParamsEof { cols } => {
                self.state = if cols > 0 {
                    State::PrepareColumns { left: cols }
                } else {
                    State::Done
                };
            }
            State::PrepareColumns { left } => {
                self.columns.push(Self::column(payload)?);
                if left > 1 {
                    self.state = State::PrepareColumns { left: left - 1 };
                } else {
                    self.answers.push(Answer::Columns {
                        columns: std::mem::take(&mut self.columns),
                    });
                    self.state = if self.eof_follows() {
                        State::PrepareColumnsEof
                    } else {
                        State::Done
                    };
                }
            }
            State::PrepareColumnsEof => self.state = State::Done,
            State::FieldList => {
                if self.end_of(&payload) {
                    self.answers.push(Answer::Columns {
                        columns: std::mem::take(&mut self.columns),
                    });
                    self.state = State::Done;
                } else {
                    let def = ColumnDefinition::decode_field_list(payload)?;
                    self.columns.push(Column {
                        name: def.name_str().into_owned(),
                        ty: format!("mysql:{}", def.column_type),
                    });
                }
            }
        }
        Ok(())
    }
}
