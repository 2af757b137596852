// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! The login paths MariaDB cannot exercise (it has no
//! caching_sha2_password): a small MySQL-8-like server built from the
//! protocol crate's server-side encoders drives `MySqlConnection` through
//! fast auth, full auth with the RSA public key, and an AuthSwitchRequest
//! from mysql_native_password to caching_sha2_password.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use shardwire_backend::mysql::MySqlConnection;
use shardwire_backend::BackendError;
use shardwire_protocol::auth::caching_sha2::{self, RsaPrivateKey};
use shardwire_protocol::auth::mysql_native;
use shardwire_protocol::mysql::constants::capability::*;
use shardwire_protocol::mysql::constants::status::SERVER_STATUS_AUTOCOMMIT;
use shardwire_protocol::mysql::{
    AuthMoreData, AuthSwitchRequest, ClientHandshake, Command, ErrPacket, HandshakeV10, MySqlCodec,
    OkPacket, Packet,
};
use shardwire_rules::snapshot::{DataSource, DatabaseProtocol};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

const PASSWORD: &str = "sha2-secret";
const SCRAMBLE: &[u8; 20] = b"abcdefghijklmnopqrst";
const SWITCH_SCRAMBLE: &[u8; 20] = b"ZYXWVUTSRQPONMLKJIHG";
const CAPS: u32 = CLIENT_LONG_PASSWORD
    | CLIENT_PROTOCOL_41
    | CLIENT_TRANSACTIONS
    | CLIENT_SECURE_CONNECTION
    | CLIENT_MULTI_RESULTS
    | CLIENT_PLUGIN_AUTH
    | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
    | CLIENT_CONNECT_ATTRS
    | CLIENT_CONNECT_WITH_DB
    | CLIENT_DEPRECATE_EOF;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The account is cached: the scramble is checked, 0x03, OK.
    FastAuth,
    /// Cache miss: 0x04, the client asks for the key, sends the password
    /// encrypted with it.
    FullAuth,
    /// The handshake names mysql_native_password; the server switches the
    /// client to caching_sha2_password, then fast auth.
    SwitchToSha2,
}

type Conn = Framed<TcpStream, MySqlCodec>;

async fn send(conn: &mut Conn, payload: BytesMut) {
    let p = conn.codec().packet(payload.freeze());
    conn.send(p).await.unwrap();
}

async fn recv(conn: &mut Conn) -> Option<Packet> {
    tokio::time::timeout(Duration::from_secs(10), conn.next())
        .await
        .unwrap()
        .map(|p| p.unwrap())
}

