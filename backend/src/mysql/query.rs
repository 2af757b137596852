//! [`MySqlQuery`]: a request in progress whose answers are pulled one
//! packet at a time, so no caller has to buffer a whole result.

use std::sync::Arc;

use bytes::Bytes;
use futures::Stream;
use shardwire_protocol::mysql::{
    BinaryRow, BinaryType, ColumnDefinition, OkPacket, ResultEnd, TextRow, Value,
};

use super::connection::MySqlConnection;
use crate::error::Result;

/// A row as the server sent it: text (COM_QUERY) or binary
/// (COM_STMT_EXECUTE), raw either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MySqlRow {
    Text(TextRow),
    Binary(BinaryRow),
}

impl MySqlRow {
    pub fn raw(&self) -> &Bytes {
        match self {
            MySqlRow::Text(r) => r.raw(),
            MySqlRow::Binary(r) => r.raw(),
        }
    }

    pub fn as_text(&self) -> Option<&TextRow> {
        match self {
            MySqlRow::Text(r) => Some(r),
            MySqlRow::Binary(_) => None,
        }
    }

    /// A binary row's values, typed by its result set's `columns`.
    pub fn binary_values(&self, columns: &[ColumnDefinition]) -> Option<Result<Vec<Value>>> {
        match self {
            MySqlRow::Binary(r) => {
                let types: Vec<BinaryType> = columns.iter().map(BinaryType::from).collect();
                Some(r.values(&types).map_err(Into::into))
            }
            MySqlRow::Text(_) => None,
        }
    }
}

/// One answer of a running request, in wire order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MySqlEvent {
    /// A result set starts; its rows follow.
    Columns(Arc<[ColumnDefinition]>),
    Row(MySqlRow),
    /// A result set ended; its status flags say whether more follow.
    ResultEnd(ResultEnd),
    /// A statement without a result set finished.
    Ok(OkPacket),
}

/// The buffered answer to one statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MySqlResultSet {
    /// `None` for statements answered with OK.
    pub columns: Option<Arc<[ColumnDefinition]>>,
    pub rows: Vec<MySqlRow>,
    pub affected_rows: u64,
    pub last_insert_id: u64,
    pub status: u16,
    pub warnings: u16,
    pub info: Bytes,
}

/// A request in progress. It borrows the connection, so nothing else can
/// be sent until it is finished or dropped; dropping it early is allowed
/// (the connection reads the rest away before its next request, and the
/// pool discards it instead).
#[derive(Debug)]
pub struct MySqlQuery<'c> {
    conn: &'c mut MySqlConnection,
    columns: Option<Arc<[ColumnDefinition]>>,
}

impl<'c> MySqlQuery<'c> {
    pub(crate) fn new(conn: &'c mut MySqlConnection) -> Self {
        MySqlQuery {
            conn,
            columns: None,
        }
    }

    /// Columns of the current (latest) result set.
    pub fn columns(&self) -> Option<&Arc<[ColumnDefinition]>> {
        self.columns.as_ref()
    }

    /// True once the last answer has been read (or an error ended it).
    pub fn is_done(&self) -> bool {
        !self.conn.has_pending_results()
    }

    /// The next answer; `Ok(None)` once the request is complete. A server
    /// error is returned as `Err` and ends the request; the connection
    /// stays usable.
    pub async fn next_event(&mut self) -> Result<Option<MySqlEvent>> {
        let event = self.conn.next_event().await?;
        if let Some(MySqlEvent::Columns(c)) = &event {
            self.columns = Some(Arc::clone(c));
        }
        Ok(event)
    }

    /// The next row of any result set, skipping the other answers.
    pub async fn next_row(&mut self) -> Result<Option<MySqlRow>> {
        while let Some(event) = self.next_event().await? {
            if let MySqlEvent::Row(row) = event {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    /// The answers as a `futures::Stream`; it ends after the first error.
    pub fn into_events(self) -> impl Stream<Item = Result<MySqlEvent>> + 'c {
        futures::stream::unfold(Some(self), |q| async move {
            let mut q = q?;
            match q.next_event().await {
                Ok(Some(event)) => Some((Ok(event), Some(q))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }

    /// Reads the whole answer, one [`MySqlResultSet`] per statement. On an
    /// error the result sets before it are dropped.
    pub async fn collect(mut self) -> Result<Vec<MySqlResultSet>> {
        let mut sets = Vec::new();
        let mut current = MySqlResultSet::default();
        while let Some(event) = self.next_event().await? {
            match event {
                MySqlEvent::Columns(c) => current.columns = Some(c),
                MySqlEvent::Row(r) => current.rows.push(r),
                MySqlEvent::ResultEnd(end) => {
                    current.status = end.status;
                    current.warnings = end.warnings;
                    if let Some(ok) = end.ok {
                        current.affected_rows = ok.affected_rows;
                        current.last_insert_id = ok.last_insert_id;
                        current.info = ok.info;
                    }
                    sets.push(std::mem::take(&mut current));
                }
                MySqlEvent::Ok(ok) => {
                    sets.push(MySqlResultSet {
                        columns: None,
                        rows: Vec::new(),
                        affected_rows: ok.affected_rows,
                        last_insert_id: ok.last_insert_id,
                        status: ok.status,
                        warnings: ok.warnings,
                        info: ok.info,
                    });
                }
            }
        }
        Ok(sets)
    }
}
