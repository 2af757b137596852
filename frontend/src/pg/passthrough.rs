//! A passthrough database (one data source, no rules): after the proxy's
//! own login, the client is joined to one backend session and every byte
//! is relayed both ways, catalog queries and COPY included.
//!
//! The relay is the fast path's splice: in the kernel (eBPF sockmap) when
//! it is available and the client is not on TLS, a user-space copy
//! otherwise.
//!
//! The backend session comes from the pool and does not go back to it:
//! the client may have changed anything in it (SET, temp tables,
//! prepared statements), and resetting it is future work.

use std::sync::Arc;

use bytes::Bytes;
use futures::SinkExt;
use shardwire_backend::pool::PooledConnection;
use shardwire_fastpath::SplicePair;
use shardwire_protocol::pg::{BackendMessage, ErrorFields, TransactionStatus};

use super::startup::ClientConn;
use crate::error::SessionError;
use crate::server::{Database, Frontend};
use crate::tls::ClientStream;

/// Startup parameters that describe the connection, not the session: not
/// replayed on the backend.
const NOT_REPLAYED: &[&str] = &["replication", "options"];

pub async fn relay(
    fe: &Arc<Frontend>,
    mut conn: ClientConn,
    db: &Database,
    user: &str,
    params: Vec<(String, String)>,
) -> Result<(), SessionError> {
    let backend = match backend_session(db, &params).await {
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
    cancel.set_running(backend.cancel_token().into_iter().collect());
    conn.feed(BackendMessage::BackendKeyData {
        pid: cancel.pid,
        secret: cancel.secret,
    })
    .await?;
    conn.send(BackendMessage::ReadyForQuery(TransactionStatus::Idle))
        .await?;
    let (server, server_pending) = PooledConnection::take(backend)
        .into_socket()
        .map_err(|e| SessionError::Refused(format!("taking the backend socket: {e}")))?;
    let parts = conn.into_parts();
    let client_pending: Bytes = parts.read_buf.freeze();
    // Bytes either side sent before the hand-off were read by the codecs;
    // the splice delivers them first.
    let outcome = match parts.io {
        ClientStream::Plain(client) => {
            fe.fastpath
                .splice(
                    SplicePair::new(client, server)
                        .client_pending(client_pending)
                        .backend_pending(server_pending),
                )
                .await
        }
        ClientStream::Tls(client) => {
            fe.fastpath
                .splice_streams(
                    SplicePair::new(*client, server)
                        .client_pending(client_pending)
                        .backend_pending(server_pending),
                )
                .await
        }
    };
    drop(cancel);
    tracing::debug!(
        path = ?outcome.path,
        reason = ?outcome.user_space_reason,
        ended_by = ?outcome.ended_by,
        to_backend = outcome.client_to_backend,
        to_client = outcome.backend_to_client,
        "passthrough session ended"
    );
    Ok(())
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

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
