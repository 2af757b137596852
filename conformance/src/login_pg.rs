//! The client side of a PostgreSQL login, with the replay's own
//! credentials: the captured salts and nonces cannot be answered again.

use bytes::BytesMut;
use shardwire_protocol::auth::md5::md5_response;
use shardwire_protocol::auth::scram::{ScramClient, SCRAM_SHA_256};
use shardwire_protocol::pg::{
    Authentication, BackendMessage, FrontendMessage, PROTOCOL_VERSION_3_0,
};

use crate::error::{ConformanceError, Result};
use crate::wire::Wire;

/// Messages a login may take before it counts as a runaway server.
const MAX_LOGIN_MESSAGES: usize = 1000;

/// Credentials and where to log in.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: String,
    pub password: String,
    /// Overrides the captured database.
    pub database: Option<String>,
}

async fn send(wire: &mut Wire, msg: FrontendMessage) -> Result<()> {
    let mut buf = BytesMut::new();
    msg.encode(&mut buf)?;
    wire.write(&buf).await
}

/// Starts a session with the captured startup parameters, the user and
/// database replaced; returns after the first ReadyForQuery.
pub(crate) async fn login(
    wire: &mut Wire,
    captured: &[(String, String)],
    creds: &Credentials,
) -> Result<()> {
    let mut params: Vec<(String, String)> = captured
        .iter()
        .filter(|(k, _)| k != "user" && !(k == "database" && creds.database.is_some()))
        .cloned()
        .collect();
    params.insert(0, ("user".into(), creds.user.clone()));
    if let Some(db) = &creds.database {
        params.insert(1, ("database".into(), db.clone()));
    }
    send(
        wire,
        FrontendMessage::Startup {
            protocol_version: PROTOCOL_VERSION_3_0,
            params,
        },
    )
    .await?;
    let mut scram: Option<ScramClient> = None;
    for _ in 0..MAX_LOGIN_MESSAGES {
        let (tag, body) = wire.read_pg("logging in").await?;
        let answer = match BackendMessage::decode(tag, body, &[])? {
            BackendMessage::Authentication(auth) => match auth {
                Authentication::Ok => continue,
                Authentication::CleartextPassword => {
                    FrontendMessage::Password(creds.password.clone())
                }
                Authentication::Md5Password { salt } => {
                    FrontendMessage::Password(md5_response(&creds.user, &creds.password, salt))
                }
                Authentication::Sasl { mechanisms } => {
                    if !mechanisms.iter().any(|m| m == SCRAM_SHA_256) {
                        return Err(ConformanceError::Login(format!(
                            "the server offers SASL {mechanisms:?}, without {SCRAM_SHA_256}"
                        )));
                    }
                    // PostgreSQL takes the user from the startup packet.
                    let mut client = ScramClient::new("", &creds.password)?;
                    let first = client.client_first();
                    scram = Some(client);
                    FrontendMessage::SaslInitialResponse {
                        mechanism: SCRAM_SHA_256.into(),
                        data: Some(first.into_bytes().into()),
                    }
                }
                Authentication::SaslContinue(data) => {
                    let client = scram.as_mut().ok_or_else(|| {
                        ConformanceError::Login("SASL continue before SASL started".into())
                    })?;
                    FrontendMessage::SaslResponse(
                        client.handle_server_first(&data)?.into_bytes().into(),
                    )
                }
                Authentication::SaslFinal(data) => {
                    let client = scram.as_mut().ok_or_else(|| {
                        ConformanceError::Login("SASL final before SASL started".into())
                    })?;
                    client.verify_server_final(&data)?;
                    continue;
                }
                Authentication::Other { code, .. } => {
                    return Err(ConformanceError::Login(format!(
                        "the server asks for authentication method {code}"
                    )))
                }
            },
            BackendMessage::ErrorResponse(e) => {
                return Err(ConformanceError::Login(format!(
                    "{} {}",
                    e.code().unwrap_or_default(),
                    e.message().unwrap_or_default()
                )))
            }
            BackendMessage::ReadyForQuery(_) => return Ok(()),
            _ => continue,
        };
        send(wire, answer).await?;
    }
    Err(ConformanceError::Login(format!(
        "more than {MAX_LOGIN_MESSAGES} messages without ReadyForQuery"
    )))
}
