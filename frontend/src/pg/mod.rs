//! The PostgreSQL (and openGauss) frontend: login, then either a routed
//! session ([`session`]) or, for a passthrough database, a relay of the
//! whole session to one backend connection ([`passthrough`]).
//!
//! - [`startup`]: encryption negotiation, startup packet, cancel requests,
//!   SCRAM-SHA-256 authentication.
//! - [`session`]: the message loop; simple and extended query protocol.
//! - [`idle`]: reading the next message without holding buffers while the
//!   client is quiet.
//! - [`settings`]: SET / login / server parameter values, for SHOW.
//! - [`execute`]: one statement through kernel, executor and merge.
//! - `answers`: one unit's answers forwarded in the client's shape, tags
//!   added up, and the order a write's units run in.
//! - [`txn`]: transactions across shards and the connections they hold.
//! - `savepoint`: SAVEPOINT / RELEASE / ROLLBACK TO on the shards in the
//!   transaction, and the script that brings a joining shard level.
//! - `hand_read`: statements the kernel reads without sqlparser (COPY
//!   FROM STDIN, VACUUM, ANALYZE).
//! - `copy_in`: `COPY ... FROM STDIN`, each row routed to its shard's COPY.
//! - `copy_out`: `COPY (query) TO STDOUT` over shards, rows merged first.
//! - `merged`: the start of a merge; merged rows encoded for the client.
//! - `portal_run`: Execute with a row limit; portals answered in slices.
//! - [`local`]: statements the proxy answers itself (BEGIN, SET, SHOW...).
//! - `set_config`: `SELECT set_config(...)` taken as the SET it is.
//! - [`values`]: type OIDs, text / binary encoding of merged cells.
//! - [`catalog`]: pg_catalog / information_schema queries answered with
//!   logical table names.
//! - `catalog_rows`: which cells of a catalog answer are relation names,
//!   and the rows of other actual tables of a logical table left out;
//!   `catalog_order`: such an answer sorted again by its logical names.
//! - `state`: the session's state enums (message phase, transaction),
//!   moved in one place each.
//! - [`split`]: splitting multi-statement query strings.

mod answers;
mod catalog;
mod catalog_lookup;
mod catalog_order;
mod catalog_rows;
mod copy_in;
mod copy_out;
mod execute;
mod hand_read;
mod idle;
mod local;
mod merged;
mod passthrough;
mod portal_run;
mod savepoint;
pub(crate) mod session;
mod set_config;
mod settings;
mod split;
pub mod startup;
mod state;
mod txn;
pub mod values;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use futures::SinkExt;
use shardwire_protocol::pg::{BackendMessage, ErrorFields, PgServerCodec, TransactionStatus};
use shardwire_rules::snapshot::ListenerProtocol;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use crate::core::registry::{NewSession, Protocol, SessionHandle, SessionState};
use crate::error::SessionError;
use crate::server::{Database, Frontend};
use crate::tls::ClientStream;

pub use split::split_statements;

/// Serves one client connection to its end.
pub async fn run(
    fe: Arc<Frontend>,
    stream: TcpStream,
    peer: SocketAddr,
    admitted: bool,
    listener: ListenerProtocol,
) {
    if !admitted {
        let mut conn = Framed::new(ClientStream::Plain(stream), PgServerCodec::new());
        let _ = conn
            .send(BackendMessage::ErrorResponse(ErrorFields::new(
                "FATAL",
                "53300",
                "sorry, too many clients already",
            )))
            .await;
        return;
    }
    // Everything before the message loop (login, the greeting, a whole
    // passthrough relay) runs boxed and is gone once it is done: the task
    // of a routed session keeps only the session and its read.
    let result = match Box::pin(start(&fe, stream, peer, listener)).await {
        Ok(Some(session)) => session.run().await,
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {}
        Err(SessionError::Io(e)) => tracing::debug!(%peer, "session ended: {e}"),
        Err(e) => tracing::info!(%peer, "session ended: {e}"),
    }
}

