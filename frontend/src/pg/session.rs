//! One PostgreSQL client session after login: the message loop, the
//! extended protocol's statements and portals, and batching of answers
//! (one write per Sync, per simple Query, or per Flush).

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures::SinkExt;
use shardwire_backend::cluster::PgCluster;
use shardwire_kernel::copy::CopyFromStdin;
use shardwire_protocol::pg::{
    BackendMessage, Bind, ErrorFields, FrontendMessage, Parse, RowDescription, TargetKind,
};
use shardwire_protocol::ProtocolError;
use sqlparser::ast::Statement;

use super::settings::Settings;
use super::startup::ClientConn;
use super::state::{Phase, PhaseEvent};
use super::txn::Txn;
use crate::cancel::CancelHandle;
use crate::core::registry::SessionHandle;
use crate::error::{pg_error, SessionError, StatementError};
use crate::server::{Database, Frontend};

/// What a Describe of a statement learned from a backend.
#[derive(Debug, Clone)]
pub struct Described {
    pub params: Vec<u32>,
    pub row: Option<Arc<RowDescription>>,
}

/// A statement made by Parse.
#[derive(Debug)]
pub struct Prepared {
    pub sql: String,
    /// `None` for a COPY FROM STDIN, which sqlparser does not read in full.
    pub ast: Option<Arc<Statement>>,
    /// The COPY FROM STDIN, read by hand.
    pub copy: Option<CopyFromStdin>,
    /// Types the client declared (0 = let the server infer).
    pub param_types: Vec<u32>,
    pub described: OnceLock<Described>,
}

/// A portal made by Bind.
#[derive(Debug, Clone)]
pub struct Portal {
    pub statement: Arc<Prepared>,
    pub params: Arc<[Option<Bytes>]>,
    pub param_formats: Arc<[i16]>,
    pub result_formats: Arc<[i16]>,
    pub name: String,
    /// The row limit of the Execute running it (0: none); set on the copy
    /// an Execute runs.
    pub row_limit: usize,
}

#[derive(Debug)]
pub struct Session {
    pub(crate) fe: Arc<Frontend>,
    pub(crate) db: Arc<Database>,
    pub(crate) conn: ClientConn,
    pub(super) user: String,
    /// SET values, startup and server parameters, for SHOW.
    pub(crate) settings: Settings,
    pub(crate) cancel: CancelHandle,
    /// This session's entry in the registry the admin plane lists.
    pub(crate) registered: SessionHandle,
    pub(crate) txn: Txn,
    statements: HashMap<String, Arc<Prepared>>,
    /// SQL-level PREPARE: name -> statement with `$n` placeholders.
    pub(super) sql_prepared: HashMap<String, Arc<Statement>>,
    portals: HashMap<String, Portal>,
    /// Portals stopped at an Execute's row limit, by name (`portal_run`).
    pub(super) runs: HashMap<String, super::portal_run::Suspended>,
    /// Where the session is in the message flow (`state.rs`).
    phase: Phase,
    /// Settings changed since the last ReadyForQuery, reported with
    /// ParameterStatus just before the next one (at most one per setting).
    pub(super) reports: Vec<(String, String)>,
    /// Set on an openGauss session: its deltas ([`crate::opengauss`]) apply.
    pub(crate) opengauss: Option<crate::opengauss::OgSession>,
}

impl Session {
    pub fn new(
        fe: Arc<Frontend>,
        db: Arc<Database>,
        conn: ClientConn,
        user: String,
        settings: Settings,
        cancel: CancelHandle,
        registered: SessionHandle,
    ) -> Session {
        Session {
            fe,
            db,
            conn,
            user,
            settings,
            cancel,
            registered,
            txn: Txn::default(),
            statements: HashMap::new(),
            sql_prepared: HashMap::new(),
            portals: HashMap::new(),
            runs: HashMap::new(),
            phase: Phase::Ready,
            reports: Vec::new(),
            opengauss: None,
        }
    }

    /// Serves this session as openGauss: Batch Bind is read from now on.
    pub(super) fn become_opengauss(&mut self, og: crate::opengauss::OgSession) {
        self.opengauss = Some(og);
        self.conn.codec_mut().allow_extension(b'U');
    }

    /// The statement a Parse made under `name`.
    pub(crate) fn prepared(&self, name: &str) -> Option<Arc<Prepared>> {
        self.statements.get(name).cloned()
    }

    pub(super) fn cluster(&self) -> Result<&PgCluster, StatementError> {
        self.db.pg.as_ref().ok_or_else(|| {
            StatementError::refused("0A000", "this database is not stored on PostgreSQL")
        })
    }

