//! [`PgConnection`]: one logged-in server session, its state, and the one
//! place where messages are written and read.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{FutureExt, SinkExt, StreamExt};
use shardwire_protocol::pg::{
    BackendMessage, Bind, FrontendMessage, Parse, PgClientCodec, RowDescription, TargetKind,
    TransactionStatus,
};
use tokio_util::codec::Framed;

use super::cancel::CancelToken;
use super::query::{Formats, Query, ResultSet};
use crate::error::{BackendError, Result, ServerError};
use crate::socket::Socket;

/// Statements one session keeps prepared for `query_cached`; past this
/// the rest run unnamed.
const STATEMENT_CACHE_SIZE: usize = 256;

/// Notifications kept for [`PgConnection::take_notifications`]; older ones
/// are dropped so a session that LISTENs and is never read cannot grow
/// without bound.
const MAX_NOTIFICATIONS: usize = 1024;

/// A NotificationResponse (LISTEN / NOTIFY).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub pid: i32,
    pub channel: String,
    pub payload: String,
}

/// A statement prepared with [`PgConnection::prepare`].
#[derive(Debug, Clone)]
pub struct Statement {
    pub(crate) name: String,
    pub(crate) param_types: Vec<u32>,
    pub(crate) columns: Option<Arc<RowDescription>>,
}

impl Statement {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parameter type OIDs as the server resolved them.
    pub fn param_types(&self) -> &[u32] {
        &self.param_types
    }

    /// The result columns, `None` for statements that return no rows.
    pub fn columns(&self) -> Option<&Arc<RowDescription>> {
        self.columns.as_ref()
    }
}

/// One authenticated PostgreSQL session.
///
/// Requests and their answers are matched by counting the ReadyForQuery
/// messages still owed (`pending`): every Query and every Sync earns
/// exactly one. A [`Query`] dropped before its end leaves answers in flight;
/// the next request reads them away first, and the pool discards such a
/// connection instead of paying for that.
#[derive(Debug)]
pub struct PgConnection {
    pub(crate) framed: Framed<Socket, PgClientCodec>,
    pub(crate) status: TransactionStatus,
    /// Set when the socket or the protocol failed, after a FATAL error, and
    /// while a write is in flight (see [`PgConnection::flush`]).
    pub(crate) broken: bool,
    pub(crate) pending: usize,
    parameters: HashMap<String, String>,
    notifications: Vec<Notification>,
    cancel: Option<CancelToken>,
    created: Instant,
    idle_since: Instant,
    /// Statements this session has prepared for [`PgConnection::query_cached`]:
    /// SQL -> (parameter types, statement name).
    pub(super) statement_cache: HashMap<String, (Vec<u32>, String)>,
    /// The cached statement the request in flight uses; an error drops it
    /// from the cache (its Parse may have failed, or its plan went stale).
    pub(super) cached_in_flight: Option<String>,
    next_statement: u64,
    /// Client settings replayed on this session (see `replay.rs`), sorted
    /// by name; None when unknown.
    pub(crate) replayed: Option<Vec<super::replay::Replayed>>,
    /// The server speaks openGauss (see `login.rs`): it takes Batch Bind.
    pub(crate) opengauss: bool,
}

impl PgConnection {
    /// A session on `socket` about to log in: the startup exchange ends
    /// with one ReadyForQuery (`connect.rs` opens the socket and logs in).
    pub(super) fn starting(socket: Socket, codec: PgClientCodec) -> PgConnection {
        let now = Instant::now();
        PgConnection {
            framed: Framed::new(socket, codec),
            status: TransactionStatus::Idle,
            broken: false,
            pending: 0,
            parameters: HashMap::new(),
            notifications: Vec::new(),
            cancel: None,
            created: now,
            idle_since: now,
            statement_cache: HashMap::new(),
            cached_in_flight: None,
            next_statement: 0,
            replayed: Some(Vec::new()),
            opengauss: false,
        }
    }

    /// The key its cancel requests carry, learned at login.
    pub(super) fn set_cancel(&mut self, cancel: Option<CancelToken>) {
        self.cancel = cancel;
    }

    /// Transaction status from the last ReadyForQuery.
    pub fn transaction_status(&self) -> TransactionStatus {
        self.status
    }

