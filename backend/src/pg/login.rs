//! Startup and authentication: from the StartupMessage to the first
//! ReadyForQuery.

use shardwire_protocol::auth::md5::md5_response;
use shardwire_protocol::auth::scram::{ScramClient, SCRAM_SHA_256};
use shardwire_protocol::pg::{
    Authentication, BackendMessage, FrontendMessage, PROTOCOL_VERSION_3_0,
};
use shardwire_protocol::ProtocolError;
use shardwire_rules::snapshot::DataSource;

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

/// Runs startup and authentication on a freshly opened connection and
/// returns the backend key (pid, secret) if the server sent one.
pub(crate) async fn login(
    conn: &mut PgConnection,
    source: &DataSource,
) -> Result<Option<(i32, i32)>> {
    conn.encode_request(&[FrontendMessage::Startup {
        protocol_version: PROTOCOL_VERSION_3_0,
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
    authenticate(conn, source).await?;

    let mut key = None;
    loop {
        match conn.recv().await? {
            BackendMessage::BackendKeyData { pid, secret } => key = Some((pid, secret)),
            BackendMessage::NoticeResponse(_) => {}
            BackendMessage::ReadyForQuery(_) => return Ok(key),
            BackendMessage::ErrorResponse(e) => {
                // E.g. "too many connections" or a missing database, sent
                // after authentication succeeded.
                conn.broken = true;
                return Err(ServerError::from(e).into());
            }
            other => return Err(conn.unexpected(&other, "starting the session")),
        }
    }
}

async fn authenticate(conn: &mut PgConnection, source: &DataSource) -> Result<()> {
    let mut scram: Option<ScramClient> = None;
    loop {
        let answer = match conn.recv().await? {
            BackendMessage::Authentication(auth) => match auth {
                Authentication::Ok => return Ok(()),
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
                        )));
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
                        return Err(conn.unexpected(
                            &BackendMessage::Authentication(Authentication::SaslContinue(data)),
                            "authenticating before SASL started",
                        ));
                    };
                    let last = client.handle_server_first(&data).map_err(scram_err)?;
                    FrontendMessage::SaslResponse(last.into_bytes().into())
                }
                Authentication::SaslFinal(data) => {
                    let Some(client) = scram.as_mut() else {
                        return Err(conn.unexpected(
                            &BackendMessage::Authentication(Authentication::SaslFinal(data)),
                            "authenticating before SASL started",
                        ));
                    };
                    // A wrong server signature means the server does not
                    // know the password: it may be an impostor, so stop.
                    client.verify_server_final(&data).map_err(scram_err)?;
                    continue;
                }
                Authentication::Other { code, .. } => {
                    return Err(auth_failed(format!(
                        "server asks for authentication method {code}, which is not supported"
                    )));
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
                    });
                }
                return Err(BackendError::from(e));
            }
            // We ask for no protocol extensions, so a downgrade notice
            // changes nothing for us.
            BackendMessage::NoticeResponse(_) | BackendMessage::NegotiateProtocolVersion { .. } => {
                continue
            }
            other => return Err(conn.unexpected(&other, "authenticating")),
        };
        conn.encode_request(&[answer])?;
        conn.flush().await?;
    }
}
