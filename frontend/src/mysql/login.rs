//! The connection phase: handshake v10, TLS on SSLRequest, and the
//! authentication of the proxy's own users (mysql_native_password,
//! caching_sha2_password with fast and full auth, AuthSwitchRequest), then
//! the choice of logical database.
//!
//! The proxy keeps its users' cleartext passwords, so caching_sha2's
//! "cache" always holds every user: a correct scramble passes the fast
//! path; anything else gets the full-auth round (the cleartext password
//! over TLS, or RSA-encrypted with the proxy's key pair otherwise), as a
//! MySQL server does on a cache miss.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use bytes::{Bytes, BytesMut};
use shardwire_protocol::auth::caching_sha2::{self, RsaPrivateKey};
use shardwire_protocol::auth::{mysql_native, verify_cleartext};
use shardwire_protocol::mysql::constants::capability::*;
use shardwire_protocol::mysql::constants::status::SERVER_STATUS_AUTOCOMMIT;
use shardwire_protocol::mysql::{
    AuthMoreData, AuthSwitchRequest, ClientHandshake, ErrPacket, HandshakeResponse41, HandshakeV10,
    OkPacket, Packet,
};
use shardwire_protocol::ProtocolError;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use super::conn::ClientConn;
use crate::error::SessionError;
use crate::server::{Database, Frontend};
use crate::tls::ClientStream;

/// utf8mb4_general_ci, the character set the handshake announces.
pub const SERVER_CHARSET: u8 = 45;

/// RSA key size for caching_sha2_password's full auth without TLS.
const RSA_BITS: usize = 2048;

/// What the proxy offers. Not CLIENT_QUERY_ATTRIBUTES (the command decoder
/// does not read attribute blocks), not CLIENT_LOCAL_FILES (LOAD DATA
/// LOCAL is refused), not compression or session tracking.
const SERVER_CAPS: u32 = CLIENT_LONG_PASSWORD
    | CLIENT_LONG_FLAG
    | CLIENT_CONNECT_WITH_DB
    | CLIENT_PROTOCOL_41
    | CLIENT_TRANSACTIONS
    | CLIENT_SECURE_CONNECTION
    | CLIENT_MULTI_STATEMENTS
    | CLIENT_MULTI_RESULTS
    | CLIENT_PS_MULTI_RESULTS
    | CLIENT_PLUGIN_AUTH
    | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
    | CLIENT_CONNECT_ATTRS
    | CLIENT_DEPRECATE_EOF;

/// The process's RSA key pair and its public half as PEM, made on first
/// use: generating one costs up to seconds, and most sessions never need it.
static RSA_KEY: OnceLock<(RsaPrivateKey, String)> = OnceLock::new();

/// A logged-in client.
#[derive(Debug)]
pub struct Login {
    pub conn: ClientConn,
    pub user: String,
    pub host: String,
    pub database: Option<Arc<Database>>,
    pub connection_id: u32,
    /// The collation id the client's handshake asked for.
    pub charset: u8,
}

impl Login {
    /// Ends the connection phase with OK: the client may send commands.
    pub async fn accept(&mut self) -> Result<(), SessionError> {
        self.conn
            .write_ok(&OkPacket::with_status(SERVER_STATUS_AUTOCOMMIT))?;
        self.conn.flush().await
    }

    /// Ends the connection phase with `err` instead of OK.
    pub async fn refuse(mut self, err: ErrPacket) -> Result<(), SessionError> {
        refuse(&mut self.conn, err).await
    }
}

/// Runs the connection phase up to its last answer, which the caller
/// gives ([`Login::accept`] or [`Login::refuse`]); `Ok(None)` when the
/// client was refused (it has been told why) or left.
pub async fn login(
    fe: &Arc<Frontend>,
    stream: TcpStream,
    peer: SocketAddr,
) -> Result<Option<Login>, SessionError> {
    crate::core::bounded_login(fe, peer, login_unbounded(fe, stream, peer)).await
}

/// 20 random scramble bytes, printable and never NUL (clients read the
/// scramble as a C string).
pub fn new_scramble() -> Result<[u8; 20], SessionError> {
    let mut raw = [0u8; 20];
    getrandom::fill(&mut raw)
        .map_err(|e| SessionError::Refused(format!("no randomness for the scramble: {e}")))?;
    for b in &mut raw {
        *b = 33 + *b % 94;
    }
    Ok(raw)
}