    /// Whether the server speaks openGauss (an openGauss data source that
    /// was not negotiated down to PostgreSQL's 3.0): batches go as Batch Bind.
    pub fn is_opengauss(&self) -> bool {
        self.opengauss
    }

    /// True once the connection can no longer be used.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// True when answers to an abandoned request are still in flight.
    pub fn has_pending_results(&self) -> bool {
        self.pending > 0
    }

    /// A server parameter reported by ParameterStatus (`server_version`,
    /// `client_encoding`, `TimeZone`, ...), kept current for the session.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.get(name).map(String::as_str)
    }

    pub fn parameters(&self) -> &HashMap<String, String> {
        &self.parameters
    }

    /// The server process id from BackendKeyData.
    pub fn backend_pid(&self) -> Option<i32> {
        self.cancel.as_ref().map(|c| c.pid)
    }

    /// A token another task can use to cancel this session's running query.
    /// `None` if the server sent no BackendKeyData.
    pub fn cancel_token(&self) -> Option<CancelToken> {
        self.cancel.clone()
    }

    /// Cancels the running query through a new connection.
    pub async fn cancel(&self) -> Result<()> {
        match &self.cancel {
            Some(token) => token.cancel().await,
            None => Err(BackendError::Unexpected {
                message: "session without BackendKeyData".into(),
                during: "cancelling",
            }),
        }
    }

    /// Notifications received so far, oldest first.
    pub fn take_notifications(&mut self) -> Vec<Notification> {
        std::mem::take(&mut self.notifications)
    }

    /// How long ago the session was opened.
    pub fn age(&self) -> Duration {
        self.created.elapsed()
    }

    /// How long ago the last request finished.
    pub fn idle_for(&self) -> Duration {
        self.idle_since.elapsed()
    }

    /// Runs a simple query (which may hold several statements) and streams
    /// its answers: pull them with [`Query::next_event`] or
    /// [`Query::next_row`], or buffer them with [`Query::collect`].
    pub async fn query(&mut self, sql: &str) -> Result<Query<'_>> {
        self.begin_request().await?;
        self.encode_request(&[FrontendMessage::Query(sql.to_owned())])?;
        self.flush().await?;
        Ok(Query::new(self))
    }

    /// [`PgConnection::query`], buffered: one [`ResultSet`] per statement.
    pub async fn simple_query(&mut self, sql: &str) -> Result<Vec<ResultSet>> {
        self.query(sql).await?.collect().await
    }

    /// Runs `SELECT 1` and checks the answer.
    pub async fn health_check(&mut self) -> Result<()> {
        let sets = self.simple_query("SELECT 1").await?;
        let one = sets
            .first()
            .and_then(|s| s.rows.first())
            .and_then(|r| r.columns().next())
            .flatten();
        if one.as_deref() == Some(b"1".as_slice()) {
            Ok(())
        } else {
            Err(BackendError::Unexpected {
                message: format!("answer {sets:?}"),
                during: "running the health check SELECT 1",
            })
        }
    }

    /// Prepares `sql` as statement `name` ("" for the unnamed statement)
    /// and describes it: Parse, Describe, Sync in one write.
    pub async fn prepare(
        &mut self,
        name: &str,
        sql: &str,
        param_types: &[u32],
    ) -> Result<Statement> {
        self.begin_request().await?;
        self.encode_request(&[
            FrontendMessage::Parse(Parse {
                name: name.to_owned(),
                query: sql.to_owned(),
                param_types: param_types.to_vec(),
            }),
            FrontendMessage::Describe {
                kind: TargetKind::Statement,
                name: name.to_owned(),
            },
            FrontendMessage::Sync,
        ])?;
        self.flush().await?;
        let mut resolved = param_types.to_vec();
        let mut columns = None;
        let mut error = None;
        loop {
            match self.recv().await? {
                BackendMessage::ParseComplete
                | BackendMessage::NoData
                | BackendMessage::NoticeResponse(_) => {}
                BackendMessage::ParameterDescription(types) => resolved = types,
                BackendMessage::RowDescription(rd) => columns = Some(Arc::new(rd)),
                BackendMessage::ErrorResponse(e) => {
                    let e = ServerError::from(e);
                    if e.is_fatal() {
                        return Err(BackendError::from(e));
                    }
                    error = Some(e);
                }
                BackendMessage::ReadyForQuery(_) => break,
                other => return Err(self.unexpected(&other, "preparing a statement")),
            }
        }
        match error {
            Some(e) => Err(BackendError::from(e)),
            None => Ok(Statement {
                name: name.to_owned(),
                param_types: resolved,
                columns,
            }),
        }
    }

    /// Runs a prepared statement: Bind, Describe, Execute, Sync in one
    /// write. `params` are raw values in the formats `formats.params` names
    /// (`None` is SQL NULL).
    pub async fn execute(
        &mut self,
        statement: &Statement,
        params: &[Option<Bytes>],
        formats: Formats<'_>,
    ) -> Result<Query<'_>> {
        self.begin_request().await?;
        let [bind, describe, execute] = portal_messages(&statement.name, params, formats);
        self.encode_request(&[bind, describe, execute, FrontendMessage::Sync])?;
        self.flush().await?;
        Ok(Query::new(self))
    }

    /// Parses, binds and runs `sql` as the unnamed statement: Parse, Bind,
    /// Describe, Execute, Sync in one write, one round trip.
    pub async fn query_params(
        &mut self,
        sql: &str,
        param_types: &[u32],
        params: &[Option<Bytes>],
        formats: Formats<'_>,
    ) -> Result<Query<'_>> {
        self.begin_request().await?;
        let [bind, describe, execute] = portal_messages("", params, formats);
        self.encode_request(&[
            FrontendMessage::Parse(Parse {
                name: String::new(),
                query: sql.to_owned(),
                param_types: param_types.to_vec(),
            }),
            bind,
            describe,
            execute,
            FrontendMessage::Sync,
        ])?;
        self.flush().await?;
        Ok(Query::new(self))
    }

    /// [`PgConnection::query_params`] for statements that repeat: the
    /// first run prepares `sql` under a name on this session (in the same
    /// round trip), later runs only Bind and Execute it, so the server
    /// parses and plans it once per session instead of once per run.
    pub async fn query_cached(
        &mut self,
        sql: &str,
        param_types: &[u32],
        params: &[Option<Bytes>],
        formats: Formats<'_>,
    ) -> Result<Query<'_>> {
        self.begin_request().await?;
        let cached = match self.statement_cache.get(sql) {
            Some((types, name)) if types == param_types => Some(name.clone()),
            _ => None,
        };
        let (name, parse) = match cached {
            Some(name) => (name, None),
            None if self.statement_cache.len() < STATEMENT_CACHE_SIZE => {
                // Names are never reused, so one left on the server by a
                // dropped entry cannot clash.
                let name = format!("shardwire_{}", self.next_statement);
                self.next_statement += 1;
                self.statement_cache
                    .insert(sql.to_owned(), (param_types.to_vec(), name.clone()));
                (name.clone(), Some(name))
            }
            // Full: run it unnamed, as query_params does.
            None => (String::new(), Some(String::new())),
        };
        let mut msgs = Vec::with_capacity(5);
        if let Some(parse_name) = parse {
            msgs.push(FrontendMessage::Parse(Parse {
                name: parse_name,
                query: sql.to_owned(),
                param_types: param_types.to_vec(),
            }));
        }
        msgs.extend(portal_messages(&name, params, formats));
        msgs.push(FrontendMessage::Sync);
        if let Err(e) = self.encode_request(&msgs) {
            self.statement_cache.remove(sql);
            return Err(e);
        }
        self.cached_in_flight = (!name.is_empty()).then(|| sql.to_owned());
        self.flush().await?;
        Ok(Query::new(self))
    }

    /// Closes a prepared statement on the server.
    pub async fn close_statement(&mut self, statement: Statement) -> Result<()> {
        self.begin_request().await?;
        self.encode_request(&[
            FrontendMessage::Close {
                kind: TargetKind::Statement,
                name: statement.name,
            },
            FrontendMessage::Sync,
        ])?;
        self.flush().await?;
        Query::new(self).collect().await.map(drop)
    }

    /// A statement name this session has never used: `{prefix}{n}`.
    pub(crate) fn fresh_statement_name(&mut self, prefix: &str) -> String {
        let name = format!("{prefix}{}", self.next_statement);
        self.next_statement += 1;
        name
    }

    pub(crate) fn set_parameter(&mut self, name: String, value: String) {
        self.parameters.insert(name, value);
    }

    /// Marks the session usable again after a reset proved it clean.
    pub(crate) fn mark_clean(&mut self) {
        // DISCARD ALL took every setting back to the login values.
        self.replayed = Some(Vec::new());
        self.broken = false;
        self.status = TransactionStatus::Idle;
        self.idle_since = Instant::now();
    }

    /// Ends the session politely. Errors are ignored: the session is gone
    /// either way.
    pub async fn close(mut self) {
        if !self.broken && self.encode_request(&[FrontendMessage::Terminate]).is_ok() {
            let _ = self.flush().await;
        }
    }

    /// Best-effort check, without waiting, that an idle session is still
    /// alive: reads whatever the server sent since the last request. A
    /// closed socket or a message other than the asynchronous ones
    /// (typically the FATAL sent at server shutdown) marks it broken.
    /// Returns whether the connection is still usable. Call it from within
    /// the Tokio runtime that owns the socket, like every other method.
    pub fn check_idle(&mut self) -> bool {
        if self.broken || self.pending > 0 {
            return false;
        }
        // `now_or_never` polls once: Pending means nothing has arrived,
        // which is the healthy case.
        while let Some(next) = self.framed.next().now_or_never() {
            match next {
                Some(Ok(BackendMessage::ParameterStatus { name, value })) => {
                    self.parameters.insert(name, value);
                }
                Some(Ok(BackendMessage::NotificationResponse {
                    pid,
                    channel,
                    payload,
                })) => self.push_notification(Notification {
                    pid,
                    channel,
                    payload,
                }),
                Some(Ok(BackendMessage::NoticeResponse(_))) => {}
                _ => {
                    self.broken = true;
                    return false;
                }
            }
        }
        true
    }

    // ---- the one place messages are written and read ----

    /// Refuses a request on a broken session and reads away the answers to
    /// an abandoned one, so each request sees only its own answers.
    pub(crate) async fn begin_request(&mut self) -> Result<()> {
        if self.broken {
            return Err(BackendError::Broken);
        }
        while self.pending > 0 {
            if let BackendMessage::CopyInResponse(_) = self.recv().await? {
                self.refuse_copy_in().await?;
            }
        }
        Ok(())
    }

    /// Encodes a whole request into the write buffer, counting the
    /// ReadyForQuery messages it will earn. On an encode error (a NUL in a
    /// string, too many parameters) nothing is left in the buffer and the
    /// session stays usable.
    pub(crate) fn encode_request(&mut self, msgs: &[FrontendMessage]) -> Result<()> {
        let buf = self.framed.write_buffer_mut();
        let start = buf.len();
        for m in msgs {
            if let Err(e) = m.encode(buf) {
                buf.truncate(start);
                return Err(e.into());
            }
        }
        self.pending += msgs
            .iter()
            .filter(|m| matches!(m, FrontendMessage::Query(_) | FrontendMessage::Sync))
            .count();
        Ok(())
    }

    /// Writes out the buffer. The session counts as broken while the write
    /// is in flight: if this future is dropped half-way, the server may hold
    /// half a message and the session must not be used again.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        self.broken = true;
        SinkExt::<FrontendMessage>::flush(&mut self.framed).await?;
        self.broken = false;
        Ok(())
    }

    /// Reads the next message, absorbing the asynchronous ones
    /// (ParameterStatus, NotificationResponse) and keeping the transaction
    /// status, the pending count and the broken flag current. Safe to
    /// cancel: a dropped read loses no message.
    pub(crate) async fn recv(&mut self) -> Result<BackendMessage> {
        loop {
            let msg = match self.framed.next().await {
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    self.broken = true;
                    return Err(e.into());
                }
                None => {
                    self.broken = true;
                    return Err(BackendError::Closed);
                }
            };
            match msg {
                BackendMessage::ParameterStatus { name, value } => {
                    self.parameters.insert(name, value);
                }
                BackendMessage::NotificationResponse {
                    pid,
                    channel,
                    payload,
                } => self.push_notification(Notification {
                    pid,
                    channel,
                    payload,
                }),
                BackendMessage::ReadyForQuery(status) => {
                    self.cached_in_flight = None;
                    self.status = status;
                    self.pending = self.pending.saturating_sub(1);
                    self.idle_since = Instant::now();
                    return Ok(msg);
                }
                BackendMessage::ErrorResponse(ref e) => {
                    if let Some(sql) = self.cached_in_flight.take() {
                        self.statement_cache.remove(&sql);
                    }
                    // FATAL / PANIC: the server ends the session after this.
                    if matches!(e.severity(), Some("FATAL" | "PANIC")) {
                        self.broken = true;
                    }
                    return Ok(msg);
                }
                other => return Ok(other),
            }
        }
    }

    /// COPY FROM STDIN reached through a query API that has no data to
    /// send: fail the copy so the server ends it with an error instead of
    /// waiting for data forever.
    pub(crate) async fn refuse_copy_in(&mut self) -> Result<()> {
        self.encode_request(&[FrontendMessage::CopyFail(
            "COPY FROM STDIN is not supported through this query API".into(),
        )])?;
        self.flush().await
    }

    /// A message the protocol does not allow here: the session's state is
    /// unknown from now on.
    pub(crate) fn unexpected(
        &mut self,
        msg: &BackendMessage,
        during: &'static str,
    ) -> BackendError {
        self.broken = true;
        BackendError::Unexpected {
            message: message_name(msg).to_owned(),
            during,
        }
    }

    fn push_notification(&mut self, n: Notification) {
        if self.notifications.len() >= MAX_NOTIFICATIONS {
            self.notifications.remove(0);
        }
        self.notifications.push(n);
    }
}

