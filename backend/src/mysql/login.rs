//! The connection phase from the client side: read the handshake, answer
//! it, and follow the server through whatever auth plugin exchange it
//! asks for.

use bytes::{Bytes, BytesMut};
use shardwire_protocol::auth::{caching_sha2, mysql_native};
use shardwire_protocol::mysql::constants::capability::*;
use shardwire_protocol::mysql::constants::charset::UTF8MB4_GENERAL_CI;
use shardwire_protocol::mysql::{
    AuthPacket, ErrPacket, HandshakeResponse41, HandshakeV10, OkPacket, ERR_HEADER,
};
use shardwire_rules::snapshot::DataSource;

use super::connection::MySqlConnection;
use super::options::ConnectOptions;
use super::server_error::MySqlServerError;
use crate::error::{BackendError, Result};

/// Auth rounds after the handshake response; real plugins need at most
/// three (switch, request key, encrypted password).
const MAX_AUTH_ROUNDS: usize = 8;

/// What the client always asks for; intersected with the server's offer.
const BASE_CAPABILITIES: u32 = CLIENT_LONG_PASSWORD
    | CLIENT_LONG_FLAG
    | CLIENT_PROTOCOL_41
    | CLIENT_TRANSACTIONS
    | CLIENT_SECURE_CONNECTION
    | CLIENT_PLUGIN_AUTH
    | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
    | CLIENT_CONNECT_ATTRS;

pub(crate) struct LoginOutcome {
    pub handshake: HandshakeV10,
    pub capabilities: u32,
    pub ok: OkPacket,
}

fn capabilities(server: u32, source: &DataSource, opts: &ConnectOptions) -> u32 {
    let mut want = BASE_CAPABILITIES;
    if opts.deprecate_eof {
        want |= CLIENT_DEPRECATE_EOF;
    }
    if opts.multi_statements {
        want |= CLIENT_MULTI_STATEMENTS;
    }
    if opts.found_rows {
        want |= CLIENT_FOUND_ROWS;
    }
    if opts.multi_results {
        want |= CLIENT_MULTI_RESULTS;
    }
    if opts.ps_multi_results {
        want |= CLIENT_PS_MULTI_RESULTS;
    }
    if opts.session_track {
        want |= CLIENT_SESSION_TRACK;
    }
    if !source.database.is_empty() {
        want |= CLIENT_CONNECT_WITH_DB;
    }
    want & server
}

/// Errors that mean "these credentials are refused"; any other ERR during
/// login (unknown database, too many connections) is the server's error
/// as such, so callers can tell a bad password from a bad schema name.
const AUTH_ERROR_CODES: &[u16] = &[
    1044, // ER_DBACCESS_DENIED_ERROR
    1045, // ER_ACCESS_DENIED_ERROR
    1251, // ER_NOT_SUPPORTED_AUTH_MODE
    1698, // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
    1820, // ER_MUST_CHANGE_PASSWORD
    1862, // ER_MUST_CHANGE_PASSWORD_LOGIN
];

fn auth_failed(e: ErrPacket) -> BackendError {
    let e = MySqlServerError::from(e);
    if AUTH_ERROR_CODES.contains(&e.code) {
        BackendError::Auth {
            reason: e.to_string(),
            source: None,
        }
    } else {
        BackendError::from(e)
    }
}

/// The answer `plugin` gives to `scramble`.
fn plugin_answer(plugin: &str, password: &str, scramble: &[u8]) -> Result<Vec<u8>> {
    match plugin {
        mysql_native::PLUGIN_NAME => Ok(mysql_native::scramble(password, scramble)),
        caching_sha2::PLUGIN_NAME => Ok(caching_sha2::scramble(password, scramble)),
        // Sending a password in the clear over an unencrypted socket is
        // what this plugin does; refuse rather than leak it.
        "mysql_clear_password" => Err(BackendError::Auth {
            reason: "the server asks for mysql_clear_password, which would send the password \
                     unencrypted; refused"
                .into(),
            source: None,
        }),
        other => Err(BackendError::Auth {
            reason: format!("the server asks for auth plugin {other:?}, which is not supported"),
            source: None,
        }),
    }
}