async fn login_unbounded(
    fe: &Arc<Frontend>,
    stream: TcpStream,
    peer: SocketAddr,
) -> Result<Option<Login>, SessionError> {
    let mut conn = ClientConn::new(ClientStream::Plain(stream), fe.max_message_len);
    let scramble = new_scramble()?;
    let connection_id = u32::from_le_bytes([scramble[0], scramble[1], scramble[2], 0]);
    let offered = SERVER_CAPS | if fe.tls.is_some() { CLIENT_SSL } else { 0 };
    let mut hello = BytesMut::new();
    HandshakeV10 {
        server_version: fe.snapshot.global.mysql_server_version.clone(),
        connection_id,
        auth_data: Bytes::copy_from_slice(&scramble),
        capabilities: offered,
        charset: SERVER_CHARSET,
        status: SERVER_STATUS_AUTOCOMMIT,
        auth_plugin: Some(mysql_native::PLUGIN_NAME.into()),
        mariadb_capabilities: 0,
    }
    .encode(&mut hello)?;
    conn.write_payload(&hello)?;
    conn.flush().await?;

    let Some(first) = conn.recv().await? else {
        return Ok(None);
    };
    let response = match ClientHandshake::decode(first.payload)? {
        ClientHandshake::Response(r) => r,
        ClientHandshake::SslRequest(_) => {
            let Some(acceptor) = fe.tls.clone() else {
                return Err(SessionError::Refused(
                    "the client asked for TLS, which this proxy does not offer".into(),
                ));
            };
            let seq = conn.framed.codec().next_seq();
            let parts = conn.framed.into_parts();
            if !parts.read_buf.is_empty() {
                // Bytes sent before the TLS handshake could be injected by
                // anyone on the path: refuse them.
                return Err(SessionError::Refused(
                    "data after SSLRequest before the TLS handshake".into(),
                ));
            }
            let ClientStream::Plain(tcp) = parts.io else {
                return Err(SessionError::Refused("TLS requested twice".into()));
            };
            let tls = acceptor.accept(tcp).await.map_err(SessionError::Tls)?;
            let mut codec = parts.codec;
            codec.set_next_seq(seq);
            conn.framed = Framed::new(ClientStream::Tls(Box::new(tls)), codec);
            let Some(packet) = conn.recv().await? else {
                return Ok(None);
            };
            match ClientHandshake::decode(packet.payload)? {
                ClientHandshake::Response(r) => r,
                ClientHandshake::SslRequest(_) => {
                    return Err(SessionError::Refused("SSLRequest inside TLS".into()))
                }
            }
        }
    };
    conn.caps = offered & response.capabilities;
    let charset = response.charset;
    let host = peer.ip().to_string();
    let HandshakeResponse41 {
        username,
        auth_response,
        database,
        auth_plugin,
        ..
    } = response;
    let account = fe.snapshot.global.find_user(&username, &host);
    // An unknown user still goes through the exchange, against a password
    // nobody knows, so the answer does not tell which names exist.
    let password = match account {
        Some(a) => a.password.clone(),
        None => String::from_utf8_lossy(&new_scramble()?).into_owned(),
    };
    let plugin = auth_plugin.unwrap_or_else(|| mysql_native::PLUGIN_NAME.to_owned());
    let passed = authenticate(&mut conn, &password, &scramble, &plugin, &auth_response).await?;
    if !passed || account.is_none() {
        let used = !auth_response.is_empty();
        refuse(&mut conn, access_denied(&username, &host, used)).await?;
        return Ok(None);
    }
    let database = match database.filter(|d| !d.is_empty()) {
        None => None,
        Some(name) => match choose_database(fe, &username, &host, &name) {
            Ok(db) => Some(db),
            Err(err) => {
                refuse(&mut conn, err).await?;
                return Ok(None);
            }
        },
    };
    // The OK is the caller's to send ([`Login::accept`]): a passthrough
    // login first needs its backend session, and a failure there must
    // answer the login, numbered as the login's next packet.
    Ok(Some(Login {
        conn,
        user: username,
        host,
        database,
        connection_id,
        charset,
    }))
}

/// Runs the plugin exchange for `plugin`'s first answer `response` to
/// `scramble`; true when the password matched. Anything but the two
/// supported plugins is switched to mysql_native_password.
pub async fn authenticate(
    conn: &mut ClientConn,
    password: &str,
    scramble: &[u8; 20],
    plugin: &str,
    response: &[u8],
) -> Result<bool, SessionError> {
    match plugin {
        mysql_native::PLUGIN_NAME => Ok(mysql_native::verify(password, scramble, response)),
        caching_sha2::PLUGIN_NAME => {
            caching_sha2_exchange(conn, password, scramble, response).await
        }
        _ => switch_to_native(conn, password).await,
    }
}