fn portal_messages(
    statement: &str,
    params: &[Option<Bytes>],
    formats: Formats<'_>,
) -> [FrontendMessage; 3] {
    [
        FrontendMessage::Bind(Bind {
            portal: String::new(),
            statement: statement.to_owned(),
            param_formats: formats.params.to_vec(),
            params: params.to_vec(),
            result_formats: formats.results.to_vec(),
        }),
        FrontendMessage::Describe {
            kind: TargetKind::Portal,
            name: String::new(),
        },
        FrontendMessage::Execute {
            portal: String::new(),
            max_rows: 0,
        },
    ]
}

/// A short name for a message, for errors: the whole message could hold
/// row data.
pub(crate) fn message_name(msg: &BackendMessage) -> &'static str {
    match msg {
        BackendMessage::EncryptionResponse { .. } => "EncryptionResponse",
        BackendMessage::Authentication(_) => "Authentication",
        BackendMessage::ParameterStatus { .. } => "ParameterStatus",
        BackendMessage::BackendKeyData { .. } => "BackendKeyData",
        BackendMessage::ReadyForQuery(_) => "ReadyForQuery",
        BackendMessage::RowDescription(_) => "RowDescription",
        BackendMessage::DataRow(_) => "DataRow",
        BackendMessage::CommandComplete(_) => "CommandComplete",
        BackendMessage::EmptyQueryResponse => "EmptyQueryResponse",
        BackendMessage::ErrorResponse(_) => "ErrorResponse",
        BackendMessage::NoticeResponse(_) => "NoticeResponse",
        BackendMessage::ParseComplete => "ParseComplete",
        BackendMessage::BindComplete => "BindComplete",
        BackendMessage::CloseComplete => "CloseComplete",
        BackendMessage::NoData => "NoData",
        BackendMessage::PortalSuspended => "PortalSuspended",
        BackendMessage::ParameterDescription(_) => "ParameterDescription",
        BackendMessage::CopyInResponse(_) => "CopyInResponse",
        BackendMessage::CopyOutResponse(_) => "CopyOutResponse",
        BackendMessage::CopyBothResponse(_) => "CopyBothResponse",
        BackendMessage::CopyData(_) => "CopyData",
        BackendMessage::CopyDone => "CopyDone",
        BackendMessage::NegotiateProtocolVersion { .. } => "NegotiateProtocolVersion",
        BackendMessage::NotificationResponse { .. } => "NotificationResponse",
        BackendMessage::FunctionCallResponse(_) => "FunctionCallResponse",
    }
}
