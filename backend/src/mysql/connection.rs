//! [`MySqlConnection`]: one logged-in MySQL/MariaDB session, its state,
//! and the one place where packets are written and read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::{FutureExt, SinkExt, StreamExt};
use shardwire_protocol::mysql::constants::status::{
    SERVER_STATUS_AUTOCOMMIT, SERVER_STATUS_IN_TRANS,
};
use shardwire_protocol::mysql::{
    BinaryType, ColumnDefinition, Command, ErrPacket, MySqlCodec, OkPacket, Packet, ERR_HEADER,
    OK_HEADER,
};
use shardwire_rules::snapshot::{DataSource, DatabaseProtocol};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use super::kill::KillToken;
use super::options::ConnectOptions;
use super::query::{MySqlQuery, MySqlResultSet};
use super::results::ReadState;
use super::server_error::MySqlServerError;
use super::statement_cache::StatementCache;
use crate::error::{BackendError, Result};
use crate::socket::Socket;

/// One authenticated MySQL (or MariaDB) session.
#[derive(Debug)]
pub struct MySqlConnection {
    pub(crate) framed: Framed<Socket, MySqlCodec>,
    pub(crate) caps: u32,
    pub(crate) status: u16,
    pub(crate) state: ReadState,
    /// Columns of the current result set, and their binary types when the
    /// rows are binary (answers to COM_STMT_EXECUTE).
    pub(crate) columns: Option<Arc<[ColumnDefinition]>>,
    pub(crate) binary_types: Option<Arc<[BinaryType]>>,
    /// Set when the socket or the protocol failed, when the server ended
    /// the session, and while a write is in flight.
    pub(crate) broken: bool,
    connection_id: u32,
    server_version: String,
    kill: Option<KillToken>,
    /// Statements kept prepared for executions (prepare_cached).
    pub(crate) statements: StatementCache,
    created: Instant,
    pub(crate) idle_since: Instant,
    /// Session variables a client session gave this connection
    /// (`replay`), sorted by name.
    pub(crate) replayed: Vec<super::replay::Replayed>,
}

impl MySqlConnection {
    /// Opens a session to `source` with [`ConnectOptions::default`]. The
    /// data source's connection timeout bounds the whole handshake, not
    /// only the TCP connect; zero means no limit.
    pub async fn connect(source: &DataSource) -> Result<MySqlConnection> {
        Self::connect_with(source, &ConnectOptions::default()).await
    }

    pub async fn connect_with(
        source: &DataSource,
        opts: &ConnectOptions,
    ) -> Result<MySqlConnection> {
        check_source(source)?;
        let limit = source.connection_timeout;
        if limit.is_zero() {
            return Self::connect_unbounded(source, opts).await;
        }
        tokio::time::timeout(limit, Self::connect_unbounded(source, opts))
            .await
            .map_err(|_| BackendError::Timeout {
                what: "connecting and logging in",
                after: limit,
            })?
    }

    async fn connect_unbounded(
        source: &DataSource,
        opts: &ConnectOptions,
    ) -> Result<MySqlConnection> {
        let stream = TcpStream::connect((source.host.as_str(), source.port))
            .await
            .map_err(|e| BackendError::Connect {
                host: source.host.clone(),
                port: source.port,
                source: e,
            })?;
        stream.set_nodelay(true)?;
        let now = Instant::now();
        let codec = MySqlCodec::new().with_max_packet_len(opts.max_packet_len);
        let mut conn = MySqlConnection {
            framed: Framed::new(Socket::Tcp(stream), codec),
            caps: 0,
            status: 0,
            state: ReadState::Idle,
            columns: None,
            binary_types: None,
            broken: false,
            connection_id: 0,
            server_version: String::new(),
            kill: None,
            statements: StatementCache::default(),
            created: now,
            idle_since: now,
            replayed: Vec::new(),
        };
        let outcome = super::login::login(&mut conn, source, opts).await?;
        conn.caps = outcome.capabilities;
        conn.status = outcome.ok.status;
        conn.connection_id = outcome.handshake.connection_id;
        conn.server_version = outcome.handshake.server_version;
        conn.kill = Some(KillToken::new(source, conn.connection_id));
        Ok(conn)
    }

    /// The server's connection id (what `KILL` takes).
    pub fn connection_id(&self) -> u32 {
        self.connection_id
    }

    /// The version string of the handshake (MariaDB's starts `5.5.5-`).
    pub fn server_version(&self) -> &str {
        &self.server_version
    }

    /// The negotiated capability flags.
    pub fn capabilities(&self) -> u32 {
        self.caps
    }

