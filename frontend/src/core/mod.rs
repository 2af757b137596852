//! The protocol-neutral session core: what every client session does
//! whatever its wire protocol, written once. The protocol adapters
//! (`pg`, `mysql`, and openGauss through `pg`) frame, log in, dispatch
//! messages and encode rows and errors; they call in here for the rest.
//!
//! - [`merge`]: the start of a merge: the units' first answers read
//!   together, the first header kept.
//! - [`registry`]: every live session (id, user, database, protocol,
//!   client, state, statement, backend connections held), listed for the
//!   admin plane.
//! - [`txn`]: the connections a transaction holds, one per data source,
//!   and ending it on every shard.
//! - [`units`]: a statement's route units laid over backend connections
//!   (the transaction's or pooled ones), and the order a write's units
//!   run in.

pub mod merge;
pub mod registry;
pub mod txn;
pub mod units;

use std::future::Future;
use std::net::SocketAddr;

use shardwire_rules::snapshot::ListenerProtocol;

use crate::error::SessionError;
use crate::server::Frontend;
use registry::Protocol;

/// `login` (an adapter's whole login: negotiation, authentication, the
/// choice of database), dropped when it takes longer than the
/// `proxy-frontend-login-timeout-milliseconds` prop (10 s): a bounded
/// handshake keeps half-open connections from piling up and holding
/// connection slots.
pub async fn bounded_login<T>(
    fe: &Frontend,
    peer: SocketAddr,
    login: impl Future<Output = Result<Option<T>, SessionError>>,
) -> Result<Option<T>, SessionError> {
    let limit = fe.login_timeout;
    match tokio::time::timeout(limit, login).await {
        Ok(result) => result,
        Err(_) => Err(SessionError::Refused(format!(
            "{peer} did not log in within {limit:?}"
        ))),
    }
}

/// The protocol of the listener a client reached at `local` (the accepted
/// socket's own address): PostgreSQL and openGauss clients share one
/// session code, and only the listener tells them apart.
pub fn listener_protocol(fe: &Frontend, local: Option<SocketAddr>, default: Protocol) -> Protocol {
    let Some(local) = local else {
        return default;
    };
    let found = fe.snapshot.global.listeners.iter().find(|l| {
        l.address.port() == local.port()
            && (l.address.ip().is_unspecified() || l.address.ip() == local.ip())
    });
    match found.map(|l| l.protocol) {
        Some(ListenerProtocol::PostgreSql) => Protocol::PostgreSql,
        Some(ListenerProtocol::OpenGauss) => Protocol::OpenGauss,
        Some(ListenerProtocol::MySql) => Protocol::MySql,
        None => default,
    }
}