    /// Runs the session until the client leaves.
    pub async fn run(mut self) -> Result<(), SessionError> {
        let result = self.message_loop().await;
        Box::pin(self.abandon_transaction()).await;
        tracing::debug!(user = %self.user, database = %self.db.rules.name, "session closed");
        result
    }

    /// Reads messages and hands each to [`Session::message`]. The work on
    /// a message is boxed, so the session's task keeps only the read
    /// while the client is quiet: the futures that plan, execute and
    /// answer a statement (several KB) exist only while a statement runs.
    async fn message_loop(&mut self) -> Result<(), SessionError> {
        loop {
            let msg = match super::idle::next_message(&mut self.conn).await {
                None => return Ok(()),
                Some(Ok(msg)) => msg,
                Some(Err(e)) => return Box::pin(self.protocol_failure(e)).await,
            };
            if self.phase.skipping() {
                match msg {
                    FrontendMessage::Sync | FrontendMessage::Terminate => {}
                    // The error that started the skip is still in the
                    // write buffer: a client that waits on Flush (as
                    // postgres.js does after Parse + Describe) must get
                    // it now, not at the Sync it has not sent.
                    FrontendMessage::Flush => {
                        self.conn.flush().await?;
                        continue;
                    }
                    _ => continue,
                }
            }
            if Box::pin(self.message(msg)).await?.is_break() {
                return Ok(());
            }
        }
    }

