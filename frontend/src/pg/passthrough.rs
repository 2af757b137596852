//! A passthrough database (one data source, no rules): after the proxy's
//! own login, the client is joined to one backend session and every byte
//! is relayed both ways, catalog queries and COPY included.
//!
//! The relay is the fast path's splice: in the kernel (eBPF sockmap) when
//! it is available and the client is not on TLS, a user-space copy
//! otherwise.
//!
//! The backend session comes from the pool and keeps its slot while its
//! socket is lent to the splice. It goes back only after a clean goodbye:
//! the client's Terminate is withheld (the splice's farewell rule), then
//! `DISCARD ALL` must answer exactly CommandComplete + ReadyForQuery(Idle)
//! within [`RESET_LIMIT`] (see `PgConnection::reset_session`). A client
//! that vanished without Terminate, left a transaction, a COPY or unread
//! results behind, or a backend that does not answer, costs a new backend
//! session instead: the old one is cancelled and closed.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::SinkExt;
use shardwire_backend::pg::{quote_ident, quote_literal};
use shardwire_backend::pool::PooledConnection;
use shardwire_backend::socket::Socket;
use shardwire_fastpath::{Side, SplicePair};
use shardwire_protocol::pg::{BackendMessage, ErrorFields, TransactionStatus};

use super::startup::ClientConn;
use crate::error::SessionError;
use crate::passthrough::Returned;
use crate::server::{Database, Frontend};
use crate::tls::ClientStream;

/// Startup parameters that describe the connection, not the session: not
/// replayed on the backend.
const NOT_REPLAYED: &[&str] = &["replication", "options"];

/// The client's Terminate message: withheld when it is the last thing the
/// client sends, so the backend session outlives the client.
const TERMINATE: [u8; 5] = [b'X', 0, 0, 0, 4];

/// How long `DISCARD ALL` may take before the session is closed instead:
/// an idle server answers in well under a millisecond.
const RESET_LIMIT: Duration = Duration::from_secs(2);

pub async fn relay(
    fe: &Arc<Frontend>,
    mut conn: ClientConn,
    db: &Database,
    user: &str,
    params: Vec<(String, String)>,
    origin: super::Origin,
) -> Result<(), SessionError> {
    let mut backend = match backend_session(db, &params).await {
        Ok(b) => b,
        Err(message) => {
            conn.send(BackendMessage::ErrorResponse(ErrorFields::new(
                "FATAL", "08006", &message,
            )))
            .await?;
            return Err(SessionError::Refused(message));
        }
    };
    let mut reported = backend.parameters().clone();
    reported.insert("session_authorization".into(), user.to_owned());
    for (name, value) in &reported {
        conn.feed(BackendMessage::ParameterStatus {
            name: name.clone(),
            value: value.clone(),
        })
        .await?;
    }
    // Cancel requests go to the backend session the client is joined to.
    let cancel = fe.cancels.register();
    let registered = super::register(
        fe,
        cancel.pid,
        user,
        db,
        origin,
        crate::core::registry::SessionState::Passthrough,
    );
    // The one backend session it is joined to.
    registered.waiting(
        crate::core::registry::SessionState::Passthrough,
        db.rules.data_sources.keys().map(String::as_str).take(1),
    );
    cancel.set_running(backend.cancel_token().into_iter().collect());
    conn.feed(BackendMessage::BackendKeyData {
        pid: cancel.pid,
        secret: cancel.secret,
    })
    .await?;
    conn.send(BackendMessage::ReadyForQuery(TransactionStatus::Idle))
        .await?;
    let (server, server_pending) = backend
        .lend_socket()
        .map_err(|e| SessionError::Refused(format!("taking the backend socket: {e}")))?;
    let parts = conn.into_parts();
    let client_pending: Bytes = parts.read_buf.freeze();
    // Bytes either side sent before the hand-off were read by the codecs;
    // the splice delivers them first.
    // The kernel splice needs two plain sockets; a TLS end on either side
    // is relayed in user space.
    let mut outcome = match (parts.io, server) {
        (ClientStream::Plain(client), Socket::Tcp(server)) => {
            let pair = spliced(client, server, client_pending, server_pending);
            fe.fastpath.splice(pair).await.map_backend(Socket::Tcp)
        }
        (ClientStream::Plain(client), server) => {
            let pair = spliced(client, server, client_pending, server_pending);
            fe.fastpath.splice_streams(pair).await
        }
        (ClientStream::Tls(client), server) => {
            let pair = spliced(*client, server, client_pending, server_pending);
            fe.fastpath.splice_streams(pair).await
        }
    };
    drop(cancel);
    drop(registered);
    let socket = outcome.backend.take();
    let returned = hand_back(backend, socket, outcome.farewell_held, outcome.ended_by).await;
    crate::passthrough::log_ended("postgresql", &outcome, &returned);
    Ok(())
}

/// The pair to splice: the backend comes back when the client leaves, and
/// the client's Terminate is withheld so it can.
fn spliced<C, S>(
    client: C,
    server: S,
    client_pending: Bytes,
    server_pending: Bytes,
) -> SplicePair<C, S> {
    SplicePair::new(client, server)
        .client_pending(client_pending)
        .backend_pending(server_pending)
        .keep_backend(true)
        .farewell(TERMINATE)
}

/// Returns the backend session to its pool when the client said goodbye
/// and `DISCARD ALL` proves it clean; otherwise takes it out of the pool
/// and closes it, cancelling whatever it may still be running for the
/// client that left.
async fn hand_back(
    mut backend: PooledConnection,
    socket: Option<Socket>,
    farewell_held: bool,
    ended_by: Side,
) -> Returned {
    let why = match socket {
        None if ended_by == Side::Backend => "the backend ended the session".to_owned(),
        None => "the client's end left the backend socket unusable".to_owned(),
        Some(_) if !farewell_held => "the client left without Terminate".to_owned(),
        Some(socket) => {
            backend.restore_socket(socket);
            match backend.reset_session(RESET_LIMIT).await {
                Ok(()) => return Returned::Pooled,
                Err(e) => format!("DISCARD ALL: {e}"),
            }
        }
    };
    let conn = PooledConnection::take(backend);
    if ended_by == Side::Client {
        if let Some(token) = conn.cancel_token() {
            // A statement the client left running would go on until it
            // tried to answer; the server exits once it is cancelled.
            tokio::spawn(async move {
                let _ = token.cancel().await;
            });
        }
    }
    drop(conn);
    Returned::Closed(why)
}

/// A pooled backend session with the client's startup settings applied.
async fn backend_session(
    db: &Database,
    params: &[(String, String)],
) -> Result<PooledConnection, String> {
    let cluster = db
        .pg
        .as_ref()
        .ok_or_else(|| "this database is not stored on PostgreSQL".to_owned())?;
    let pool = cluster.pool(cluster.first()).map_err(|e| e.to_string())?;
    let mut conn = pool
        .get()
        .await
        .map_err(|e| format!("backend unavailable: {e}"))?;
    let sets: Vec<String> = params
        .iter()
        .filter(|(k, _)| !NOT_REPLAYED.contains(&k.as_str()))
        .map(|(k, v)| format!("SET {} = {}", quote_ident(k), quote_literal(v)))
        .collect();
    if !sets.is_empty() {
        conn.simple_query(&sets.join("; "))
            .await
            .map_err(|e| format!("applying the client's startup parameters: {e}"))?;
    }
    Ok(conn)
}
