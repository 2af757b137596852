//! One MySQL client session after login: the command loop and the
//! session's state (database, variables, autocommit, transaction, prepared
//! statements).
//!
//! Each command starts at sequence id 0 and its answer is numbered on from
//! there. Answers are written into one buffer and flushed once per
//! command, or once per run of commands the client pipelined.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use shardwire_backend::cluster::MySqlCluster;
use shardwire_backend::mysql::Replayed;
use shardwire_kernel::parse::{open_executable_comments, MySqlServer};
use shardwire_protocol::mysql::constants::status::{
    SERVER_MORE_RESULTS_EXISTS, SERVER_STATUS_AUTOCOMMIT, SERVER_STATUS_IN_TRANS,
};
use shardwire_protocol::mysql::{
    ChangeUser, Command, ErrPacket, OkPacket, MYSQL_OPTION_MULTI_STATEMENTS_OFF,
    MYSQL_OPTION_MULTI_STATEMENTS_ON,
};
use shardwire_protocol::ProtocolError;

use super::conn::ClientConn;
use super::login::{self, Login};
use super::prepared::Prepared;
use super::split::split_statements;
use super::txn::Txn;
use crate::core::registry::SessionHandle;
use crate::error::{mysql_error, SessionError, StatementError};
use crate::server::{Database, Frontend};

#[derive(Debug)]
pub struct Session {
    pub(super) fe: Arc<Frontend>,
    pub(super) conn: ClientConn,
    pub(super) user: String,
    pub(super) host: String,
    pub(super) db: Option<Arc<Database>>,
    pub(super) connection_id: u32,
    /// Session variables set by SET, by lower-case name, for SELECT @@
    /// and SHOW VARIABLES.
    pub(super) vars: HashMap<String, String>,
    /// The SET variables the shards must see, sorted by name (`settings`).
    pub(super) settings: Vec<Replayed>,
    pub(super) autocommit: bool,
    pub(super) txn: Txn,
    pub(super) statements: HashMap<u32, Prepared>,
    pub(super) next_statement: u32,
    pub(super) multi_statements: bool,
    /// What LAST_INSERT_ID() answers: the last generated or auto-increment
    /// key of this session.
    pub(super) last_insert_id: u64,
    /// The backends' server, which judges executable comments; asked of
    /// the first data source the first time one is seen.
    pub(super) backend_server: Option<MySqlServer>,
    /// This session's entry in the registry the admin plane lists.
    pub(super) registered: SessionHandle,
}

impl Session {
    pub fn new(fe: Arc<Frontend>, login: Login, registered: SessionHandle) -> Session {
        let multi_statements = login.conn.caps
            & shardwire_protocol::mysql::constants::capability::CLIENT_MULTI_STATEMENTS
            != 0;
        Session {
            fe,
            conn: login.conn,
            user: login.user,
            host: login.host,
            db: login.database,
            connection_id: login.connection_id,
            vars: HashMap::new(),
            settings: Vec::new(),
            autocommit: true,
            txn: Txn::default(),
            statements: HashMap::new(),
            next_statement: 1,
            multi_statements,
            last_insert_id: 0,
            backend_server: None,
            registered,
        }
    }

    /// Status flags for an answer; `more` when another result follows.
    pub(super) fn status(&self, more: bool) -> u16 {
        let mut s = 0;
        if self.autocommit {
            s |= SERVER_STATUS_AUTOCOMMIT;
        }
        if self.client_in_transaction() {
            s |= SERVER_STATUS_IN_TRANS;
        }
        if more {
            s |= SERVER_MORE_RESULTS_EXISTS;
        }
        s
    }

    /// The current database, or ERR 1046 when none is chosen.
    pub(super) fn database(&self) -> Result<Arc<Database>, StatementError> {
        self.db
            .clone()
            .ok_or_else(|| StatementError::refused("3D000", "No database selected"))
    }

    pub(super) fn cluster(&self) -> Result<&MySqlCluster, StatementError> {
        self.db
            .as_ref()
            .and_then(|d| d.mysql.as_ref())
            .ok_or_else(|| StatementError::refused("3D000", "No database selected"))
    }

