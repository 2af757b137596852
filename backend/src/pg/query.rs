//! [`Query`]: a request in progress whose answers are pulled one message
//! at a time, so no caller ever has to buffer a whole result.

use std::sync::Arc;

use bytes::Bytes;
use futures::Stream;
use shardwire_protocol::pg::{BackendMessage, CopyResponse, DataRow, ErrorFields, RowDescription};

use super::connection::PgConnection;
use crate::error::{BackendError, Result, ServerError};

/// Parameter and result formats for the extended protocol: 0 = text,
/// 1 = binary; empty = all text, one entry = applies to every column.
#[derive(Debug, Clone, Copy, Default)]
pub struct Formats<'a> {
    pub params: &'a [i16],
    pub results: &'a [i16],
}

impl Formats<'static> {
    /// Text parameters, text results.
    pub const TEXT: Formats<'static> = Formats {
        params: &[],
        results: &[],
    };
}

/// One answer of a running query, in wire order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryEvent {
    /// The shape of the rows that follow (one per result set).
    RowDescription(Arc<RowDescription>),
    /// A row, raw as the server sent it.
    Row(DataRow),
    /// A statement finished; the tag is e.g. `SELECT 3`, `INSERT 0 1`.
    CommandComplete(String),
    /// The statement was empty.
    EmptyQuery,
    /// A notice or warning the server raised while running.
    Notice(ErrorFields),
    /// COPY TO STDOUT started; [`QueryEvent::CopyData`] follows until
    /// [`QueryEvent::CopyDone`].
    CopyOut(CopyResponse),
    CopyData(Bytes),
    CopyDone,
}

/// The buffered answer to one statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultSet {
    /// `None` for statements that return no rows.
    pub description: Option<Arc<RowDescription>>,
    pub rows: Vec<DataRow>,
    /// Chunks of COPY TO STDOUT output.
    pub copy_data: Vec<Bytes>,
    /// The CommandComplete tag; `None` for an empty statement.
    pub tag: Option<String>,
}

/// A request in progress on a connection. It borrows the connection, so
/// nothing else can be sent until it is finished or dropped. Dropping it
/// early is allowed: the connection reads the rest away before its next
/// request (and the pool discards it instead).
///
/// After an ErrorResponse the handle reads on to ReadyForQuery before
/// returning the error, so the connection stays usable.
#[derive(Debug)]
pub struct Query<'c> {
    conn: &'c mut PgConnection,
    done: bool,
    error: Option<ServerError>,
    description: Option<Arc<RowDescription>>,
    tags: Vec<String>,
}

impl<'c> Query<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        Query {
            conn,
            done: false,
            error: None,
            description: None,
            tags: Vec::new(),
        }
    }

    /// The description of the current (latest) result set.
    pub fn description(&self) -> Option<&Arc<RowDescription>> {
        self.description.as_ref()
    }

    /// The CommandComplete tags seen so far.
    pub fn command_tags(&self) -> &[String] {
        &self.tags
    }

    /// True once ReadyForQuery (or a fatal error) ended the request.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The next answer; `Ok(None)` once the request is complete.
    pub async fn next_event(&mut self) -> Result<Option<QueryEvent>> {
        while !self.done {
            let msg = match self.conn.recv().await {
                Ok(m) => m,
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
            };
            let event = match msg {
                BackendMessage::RowDescription(rd) => {
                    let rd = Arc::new(rd);
                    self.description = Some(Arc::clone(&rd));
                    QueryEvent::RowDescription(rd)
                }
                BackendMessage::DataRow(row) => QueryEvent::Row(row),
                BackendMessage::CommandComplete(tag) => {
                    self.tags.push(tag.clone());
                    QueryEvent::CommandComplete(tag)
                }
                BackendMessage::EmptyQueryResponse => QueryEvent::EmptyQuery,
                BackendMessage::NoticeResponse(n) => QueryEvent::Notice(n),
                BackendMessage::CopyOutResponse(c) => QueryEvent::CopyOut(c),
                BackendMessage::CopyData(d) => QueryEvent::CopyData(d),
                BackendMessage::CopyDone => QueryEvent::CopyDone,
                // Acknowledgements of the extended protocol carry nothing a
                // caller needs; NoData means "no RowDescription follows".
                BackendMessage::ParseComplete
                | BackendMessage::BindComplete
                | BackendMessage::CloseComplete
                | BackendMessage::NoData
                | BackendMessage::ParameterDescription(_) => continue,
                BackendMessage::CopyInResponse(_) => {
                    if let Err(e) = self.conn.refuse_copy_in().await {
                        self.done = true;
                        return Err(e);
                    }
                    continue;
                }
                BackendMessage::ErrorResponse(fields) => {
                    let e = ServerError::from(fields);
                    if e.is_fatal() {
                        // The server closes the session after a FATAL: no
                        // ReadyForQuery will come.
                        self.done = true;
                        return Err(BackendError::from(e));
                    }
                    // The first error is the one that matters; the server
                    // skips the rest of the request until ReadyForQuery.
                    self.error.get_or_insert(e);
                    continue;
                }
                BackendMessage::ReadyForQuery(_) => {
                    self.done = true;
                    return match self.error.take() {
                        Some(e) => Err(BackendError::from(e)),
                        None => Ok(None),
                    };
                }
                other => {
                    self.done = true;
                    return Err(self.conn.unexpected(&other, "reading query results"));
                }
            };
            return Ok(Some(event));
        }
        Ok(None)
    }

    /// The next row of any result set, skipping the other answers (whose
    /// description and tags stay readable through [`Query::description`]
    /// and [`Query::command_tags`]); `Ok(None)` once the request is complete.
    pub async fn next_row(&mut self) -> Result<Option<DataRow>> {
        while let Some(event) = self.next_event().await? {
            if let QueryEvent::Row(row) = event {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    /// The answers as a `futures::Stream`, for callers that compose
    /// streams (merging shards). It ends after the first error, as the
    /// request does.
    pub fn into_events(self) -> impl Stream<Item = Result<QueryEvent>> + 'c {
        futures::stream::unfold(self, |mut q| async move {
            match q.next_event().await {
                Ok(Some(event)) => Some((Ok(event), q)),
                Ok(None) => None,
                // Every error path sets `done`, so the next poll ends the
                // stream.
                Err(e) => Some((Err(e), q)),
            }
        })
    }

    /// Reads the whole answer into memory, one [`ResultSet`] per statement.
    /// On an error the result sets before it are dropped.
    pub async fn collect(mut self) -> Result<Vec<ResultSet>> {
        let mut sets = Vec::new();
        let mut current = ResultSet::default();
        while let Some(event) = self.next_event().await? {
            match event {
                QueryEvent::RowDescription(rd) => current.description = Some(rd),
                QueryEvent::Row(row) => current.rows.push(row),
                QueryEvent::CopyData(d) => current.copy_data.push(d),
                QueryEvent::CommandComplete(tag) => {
                    current.tag = Some(tag);
                    sets.push(std::mem::take(&mut current));
                }
                QueryEvent::EmptyQuery => sets.push(std::mem::take(&mut current)),
                QueryEvent::Notice(_) | QueryEvent::CopyOut(_) | QueryEvent::CopyDone => {}
            }
        }
        Ok(sets)
    }
}
