//! Which startup protocol versions an openGauss listener serves as
//! openGauss.
//!
//! openGauss clients ask for 3.51 (py-opengauss, openGauss JDBC) or 3.50
//! (older libpq and JDBC); py-opengauss aborts on NegotiateProtocolVersion,
//! so a 3.5x request is accepted as it is. Anything else goes the
//! PostgreSQL way: 3.0 is served as PostgreSQL, other minors are
//! negotiated down to 3.0 as PostgreSQL does, and on a PostgreSQL listener
//! nothing changes.

use shardwire_protocol::auth::opengauss::{
    PROTOCOL_VERSION_3_50 as PROTOCOL_3_50, PROTOCOL_VERSION_3_51 as PROTOCOL_3_51,
};
use shardwire_rules::snapshot::ListenerProtocol;

/// An openGauss protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OgVersion {
    V350,
    V351,
}

impl OgVersion {
    pub fn code(self) -> u32 {
        match self {
            OgVersion::V350 => PROTOCOL_3_50,
            OgVersion::V351 => PROTOCOL_3_51,
        }
    }
}

/// The openGauss version a startup packet's `version` asks for on a
/// listener of `protocol`; `None` when the session is PostgreSQL's.
pub fn accept(protocol: ListenerProtocol, version: u32) -> Option<OgVersion> {
    if protocol != ListenerProtocol::OpenGauss {
        return None;
    }
    match version {
        PROTOCOL_3_50 => Some(OgVersion::V350),
        PROTOCOL_3_51 => Some(OgVersion::V351),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_opengauss_listener_takes_3_5x() {
        let og = ListenerProtocol::OpenGauss;
        let pg = ListenerProtocol::PostgreSql;
        assert_eq!(accept(og, PROTOCOL_3_51), Some(OgVersion::V351));
        assert_eq!(accept(og, PROTOCOL_3_50), Some(OgVersion::V350));
        assert_eq!(accept(og, 0x0003_0000), None);
        assert_eq!(accept(og, 0x0003_0034), None);
        assert_eq!(accept(pg, PROTOCOL_3_51), None);
        assert_eq!(accept(pg, PROTOCOL_3_50), None);
        assert_eq!(OgVersion::V351.code(), 196_659);
    }
}