    /// Answers one message; `Break` when the client said goodbye.
    async fn message(&mut self, msg: FrontendMessage) -> Result<ControlFlow<()>, SessionError> {
        let batch_execute = self.take_batch_execute();
        match msg {
            FrontendMessage::Execute { portal, .. } if batch_execute && portal.is_empty() => {}
            FrontendMessage::Query(sql) => {
                self.flush_pending_describe().await?;
                self.registered.statement_started(&sql);
                self.simple_query(&sql).await?;
                self.ready().await?;
            }
            FrontendMessage::Parse(parse) => {
                self.phase.transition(PhaseEvent::Extended);
                self.flush_pending_describe().await?;
                let result = self.parse(parse);
                self.extended_step(result, BackendMessage::ParseComplete)
                    .await?;
            }
            FrontendMessage::Bind(bind) => {
                self.phase.transition(PhaseEvent::Extended);
                self.flush_pending_describe().await?;
                if bind.portal.is_empty() {
                    // A new unnamed portal replaces the old one.
                    self.close_run("").await;
                }
                let result = self.bind(bind);
                self.extended_step(result, BackendMessage::BindComplete)
                    .await?;
            }
            FrontendMessage::Describe { kind, name } => {
                self.phase.transition(PhaseEvent::Extended);
                self.flush_pending_describe().await?;
                let result = self.describe(kind, name).await;
                if let Err(e) = result {
                    self.extended_error(e).await?;
                }
            }
            FrontendMessage::Execute { portal, max_rows } => {
                // PostgreSQL reads a limit of 0 or less as none.
                let limit = usize::try_from(max_rows).unwrap_or(0);
                self.phase.transition(PhaseEvent::Extended);
                if let Some(p) = self.portals.get(&portal) {
                    self.registered.statement_started(&p.statement.sql);
                }
                if let Some(result) = self.resume_portal(&portal, limit).await {
                    if let Err(e) = result {
                        self.extended_error(e).await?;
                    }
                    return Ok(ControlFlow::Continue(()));
                }
                if self
                    .conn
                    .codec()
                    .execute_before_sync(self.conn.read_buffer())
                {
                    // A pipelined batch, which PostgreSQL runs as one
                    // transaction.
                    self.begin_implicit();
                }
                let describe = self.phase.transition(PhaseEvent::TakeDescribe);
                if describe.as_ref().is_some_and(|d| *d != portal) {
                    // Not the portal described: answer that Describe
                    // on its own first.
                    self.describe_portal_now(describe.unwrap_or_default())
                        .await?;
                    self.execute_portal(&portal, false, limit).await?;
                } else {
                    self.execute_portal(&portal, describe.is_some(), limit)
                        .await?;
                }
            }
            FrontendMessage::Close { kind, name } => {
                self.phase.transition(PhaseEvent::Extended);
                self.flush_pending_describe().await?;
                match kind {
                    TargetKind::Statement => {
                        self.statements.remove(&name);
                    }
                    TargetKind::Portal => {
                        self.close_run(&name).await;
                        self.portals.remove(&name);
                    }
                }
                self.conn.feed(BackendMessage::CloseComplete).await?;
            }
            FrontendMessage::Sync => {
                self.flush_pending_describe().await?;
                self.phase.transition(PhaseEvent::Sync);
                // Outside a transaction block the Sync ends the implicit
                // transaction, and with it every portal; inside one they
                // live until the block ends.
                let explicit = self.txn.state.in_block() && !self.txn.state.implicit();
                if !explicit {
                    self.close_runs().await;
                    self.portals.clear();
                }
                if let Some(e) = self.end_implicit().await {
                    self.send_error(&e).await?;
                }
                self.ready().await?;
            }
            FrontendMessage::Flush => {
                self.phase.transition(PhaseEvent::Extended);
                self.flush_pending_describe().await?;
                self.conn.flush().await?;
            }
            FrontendMessage::Terminate => return Ok(ControlFlow::Break(())),
            FrontendMessage::Extension { tag: b'U', body } if self.opengauss.is_some() => {
                self.phase.transition(PhaseEvent::Extended);
                self.flush_pending_describe().await?;
                // Boxed: its future is large, and inline it would grow
                // the future of every message, which is moved into a box
                // per message (issue 20's memcpy).
                if let Err(e) = Box::pin(self.batch_bind(body)).await {
                    self.extended_error(e).await?;
                }
            }
            // Copy messages outside COPY are ignored, as the server does.
            FrontendMessage::CopyData(_)
            | FrontendMessage::CopyDone
            | FrontendMessage::CopyFail(_) => {}
            FrontendMessage::FunctionCall(_) => {
                let e = StatementError::refused(
                    "0A000",
                    "the fast-path function call interface is not supported by Shardwire",
                );
                self.send_error(&e).await?;
                self.ready().await?;
            }
            other => {
                return self
                    .fatal(
                        "08P01",
                        format!("unexpected message in a session: {other:?}"),
                    )
                    .await
                    .map(|()| ControlFlow::Continue(()))
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Framing errors end the session with a FATAL the client can read.
    async fn protocol_failure(&mut self, e: ProtocolError) -> Result<(), SessionError> {
        let code = match &e {
            ProtocolError::Io(_) => return Err(SessionError::Protocol(e)),
            _ => "08P01",
        };
        let _ = self.fatal(code, e.to_string()).await;
        Err(SessionError::Protocol(e))
    }

    async fn fatal(&mut self, code: &str, message: String) -> Result<(), SessionError> {
        self.conn
            .send(BackendMessage::ErrorResponse(ErrorFields::new(
                "FATAL", code, &message,
            )))
            .await?;
        Err(SessionError::Refused(message))
    }

    pub(super) async fn ready(&mut self) -> Result<(), SessionError> {
        for (name, value) in std::mem::take(&mut self.reports) {
            self.conn
                .feed(BackendMessage::ParameterStatus { name, value })
                .await?;
        }
        self.registered.waiting(
            super::state::listed(&self.phase, self.txn.state),
            self.txn.held.sources(),
        );
        self.conn
            .send(BackendMessage::ReadyForQuery(self.txn.status()))
            .await?;
        Ok(())
    }

    pub(super) async fn send_error(&mut self, e: &StatementError) -> Result<(), SessionError> {
        self.statement_failed();
        let mut fields = pg_error(e);
        if matches!(e, StatementError::Backend(_)) {
            crate::logical_names::logical_error(&self.db.rules, &mut fields);
        }
        self.conn
            .feed(BackendMessage::ErrorResponse(fields))
            .await?;
        Ok(())
    }

    pub(crate) async fn extended_error(&mut self, e: StatementError) -> Result<(), SessionError> {
        self.send_error(&e).await?;
        self.phase.transition(PhaseEvent::Failed);
        Ok(())
    }

    async fn extended_step(
        &mut self,
        result: Result<(), StatementError>,
        ok: BackendMessage,
    ) -> Result<(), SessionError> {
        match result {
            Ok(()) => Ok(self.conn.feed(ok).await?),
            Err(e) => self.extended_error(e).await,
        }
    }

    /// A simple Query: each statement in turn; the first error ends the
    /// string, as in PostgreSQL.
    async fn simple_query(&mut self, sql: &str) -> Result<(), SessionError> {
        let statements = super::split::split_statements(sql);
        if statements.is_empty() {
            self.conn.feed(BackendMessage::EmptyQueryResponse).await?;
            return Ok(());
        }
        // Several statements in one Query are one transaction, unless they
        // manage transactions themselves.
        if statements.len() > 1 {
            self.begin_implicit();
        }
        for statement in statements {
            let og_text = self.opengauss_text(statement);
            let statement = og_text.as_deref().unwrap_or(statement);
            if let Some(result) = self.execute_hand_read(statement).await {
                if let Err(e) = result {
                    self.send_error(&e).await?;
                    break;
                }
                continue;
            }
            if let Some(admin) = shardwire_kernel::distsql::parse_admin(statement) {
                let db = Arc::clone(&self.db);
                let result = match crate::metadata::run_admin(&db, admin).await {
                    Ok(()) => self
                        .conn
                        .feed(BackendMessage::CommandComplete(
                            "REFRESH TABLE METADATA".into(),
                        ))
                        .await
                        .map_err(session_to_statement),
                    Err(e) => Err(e),
                };
                if let Err(e) = result {
                    self.send_error(&e).await?;
                    break;
                }
                continue;
            }
            let literal = self.execute_literal(statement).await;
            let result = match literal {
                Some(result) => result,
                None => match self
                    .fe
                    .parse_cache
                    .parse(shardwire_kernel::Dialect::PostgreSql, statement)
                {
                    Ok(ast) => self.execute(statement, &ast, None, true, true).await,
                    Err(e) => Err(StatementError::Kernel(e)),
                },
            };
            if let Err(e) = result {
                self.send_error(&e).await?;
                break;
            }
        }
        if let Some(e) = self.end_implicit().await {
            self.send_error(&e).await?;
        }
        Ok(())
    }

    fn parse(&mut self, parse: Parse) -> Result<(), StatementError> {
        let Parse {
            name,
            mut query,
            param_types,
        } = parse;
        if let Some(text) = self.opengauss_text(&query) {
            query = text;
        }
        if !name.is_empty() && self.statements.contains_key(&name) {
            return Err(StatementError::refused(
                "42P05",
                format!("prepared statement \"{name}\" already exists"),
            ));
        }
        let copy = super::hand_read::copy_from_stdin(&query).transpose()?;
        let ast = match copy {
            Some(_) => None,
            None => Some(
                self.fe
                    .parse_cache
                    .parse(shardwire_kernel::Dialect::PostgreSql, &query)?,
            ),
        };
        if let Some(ast) = &ast {
            self.refuse_unknown_tables(ast)?;
        }
        self.statements.insert(
            name,
            Arc::new(Prepared {
                sql: query,
                ast,
                copy,
                param_types,
                described: OnceLock::new(),
            }),
        );
        Ok(())
    }

    /// PostgreSQL looks its relations up at Parse, so a statement on a
    /// table that does not exist fails there (42P01), not at the Execute
    /// after it: postgres.js waits on the Parse's answer (Parse, Describe,
    /// Flush) and must get the error then.
    fn refuse_unknown_tables(&self, ast: &Statement) -> Result<(), StatementError> {
        if super::catalog::is_catalog_query(ast) {
            return Ok(());
        }
        let context = shardwire_kernel::StatementContext::new(ast);
        if context.kind == shardwire_kernel::StatementKind::Ddl {
            // CREATE names tables that do not exist yet.
            return Ok(());
        }
        match context
            .tables
            .iter()
            .find_map(|t| shardwire_kernel::route::unknown_table(&self.db.rules, t))
        {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    fn bind(&mut self, bind: Bind) -> Result<(), StatementError> {
        let Some(statement) = self.statements.get(&bind.statement) else {
            return Err(StatementError::refused(
                "26000",
                format!("prepared statement \"{}\" does not exist", bind.statement),
            ));
        };
        if !bind.portal.is_empty() && self.portals.contains_key(&bind.portal) {
            return Err(StatementError::refused(
                "42P03",
                format!("portal \"{}\" already exists", bind.portal),
            ));
        }
        let formats_ok =
            bind.param_formats.len() <= 1 || bind.param_formats.len() == bind.params.len();
        if !formats_ok {
            return Err(StatementError::refused(
                "08P01",
                format!(
                    "bind message has {} parameter formats but {} parameters",
                    bind.param_formats.len(),
                    bind.params.len()
                ),
            ));
        }
        let portal = Portal {
            statement: Arc::clone(statement),
            params: bind.params.into(),
            param_formats: bind.param_formats.into(),
            result_formats: bind.result_formats.into(),
            name: bind.portal.clone(),
            row_limit: 0,
        };
        self.portals.insert(bind.portal, portal);
        Ok(())
    }

    async fn describe(&mut self, kind: TargetKind, name: String) -> Result<(), StatementError> {
        match kind {
            TargetKind::Statement => {
                let Some(statement) = self.statements.get(&name).cloned() else {
                    return Err(StatementError::refused(
                        "26000",
                        format!("prepared statement \"{name}\" does not exist"),
                    ));
                };
                let described = self.described(&statement).await?;
                self.conn
                    .feed(BackendMessage::ParameterDescription(
                        described.params.clone(),
                    ))
                    .await
                    .map_err(session_to_statement)?;
                self.send_description(described.row.as_deref(), &[]).await
            }
            TargetKind::Portal => {
                if !self.portals.contains_key(&name) {
                    return Err(StatementError::refused(
                        "34000",
                        format!("portal \"{name}\" does not exist"),
                    ));
                }
                // Answered together with the Execute that normally follows.
                self.phase.transition(PhaseEvent::DescribePortal(name));
                Ok(())
            }
        }
    }

    /// A Describe of a portal that no Execute followed: ask a backend.
    async fn flush_pending_describe(&mut self) -> Result<(), SessionError> {
        if let Some(name) = self.phase.transition(PhaseEvent::TakeDescribe) {
            self.describe_portal_now(name).await?;
        }
        Ok(())
    }

    async fn describe_portal_now(&mut self, name: String) -> Result<(), SessionError> {
        let Some(portal) = self.portals.get(&name).cloned() else {
            return Ok(());
        };
        let result = async {
            let described = self.described(&portal.statement).await?;
            self.send_description(described.row.as_deref(), &portal.result_formats)
                .await
        }
        .await;
        if let Err(e) = result {
            self.extended_error(e).await?;
        }
        Ok(())
    }

    /// RowDescription with the client's result formats, or NoData.
    pub(super) async fn send_description(
        &mut self,
        row: Option<&RowDescription>,
        result_formats: &[i16],
    ) -> Result<(), StatementError> {
        let msg = match row {
            Some(rd) => {
                let mut rd = rd.clone();
                for (i, field) in rd.fields.iter_mut().enumerate() {
                    field.format = super::values::result_format(result_formats, i);
                }
                BackendMessage::RowDescription(rd)
            }
            None => BackendMessage::NoData,
        };
        self.conn.feed(msg).await.map_err(session_to_statement)
    }

    /// Drops a portal whose run ended with its transaction.
    pub(super) fn forget_portal(&mut self, name: &str) {
        self.portals.remove(name);
    }

    async fn execute_portal(
        &mut self,
        name: &str,
        describe: bool,
        limit: usize,
    ) -> Result<(), SessionError> {
        let Some(mut portal) = self.portals.get(name).cloned() else {
            let e = StatementError::refused("34000", format!("portal \"{name}\" does not exist"));
            return self.extended_error(e).await;
        };
        // `portal` is a local copy (Arcs), so its statement is lent as it
        // is: no per-Execute copy of the SQL text.
        portal.row_limit = limit;
        let statement = &portal.statement;
        let result = match (&statement.ast, &statement.copy) {
            (Some(ast), _) => {
                // A write without RETURNING has no rows to describe: its
                // NoData goes out now, as the server sends it, so a failed
                // Execute still follows it (psycopg waits for both).
                let describe = if describe && writes_no_rows(ast) {
                    self.conn.feed(BackendMessage::NoData).await?;
                    false
                } else {
                    describe
                };
                self.execute(&statement.sql, ast, Some(&portal), describe, true)
                    .await
            }
            (None, Some(copy)) => {
                if describe {
                    self.conn.feed(BackendMessage::NoData).await?;
                }
                self.copy_in(copy.clone()).await
            }
            (None, None) => Err(StatementError::refused(
                "XX000",
                "a statement without a body",
            )),
        };
        if let Err(e) = result {
            self.extended_error(e).await?;
        }
        Ok(())
    }

    /// The statement's parameter types and row shape, asked of a backend
    /// once per prepared statement.
    pub(crate) async fn described(
        &mut self,
        statement: &Arc<Prepared>,
    ) -> Result<Described, StatementError> {
        if let Some(d) = statement.described.get() {
            return Ok(d.clone());
        }
        let described = self.describe_on_backend(statement).await?;
        let _ = statement.described.set(described.clone());
        Ok(described)
    }
}

/// INSERT, UPDATE or DELETE without RETURNING: no rows, whatever happens.
fn writes_no_rows(ast: &Statement) -> bool {
    match ast {
        Statement::Insert(i) => i.returning.is_none(),
        Statement::Update(u) => u.returning.is_none(),
        Statement::Delete(d) => d.returning.is_none(),
        _ => false,
    }
}

/// Writing to the client failed while answering a statement.
pub(crate) fn session_to_statement(e: ProtocolError) -> StatementError {
    StatementError::refused("08006", format!("writing to the client failed: {e}"))
}
