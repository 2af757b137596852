//! The native MySQL / MariaDB client: one [`MySqlConnection`] per server
//! session, speaking the protocol through `shardwire_protocol::mysql`,
//! and [`MySqlPool`], its pool per data source.
//!
//! # Layout
//! - `connection`: connect, session state (status flags, transaction,
//!   broken), the one place packets are sent and received, simple commands.
//! - `results`: the answer state machine (OK / ERR / result sets, text or
//!   binary rows, multi-results), kept in the connection so an abandoned
//!   answer can be read away.
//! - `login`: the auth exchange (mysql_native_password,
//!   caching_sha2_password with RSA full auth, AuthSwitchRequest).
//! - `query`: [`MySqlQuery`], the streaming handle, and its events.
//! - `statement`: prepared statements with binary rows.
//! - `statement_cache`: statements a connection keeps prepared between
//!   executions, by SQL text.
//! - `exec`: [`MySqlRequest`] and the executor's view of a pooled
//!   connection, so MySQL units run through [`crate::executor`] too.
//! - `kill`: [`KillToken`], KILL QUERY over a second connection.
//! - `pool`: [`MySqlPool`].
//! - `replay`: a client session's variables carried onto a pooled
//!   connection.
//! - `server_error`: [`MySqlServerError`], a typed ERR packet.

mod connection;
mod exec;
mod kill;
mod lend;
mod login;
mod options;
mod pool;
mod query;
mod replay;
mod results;
mod server_error;
mod statement;
mod statement_cache;

pub use connection::MySqlConnection;
pub use exec::MySqlRequest;
pub use kill::KillToken;
pub use options::ConnectOptions;
pub use pool::{MySqlManager, MySqlPool, PooledMySqlConnection};
pub use query::{MySqlEvent, MySqlQuery, MySqlResultSet, MySqlRow};
pub use replay::{replay_sql, Replayed};
pub use server_error::MySqlServerError;
pub use statement::MySqlStatement;
pub use statement_cache::CACHED_STATEMENTS;
