//! The protocol-neutral session core: what every client session does
//! whatever its wire protocol, written once. The protocol adapters
//! (`pg`, `mysql`, and openGauss through `pg`) frame, log in, dispatch
//! messages and encode rows and errors; they call in here for the rest.
//!
//! - [`registry`]: every live session (id, user, database, protocol,
//!   client, state, statement, backend connections held), listed for the
//!   admin plane.

pub mod registry;

use std::net::SocketAddr;

use shardwire_rules::snapshot::ListenerProtocol;

use crate::server::Frontend;
use registry::Protocol;

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
