//! The native PostgreSQL client: one [`PgConnection`] per server session,
//! speaking the v3 protocol through `shardwire_protocol`'s client codec.

mod batch;
mod cancel;
mod connect;
mod connection;
mod copy_in;
mod lend;
mod login;
mod query;
mod replay;
mod reset;
pub mod tls;

pub use batch::{BatchOutcome, BATCH_CHUNK_BYTES};
pub use cancel::CancelToken;
pub use connection::{Notification, PgConnection, Statement};
pub use query::{Formats, Query, QueryEvent, ResultSet};
pub use replay::{quote_ident, quote_literal, replay_sql, Replayed};
