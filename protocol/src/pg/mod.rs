//! The PostgreSQL frontend/backend protocol, version 3.

mod authentication;
mod backend;
mod codec;
mod copy;
mod extended;
mod frontend;
mod notice;
mod pipeline;
mod rows;
mod startup;
mod wire;

pub use authentication::{
    Authentication, AUTH_CLEARTEXT, AUTH_MD5, AUTH_OK, AUTH_SASL, AUTH_SASL_CONTINUE,
    AUTH_SASL_FINAL,
};
pub use backend::{BackendMessage, TransactionStatus};
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
