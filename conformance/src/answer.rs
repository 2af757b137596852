//! [`Answer`]: the protocol-neutral shape of what a server said, the unit
//! the comparison works on; and the PostgreSQL messages' mapping to it.

use bytes::Bytes;
use serde::Serialize;
use shardwire_protocol::pg::{BackendMessage, TransactionStatus};

use crate::error::Result;

/// A column of a result: its name and its type (`pg:<oid>` or
/// `mysql:<type byte>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    pub name: String,
    pub ty: String,
}

/// One element of a server's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    /// RowDescription / column definitions.
    Columns {
        columns: Vec<Column>,
    },
    /// A row; cells as text (binary cells as `\x` hex), `None` for NULL.
    Row {
        values: Vec<Option<String>>,
    },
    /// CommandComplete.
    Complete {
        tag: String,
    },
    /// MySQL OK.
    Ok {
        affected_rows: u64,
        last_insert_id: u64,
        status: u16,
        warnings: u16,
    },
    /// The end of a MySQL result set (EOF, or OK with CLIENT_DEPRECATE_EOF).
    End {
        status: u16,
        warnings: u16,
    },
    /// ErrorResponse (SQLSTATE) / ERR (`errno`).
    Error {
        code: String,
        message: String,
    },
    /// ReadyForQuery.
    Ready {
        status: char,
    },
    Notice {
        severity: String,
        code: String,
        message: String,
    },
    ParameterStatus {
        name: String,
        value: String,
    },
    /// ParameterDescription.
    ParameterTypes {
        types: Vec<u32>,
    },
    /// COM_STMT_PREPARE_OK; the id is the server's own, masked on compare.
    PrepareOk {
        statement_id: u32,
        params: u16,
        columns: u16,
    },
    Notification {
        pid: i32,
        channel: String,
        payload: String,
    },
    /// Messages whose presence is the answer: ParseComplete, BindComplete,
    /// CloseComplete, NoData, PortalSuspended, EmptyQueryResponse,
    /// CopyInResponse, CopyOutResponse, CopyDone, LocalInfileRequest.
    Signal {
        name: String,
    },
    /// CopyData from the server; the statistics string of COM_STATISTICS.
    Data {
        text: String,
    },
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Columns { columns } => {
                let cols: Vec<String> = columns.iter().map(|c| format!("{} {}", c.name, c.ty)).collect();
                write!(f, "columns({})", cols.join(", "))
            }
            Answer::Row { values } => {
                let vals: Vec<String> = values
                    .iter()
                    .map(|v| v.as_deref().map_or("NULL".to_owned(), |s| format!("{s:?}")))
                    .collect();
                write!(f, "row({})", vals.join(", "))
            }
            Answer::Complete { tag } => write!(f, "complete {tag:?}"),
            Answer::Ok {
                affected_rows,
                last_insert_id,
                status,
                warnings,
            } => write!(
                f,
                "ok affected={affected_rows} last_insert_id={last_insert_id} status=0x{status:04x} warnings={warnings}"
            ),
            Answer::End { status, warnings } => {
                write!(f, "end status=0x{status:04x} warnings={warnings}")
            }
            Answer::Error { code, message } => write!(f, "error {code} {message:?}"),
            Answer::Ready { status } => write!(f, "ready {status}"),
            Answer::Notice {
                severity,
                code,
                message,
            } => write!(f, "notice {severity} {code} {message:?}"),
            Answer::ParameterStatus { name, value } => write!(f, "parameter {name}={value:?}"),
            Answer::ParameterTypes { types } => write!(f, "parameter types {types:?}"),
            Answer::PrepareOk {
                statement_id,
                params,
                columns,
            } => write!(
                f,
                "prepared id={statement_id} params={params} columns={columns}"
            ),
            Answer::Notification {
                pid,
                channel,
                payload,
            } => write!(f, "notification pid={pid} {channel}: {payload:?}"),
            Answer::Signal { name } => f.write_str(name),
            Answer::Data { text } => write!(f, "data {text:?}"),
        }
    }
}

/// A cell as text: UTF-8 as is, anything else as `\x` hex.
pub fn cell_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => s.to_owned(),
        _ => hex(bytes),
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("\\x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn signal(name: &str) -> Option<Answer> {
    Some(Answer::Signal {
        name: name.to_owned(),
    })
}

/// Maps one PostgreSQL server message; `None` for messages that carry no
/// answer (BackendKeyData, authentication after login).
pub fn pg_answer(tag: u8, payload: Bytes) -> Result<Option<Answer>> {
    let msg = BackendMessage::decode(tag, payload, &[])?;
    Ok(match msg {
        BackendMessage::RowDescription(rd) => Some(Answer::Columns {
            columns: rd
                .fields
                .iter()
                .map(|f| Column {
                    name: f.name.clone(),
                    ty: format!("pg:{}", f.type_oid),
                })
                .collect(),
        }),
        BackendMessage::DataRow(row) => Some(Answer::Row {
            values: row.columns().map(|c| c.map(|b| cell_text(&b))).collect(),
        }),
        BackendMessage::CommandComplete(tag) => Some(Answer::Complete { tag }),
        BackendMessage::ErrorResponse(e) => Some(Answer::Error {
            code: e.code().unwrap_or_default().to_owned(),
            message: e.message().unwrap_or_default().to_owned(),
        }),
        BackendMessage::NoticeResponse(e) => Some(Answer::Notice {
            severity: e.severity().unwrap_or_default().to_owned(),
            code: e.code().unwrap_or_default().to_owned(),
            message: e.message().unwrap_or_default().to_owned(),
        }),
        BackendMessage::ReadyForQuery(s) => Some(Answer::Ready {
            status: match s {
                TransactionStatus::Idle => 'I',
                TransactionStatus::InTransaction => 'T',
                TransactionStatus::Failed => 'E',
            },
        }),
        BackendMessage::ParameterStatus { name, value } => {
            Some(Answer::ParameterStatus { name, value })
        }
        BackendMessage::ParameterDescription(types) => Some(Answer::ParameterTypes { types }),
        BackendMessage::ParseComplete => signal("ParseComplete"),
        BackendMessage::BindComplete => signal("BindComplete"),
        BackendMessage::CloseComplete => signal("CloseComplete"),
        BackendMessage::NoData => signal("NoData"),
        BackendMessage::PortalSuspended => signal("PortalSuspended"),
        BackendMessage::EmptyQueryResponse => signal("EmptyQueryResponse"),
        BackendMessage::CopyInResponse(_) => signal("CopyInResponse"),
        BackendMessage::CopyOutResponse(_) => signal("CopyOutResponse"),
        BackendMessage::CopyBothResponse(_) => signal("CopyBothResponse"),
        BackendMessage::CopyDone => signal("CopyDone"),
        BackendMessage::CopyData(d) => Some(Answer::Data {
            text: cell_text(&d),
        }),
        BackendMessage::NotificationResponse {
            pid,
            channel,
            payload,
        } => Some(Answer::Notification {
            pid,
            channel,
            payload,
        }),
        BackendMessage::FunctionCallResponse(d) => Some(Answer::Data { text: hex(&d) }),
        BackendMessage::NegotiateProtocolVersion { .. } => signal("NegotiateProtocolVersion"),
        BackendMessage::EncryptionResponse { .. }
        | BackendMessage::Authentication(_)
        | BackendMessage::BackendKeyData { .. } => None,
    })
}