/// Logs the client in and greets it; `None` when there is no routed
/// session to run (the login ended the connection, or the passthrough
/// relay served it to its end).
async fn start(
    fe: &Arc<Frontend>,
    stream: TcpStream,
    peer: SocketAddr,
    listener: ListenerProtocol,
) -> Result<Option<session::Session>, SessionError> {
    let protocol =
        crate::core::listener_protocol(fe, stream.local_addr().ok(), Protocol::PostgreSql);
    let Some(login) = startup::login(fe, stream, peer, listener).await? else {
        return Ok(None);
    };
    let startup::Login {
        mut conn,
        user,
        database,
        params,
        opengauss,
    } = login;
    if database.rules.is_passthrough() {
        let origin = Origin { peer, protocol };
        return passthrough::relay(fe, conn, &database, &user, params, origin)
            .await
            .map(|()| None);
    }
    let mut settings = settings::Settings::new(server_parameters(&database).await);
    settings.set_login("session_authorization".into(), user.clone());
    settings.set_login("is_superuser".into(), "off".into());
    for (name, value) in params {
        settings.set_login(local::setting_key(&name), value);
    }
    settings.set_login("client_encoding".into(), "UTF8".into());
    for name in local::REPORTED {
        if let Some(value) = settings.get(name) {
            conn.feed(BackendMessage::ParameterStatus {
                name: (*name).to_owned(),
                value: value.to_owned(),
            })
            .await?;
        }
    }
    let cancel = fe.cancels.register();
    let registered = register(
        fe,
        cancel.pid,
        &user,
        &database,
        Origin { peer, protocol },
        SessionState::Idle,
    );
    conn.feed(BackendMessage::BackendKeyData {
        pid: cancel.pid,
        secret: cancel.secret,
    })
    .await?;
    conn.send(BackendMessage::ReadyForQuery(TransactionStatus::Idle))
        .await?;
    let mut session = session::Session::new(
        Arc::clone(fe),
        database,
        conn,
        user,
        settings,
        cancel,
        registered,
    );
    if let Some(og) = opengauss {
        session.become_opengauss(og);
    }
    Ok(Some(session))
}

/// Where a client came from: its address and the listener's protocol.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin {
    pub peer: SocketAddr,
    pub protocol: Protocol,
}

/// Lists a logged-in session in the registry under its cancel pid.
fn register(
    fe: &Frontend,
    pid: i32,
    user: &str,
    database: &Database,
    origin: Origin,
    state: SessionState,
) -> SessionHandle {
    fe.registry.register(NewSession {
        id: u32::try_from(pid).unwrap_or_default(),
        protocol: origin.protocol,
        user,
        database: Some(&database.rules.name),
        client: origin.peer,
        state,
    })
}

/// The first data source's server parameters (server_version, TimeZone,
/// ...), learned once per database, so clients see the real server's
/// values. Falls back to PostgreSQL's defaults while no backend answers.
async fn server_parameters(db: &Database) -> Arc<HashMap<String, String>> {
    if let Some(params) = db.server_params.get() {
        return Arc::clone(params);
    }
    let fetched = match &db.pg {
        Some(cluster) => match cluster.pool(cluster.first()) {
            Ok(pool) => match pool.get().await {
                Ok(conn) => Some(conn.parameters().clone()),
                Err(e) => {
                    tracing::warn!(database = %db.rules.name, "cannot read server parameters: {e}");
                    None
                }
            },
            Err(_) => None,
        },
        None => None,
    };
    match fetched {
        Some(mut params) => {
            for drop in [
                "application_name",
                "session_authorization",
                "is_superuser",
                "client_encoding",
            ] {
                params.remove(drop);
            }
            let params = Arc::new(params);
            let _ = db.server_params.set(Arc::clone(&params));
            params
        }
        None => [
            ("server_version", "15.0"),
            ("server_encoding", "UTF8"),
            ("DateStyle", "ISO, MDY"),
            ("IntervalStyle", "postgres"),
            ("TimeZone", "UTC"),
            ("integer_datetimes", "on"),
            ("standard_conforming_strings", "on"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect::<HashMap<_, _>>()
        .into(),
    }
}