/// AuthSwitchRequest to mysql_native_password with a fresh scramble, and
/// the check of the client's answer.
pub async fn switch_to_native(conn: &mut ClientConn, password: &str) -> Result<bool, SessionError> {
    let scramble = new_scramble()?;
    let mut buf = BytesMut::new();
    AuthSwitchRequest {
        plugin: mysql_native::PLUGIN_NAME.into(),
        data: Bytes::copy_from_slice(&scramble),
    }
    .encode(&mut buf)?;
    conn.write_payload(&buf)?;
    conn.flush().await?;
    let Some(answer) = conn.recv().await? else {
        return Ok(false);
    };
    Ok(mysql_native::verify(password, &scramble, &answer.payload))
}

async fn caching_sha2_exchange(
    conn: &mut ClientConn,
    password: &str,
    scramble: &[u8; 20],
    response: &[u8],
) -> Result<bool, SessionError> {
    if password.is_empty() && response.is_empty() {
        return Ok(true);
    }
    if !response.is_empty() && caching_sha2::verify(password, scramble, response) {
        more_data(conn, &[caching_sha2::FAST_AUTH_SUCCESS])?;
        return Ok(true);
    }
    more_data(conn, &[caching_sha2::PERFORM_FULL_AUTHENTICATION])?;
    conn.flush().await?;
    let Some(packet) = conn.recv().await? else {
        return Ok(false);
    };
    if conn.framed.get_ref().is_tls() {
        let Ok(sent) = caching_sha2::parse_cleartext_response(&packet.payload) else {
            return Ok(false);
        };
        return Ok(verify_cleartext(password, &sent));
    }
    let (key, pem) = rsa_key().await?;
    let ciphertext = if packet.payload[..] == [caching_sha2::REQUEST_PUBLIC_KEY] {
        more_data(conn, pem.as_bytes())?;
        conn.flush().await?;
        match conn.recv().await? {
            Some(Packet { payload, .. }) => payload,
            None => return Ok(false),
        }
    } else {
        packet.payload
    };
    match caching_sha2::decrypt_password(key, &ciphertext, scramble) {
        Ok(sent) => Ok(verify_cleartext(password, &sent)),
        Err(_) => Ok(false),
    }
}

fn more_data(conn: &mut ClientConn, data: &[u8]) -> Result<(), ProtocolError> {
    let mut buf = BytesMut::new();
    AuthMoreData(Bytes::copy_from_slice(data)).encode(&mut buf);
    conn.write_payload(&buf)
}

async fn rsa_key() -> Result<&'static (RsaPrivateKey, String), SessionError> {
    if let Some(k) = RSA_KEY.get() {
        return Ok(k);
    }
    let made = tokio::task::spawn_blocking(|| -> Result<(RsaPrivateKey, String), ProtocolError> {
        let key = caching_sha2::generate_private_key(RSA_BITS)?;
        let pem = caching_sha2::public_key_pem(&key)?;
        Ok((key, pem))
    })
    .await
    .map_err(|e| SessionError::Refused(format!("RSA key generation failed: {e}")))??;
    // Two sessions may race here; the first key wins and both use it.
    Ok(RSA_KEY.get_or_init(|| made))
}

/// ERR 1045, worded as MySQL words it.
pub fn access_denied(user: &str, host: &str, used_password: bool) -> ErrPacket {
    ErrPacket::new(
        1045,
        "28000",
        format!(
            "Access denied for user '{user}'@'{host}' (using password: {})",
            if used_password { "YES" } else { "NO" }
        ),
    )
}

/// The logical database `name` if it exists, is served over MySQL and
/// `user` may use it; the ERR to answer otherwise.
pub fn choose_database(
    fe: &Frontend,
    user: &str,
    host: &str,
    name: &str,
) -> Result<Arc<Database>, ErrPacket> {
    let unknown = || ErrPacket::new(1049, "42000", format!("Unknown database '{name}'"));
    let Some(db) = fe.databases.get(name) else {
        return Err(unknown());
    };
    let allowed = fe
        .snapshot
        .global
        .find_user(user, host)
        .is_some_and(|a| a.may_use(name));
    if !allowed {
        return Err(ErrPacket::new(
            1044,
            "42000",
            format!("Access denied for user '{user}'@'{host}' to database '{name}'"),
        ));
    }
    if db.mysql.is_none() {
        return Err(ErrPacket::new(
            1105,
            "HY000",
            format!(
                "database '{name}' is stored on PostgreSQL data sources; connect to it with a \
                 PostgreSQL client"
            ),
        ));
    }
    Ok(Arc::clone(db))
}

async fn refuse(conn: &mut ClientConn, err: ErrPacket) -> Result<(), SessionError> {
    conn.write_err(&err)?;
    conn.flush().await
}