    /// An OK for a statement without rows.
    pub(super) fn ok(
        &mut self,
        affected: u64,
        last_insert_id: u64,
        more: bool,
    ) -> Result<(), StatementError> {
        let ok = OkPacket {
            affected_rows: affected,
            last_insert_id,
            status: self.status(more),
            ..OkPacket::default()
        };
        self.conn.write_ok(&ok).map_err(wire_error)
    }

    /// Runs the session until the client leaves.
    pub async fn run(mut self) -> Result<(), SessionError> {
        let result = self.command_loop().await;
        // Answers to commands pipelined before a COM_QUIT (or before the
        // client closed its side) still go out.
        let _ = self.conn.flush().await;
        self.abandon_transaction().await;
        tracing::debug!(user = %self.user, "MySQL session closed");
        result
    }

    async fn command_loop(&mut self) -> Result<(), SessionError> {
        loop {
            self.conn.start_command();
            let packet = match self.conn.recv().await {
                Ok(Some(p)) => p,
                Ok(None) => return Ok(()),
                Err(e) => return self.protocol_failure(e).await,
            };
            let command = match Command::decode(packet.payload, self.conn.caps) {
                Ok(c) => c,
                Err(e) => {
                    self.conn.write_err(&ErrPacket::new(
                        1835,
                        "HY000",
                        format!("Malformed communication packet: {e}"),
                    ))?;
                    self.conn.flush().await?;
                    return Err(SessionError::Protocol(e));
                }
            };
            match command {
                Command::Quit => return Ok(()),
                Command::Ping => self.answer(Ok(()), |s| s.ok(0, 0, false))?,
                Command::InitDb(name) => {
                    let result = self.use_database(&name).await;
                    self.answer(result, |s| s.ok(0, 0, false))?;
                }
                Command::Query(sql) => self.com_query(sql).await?,
                Command::FieldList { table, .. } => {
                    let result = self.field_list(&table).await;
                    self.answer(result, |_| Ok(()))?;
                }
                Command::StmtPrepare(sql) => {
                    let result = self.prepare(&sql).await;
                    self.answer(result, |_| Ok(()))?;
                }
                Command::StmtExecute(exec) => {
                    if let Some(p) = self.statements.get(&exec.statement_id) {
                        self.registered.statement_started(p.sql());
                    }
                    let result = self.execute(&exec).await;
                    self.answer(result, |_| Ok(()))?;
                }
                Command::StmtSendLongData {
                    statement_id,
                    param_id,
                    data,
                } => {
                    // No answer, as the server gives none.
                    self.send_long_data(statement_id, param_id, data);
                }
                Command::StmtClose(id) => {
                    // No answer either.
                    self.statements.remove(&id);
                }
                Command::StmtReset(id) => {
                    let result = self.reset_statement(id);
                    self.answer(result, |s| s.ok(0, 0, false))?;
                }
                Command::StmtFetch { .. } => {
                    let e = StatementError::refused(
                        "0A000",
                        "cursors (COM_STMT_FETCH) are not supported by Shardwire",
                    );
                    self.answer(Err(e), |_| Ok(()))?;
                }
                Command::ResetConnection => {
                    self.reset_session().await;
                    self.answer(Ok(()), |s| s.ok(0, 0, false))?;
                }
                Command::SetOption(option) => {
                    let result = match option {
                        MYSQL_OPTION_MULTI_STATEMENTS_ON => {
                            self.multi_statements = true;
                            Ok(())
                        }
                        MYSQL_OPTION_MULTI_STATEMENTS_OFF => {
                            self.multi_statements = false;
                            Ok(())
                        }
                        other => Err(StatementError::refused(
                            "HY000",
                            format!("Unknown option {other} to COM_SET_OPTION"),
                        )),
                    };
                    // MySQL answers COM_SET_OPTION with an EOF.
                    self.answer(result, |s| {
                        let (status, caps) = (s.status(false), s.conn.caps);
                        s.conn
                            .write(|w| w.result_end(status, 0, caps))
                            .map_err(wire_error)
                    })?;
                }
                Command::ChangeUser(change) => {
                    if !self.change_user(change).await? {
                        return Ok(());
                    }
                }
                Command::Statistics => {
                    let text = format!("Uptime: 0  Threads: {}  Questions: 0", 1);
                    self.conn.write_payload(text.as_bytes())?;
                }
                Command::ProcessKill(id) => {
                    let e = StatementError::refused("HY000", format!("Unknown thread id: {id}"));
                    self.answer(Err(e), |_| Ok(()))?;
                }
                Command::Debug => {
                    let (status, caps) = (self.status(false), self.conn.caps);
                    self.conn.write(|w| w.result_end(status, 0, caps))?;
                }
                Command::Other { code, .. } => {
                    self.conn.write_err(&ErrPacket::new(
                        1047,
                        "08S01",
                        format!("Unknown command 0x{code:02x}"),
                    ))?;
                }
            }
            self.registered
                .waiting(self.txn.state.listed(), self.txn.held_sources());
            if !self.conn.has_buffered_packet() {
                self.conn.flush().await?;
            }
        }
    }

