//! From the first byte to ReadyForQuery: encryption negotiation, the
//! startup packet, cancel requests, authentication, and the parameters
//! drivers expect to be told.

use std::net::SocketAddr;
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use shardwire_protocol::auth::md5::{md5_stored, verify_md5};
use shardwire_protocol::auth::scram::{ScramServer, ScramVerifier, SCRAM_SHA_256};
use shardwire_protocol::pg::{
    Authentication, BackendMessage, ErrorFields, FrontendMessage, PgServerCodec,
};
use shardwire_rules::snapshot::ListenerProtocol;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use crate::error::SessionError;
use crate::server::{Database, Frontend};
use crate::tls::ClientStream;

pub type ClientConn = Framed<ClientStream, PgServerCodec>;

/// A logged-in client.
#[derive(Debug)]
pub struct Login {
    pub conn: ClientConn,
    pub user: String,
    pub database: Arc<Database>,
    /// The startup packet's parameters other than user and database.
    pub params: Vec<(String, String)>,
    /// Set when the client logged in as openGauss (a 3.5x client on an
    /// openGauss listener).
    pub opengauss: Option<crate::opengauss::OgSession>,
}

/// Negotiates and authenticates. `Ok(None)` when the connection carried a
/// CancelRequest (handled) or the client left before logging in.
pub async fn login(
    fe: &Arc<Frontend>,
    stream: TcpStream,
    peer: SocketAddr,
    listener: ListenerProtocol,
) -> Result<Option<Login>, SessionError> {
    crate::core::bounded_login(fe, peer, login_unbounded(fe, stream, peer, listener)).await
}

fn codec(fe: &Frontend) -> PgServerCodec {
    PgServerCodec::new().with_max_message_len(fe.max_message_len)
}

async fn login_unbounded(
    fe: &Arc<Frontend>,
    stream: TcpStream,
    peer: SocketAddr,
    listener: ListenerProtocol,
) -> Result<Option<Login>, SessionError> {
    let mut conn = Framed::new(ClientStream::Plain(stream), codec(fe));
    let (version, params) = loop {
        let Some(msg) = recv(&mut conn).await? else {
            return Ok(None);
        };
        match msg {
            FrontendMessage::SslRequest => match (&fe.tls, conn.get_ref().is_tls()) {
                (Some(acceptor), false) => {
                    conn.send(BackendMessage::EncryptionResponse { accepted: true })
                        .await?;
                    // The codec already refused bytes pipelined after the
                    // request, so nothing sent in plaintext can be mistaken
                    // for part of the encrypted session.
                    let parts = conn.into_parts();
                    let ClientStream::Plain(tcp) = parts.io else {
                        return Err(SessionError::Refused("TLS requested twice".into()));
                    };
                    let tls = acceptor.accept(tcp).await.map_err(SessionError::Tls)?;
                    conn = Framed::new(ClientStream::Tls(Box::new(tls)), codec(fe));
                }
                _ => {
                    conn.send(BackendMessage::EncryptionResponse { accepted: false })
                        .await?
                }
            },
            FrontendMessage::GssEncRequest => {
                conn.send(BackendMessage::EncryptionResponse { accepted: false })
                    .await?
            }
            FrontendMessage::CancelRequest { pid, secret } => {
                fe.cancels.cancel(pid, secret).await;
                return Ok(None);
            }
            FrontendMessage::Startup {
                protocol_version,
                params,
            } => break (protocol_version, params),
            other => {
                return Err(SessionError::Refused(format!(
                    "expected a startup packet, got {other:?}"
                )))
            }
        }
    };
    if version >> 16 != 3 {
        return refuse(
            &mut conn,
            "0A000",
            format!(
                "unsupported frontend protocol {}.{}: Shardwire speaks 3.0",
                version >> 16,
                version & 0xffff
            ),
        )
        .await;
    }
    let mut user = None;
    let mut database = None;
    let mut rest = Vec::new();
    let mut unrecognized = Vec::new();
    for (name, value) in params {
        match name.as_str() {
            "user" => user = Some(value),
            "database" => database = Some(value),
            // Protocol options (`_pq_.*`) we do not know are declined with
            // NegotiateProtocolVersion, as the server does.
            n if n.starts_with("_pq_.") => unrecognized.push(name),
            _ => rest.push((name, value)),
        }
    }
    let Some(user) = user.filter(|u| !u.is_empty()) else {
        return refuse(
            &mut conn,
            "28000",
            "no PostgreSQL user name specified in startup packet",
        )
        .await;
    };
    let database_name = database
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| user.clone());
    let opengauss = crate::opengauss::startup::accept(listener, version);
    // Never to an openGauss client: py-opengauss aborts on it.
    if opengauss.is_none() && (version & 0xffff != 0 || !unrecognized.is_empty()) {
        conn.feed(BackendMessage::NegotiateProtocolVersion {
            newest_minor: 0,
            unrecognized,
        })
        .await?;
    }
    if let Some(bad) = rest.iter().find_map(|(k, v)| check_param(k, v)) {
        return refuse(&mut conn, "22023", bad).await;
    }

    let host = peer.ip().to_string();
    let account = fe.snapshot.global.find_user(&user, &host);
    let verifier = match account.and_then(|a| fe.scram.get(&a.name)) {
        Some(v) => v.clone(),
        // An unknown user goes through the same exchange against a
        // verifier nobody knows the password of, so a client cannot tell
        // unknown users from wrong passwords.
        None => ScramVerifier::new_random(&random_password(), 4096)
            .map_err(|e| SessionError::Refused(format!("SCRAM setup: {e}")))?,
    };
    let md5 = account.is_some_and(|a| a.authenticator.as_deref() == Some("MD5"));
    let proved = if let Some(og) = opengauss {
        crate::opengauss::auth::exchange(fe, &mut conn, account, &user, og).await?
    } else if md5 {
        let password = account.map(|a| a.password.as_str()).unwrap_or_default();
        md5_exchange(&mut conn, &user, password).await?
    } else {
        scram_exchange(&mut conn, verifier).await?
    };
    if !proved || account.is_none() {
        return refuse(
            &mut conn,
            "28P01",
            format!("password authentication failed for user \"{user}\""),
        )
        .await;
    }
    let Some(db) = fe.databases.get(&database_name) else {
        return refuse(
            &mut conn,
            "3D000",
            format!("database \"{database_name}\" does not exist"),
        )
        .await;
    };
    if !account.is_some_and(|a| a.may_use(&database_name)) {
        return refuse(
            &mut conn,
            "42501",
            format!("permission denied for database \"{database_name}\""),
        )
        .await;
    }
    if db.pg.is_none() {
        return refuse(
            &mut conn,
            "0A000",
            format!(
                "database \"{database_name}\" is stored on MySQL data sources; connect to it \
                 with a MySQL client"
            ),
        )
        .await;
    }
    conn.feed(BackendMessage::Authentication(Authentication::Ok))
        .await?;
    Ok(Some(Login {
        conn,
        user,
        database: Arc::clone(db),
        params: rest,
        opengauss: opengauss.map(crate::opengauss::OgSession::new),
    }))
}

