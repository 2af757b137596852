//! The MySQL client/server protocol (4.1 and later, as MySQL 5.7/8 and
//! MariaDB speak it), for both directions.
//!
//! [`MySqlCodec`] frames packets (length, sequence id, payload; payloads of
//! 16 MiB and more split and joined) with a size limit checked on the
//! header. Everything above framing is a typed decode/encode function per
//! message, called by the session or connection state machine, because the
//! command phase is stateful: a packet in a result set can only be read
//! knowing the column count and the negotiated capabilities.
//!
//! # Layout
//! - [`constants`]: capability, status, command, column type and flag bits.
//! - `codec`: [`MySqlCodec`] and [`Packet`].
//! - `handshake`: [`HandshakeV10`], [`HandshakeResponse41`], [`SslRequest`].
//! - `auth_switch`: [`AuthSwitchRequest`], [`AuthMoreData`], [`AuthPacket`].
//! - `response`: [`OkPacket`], [`ErrPacket`], [`EofPacket`], [`ResultEnd`].
//! - `result_set`, `column`, `text_row`: column count, [`ColumnDefinition`],
//!   [`TextRow`] (raw, with a cell accessor).
//! - `binary`: [`Value`], [`BinaryType`], [`BinaryRow`] (binary protocol).
//! - `command`: [`Command`] with [`StmtExecute`] and [`ChangeUser`].
//! - `prepare`: [`StmtPrepareOk`].
//! - `writer`: [`PacketWriter`], a batch of numbered answer packets built
//!   in place in one output buffer (server side).
//!
//! # Phases of a MySQL connection
//! 1. **Handshake.** The server speaks first: [`HandshakeV10`] with its
//!    capabilities, a 20-byte scramble and its default auth plugin.
//! 2. **TLS (optional).** The client sends [`SslRequest`] (the first 32
//!    bytes of a handshake response), both sides run TLS, and the client
//!    continues with the full response inside it.
//! 3. **Authentication.** [`HandshakeResponse41`] carries the user, the
//!    scramble answer, the schema and connection attributes. The server
//!    answers OK, ERR, an [`AuthSwitchRequest`] (the client re-answers with
//!    another plugin) or [`AuthMoreData`] (plugin-specific rounds, e.g.
//!    caching_sha2_password's fast/full auth). Sequence ids run on across
//!    the whole phase.
//! 4. **Command.** Each command starts at sequence id 0 and is answered by
//!    OK, ERR, or a result set: column count, column definitions, EOF
//!    (unless CLIENT_DEPRECATE_EOF), rows, EOF or 0xfe-OK. The status flags
//!    of the closing packet carry SERVER_MORE_RESULTS_EXISTS when another
//!    result follows (multi-statements, CALL) and the transaction state.
//! 5. **Prepared statements.** COM_STMT_PREPARE answers [`StmtPrepareOk`],
//!    then parameter and column definitions; COM_STMT_EXECUTE answers like
//!    a query but with [`BinaryRow`]s; COM_STMT_CLOSE has no answer.
//! 6. **End.** COM_QUIT, after which the server closes without answering.

pub mod constants;

mod auth_switch;
mod binary;
mod codec;
mod column;
mod command;
mod handshake;
mod prepare;
mod response;
mod result_set;
mod text_row;
mod wire;
mod writer;

pub use auth_switch::{AuthMoreData, AuthPacket, AuthSwitchRequest, AUTH_MORE_DATA_HEADER};
pub use binary::{BinaryRow, BinaryType, Value};
pub use codec::{write_packet, MySqlCodec, Packet, DEFAULT_MAX_PACKET_LEN};
pub use column::ColumnDefinition;
pub use command::{
    ChangeUser, Command, ExecuteParams, StmtExecute, CURSOR_TYPE_NO_CURSOR, CURSOR_TYPE_READ_ONLY,
    MYSQL_OPTION_MULTI_STATEMENTS_OFF, MYSQL_OPTION_MULTI_STATEMENTS_ON,
};
pub use handshake::{
    ClientHandshake, HandshakeResponse41, HandshakeV10, SslRequest, SSL_REQUEST_LEN,
};
pub use prepare::StmtPrepareOk;
pub use response::{
    is_err, is_ok, is_result_end, EofPacket, ErrPacket, OkPacket, ResultEnd, EOF_HEADER,
    ERR_HEADER, LOCAL_INFILE_HEADER, OK_HEADER,
};
pub use result_set::{decode_column_count, encode_column_count, MAX_COLUMNS};
pub use text_row::TextRow;
pub use wire::{lenenc_int_len, put_lenenc_bytes, put_lenenc_int};
pub use writer::PacketWriter;
