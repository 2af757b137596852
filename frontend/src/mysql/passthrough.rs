//! A MySQL login that names a passthrough database (one data source, no
//! rules): after the proxy's own login OK, the client is joined to one
//! backend session and every byte is relayed both ways, spliced in the
//! kernel when it can be (plain sockets), copied in user space otherwise
//! (TLS clients).
//!
//! Relaying raw packets is only correct when both ends read them the same
//! way, so the backend session must have negotiated what the client did:
//!
//! - capability flags that change packets or their sequence
//!   ([`WIRE_CAPS`]): CLIENT_DEPRECATE_EOF (OK instead of EOF after rows),
//!   CLIENT_MULTI_STATEMENTS / MULTI_RESULTS / PS_MULTI_RESULTS (whether
//!   several result sets may follow one command), CLIENT_SESSION_TRACK (the
//!   OK packet's layout), CLIENT_FOUND_ROWS (what affected rows count),
//!   CLIENT_QUERY_ATTRIBUTES (the COM_QUERY layout), CLIENT_COMPRESS and
//!   CLIENT_OPTIONAL_RESULTSET_METADATA. A pooled session that differs is
//!   left in the pool and a session with the client's flags is opened; if
//!   the server cannot agree either, the client gets an error;
//! - the character set: the client's handshake collation is set on the
//!   backend session by name (`SET NAMES cs COLLATE coll`, looked up once
//!   per id in the server's own collation list: MariaDB refuses ids in
//!   `SET character_set_client = 224`); an id the server does not know
//!   gets the server's defaults, as a direct login with it would;
//! - the schema: the data source's database, chosen again with
//!   COM_INIT_DB, since a pooled session may have served a `USE`.
//!
//! The backend session is set up before the client's login is answered,
//! so a backend that is down or cannot agree refuses the login itself.
//!
//! Only a login that names the database is spliced; a client that logs in
//! without one and then says `USE` stays in the routed session.
//!
//! A pooled backend session keeps its pool slot while its socket is lent
//! to the splice, and goes back after a clean goodbye: the client's
//! COM_QUIT is withheld (the splice's farewell rule), then
//! `MySqlConnection::reset_session` must see COM_RESET_CONNECTION and a
//! nonce SELECT answered exactly, within [`RESET_LIMIT`]. Otherwise, and
//! for sessions opened for one client's flags, the backend session is
//! closed, and killed (KILL CONNECTION on a side connection) when the
//! client's side ended it, so a statement the client left running stops.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use shardwire_backend::mysql::{ConnectOptions, MySqlConnection, PooledMySqlConnection};
use shardwire_fastpath::{Side, SplicePair};
use shardwire_protocol::mysql::constants::capability::{
    CLIENT_COMPRESS, CLIENT_DEPRECATE_EOF, CLIENT_FOUND_ROWS, CLIENT_MULTI_RESULTS,
    CLIENT_MULTI_STATEMENTS, CLIENT_OPTIONAL_RESULTSET_METADATA, CLIENT_PS_MULTI_RESULTS,
    CLIENT_QUERY_ATTRIBUTES, CLIENT_SESSION_TRACK,
};
use shardwire_protocol::mysql::ErrPacket;
use tokio::net::TcpStream;

use super::login::Login;
use crate::error::SessionError;
use crate::passthrough::Returned;
use crate::server::{Database, Frontend};
use crate::tls::ClientStream;

/// Capability flags both ends must agree on for raw relaying.
const WIRE_CAPS: u32 = CLIENT_DEPRECATE_EOF
    | CLIENT_MULTI_STATEMENTS
    | CLIENT_MULTI_RESULTS
    | CLIENT_PS_MULTI_RESULTS
    | CLIENT_SESSION_TRACK
    | CLIENT_FOUND_ROWS
    | CLIENT_QUERY_ATTRIBUTES
    | CLIENT_COMPRESS
    | CLIENT_OPTIONAL_RESULTSET_METADATA;

/// utf8mb4_general_ci: the collation the backend client logs in with.
const BACKEND_COLLATION: u8 = 45;

/// COM_QUIT as the client sends it: a one-byte payload at sequence id 0.
/// Withheld when it is the client's last message, so a pooled backend
/// session outlives the client.
const COM_QUIT: [u8; 5] = [1, 0, 0, 0, 1];

/// How long the reset may take before the session is closed instead.
const RESET_LIMIT: Duration = Duration::from_secs(2);

/// The backend session a client is joined to: on loan from the pool (its
/// capability flags matched), or opened for this client alone.
enum Backend {
    Pooled(PooledMySqlConnection),
    Own(MySqlConnection),
}