/// Settings whose values Shardwire cannot honour, at startup or by SET:
/// it relays backend text as it is, so only UTF-8 clients are served.
pub(super) fn check_param(name: &str, value: &str) -> Option<String> {
    if name.eq_ignore_ascii_case("client_encoding") {
        let v = value
            .trim_matches(|c| c == '\'' || c == '"')
            .to_ascii_lowercase();
        let v = v.replace(['-', '_'], "");
        if v != "utf8" && v != "unicode" {
            return Some(format!(
                "client_encoding \"{value}\" is not supported: Shardwire serves UTF8 clients only"
            ));
        }
    }
    None
}

/// MD5 (`authority.authenticators` with `type: MD5`), for clients that
/// predate SCRAM; true when the client proved it knows the password.
pub(crate) async fn md5_exchange(
    conn: &mut ClientConn,
    user: &str,
    password: &str,
) -> Result<bool, SessionError> {
    let mut salt = [0u8; 4];
    let _ = getrandom::fill(&mut salt);
    conn.send(BackendMessage::Authentication(
        Authentication::Md5Password { salt },
    ))
    .await?;
    let Some(FrontendMessage::Password(response)) = recv(conn).await? else {
        return Ok(false);
    };
    Ok(verify_md5(&md5_stored(user, password), salt, &response))
}

/// Runs SCRAM-SHA-256; true when the client proved it knows the password.
async fn scram_exchange(
    conn: &mut ClientConn,
    verifier: ScramVerifier,
) -> Result<bool, SessionError> {
    let mut scram = ScramServer::new(verifier);
    conn.send(BackendMessage::Authentication(Authentication::Sasl {
        mechanisms: vec![SCRAM_SHA_256.into()],
    }))
    .await?;
    let Some(msg) = recv(conn).await? else {
        return Ok(false);
    };
    let FrontendMessage::SaslInitialResponse { mechanism, data } = msg else {
        return Ok(false);
    };
    if mechanism != SCRAM_SHA_256 {
        return Ok(false);
    }
    let Ok(first) = scram.handle_client_first(data.as_deref().unwrap_or_default()) else {
        return Ok(false);
    };
    conn.send(BackendMessage::Authentication(
        Authentication::SaslContinue(first.into_bytes().into()),
    ))
    .await?;
    let Some(msg) = recv(conn).await? else {
        return Ok(false);
    };
    let FrontendMessage::SaslResponse(data) = msg else {
        return Ok(false);
    };
    match scram.handle_client_final(&data) {
        Ok(fin) => {
            conn.feed(BackendMessage::Authentication(Authentication::SaslFinal(
                fin.into_bytes().into(),
            )))
            .await?;
            Ok(true)
        }
        Err(_) => Ok(false),
    }
}

/// The next client message; a malformed one is answered with a FATAL
/// error the client can show, then ends the login.
pub(crate) async fn recv(conn: &mut ClientConn) -> Result<Option<FrontendMessage>, SessionError> {
    match conn.next().await {
        None => Ok(None),
        Some(Ok(msg)) => Ok(Some(msg)),
        Some(Err(e)) => {
            if !matches!(e, shardwire_protocol::ProtocolError::Io(_)) {
                let _ = conn
                    .send(BackendMessage::ErrorResponse(ErrorFields::new(
                        "FATAL",
                        "08P01",
                        e.to_string(),
                    )))
                    .await;
            }
            Err(SessionError::Protocol(e))
        }
    }
}

fn random_password() -> String {
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sends a FATAL error and ends the login.
pub async fn refuse<T>(
    conn: &mut ClientConn,
    code: &str,
    message: impl Into<String>,
) -> Result<Option<T>, SessionError> {
    let message = message.into();
    conn.send(BackendMessage::ErrorResponse(ErrorFields::new(
        "FATAL", code, &message,
    )))
    .await?;
    Err(SessionError::Refused(message))
}