    /// Writes `ok` on success, the ERR for the error otherwise.
    fn answer(
        &mut self,
        result: Result<(), StatementError>,
        ok: impl FnOnce(&mut Self) -> Result<(), StatementError>,
    ) -> Result<(), SessionError> {
        let result = result.and_then(|()| ok(self));
        match result {
            Ok(()) => Ok(()),
            Err(e) => self.write_error(&e),
        }
    }

    pub(super) fn write_error(&mut self, e: &StatementError) -> Result<(), SessionError> {
        if let StatementError::Refused {
            code: "08S01",
            message,
        } = e
        {
            if message.starts_with("client:") {
                return Err(SessionError::Refused(message.clone()));
            }
        }
        let (code, state, message) = mysql_error(e);
        self.conn
            .write_err(&ErrPacket::new(code, &state, message))?;
        Ok(())
    }

    /// COM_QUERY: every statement of the string, each result flagged when
    /// another follows; the first error ends the string, as in MySQL.
    async fn com_query(&mut self, sql: Bytes) -> Result<(), SessionError> {
        let Ok(text) = std::str::from_utf8(&sql) else {
            let e = StatementError::refused("HY000", "the query is not valid UTF-8");
            return self.write_error(&e);
        };
        self.registered.statement_started(text);
        let opened = match self.open_comments(text).await {
            Ok(t) => t,
            Err(e) => return self.write_error(&e),
        };
        let statements = split_statements(&opened);
        if statements.is_empty() {
            return self.write_error(&StatementError::refused("42000", "Query was empty"));
        }
        if statements.len() > 1 && !self.multi_statements {
            return self.write_error(&StatementError::refused(
                "42000",
                "You have an error in your SQL syntax: several statements in one query \
                 need CLIENT_MULTI_STATEMENTS",
            ));
        }
        let last = statements.len() - 1;
        for (i, statement) in statements.into_iter().enumerate() {
            if let Err(e) = self.run_statement(statement, i < last).await {
                if let StatementError::Refused { code: "08S01", .. } = &e {
                    // The client went away mid-answer.
                    return Err(SessionError::Refused(e.to_string()));
                }
                if e.is_connection_loss() {
                    self.abandon_transaction().await;
                }
                self.write_error(&e)?;
                break;
            }
            self.conn.flush_if_full().await?;
        }
        Ok(())
    }

