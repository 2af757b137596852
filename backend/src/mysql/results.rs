//! The answer state machine: reads one packet at a time of whatever the
//! request in flight returns (OK, ERR, result sets with text or binary
//! rows, several of them with SERVER_MORE_RESULTS_EXISTS) and turns it
//! into [`MySqlEvent`]s.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use shardwire_protocol::mysql::constants::status::SERVER_MORE_RESULTS_EXISTS;
use shardwire_protocol::mysql::{
    decode_column_count, is_result_end, BinaryRow, BinaryType, ColumnDefinition, OkPacket,
    ResultEnd, TextRow, ERR_HEADER, LOCAL_INFILE_HEADER, OK_HEADER,
};

use super::connection::MySqlConnection;
use super::query::{MySqlEvent, MySqlRow};
use crate::error::{BackendError, Result};

/// Where the answer to the current request stands. Kept in the connection,
/// not in the [`super::MySqlQuery`] handle, so that a handle dropped half-way
/// leaves enough state to read the rest away before the next request.
#[derive(Debug)]
pub(crate) enum ReadState {
    /// Nothing in flight.
    Idle,
    /// Expecting OK, ERR, a LOCAL INFILE request or a column count.
    Response { binary: bool },
    /// Reading column definitions.
    ColumnDefs {
        binary: bool,
        total: usize,
        defs: Vec<ColumnDefinition>,
    },
    /// Columns read; the EOF that ends them (without DEPRECATE_EOF) is next.
    ColumnsEof,
    /// Reading rows until the result set's end.
    Rows,
}

impl MySqlConnection {
    /// The next answer of the request in flight; `Ok(None)` when it is
    /// complete. A server error ends the request (MySQL skips the rest of
    /// a multi-statement after one).
    pub(crate) async fn next_event(&mut self) -> Result<Option<MySqlEvent>> {
        loop {
            let binary_state = match &self.state {
                ReadState::Idle => return Ok(None),
                ReadState::Response { binary } => Some(*binary),
                _ => None,
            };
            let packet = match self.recv_raw().await {
                Ok(p) => p,
                Err(e) => {
                    self.state = ReadState::Idle;
                    return Err(e);
                }
            };
            if let Some(binary) = binary_state {
                match packet.header() {
                    Some(OK_HEADER) => {
                        let ok = self.decoded(OkPacket::decode(packet.payload, self.caps))?;
                        self.end_of_result(ok.status, binary);
                        return Ok(Some(MySqlEvent::Ok(ok)));
                    }
                    Some(ERR_HEADER) => {
                        self.state = ReadState::Idle;
                        self.idle_since = Instant::now();
                        return Err(self.server_error(packet.payload));
                    }
                    Some(LOCAL_INFILE_HEADER) => {
                        // LOCAL INFILE would let the server read our files:
                        // answer "no data" (an empty packet); the server
                        // then ends the statement with OK or ERR.
                        self.send_raw(Bytes::new()).await?;
                        continue;
                    }
                    _ => {
                        let total = self.decoded(decode_column_count(packet.payload))?;
                        self.state = ReadState::ColumnDefs {
                            binary,
                            total,
                            defs: Vec::with_capacity(total),
                        };
                        continue;
                    }
                }
            }
            match std::mem::replace(&mut self.state, ReadState::Idle) {
                ReadState::ColumnDefs {
                    binary,
                    total,
                    mut defs,
                } => {
                    let def = self.decoded(ColumnDefinition::decode(packet.payload))?;
                    defs.push(def);
                    if defs.len() < total {
                        self.state = ReadState::ColumnDefs {
                            binary,
                            total,
                            defs,
                        };
                        continue;
                    }
                    let columns: Arc<[ColumnDefinition]> = defs.into();
                    self.binary_types =
                        binary.then(|| columns.iter().map(BinaryType::from).collect());
                    self.columns = Some(Arc::clone(&columns));
                    self.state = if self.deprecate_eof() {
                        ReadState::Rows
                    } else {
                        ReadState::ColumnsEof
                    };
                    return Ok(Some(MySqlEvent::Columns(columns)));
                }
                ReadState::ColumnsEof => {
                    if !is_result_end(&packet.payload, self.caps) {
                        return Err(self.unexpected(
                            "a packet other than EOF after the column definitions".into(),
                            "reading a result set",
                        ));
                    }
                    self.state = ReadState::Rows;
                }
                ReadState::Rows => {
                    if packet.header() == Some(ERR_HEADER) {
                        // An error mid-result (e.g. KILL QUERY) ends it.
                        self.idle_since = Instant::now();
                        return Err(self.server_error(packet.payload));
                    }
                    if is_result_end(&packet.payload, self.caps) {
                        let end = self.decoded(ResultEnd::decode(packet.payload, self.caps))?;
                        let binary = self.binary_types.is_some();
                        self.end_of_result(end.status, binary);
                        return Ok(Some(MySqlEvent::ResultEnd(end)));
                    }
                    let row = match (&self.binary_types, &self.columns) {
                        (Some(types), _) => {
                            BinaryRow::decode(packet.payload, types).map(MySqlRow::Binary)
                        }
                        (None, Some(cols)) => {
                            TextRow::decode(packet.payload, cols.len()).map(MySqlRow::Text)
                        }
                        (None, None) => {
                            return Err(self.unexpected(
                                "a row without column definitions".into(),
                                "reading a result set",
                            ))
                        }
                    };
                    let row = self.decoded(row)?;
                    self.state = ReadState::Rows;
                    return Ok(Some(MySqlEvent::Row(row)));
                }
                ReadState::Idle | ReadState::Response { .. } => {
                    return Err(BackendError::Internal("response state handled above"))
                }
            }
        }
    }

    fn end_of_result(&mut self, status: u16, binary: bool) {
        self.status = status;
        self.state = if status & SERVER_MORE_RESULTS_EXISTS != 0 {
            ReadState::Response { binary }
        } else {
            self.idle_since = Instant::now();
            ReadState::Idle
        };
    }
}
