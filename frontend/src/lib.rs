//! Listeners, TLS and the per-connection session state machines for MySQL,
//! PostgreSQL and openGauss clients; kernel and backend errors are mapped to
//! the wire here, in one place per protocol.
//!
//! # Layout
//! - [`server`]: [`Frontend`], what all sessions share (rules, pools, parse
//!   cache, cancel keys, TLS), the listeners and the connection limit.
//! - [`pg`]: PostgreSQL sessions: login, simple and extended query,
//!   transactions across shards, passthrough relay.
//! - [`opengauss`]: what an openGauss listener adds to a PostgreSQL
//!   session: protocol 3.50 / 3.51, SHA256 login, Batch Bind.
//! - [`mysql`]: MySQL sessions: login (native and caching_sha2 auth, TLS),
//!   COM_QUERY with multi-statements, prepared statements, transactions
//!   across shards, the statements drivers send on connect.
//! - [`core`]: the protocol-neutral session core the adapters share: the
//!   registry of live sessions for the admin plane, a transaction's held
//!   connections, a statement's units laid over connections.
//! - [`cancel`]: cancel keys and the backend queries they reach.
//! - [`tls`]: certificate loading and the plain-or-TLS client stream.
//! - [`error`]: statement and session errors, and their SQLSTATEs.
//! - [`metadata`]: the columns of logical tables, loaded from the data
//!   sources when a statement first needs them and dropped after DDL.
//! - `index_owners`: which sharding table a PostgreSQL DROP / ALTER INDEX
//!   names, read from the shards' catalogs when the kernel asks.
//! - `copy_spill`: rows held back for a shard's later COPY, spilled to a
//!   temporary file past a budget.
//! - `logical_names`: actual table names in shards' messages turned back
//!   into logical ones.
#![deny(clippy::print_stdout)]

pub mod cancel;
mod copy_spill;
pub mod core;
pub mod error;
mod index_owners;
mod logical_names;
pub mod metadata;
pub mod mysql;
pub mod opengauss;
mod pagination;
mod passthrough;
pub mod pg;
pub mod server;
pub mod tls;

pub use server::{Database, Frontend};
