//! The client side of a MySQL login, with the replay's own credentials.
//! The captured client's capabilities, character set and attributes are
//! kept so the target answers in the same shapes (EOF or not, session
//! tracking, multi-statements).

use bytes::{Bytes, BytesMut};
use shardwire_protocol::auth::{caching_sha2, mysql_native};
use shardwire_protocol::mysql::constants::capability::*;
use shardwire_protocol::mysql::{
    write_packet, AuthPacket, ErrPacket, HandshakeResponse41, HandshakeV10, ERR_HEADER,
};

use crate::error::{ConformanceError, Result};
use crate::login_pg::Credentials;
use crate::wire::Wire;

const MAX_AUTH_ROUNDS: usize = 8;
/// What replay cannot do on its socket: TLS, compression, query
/// attributes it would have to re-encode.
const UNSUPPORTED: u32 = CLIENT_SSL | CLIENT_COMPRESS | CLIENT_ZSTD_COMPRESSION_ALGORITHM;

/// What the login settled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MySqlSession {
    pub caps: u32,
}

fn answer(plugin: &str, password: &str, scramble: &[u8]) -> Result<Vec<u8>> {
    match plugin {
        mysql_native::PLUGIN_NAME => Ok(mysql_native::scramble(password, scramble)),
        caching_sha2::PLUGIN_NAME => Ok(caching_sha2::scramble(password, scramble)),
        other => Err(ConformanceError::Login(format!(
            "the server asks for auth plugin {other:?}, which replay does not speak"
        ))),
    }
}

async fn send(wire: &mut Wire, seq: u8, payload: &[u8]) -> Result<()> {
    let mut buf = BytesMut::new();
    write_packet(&mut buf, seq, payload);
    wire.write(&buf).await
}

pub(crate) struct MySqlLoginSettings<'a> {
    pub client_caps: u32,
    pub charset: u8,
    pub database: Option<String>,
    pub attributes: &'a [(String, String)],
}

pub(crate) async fn login(
    wire: &mut Wire,
    settings: MySqlLoginSettings<'_>,
    creds: &Credentials,
) -> Result<MySqlSession> {
    let (_, first) = wire.read_mysql("reading the greeting").await?;
    if first.first() == Some(&ERR_HEADER) {
        let e = ErrPacket::decode(first)?;
        return Err(ConformanceError::Login(format!("{} {}", e.code, e.message)));
    }
    let hs = HandshakeV10::decode(first)?;
    let database = creds.database.clone().or(settings.database);
    let mut want = settings.client_caps & !UNSUPPORTED & !CLIENT_CONNECT_WITH_DB;
    if database.is_some() {
        want |= CLIENT_CONNECT_WITH_DB;
    }
    let caps = want & hs.capabilities;
    let mut plugin = hs
        .auth_plugin
        .clone()
        .filter(|p| p == mysql_native::PLUGIN_NAME || p == caching_sha2::PLUGIN_NAME)
        .unwrap_or_else(|| mysql_native::PLUGIN_NAME.to_owned());
    let mut scramble = hs.auth_data.clone();
    let response = HandshakeResponse41 {
        capabilities: caps,
        max_packet_size: 16 * 1024 * 1024,
        charset: settings.charset,
        username: creds.user.clone(),
        auth_response: Bytes::from(answer(&plugin, &creds.password, &scramble)?),
        database,
        auth_plugin: Some(plugin.clone()),
        attributes: settings.attributes.to_vec(),
        zstd_level: None,
    };
    let mut buf = BytesMut::new();
    response.encode(&mut buf)?;
    send(wire, 1, &buf).await?;
    let mut asked_for_key = false;
    for _ in 0..MAX_AUTH_ROUNDS {
        let (seq, packet) = wire.read_mysql("logging in").await?;
        let next = seq.wrapping_add(1);
        match AuthPacket::decode(packet, caps)? {
            AuthPacket::Ok(_) => return Ok(MySqlSession { caps }),
            AuthPacket::Err(e) => {
                return Err(ConformanceError::Login(format!("{} {}", e.code, e.message)))
            }
            AuthPacket::Switch(sw) => {
                plugin = sw.plugin;
                scramble = sw.data;
                asked_for_key = false;
                let a = answer(&plugin, &creds.password, &scramble)?;
                send(wire, next, &a).await?;
            }
            AuthPacket::MoreData(data) if plugin == caching_sha2::PLUGIN_NAME => {
                match data.first().copied() {
                    Some(caching_sha2::FAST_AUTH_SUCCESS) if data.len() == 1 => {}
                    Some(caching_sha2::PERFORM_FULL_AUTHENTICATION) if data.len() == 1 => {
                        // No TLS on replay sockets: ask for the RSA key.
                        asked_for_key = true;
                        send(wire, next, &[caching_sha2::REQUEST_PUBLIC_KEY]).await?;
                    }
                    _ if asked_for_key => {
                        let enc =
                            caching_sha2::encrypt_password(&data, &creds.password, &scramble)?;
                        asked_for_key = false;
                        send(wire, next, &enc).await?;
                    }
                    _ => {
                        return Err(ConformanceError::Login(format!(
                            "unexpected caching_sha2_password data {data:02x?}"
                        )))
                    }
                }
            }
            AuthPacket::MoreData(_) => {
                return Err(ConformanceError::Login(format!(
                    "AuthMoreData for plugin {plugin}"
                )))
            }
        }
    }
    Err(ConformanceError::Login(format!(
        "more than {MAX_AUTH_ROUNDS} authentication rounds"
    )))
}
