//! The PostgreSQL frontend/backend protocol, version 3.

mod authentication;
mod backend;
mod batch_bind;
mod codec;
mod copy;
mod extended;
mod frontend;
mod notice;
mod pipeline;
mod rows;
mod startup;
mod wire;

/// openGauss's startup versions, for dialect code that speaks PostgreSQL shapes.
pub use crate::auth::opengauss::{PROTOCOL_VERSION_3_50, PROTOCOL_VERSION_3_51};
pub use authentication::{
    Authentication, AUTH_CLEARTEXT, AUTH_MD5, AUTH_OK, AUTH_SASL, AUTH_SASL_CONTINUE,
    AUTH_SASL_FINAL,
};
pub use backend::{BackendMessage, TransactionStatus};
pub use batch_bind::{
    encode_batch_bind, encode_batch_bind_execute, BatchBind, EMBEDDED_EXECUTE,
    MAX_ROWS_WITHOUT_PARAMS,
};
pub use codec::{PgClientCodec, PgServerCodec, ServerPhase, DEFAULT_MAX_MESSAGE_LEN};
pub use copy::CopyResponse;
pub use extended::{Bind, Parse, TargetKind};
pub use frontend::{FrontendMessage, PasswordKind};
pub use notice::{field, ErrorFields};
pub use rows::{DataRow, DataRowColumns, FieldDescription, RowDescription};
pub use startup::{
    CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, MAX_STARTUP_PACKET_LEN, PROTOCOL_VERSION_3_0,
    SSL_REQUEST_CODE,
};
