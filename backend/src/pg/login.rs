//! Startup and authentication: from the StartupMessage to the first
//! ReadyForQuery.
//!
//! openGauss data sources differ in two places, as the openGauss JDBC driver
//! does it: the startup version is 3.51 (which tells the server to put the
//! iteration count in its SHA256 request), and AuthenticationRequest code 10
//! is openGauss SHA256 rather than SASL, 11 is MD5_SHA256. A server that
//! answers 3.51 with NegotiateProtocolVersion is a PostgreSQL server behind an
//! openGauss URL: the session continues at 3.0 and code 10 is SASL again. A
//! server that refuses 3.51 outright is retried once at 3.0 by the caller
//! ([`LoginError::VersionRefused`]).

use bytes::{BufMut, BytesMut};
use shardwire_protocol::auth::md5::md5_response;
use shardwire_protocol::auth::opengauss::{
    md5_sha256_response, Sha256Request, AUTH_MD5_SHA256, AUTH_SHA256,
};
use shardwire_protocol::auth::scram::{ScramClient, SCRAM_SHA_256};
use shardwire_protocol::pg::{
    Authentication, BackendMessage, FrontendMessage, PROTOCOL_VERSION_3_0, PROTOCOL_VERSION_3_50,
    PROTOCOL_VERSION_3_51,
};
use shardwire_protocol::ProtocolError;
use shardwire_rules::snapshot::{DataSource, DatabaseProtocol};

use super::connection::PgConnection;
use crate::error::{BackendError, Result, ServerError};

/// Sent to every backend; a DBA reading pg_stat_activity sees who we are.
const APPLICATION_NAME: &str = "shardwire";

fn auth_failed(reason: impl Into<String>) -> BackendError {
    BackendError::Auth {
        reason: reason.into(),
        source: None,
    }
}

/// SCRAM failures (a bad server signature, a malformed server message) are
/// authentication failures, not framing errors.
fn scram_err(e: ProtocolError) -> BackendError {
    match e {
        ProtocolError::Auth(reason) => auth_failed(reason),
        other => BackendError::Protocol(other),
    }
}

/// The startup version to send first: what the openGauss JDBC driver sends.
pub(crate) fn first_version(source: &DataSource) -> u32 {
    match source.protocol {
        DatabaseProtocol::OpenGauss => PROTOCOL_VERSION_3_51,
        _ => PROTOCOL_VERSION_3_0,
    }
}

/// Authentication codes an openGauss session keeps raw in the codec.
pub(crate) fn raw_auth_codes(source: &DataSource) -> Vec<i32> {
    match source.protocol {
        DatabaseProtocol::OpenGauss => vec![AUTH_SHA256, AUTH_MD5_SHA256],
        _ => Vec::new(),
    }
}

/// How a login ended when it did not succeed.
#[derive(Debug)]
pub(crate) enum LoginError {
    /// The server refused the startup version before authenticating: worth
    /// one retry at 3.0.
    VersionRefused(BackendError),
    Failed(BackendError),
}

impl<E: Into<BackendError>> From<E> for LoginError {
    fn from(e: E) -> Self {
        LoginError::Failed(e.into())
    }
}

/// What a successful login learned.
pub(crate) struct LoggedIn {
    /// (pid, secret) from BackendKeyData.
    pub(crate) key: Option<(i32, i32)>,
    pub(crate) session: Session,
}

/// What the server turned out to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Session {
    /// The protocol version, after any NegotiateProtocolVersion.
    pub(crate) version: u32,
    /// An openGauss data source whose server did not negotiate down to
    /// PostgreSQL's 3.0: it reads code 10 as SHA256 and takes Batch Bind.
    pub(crate) opengauss: bool,
}

/// Runs startup and authentication on a freshly opened connection at
/// startup version `version`.
pub(crate) async fn login(
    conn: &mut PgConnection,
    source: &DataSource,
    version: u32,
) -> Result<LoggedIn, LoginError> {
    conn.encode_request(&[FrontendMessage::Startup {
        protocol_version: version,
        params: vec![
            ("user".into(), source.username.clone()),
            ("database".into(), source.database.clone()),
            ("application_name".into(), APPLICATION_NAME.into()),
            ("client_encoding".into(), "UTF8".into()),
        ],
    }])?;
    // The startup exchange ends with one ReadyForQuery, like a request.
    conn.pending = 1;
    conn.flush().await?;
    let session = authenticate(conn, source, version).await?;

    let mut key = None;
    loop {
        match conn.recv().await? {
            BackendMessage::BackendKeyData { pid, secret } => key = Some((pid, secret)),
            BackendMessage::NoticeResponse(_) => {}
            BackendMessage::ReadyForQuery(_) => return Ok(LoggedIn { key, session }),
            BackendMessage::ErrorResponse(e) => {
                // E.g. "too many connections" or a missing database, sent
                // after authentication succeeded.
                conn.broken = true;
                return Err(BackendError::from(ServerError::from(e)).into());
            }
            other => return Err(conn.unexpected(&other, "starting the session").into()),
        }
    }
}