    /// `sql` with the executable comments (`/*!40101 ... */`,
    /// `/*M!100100 ... */`) the backend server would run opened, so the
    /// proxy sees the statements the server will. Before a database is
    /// chosen there is no backend to ask: the version the proxy announces
    /// judges.
    pub(super) async fn open_comments<'a>(
        &mut self,
        sql: &'a str,
    ) -> Result<Cow<'a, str>, StatementError> {
        if !sql.contains("/*!") && !sql.contains("/*M!") {
            return Ok(Cow::Borrowed(sql));
        }
        let server = match (self.backend_server, self.cluster()) {
            (Some(server), _) => server,
            (None, Ok(cluster)) => {
                let conn = cluster.pool(cluster.first())?.get().await?;
                let server = MySqlServer::from_handshake(conn.server_version());
                self.backend_server = Some(server);
                server
            }
            (None, Err(_)) => {
                MySqlServer::from_handshake(&self.fe.snapshot.global.mysql_server_version)
            }
        };
        Ok(open_executable_comments(sql, server))
    }

    /// COM_INIT_DB and USE.
    pub(super) async fn use_database(&mut self, name: &str) -> Result<(), StatementError> {
        let name = name.trim().trim_matches('`');
        match login::choose_database(&self.fe, &self.user, &self.host, name) {
            Ok(db) => {
                self.registered.set_login(&self.user, Some(&db.rules.name));
                self.db = Some(db);
                self.backend_server = None;
                Ok(())
            }
            Err(err) => Err(StatementError::Backend(
                shardwire_backend::BackendError::MySqlServer(Box::new(err.into())),
            )),
        }
    }

    /// COM_RESET_CONNECTION: back to a fresh session without a new login.
    async fn reset_session(&mut self) {
        self.abandon_transaction().await;
        self.statements.clear();
        self.vars.clear();
        self.settings.clear();
        self.autocommit = true;
        self.last_insert_id = 0;
    }

    /// COM_CHANGE_USER: a full re-authentication (AuthSwitchRequest to
    /// mysql_native_password with a fresh scramble); on success the
    /// session starts over as the new user. False when the session must
    /// end (wrong credentials: MySQL closes it too).
    async fn change_user(&mut self, change: ChangeUser) -> Result<bool, SessionError> {
        self.reset_session().await;
        let account = self
            .fe
            .snapshot
            .global
            .find_user(&change.username, &self.host);
        let password = match account {
            Some(a) => a.password.clone(),
            None => String::from_utf8_lossy(&login::new_scramble()?).into_owned(),
        };
        let passed = login::switch_to_native(&mut self.conn, &password).await?;
        if !passed || account.is_none() {
            let err = login::access_denied(&change.username, &self.host, true);
            self.conn.write_err(&err)?;
            self.conn.flush().await?;
            return Ok(false);
        }
        self.user = change.username;
        self.db = None;
        self.backend_server = None;
        if !change.database.is_empty() {
            match login::choose_database(&self.fe, &self.user, &self.host, &change.database) {
                Ok(db) => self.db = Some(db),
                Err(err) => {
                    self.conn.write_err(&err)?;
                    self.conn.flush().await?;
                    return Ok(false);
                }
            }
        }
        self.registered
            .set_login(&self.user, self.db.as_ref().map(|d| d.rules.name.as_str()));
        self.ok(0, 0, false)
            .map_err(|e| SessionError::Refused(e.to_string()))?;
        Ok(true)
    }

    /// Framing errors end the session; the client is told why first, with
    /// MySQL's own errors for a packet over the limit
    /// (ER_NET_PACKET_TOO_LARGE) and a wrong sequence id
    /// (ER_NET_PACKETS_OUT_OF_ORDER).
    async fn protocol_failure(&mut self, e: ProtocolError) -> Result<(), SessionError> {
        if matches!(e, ProtocolError::Io(_)) {
            return Err(SessionError::Protocol(e));
        }
        let err = if matches!(e, ProtocolError::MessageTooLong { .. }) {
            ErrPacket::new(
                1153,
                "08S01",
                "Got a packet bigger than 'max_allowed_packet' bytes",
            )
        } else if matches!(e, ProtocolError::PacketOutOfOrder { .. }) {
            ErrPacket::new(1156, "08S01", "Got packets out of order")
        } else {
            ErrPacket::new(
                1835,
                "HY000",
                format!("Malformed communication packet: {e}"),
            )
        };
        self.conn.framed.codec_mut().set_next_seq(1);
        if self.conn.write_err(&err).is_ok() {
            let _ = self.conn.flush().await;
        }
        Err(SessionError::Protocol(e))
    }
}

/// Encoding an answer failed: the proxy's own fault.
pub(super) fn wire_error(e: ProtocolError) -> StatementError {
    StatementError::refused("HY000", format!("cannot encode the answer: {e}"))
}