/// Serves one client; returns whether it authenticated and the plugin
/// steps it went through.
async fn serve(
    stream: TcpStream,
    mode: Mode,
    key: Arc<RsaPrivateKey>,
) -> (bool, Vec<&'static str>) {
    let mut steps = Vec::new();
    let mut conn = Framed::new(stream, MySqlCodec::new());
    let first_plugin = if mode == Mode::SwitchToSha2 {
        mysql_native::PLUGIN_NAME
    } else {
        caching_sha2::PLUGIN_NAME
    };
    let mut buf = BytesMut::new();
    HandshakeV10 {
        server_version: "8.0.40-fake".into(),
        connection_id: 99,
        auth_data: Bytes::from_static(SCRAMBLE),
        capabilities: CAPS,
        charset: 255,
        status: SERVER_STATUS_AUTOCOMMIT,
        auth_plugin: Some(first_plugin.into()),
        mariadb_capabilities: 0,
    }
    .encode(&mut buf)
    .unwrap();
    send(&mut conn, buf).await;
    let ClientHandshake::Response(resp) =
        ClientHandshake::decode(recv(&mut conn).await.unwrap().payload).unwrap()
    else {
        panic!("no TLS here");
    };
    assert_eq!(resp.auth_plugin.as_deref(), Some(first_plugin));
    assert_eq!(resp.database.as_deref(), Some("app"));
    let caps = CAPS & resp.capabilities;

    let mut scramble: &[u8] = SCRAMBLE;
    let mut answer = resp.auth_response;
    if mode == Mode::SwitchToSha2 {
        assert!(mysql_native::verify(PASSWORD, SCRAMBLE, &answer));
        let mut buf = BytesMut::new();
        AuthSwitchRequest {
            plugin: caching_sha2::PLUGIN_NAME.into(),
            data: Bytes::from_static(SWITCH_SCRAMBLE),
        }
        .encode(&mut buf)
        .unwrap();
        send(&mut conn, buf).await;
        steps.push("switch");
        scramble = SWITCH_SCRAMBLE;
        answer = recv(&mut conn).await.unwrap().payload;
    }
    let ok = if mode == Mode::FullAuth {
        // Pretend the cache is cold, whatever the scramble says.
        let mut buf = BytesMut::new();
        AuthMoreData(Bytes::from_static(&[
            caching_sha2::PERFORM_FULL_AUTHENTICATION,
        ]))
        .encode(&mut buf);
        send(&mut conn, buf).await;
        steps.push("full");
        let request = recv(&mut conn).await.unwrap().payload;
        assert_eq!(&request[..], &[caching_sha2::REQUEST_PUBLIC_KEY]);
        let pem = caching_sha2::public_key_pem(&key).unwrap();
        let mut buf = BytesMut::new();
        AuthMoreData(Bytes::from(pem)).encode(&mut buf);
        send(&mut conn, buf).await;
        steps.push("key");
        let encrypted = recv(&mut conn).await.unwrap().payload;
        caching_sha2::decrypt_password(&key, &encrypted, scramble).unwrap() == PASSWORD
    } else {
        let ok = caching_sha2::verify(PASSWORD, scramble, &answer);
        if ok {
            let mut buf = BytesMut::new();
            AuthMoreData(Bytes::from_static(&[caching_sha2::FAST_AUTH_SUCCESS])).encode(&mut buf);
            send(&mut conn, buf).await;
            steps.push("fast");
        }
        ok
    };
    let mut buf = BytesMut::new();
    if !ok {
        ErrPacket::new(1045, "28000", "Access denied for user 'app'")
            .encode(caps, &mut buf)
            .unwrap();
        send(&mut conn, buf).await;
        return (false, steps);
    }
    OkPacket::with_status(SERVER_STATUS_AUTOCOMMIT).encode(caps, &mut buf);
    send(&mut conn, buf).await;
    // Answer pings until the client quits.
    loop {
        conn.codec_mut().reset_seq();
        let Some(p) = recv(&mut conn).await else {
            break;
        };
        match Command::decode(p.payload, caps).unwrap() {
            Command::Ping => {
                let mut buf = BytesMut::new();
                OkPacket::with_status(SERVER_STATUS_AUTOCOMMIT).encode(caps, &mut buf);
                send(&mut conn, buf).await;
            }
            Command::Quit => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    (true, steps)
}

fn source(port: u16, password: &str) -> DataSource {
    DataSource {
        name: "fake_mysql8".into(),
        protocol: DatabaseProtocol::MySql,
        host: "127.0.0.1".into(),
        port,
        database: "app".into(),
        params: BTreeMap::new(),
        username: "app".into(),
        password: password.into(),
        connection_timeout: Duration::from_secs(10),
        idle_timeout: Duration::ZERO,
        max_lifetime: Duration::ZERO,
        max_pool_size: 1,
        min_pool_size: 0,
    }
}

async fn attempt(
    mode: Mode,
    password: &str,
    key: &Arc<RsaPrivateKey>,
) -> (Result<(), BackendError>, bool, Vec<&'static str>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let key = Arc::clone(key);
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        serve(stream, mode, key).await
    });
    let result = async {
        let mut conn = MySqlConnection::connect(&source(port, password)).await?;
        assert_eq!(conn.connection_id(), 99);
        conn.ping().await?;
        conn.close().await;
        Ok(())
    }
    .await;
    let (authenticated, steps) = server.await.unwrap();
    (result, authenticated, steps)
}

#[tokio::test]
async fn caching_sha2_fast_full_and_switched_logins() {
    // Small key: generation in a debug build is slow; OAEP-SHA1 of a short
    // password fits a 1024-bit key.
    let key = Arc::new(caching_sha2::generate_private_key(1024).unwrap());
    let (r, ok, steps) = attempt(Mode::FastAuth, PASSWORD, &key).await;
    r.unwrap();
    assert!(ok);
    assert_eq!(steps, ["fast"]);

    let (r, ok, steps) = attempt(Mode::FullAuth, PASSWORD, &key).await;
    r.unwrap();
    assert!(ok);
    assert_eq!(steps, ["full", "key"]);

    let (r, ok, steps) = attempt(Mode::SwitchToSha2, PASSWORD, &key).await;
    r.unwrap();
    assert!(ok);
    assert_eq!(steps, ["switch", "fast"]);

    // A wrong password through full auth ends in the server's ERR.
    let (r, ok, _) = attempt(Mode::FullAuth, "not-it", &key).await;
    assert!(!ok);
    let err = r.unwrap_err();
    assert!(matches!(err, BackendError::Auth { .. }), "{err}");
    assert!(err.to_string().contains("1045"), "{err}");
}