pub(crate) async fn login(
    conn: &mut MySqlConnection,
    source: &DataSource,
    opts: &ConnectOptions,
) -> Result<LoginOutcome> {
    let first = conn.recv_raw().await?;
    if first.payload.first() == Some(&ERR_HEADER) {
        // Too many connections, host blocked: sent instead of a handshake.
        let e = ErrPacket::decode(first.payload)?;
        return Err(BackendError::from(MySqlServerError::from(e)));
    }
    let hs = HandshakeV10::decode(first.payload)?;
    if hs.capabilities & CLIENT_PROTOCOL_41 == 0 {
        return Err(BackendError::Unexpected {
            message: format!("handshake of a pre-4.1 server ({})", hs.server_version),
            during: "logging in",
        });
    }
    let caps = capabilities(hs.capabilities, source, opts);
    let mut plugin = hs
        .auth_plugin
        .clone()
        .filter(|p| p == mysql_native::PLUGIN_NAME || p == caching_sha2::PLUGIN_NAME)
        .unwrap_or_else(|| mysql_native::PLUGIN_NAME.to_owned());
    let mut scramble = hs.auth_data.clone();
    let response = HandshakeResponse41 {
        capabilities: caps,
        max_packet_size: u32::try_from(opts.max_packet_len).unwrap_or(u32::MAX),
        charset: UTF8MB4_GENERAL_CI,
        username: source.username.clone(),
        auth_response: Bytes::from(plugin_answer(&plugin, &source.password, &scramble)?),
        database: (!source.database.is_empty()).then(|| source.database.clone()),
        auth_plugin: Some(plugin.clone()),
        attributes: vec![
            ("_client_name".into(), "shardwire".into()),
            ("_client_version".into(), env!("CARGO_PKG_VERSION").into()),
        ],
        zstd_level: None,
    };
    let mut buf = BytesMut::new();
    response.encode(&mut buf)?;
    conn.send_raw(buf.freeze()).await?;

    let mut asked_for_key = false;
    for _ in 0..MAX_AUTH_ROUNDS {
        let packet = conn.recv_raw().await?;
        match AuthPacket::decode(packet.payload, caps)? {
            AuthPacket::Ok(ok) => {
                return Ok(LoginOutcome {
                    handshake: hs,
                    capabilities: caps,
                    ok,
                })
            }
            AuthPacket::Err(e) => return Err(auth_failed(e)),
            AuthPacket::Switch(sw) => {
                plugin = sw.plugin;
                scramble = sw.data;
                asked_for_key = false;
                let answer = plugin_answer(&plugin, &source.password, &scramble)?;
                conn.send_raw(Bytes::from(answer)).await?;
            }
            AuthPacket::MoreData(data) if plugin == caching_sha2::PLUGIN_NAME => {
                match data.first().copied() {
                    Some(caching_sha2::FAST_AUTH_SUCCESS) if data.len() == 1 => {}
                    Some(caching_sha2::PERFORM_FULL_AUTHENTICATION) if data.len() == 1 => {
                        // No TLS to backends yet: ask for the RSA key.
                        asked_for_key = true;
                        conn.send_raw(Bytes::from_static(&[caching_sha2::REQUEST_PUBLIC_KEY]))
                            .await?;
                    }
                    _ if asked_for_key => {
                        let encrypted =
                            caching_sha2::encrypt_password(&data, &source.password, &scramble)?;
                        asked_for_key = false;
                        conn.send_raw(Bytes::from(encrypted)).await?;
                    }
                    _ => {
                        return Err(BackendError::Unexpected {
                            message: format!("caching_sha2_password data {data:02x?}"),
                            during: "logging in",
                        })
                    }
                }
            }
            AuthPacket::MoreData(_) => {
                return Err(BackendError::Unexpected {
                    message: format!("AuthMoreData for plugin {plugin}"),
                    during: "logging in",
                })
            }
        }
    }
    Err(BackendError::Unexpected {
        message: format!("more than {MAX_AUTH_ROUNDS} authentication rounds"),
        during: "logging in",
    })
}
