//! The MySQL frontend: a client logs in ([`login`]), then its commands run
//! in a [`session::Session`] until it quits.
//!
//! - `conn`: the client socket, its framing and sequence ids, answers
//!   built in place.
//! - [`login`]: handshake, TLS, mysql_native_password and
//!   caching_sha2_password, the choice of logical database.
//! - `session`: the command loop (COM_QUERY, COM_INIT_DB, COM_PING,
//!   COM_STMT_*, COM_RESET_CONNECTION, COM_CHANGE_USER, ...).
//! - `passthrough`: a login naming a passthrough database is spliced to
//!   one backend session instead.
//! - [`charset`]: the client's handshake collation set on a backend
//!   session by name.
//! - `query`: one statement through kernel, executor and merge; answers
//!   forwarded raw when one unit answers.
//! - `prepared`: COM_STMT_PREPARE / EXECUTE / SEND_LONG_DATA / RESET /
//!   CLOSE, executed on the shards as their own prepared statements.
//! - `names`: the shards' schema and actual table names in column
//!   definitions replaced by the logical ones.
//! - `catalog`: information_schema queries, answered by the first data
//!   source with the logical names.
//! - `show_tables`: SHOW [FULL] TABLES, the data sources' tables in
//!   logical names.
//! - `show_create`: SHOW CREATE TABLE of an actual table, named logically.
//! - `classify`: recognising those statements, without side effects.
//! - `local`: what the proxy answers itself (transaction control, SET,
//!   SELECT @@..., SHOW DATABASES / TABLES / VARIABLES, USE).
//! - `settings`: the session variables SET replays on the shards'
//!   connections.
//! - `state`: the transaction state enum, moved in one place, and the
//!   running statement's scope.
//! - `txn`: transactions across shards and the connections they hold.
//! - `writes`: several units of one write added up; atomic over several
//!   data sources.
//! - [`values`]: column types, text and binary cells for the merge.
//! - [`split`]: multi-statement splitting and placeholder scanning.

mod catalog;
pub mod charset;
mod classify;
mod conn;
mod local;
pub mod login;
mod names;
mod passthrough;
mod prepared;
mod query;
mod session;
mod settings;
mod show_create;
mod show_tables;
pub mod split;
mod state;
mod txn;
pub mod values;
mod writes;

use std::net::SocketAddr;
use std::sync::Arc;

use shardwire_protocol::mysql::ErrPacket;
use tokio::net::TcpStream;

use crate::core::registry::{NewSession, Protocol, SessionState};
use crate::error::SessionError;
use crate::server::Frontend;
use crate::tls::ClientStream;

/// Serves one client connection to its end.
pub async fn run(fe: Arc<Frontend>, stream: TcpStream, peer: SocketAddr, admitted: bool) {
    if !admitted {
        // MySQL answers a connection over the limit with ERR 1040 in place
        // of the handshake.
        let mut conn = conn::ClientConn::new(ClientStream::Plain(stream), fe.max_message_len);
        if conn
            .write_err(&ErrPacket::new(1040, "08004", "Too many connections"))
            .is_ok()
        {
            let _ = conn.flush().await;
        }
        return;
    }
    match serve(&fe, stream, peer).await {
        Ok(()) => {}
        // A client closing its socket is how many sessions end.
        Err(SessionError::Io(e)) => tracing::debug!(%peer, "session ended: {e}"),
        Err(SessionError::Protocol(shardwire_protocol::ProtocolError::Io(e))) => {
            tracing::debug!(%peer, "session ended: {e}")
        }
        Err(e) => tracing::info!(%peer, "session ended: {e}"),
    }
}

async fn serve(
    fe: &Arc<Frontend>,
    stream: TcpStream,
    peer: SocketAddr,
) -> Result<(), SessionError> {
    let Some(mut login) = login::login(fe, stream, peer).await? else {
        return Ok(());
    };
    let passthrough = login.database.clone().filter(|d| d.rules.is_passthrough());
    let registered = fe.registry.register(NewSession {
        id: login.connection_id,
        protocol: Protocol::MySql,
        user: &login.user,
        database: login.database.as_ref().map(|d| d.rules.name.as_str()),
        client: peer,
        state: match passthrough {
            Some(_) => SessionState::Passthrough,
            None => SessionState::Idle,
        },
    });
    if let Some(db) = passthrough {
        // The one backend session it is joined to.
        registered.waiting(
            SessionState::Passthrough,
            db.rules.data_sources.keys().map(String::as_str).take(1),
        );
        let result = passthrough::relay(fe, login, &db).await;
        drop(registered);
        return result;
    }
    login.accept().await?;
    session::Session::new(Arc::clone(fe), login, registered)
        .run()
        .await
}