pub async fn relay(
    fe: &Arc<Frontend>,
    mut login: Login,
    db: &Database,
) -> Result<(), SessionError> {
    let mut backend = match backend_session(db, login.conn.caps, login.charset).await {
        Ok(b) => b,
        Err(err) => {
            // The client is still logging in: the refusal answers its
            // handshake, numbered as the login's next packet.
            let message = err.message.clone();
            login.refuse(err).await?;
            return Err(SessionError::Refused(message));
        }
    };
    login.accept().await?;
    let Login { conn, .. } = login;
    let kill = match &backend {
        Backend::Pooled(c) => c.kill_token(),
        Backend::Own(c) => c.kill_token(),
    };
    let taken = match &mut backend {
        Backend::Pooled(c) => c.lend_socket(),
        Backend::Own(c) => c.lend_socket(),
    };
    let (server, server_pending) =
        taken.map_err(|e| SessionError::Refused(format!("taking the backend socket: {e}")))?;
    let parts = conn.framed.into_parts();
    let client_pending: Bytes = parts.read_buf.freeze();
    let pooled = matches!(backend, Backend::Pooled(_));
    let mut outcome = match parts.io {
        ClientStream::Plain(client) => {
            let pair = spliced(client, server, (client_pending, server_pending), pooled);
            fe.fastpath.splice(pair).await
        }
        ClientStream::Tls(client) => {
            let pair = spliced(*client, server, (client_pending, server_pending), pooled);
            fe.fastpath.splice_streams(pair).await
        }
    };
    let returned = match (backend, outcome.backend.take()) {
        (Backend::Pooled(mut c), Some(socket)) if outcome.farewell_held => {
            c.restore_socket(socket);
            match c.reset_session(RESET_LIMIT).await {
                Ok(()) => Returned::Pooled,
                Err(e) => {
                    drop(PooledMySqlConnection::take(c));
                    Returned::Closed(format!("resetting: {e}"))
                }
            }
        }
        (Backend::Pooled(c), _) => {
            drop(PooledMySqlConnection::take(c));
            Returned::Closed("the client left without COM_QUIT, or the backend ended".to_owned())
        }
        (Backend::Own(_), _) => {
            Returned::Closed("opened for this client's capability flags".to_owned())
        }
    };
    if outcome.ended_by == Side::Client && matches!(returned, Returned::Closed(_)) {
        if let Some(kill) = kill {
            // A statement the client left running (a long SELECT, SLEEP)
            // would go on after the socket closed: end the session.
            tokio::spawn(async move {
                let _ = kill.kill_connection().await;
            });
        }
    }
    crate::passthrough::log_ended("mysql", &outcome, &returned);
    Ok(())
}

/// The pair to splice; a pooled backend comes back when the client leaves,
/// and the client's COM_QUIT is withheld so it can.
fn spliced<C>(
    client: C,
    server: TcpStream,
    (client_pending, server_pending): (Bytes, Bytes),
    pooled: bool,
) -> SplicePair<C> {
    let pair = SplicePair::new(client, server)
        .client_pending(client_pending)
        .backend_pending(server_pending);
    if pooled {
        pair.keep_backend(true).farewell(COM_QUIT)
    } else {
        pair
    }
}

/// A backend session that reads packets as the client does, in the
/// client's character set and on the data source's schema; the ERR that
/// refuses the login otherwise.
async fn backend_session(
    db: &Database,
    client_caps: u32,
    charset: u8,
) -> Result<Backend, ErrPacket> {
    let refused = |message: String| ErrPacket::new(1105, "HY000", message);
    // MySQL's "cannot connect to foreign data source".
    let unavailable = |e: &dyn std::fmt::Display| {
        ErrPacket::new(1429, "HY000", format!("backend unavailable: {e}"))
    };
    let cluster = db
        .mysql
        .as_ref()
        .ok_or_else(|| refused("this database is not stored on MySQL".to_owned()))?;
    let pool = cluster
        .pool(cluster.first())
        .map_err(|e| refused(e.to_string()))?;
    let mut pooled = pool.get().await.map_err(|e| unavailable(&e))?;
    // A sharded session (after USE of this database) may have left its
    // variables on the connection: the raw client gets the server's own.
    pooled
        .replay_settings(&[])
        .await
        .map_err(|e| unavailable(&e))?;
    let mut backend = if agree(pooled.capabilities(), client_caps) {
        Backend::Pooled(pooled)
    } else {
        // Back to the pool untouched; this client needs its own flags.
        drop(pooled);
        let has = |flag: u32| client_caps & flag != 0;
        let opts = ConnectOptions {
            deprecate_eof: has(CLIENT_DEPRECATE_EOF),
            multi_statements: has(CLIENT_MULTI_STATEMENTS),
            found_rows: has(CLIENT_FOUND_ROWS),
            multi_results: has(CLIENT_MULTI_RESULTS),
            ps_multi_results: has(CLIENT_PS_MULTI_RESULTS),
            session_track: has(CLIENT_SESSION_TRACK),
            ..ConnectOptions::default()
        };
        let conn = MySqlConnection::connect_with(pool.data_source(), &opts)
            .await
            .map_err(|e| unavailable(&e))?;
        if !agree(conn.capabilities(), client_caps) {
            return Err(refused(format!(
                "passthrough needs the backend to speak as this client does, and it cannot: \
                 capability flags {:#x} (client) vs {:#x} (server)",
                client_caps & WIRE_CAPS,
                conn.capabilities() & WIRE_CAPS
            )));
        }
        Backend::Own(conn)
    };
    let conn: &mut MySqlConnection = match &mut backend {
        Backend::Pooled(c) => c,
        Backend::Own(c) => c,
    };
    if charset != BACKEND_COLLATION {
        let set = db
            .mysql_charset
            .set_names(conn, charset)
            .await
            .map_err(|e| {
                refused(format!(
                    "setting the client's character set ({charset}): {e}"
                ))
            })?;
        conn.simple_query(&set).await.map_err(|e| {
            refused(format!(
                "setting the client's character set ({charset}): {e}"
            ))
        })?;
    }
    let schema = &pool.data_source().database;
    if !schema.is_empty() {
        conn.init_db(schema)
            .await
            .map_err(|e| refused(format!("choosing schema {schema}: {e}")))?;
    }
    Ok(backend)
}

fn agree(server_caps: u32, client_caps: u32) -> bool {
    (server_caps ^ client_caps) & WIRE_CAPS == 0
}
