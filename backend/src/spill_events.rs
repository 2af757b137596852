//! How each protocol's unit answers go to a spill file and come back
//! ([`crate::spill_queue`]): rows as their raw wire bytes, checked again
//! when read back like any row off a socket.

use bytes::Bytes;
use shardwire_protocol::mysql::{BinaryRow, TextRow};
use shardwire_protocol::pg::DataRow;

use crate::error::{BackendError, Result};
use crate::mysql::{MySqlEvent, MySqlRow};
use crate::pg::QueryEvent;
use crate::spill_queue::{Record, Spill};

/// What a queued event costs beyond its bytes (the enum, the Bytes
/// handle, the queue slot).
const OVERHEAD: usize = 64;

const PG_ROW: u8 = 1;
const PG_COPY_DATA: u8 = 2;
const MYSQL_TEXT_ROW: u8 = 3;
const MYSQL_BINARY_ROW: u8 = 4;

fn unknown(kind: u8) -> BackendError {
    BackendError::Io(std::io::Error::other(format!(
        "a spill file holds a record of unknown kind {kind}"
    )))
}

impl Spill for QueryEvent {
    fn record(&self) -> Option<Record<'_>> {
        match self {
            QueryEvent::Row(row) => Some(Record {
                kind: PG_ROW,
                aux: 0,
                bytes: row.body(),
            }),
            QueryEvent::CopyData(data) => Some(Record {
                kind: PG_COPY_DATA,
                aux: 0,
                bytes: data,
            }),
            _ => None,
        }
    }

    fn from_record(kind: u8, _aux: u32, bytes: Bytes) -> Result<Self> {
        match kind {
            PG_ROW => Ok(QueryEvent::Row(DataRow::decode(bytes)?)),
            PG_COPY_DATA => Ok(QueryEvent::CopyData(bytes)),
            other => Err(unknown(other)),
        }
    }

    fn weight(&self) -> usize {
        OVERHEAD
            + match self {
                QueryEvent::Row(row) => row.body().len(),
                QueryEvent::CopyData(data) => data.len(),
                _ => 0,
            }
    }
}

impl Spill for MySqlEvent {
    fn record(&self) -> Option<Record<'_>> {
        match self {
            MySqlEvent::Row(MySqlRow::Text(row)) => Some(Record {
                kind: MYSQL_TEXT_ROW,
                // A row has at most 4096 columns in MySQL.
                aux: u32::try_from(row.len()).ok()?,
                bytes: row.raw(),
            }),
            MySqlEvent::Row(MySqlRow::Binary(row)) => Some(Record {
                kind: MYSQL_BINARY_ROW,
                aux: 0,
                bytes: row.raw(),
            }),
            _ => None,
        }
    }

    fn from_record(kind: u8, aux: u32, bytes: Bytes) -> Result<Self> {
        match kind {
            MYSQL_TEXT_ROW => Ok(MySqlEvent::Row(MySqlRow::Text(TextRow::decode(
                bytes,
                aux as usize,
            )?))),
            MYSQL_BINARY_ROW => Ok(MySqlEvent::Row(MySqlRow::Binary(BinaryRow::from_raw(
                bytes,
            )))),
            other => Err(unknown(other)),
        }
    }

    fn weight(&self) -> usize {
        OVERHEAD
            + match self {
                MySqlEvent::Row(row) => row.raw().len(),
                _ => 0,
            }
    }
}
