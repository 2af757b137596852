//! Data sources, native client connections, pools, health checks,
//! read/write splitting and the transaction manager.
//!
//! Today this crate holds the native PostgreSQL client and its pool: the
//! backend speaks the wire protocol itself, with the codecs of
//! `shardwire-protocol`, so that rows can be forwarded raw and the eBPF
//! splice can take the socket.
//!
//! # Layout
//! - [`error`]: [`BackendError`], the one error type of the crate, and
//!   [`ServerError`], a typed PostgreSQL ErrorResponse.
//! - [`pg`]: the PostgreSQL client. [`pg::PgConnection`] connects and logs
//!   in (SCRAM-SHA-256, MD5, cleartext; openGauss SHA256 and MD5_SHA256 at
//!   startup version 3.51 for openGauss data sources), tracks the
//!   transaction status of every ReadyForQuery, runs simple and extended
//!   queries and cancels them ([`pg::CancelToken`]); [`pg::Query`] streams
//!   the answers one message at a time, rows kept raw;
//!   [`pg::PgConnection::execute_batch`] runs one statement per row of a
//!   batch (Batch Bind on openGauss, pipelined Bind/Execute on PostgreSQL).
//! - [`cluster`]: [`cluster::PgCluster`], the pools of one logical database.
//! - [`executor`]: runs a statement's route units in parallel, one task per
//!   connection, and streams each unit's answers to the caller.
//! - [`mysql`]: the MySQL / MariaDB client. [`mysql::MySqlConnection`]
//!   logs in (mysql_native_password, caching_sha2_password, auth switch),
//!   tracks status flags, streams text and binary rows raw
//!   ([`mysql::MySqlQuery`]), prepares statements and kills queries;
//!   [`mysql::MySqlPool`] pools it with the same recycle rules as PgPool.
//! - [`metadata`]: columns of actual tables read from the catalogs
//!   (pg_catalog, information_schema), and the check that the actual tables
//!   of one logical table agree.
//! - [`pool`]: [`pool::PgPool`], one deadpool pool per data source, with
//!   the recycle rules (broken, abandoned mid-result, in a transaction,
//!   too old, idle too long: discard).
//! - [`spill_queue`]: the answers of units waiting their turn on a shared
//!   connection, in memory up to a per-statement budget and in a temporary
//!   file beyond it; [`spill_events`] writes each protocol's rows there.
//! - [`socket`]: [`socket::Socket`], a connection's stream or the mark
//!   that it is lent to a passthrough session (sessions keep their pool
//!   slot while spliced, and are reset and returned afterwards).
#![deny(clippy::print_stdout)]

pub mod cluster;
pub mod error;
pub mod executor;
pub mod metadata;
pub mod mysql;
pub mod pg;
pub mod pool;
pub mod socket;
pub mod spill_events;
pub mod spill_queue;

pub use error::{BackendError, Result, ServerError};