/// Reads a raw code 10 / 11 request: openGauss's meaning, unless the server
/// showed itself to be PostgreSQL by negotiating the version down (then
/// code 10 is SASL).
fn opengauss_auth(
    source: &DataSource,
    session: Session,
    code: i32,
    data: &[u8],
) -> Result<Result<FrontendMessage, Authentication>> {
    let (og, version) = (session.opengauss, session.version);
    let answer = match code {
        AUTH_SHA256 if og => Sha256Request::decode(data, version)
            .and_then(|req| req.respond(&source.username, &source.password)),
        AUTH_MD5_SHA256 if og => md5_sha256_response(data, &source.password),
        _ => {
            let mut body = BytesMut::with_capacity(4 + data.len());
            body.put_i32(code);
            body.put_slice(data);
            return Authentication::decode(body.freeze(), &[])
                .map(Err)
                .map_err(BackendError::Protocol);
        }
    };
    answer
        .map(|p| Ok(FrontendMessage::Password(p)))
        .map_err(scram_err)
}

/// Answers the server's requests until AuthenticationOk.
async fn authenticate(
    conn: &mut PgConnection,
    source: &DataSource,
    version: u32,
) -> Result<Session, LoginError> {
    let mut session = Session {
        version,
        opengauss: source.protocol == DatabaseProtocol::OpenGauss,
    };
    let mut scram: Option<ScramClient> = None;
    let mut authenticating = false;
    loop {
        let mut msg = conn.recv().await?;
        if let BackendMessage::Authentication(Authentication::Other { code, data }) = &msg {
            if matches!(*code, AUTH_SHA256 | AUTH_MD5_SHA256) {
                match opengauss_auth(source, session, *code, data)? {
                    Ok(answer) => {
                        authenticating = true;
                        conn.encode_request(&[answer])?;
                        conn.flush().await?;
                        continue;
                    }
                    Err(postgres) => msg = BackendMessage::Authentication(postgres),
                }
            }
        }
        let answer = match msg {
            BackendMessage::Authentication(auth) => match auth {
                Authentication::Ok => return Ok(session),
                Authentication::CleartextPassword => {
                    FrontendMessage::Password(source.password.clone())
                }
                Authentication::Md5Password { salt } => FrontendMessage::Password(md5_response(
                    &source.username,
                    &source.password,
                    salt,
                )),
                Authentication::Sasl { mechanisms } => {
                    // SCRAM-SHA-256-PLUS needs TLS channel binding, which we
                    // do not have; plain SCRAM-SHA-256 is always offered
                    // alongside it by PostgreSQL.
                    if !mechanisms.iter().any(|m| m == SCRAM_SHA_256) {
                        return Err(auth_failed(format!(
                            "server offers SASL mechanisms {mechanisms:?}, none of which is supported"
                        ))
                        .into());
                    }
                    // PostgreSQL takes the user from the startup packet and
                    // ignores SCRAM's; libpq sends it empty too.
                    let mut client = ScramClient::new("", &source.password).map_err(scram_err)?;
                    let first = client.client_first();
                    scram = Some(client);
                    FrontendMessage::SaslInitialResponse {
                        mechanism: SCRAM_SHA_256.into(),
                        data: Some(first.into_bytes().into()),
                    }
                }
                Authentication::SaslContinue(data) => {
                    let Some(client) = scram.as_mut() else {
                        return Err(conn
                            .unexpected(
                                &BackendMessage::Authentication(Authentication::SaslContinue(data)),
                                "authenticating before SASL started",
                            )
                            .into());
                    };
                    let last = client.handle_server_first(&data).map_err(scram_err)?;
                    FrontendMessage::SaslResponse(last.into_bytes().into())
                }
                Authentication::SaslFinal(data) => {
                    let Some(client) = scram.as_mut() else {
                        return Err(conn
                            .unexpected(
                                &BackendMessage::Authentication(Authentication::SaslFinal(data)),
                                "authenticating before SASL started",
                            )
                            .into());
                    };
                    // A wrong server signature means the server does not
                    // know the password: it may be an impostor, so stop.
                    client.verify_server_final(&data).map_err(scram_err)?;
                    continue;
                }
                Authentication::Other { code, .. } => {
                    return Err(auth_failed(format!(
                        "server asks for authentication method {code}, which is not supported"
                    ))
                    .into());
                }
            },
            BackendMessage::ErrorResponse(e) => {
                conn.broken = true;
                let e = ServerError::from(e);
                // Class 28: invalid authorization specification.
                if e.code.starts_with("28") {
                    return Err(BackendError::Auth {
                        reason: e.message.clone(),
                        source: Some(Box::new(e)),
                    }
                    .into());
                }
                // 0A000 / 08P01 before any request: PostgreSQL's answer to a
                // startup version it does not serve.
                if version != PROTOCOL_VERSION_3_0
                    && !authenticating
                    && matches!(e.code.as_str(), "0A000" | "08P01")
                {
                    return Err(LoginError::VersionRefused(e.into()));
                }
                return Err(BackendError::from(e).into());
            }
            // The server serves an older minor version: we continue at it.
            // PostgreSQL does this to 3.51, and from then on code 10 is SASL.
            BackendMessage::NegotiateProtocolVersion { newest_minor, .. } => {
                let minor = u32::try_from(newest_minor & 0xffff).unwrap_or(0);
                session.version = session.version.min(PROTOCOL_VERSION_3_0 | minor);
                if session.version < PROTOCOL_VERSION_3_50 {
                    session.opengauss = false;
                }
                continue;
            }
            BackendMessage::NoticeResponse(_) => continue,
            other => return Err(conn.unexpected(&other, "authenticating").into()),
        };
        authenticating = true;
        conn.encode_request(&[answer])?;
        conn.flush().await?;
    }
}