    /// Status flags of the last OK or EOF packet.
    pub fn status_flags(&self) -> u16 {
        self.status
    }

    /// True inside a transaction (SERVER_STATUS_IN_TRANS).
    pub fn in_transaction(&self) -> bool {
        self.status & SERVER_STATUS_IN_TRANS != 0
    }

    pub fn autocommit(&self) -> bool {
        self.status & SERVER_STATUS_AUTOCOMMIT != 0
    }

    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// True when a request's answer has not been read to its end.
    pub fn has_pending_results(&self) -> bool {
        !matches!(self.state, ReadState::Idle)
    }

    pub fn age(&self) -> Duration {
        self.created.elapsed()
    }

    pub fn idle_for(&self) -> Duration {
        self.idle_since.elapsed()
    }

    /// A token another task can use to interrupt this session's query.
    pub fn kill_token(&self) -> Option<KillToken> {
        self.kill.clone()
    }

    /// Runs `KILL QUERY` for this session over a second connection.
    pub async fn kill_query(&self) -> Result<()> {
        match &self.kill {
            Some(k) => k.kill_query().await,
            None => Err(BackendError::Internal("connection without a kill token")),
        }
    }

    /// Runs COM_QUERY (several statements allowed with multi-statements)
    /// and streams the answers.
    pub async fn query(&mut self, sql: &str) -> Result<MySqlQuery<'_>> {
        self.begin_request().await?;
        self.send_command(&Command::Query(Bytes::copy_from_slice(sql.as_bytes())))
            .await?;
        self.state = ReadState::Response { binary: false };
        Ok(MySqlQuery::new(self))
    }

    /// [`MySqlConnection::query`], buffered: one result per statement.
    pub async fn simple_query(&mut self, sql: &str) -> Result<Vec<MySqlResultSet>> {
        self.query(sql).await?.collect().await
    }

    /// COM_PING.
    pub async fn ping(&mut self) -> Result<()> {
        self.simple_command(&Command::Ping, "pinging")
            .await
            .map(drop)
    }

    /// Checks the session with COM_PING: the cheapest full round trip.
    pub async fn health_check(&mut self) -> Result<()> {
        self.ping().await
    }

    /// COM_INIT_DB: switches the default schema.
    pub async fn init_db(&mut self, schema: &str) -> Result<()> {
        self.simple_command(&Command::InitDb(schema.to_owned()), "changing schema")
            .await
            .map(drop)
    }

    /// COM_RESET_CONNECTION: rolls back, drops temporary tables, prepared
    /// statements and user variables, and resets session variables,
    /// without a new login.
    pub async fn reset_connection(&mut self) -> Result<()> {
        // Whatever the outcome, the kept statements may be gone: a failed
        // reset breaks the session, a good one drops them on the server.
        self.statements.clear();
        // The server's reset brings the variables back to their defaults.
        self.replayed.clear();
        self.simple_command(&Command::ResetConnection, "resetting the session")
            .await
            .map(drop)
    }

    /// Gives up the session's socket and any bytes already read from it,
    /// so the caller can relay the session raw (passthrough sessions, the
    /// eBPF splice). Only an idle session with nothing in flight can be
    /// handed over: anything else would leave the two ends out of step.
    pub fn into_socket(self) -> Result<(TcpStream, Bytes)> {
        if self.broken || self.has_pending_results() {
            return Err(BackendError::Broken);
        }
        let parts = self.framed.into_parts();
        match parts.io {
            Socket::Tcp(io) => Ok((io, parts.read_buf.freeze())),
            // The MySQL client never opens TLS, so only a lent socket.
            Socket::Lent | Socket::Tls(_) => Err(BackendError::Broken),
        }
    }

    /// Ends the session politely (COM_QUIT); errors are ignored.
    pub async fn close(mut self) {
        if !self.broken && !self.has_pending_results() {
            let _ = self.send_command(&Command::Quit).await;
        }
    }

    /// Best-effort check, without waiting, that an idle session is still
    /// alive. An idle MySQL server sends nothing, so anything readable (an
    /// ERR at shutdown, a closed socket) means the session is over.
    pub fn check_idle(&mut self) -> bool {
        if self.broken || self.has_pending_results() {
            return false;
        }
        if self.framed.next().now_or_never().is_some() {
            self.broken = true;
            return false;
        }
        true
    }

    // ---- requests ----

    /// Refuses a request on a broken session and reads away the rest of
    /// an abandoned answer.
    pub(crate) async fn begin_request(&mut self) -> Result<()> {
        if self.broken {
            return Err(BackendError::Broken);
        }
        while self.has_pending_results() {
            match self.next_event().await {
                Ok(_) | Err(BackendError::MySqlServer(_)) if !self.broken => {}
                Ok(_) | Err(BackendError::MySqlServer(_)) => return Err(BackendError::Broken),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Sends a command as a new exchange (sequence id 0).
    pub(crate) async fn send_command(&mut self, cmd: &Command) -> Result<()> {
        let mut buf = BytesMut::new();
        cmd.encode(self.caps, &mut buf)?;
        self.framed.codec_mut().reset_seq();
        self.send_raw(buf.freeze()).await
    }

    /// Sends one packet with the next sequence id. The session counts as
    /// broken while the write is in flight: if this future is dropped
    /// half-way, the server may hold half a packet.
    pub(crate) async fn send_raw(&mut self, payload: Bytes) -> Result<()> {
        let packet = self.framed.codec().packet(payload);
        self.broken = true;
        self.framed.send(packet).await?;
        self.broken = false;
        Ok(())
    }

    /// Reads the next packet; a failure or a closed socket breaks the
    /// session.
    pub(crate) async fn recv_raw(&mut self) -> Result<Packet> {
        match self.framed.next().await {
            Some(Ok(p)) => Ok(p),
            Some(Err(e)) => {
                self.broken = true;
                Err(e.into())
            }
            None => {
                self.broken = true;
                Err(BackendError::Closed)
            }
        }
    }

    /// A command answered by one OK or ERR.
    pub(crate) async fn simple_command(
        &mut self,
        cmd: &Command,
        during: &'static str,
    ) -> Result<OkPacket> {
        self.begin_request().await?;
        self.send_command(cmd).await?;
        let packet = self.recv_raw().await?;
        self.read_ok(packet, during)
    }

    pub(crate) fn read_ok(&mut self, packet: Packet, during: &'static str) -> Result<OkPacket> {
        self.idle_since = Instant::now();
        match packet.header() {
            Some(OK_HEADER) => {
                let ok = self.decoded(OkPacket::decode(packet.payload, self.caps))?;
                self.status = ok.status;
                Ok(ok)
            }
            Some(ERR_HEADER) => Err(self.server_error(packet.payload)),
            other => Err(self.unexpected(format!("packet with header {other:02x?}"), during)),
        }
    }

    /// Decodes an ERR packet into the error to return, breaking the
    /// session if the server ended it.
    pub(crate) fn server_error(&mut self, payload: Bytes) -> BackendError {
        match ErrPacket::decode(payload) {
            Ok(e) => {
                let e = MySqlServerError::from(e);
                if e.is_fatal() {
                    self.broken = true;
                }
                BackendError::from(e)
            }
            Err(e) => {
                self.broken = true;
                e.into()
            }
        }
    }

    /// A decode failure leaves the session's position unknown.
    pub(crate) fn decoded<T>(&mut self, r: shardwire_protocol::Result<T>) -> Result<T> {
        r.map_err(|e| {
            self.broken = true;
            self.state = ReadState::Idle;
            e.into()
        })
    }

    pub(crate) fn unexpected(&mut self, message: String, during: &'static str) -> BackendError {
        self.broken = true;
        self.state = ReadState::Idle;
        BackendError::Unexpected { message, during }
    }

    pub(crate) fn deprecate_eof(&self) -> bool {
        self.caps & shardwire_protocol::mysql::constants::capability::CLIENT_DEPRECATE_EOF != 0
    }
}

/// Refuses data sources this client cannot serve before opening a socket.
fn check_source(source: &DataSource) -> Result<()> {
    let refuse = |reason: String| BackendError::Config {
        name: source.name.clone(),
        reason,
    };
    if source.protocol != DatabaseProtocol::MySql {
        return Err(refuse(format!(
            "protocol {:?} is not served by the MySQL client",
            source.protocol
        )));
    }
    // TLS to backends is not implemented: refuse instead of silently
    // connecting in the clear when the URL demands encryption.
    for key in ["useSSL", "requireSSL"] {
        if source
            .params
            .get(key)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            return Err(refuse(format!(
                "{key}=true asks for TLS, which the backend client does not support yet"
            )));
        }
    }
    if let Some(mode) = source.params.get("sslMode") {
        if matches!(
            mode.to_ascii_uppercase().as_str(),
            "REQUIRED" | "VERIFY_CA" | "VERIFY_IDENTITY"
        ) {
            return Err(refuse(format!(
                "sslMode={mode} asks for TLS, which the backend client does not support yet"
            )));
        }
    }
    Ok(())
}
