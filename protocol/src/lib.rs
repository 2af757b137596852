//! Wire formats of the protocols Shardwire speaks, for both directions, with
//! `tokio_util::codec` framing and the authentication crypto. No sockets and
//! no kernel types live here, so that the frontend (server side) and the
//! backend (client side) share one codec. PostgreSQL and MySQL are
//! implemented; the openGauss deltas plug into the PostgreSQL shapes.
//!
//! # Layout
//! - [`error`]: [`ProtocolError`], the one error type of the crate.
//! - [`pg`]: the PostgreSQL v3 protocol. [`pg::FrontendMessage`] (client to
//!   server) and [`pg::BackendMessage`] (server to client) are the typed
//!   messages, one file per message family; [`pg::PgServerCodec`] and
//!   [`pg::PgClientCodec`] frame them. Nothing above the codec looks at type
//!   bytes; dialects extend the decoder through
//!   [`pg::PgServerCodec::allow_extension`] and
//!   [`pg::PgClientCodec::with_raw_auth_codes`]. openGauss's one new
//!   message, Batch Bind ('U'), is [`pg::BatchBind`]; its startup versions
//!   3.50 / 3.51 are [`pg::PROTOCOL_VERSION_3_50`] / [`pg::PROTOCOL_VERSION_3_51`].
//! - [`mysql`]: the MySQL 4.1+ protocol (MySQL and MariaDB).
//!   [`mysql::MySqlCodec`] frames packets (sequence ids, 16 MiB
//!   continuation, a size limit checked on the header); typed messages
//!   are decoded and encoded by the session, because the command phase is
//!   stateful. Its own docs list the phases of a MySQL connection.
//! - [`auth`]: SCRAM-SHA-256 for both sides ([`auth::scram`]), PostgreSQL MD5
//!   ([`auth::md5`]) and cleartext checks; MySQL's mysql_native_password
//!   ([`auth::mysql_native`]) and caching_sha2_password
//!   ([`auth::caching_sha2`]), both sides; openGauss's SHA256 and
//!   MD5_SHA256 ([`auth::opengauss`]), both sides.
//!
//! # Phases of a PostgreSQL connection
//! 1. **Startup / encryption negotiation.** The client's first packet has no
//!    type byte: SSLRequest or GSSENCRequest (answered by one unframed byte,
//!    `S`/`G` or `N`, after which a TLS handshake may run and the client sends
//!    a fresh startup packet), CancelRequest (the connection only carries the
//!    cancel and closes), or StartupMessage with the protocol version and
//!    parameters (`user`, `database`, ...). [`pg::PgServerCodec`] starts in
//!    [`pg::ServerPhase::Startup`] and moves to `Regular` on StartupMessage.
//!    Bytes pipelined behind an encryption request are refused.
//! 2. **Authentication.** The server sends AuthenticationRequest messages
//!    (cleartext, MD5 with a salt, or SASL with SCRAM-SHA-256 in three steps);
//!    the client answers with 'p' messages, whose meaning depends on the
//!    request, which is why the server codec tracks [`pg::PasswordKind`].
//!    AuthenticationOk ends it; then ParameterStatus messages, BackendKeyData
//!    (for cancels) and ReadyForQuery.
//! 3. **Ready.** Every ReadyForQuery reports the transaction status (idle,
//!    in a block, in a failed block).
//! 4. **Simple query.** Query may hold several statements; each answers with
//!    RowDescription / DataRow* / CommandComplete (or EmptyQueryResponse or
//!    ErrorResponse, which aborts the rest), then one ReadyForQuery.
//! 5. **Extended query.** Parse / Bind / Describe / Execute / Close arrive
//!    pipelined, answered in order, until Sync, which ends the implicit
//!    transaction and yields ReadyForQuery. After an error the server
//!    discards messages until Sync. Flush asks for pending output without
//!    ending the batch.
//! 6. **Copy.** CopyInResponse / CopyOutResponse switch to a CopyData stream
//!    ended by CopyDone (or CopyFail from the client), then CommandComplete
//!    and ReadyForQuery.
//! 7. **Terminate.** The client sends Terminate and closes; the server closes
//!    without answering.
#![deny(clippy::print_stdout)]

pub mod auth;
pub mod error;
pub mod mysql;
pub mod pg;

pub use error::{ProtocolError, Result};
