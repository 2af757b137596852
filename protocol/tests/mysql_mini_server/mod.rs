//! A tiny MySQL server built from the protocol crate's server-side
//! encoders, for tests that drive real clients against them: handshake,
//! optional AuthSwitchRequest, mysql_native_password check, then every
//! COM_QUERY is answered with one fixed two-column result set (or an ERR
//! when the SQL contains `boom`), COM_PING with OK.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use shardwire_protocol::auth::mysql_native;
use shardwire_protocol::mysql::constants::capability::*;
use shardwire_protocol::mysql::constants::column_type::*;
use shardwire_protocol::mysql::constants::status::SERVER_STATUS_AUTOCOMMIT;
use shardwire_protocol::mysql::{
    AuthSwitchRequest, ClientHandshake, ColumnDefinition, Command, ErrPacket, HandshakeResponse41,
    HandshakeV10, MySqlCodec, OkPacket, Packet, PacketWriter, TextRow,
};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

pub const PASSWORD: &str = "cli-secret";
const SCRAMBLE: &[u8; 20] = b"0123456789abcdefghij";
const SWITCH_SCRAMBLE: &[u8; 20] = b"ABCDEFGHIJKLMNOPQRST";

#[derive(Debug, Clone, Copy)]
pub struct Variant {
    pub deprecate_eof: bool,
    pub auth_switch: bool,
}

#[derive(Debug, Default)]
pub struct Seen {
    pub response: Option<HandshakeResponse41>,
    pub authenticated: bool,
    pub queries: Vec<String>,
    pub quit: bool,
}

const SERVER_CAPS: u32 = CLIENT_LONG_PASSWORD
    | CLIENT_LONG_FLAG
    | CLIENT_CONNECT_WITH_DB
    | CLIENT_PROTOCOL_41
    | CLIENT_TRANSACTIONS
    | CLIENT_SECURE_CONNECTION
    | CLIENT_MULTI_STATEMENTS
    | CLIENT_MULTI_RESULTS
    | CLIENT_PLUGIN_AUTH
    | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
    | CLIENT_CONNECT_ATTRS;

async fn send(conn: &mut Framed<TcpStream, MySqlCodec>, payload: BytesMut) {
    let p = conn.codec().packet(payload.freeze());
    conn.send(p).await.unwrap();
}

async fn recv(conn: &mut Framed<TcpStream, MySqlCodec>) -> Option<Packet> {
    tokio::time::timeout(Duration::from_secs(20), conn.next())
        .await
        .expect("client sent in time")
        .map(|p| p.expect("packet decodes"))
}

/// Serves one client connection and reports what it saw.
pub async fn serve(stream: TcpStream, v: Variant) -> Seen {
    let mut seen = Seen::default();
    let mut conn = Framed::new(stream, MySqlCodec::new());
    let caps = SERVER_CAPS
        | if v.deprecate_eof {
            CLIENT_DEPRECATE_EOF
        } else {
            0
        };
    let mut buf = BytesMut::new();
    HandshakeV10 {
        server_version: "5.5.5-10.11.0-shardwire-test".into(),
        connection_id: 7,
        auth_data: Bytes::from_static(SCRAMBLE),
        capabilities: caps,
        charset: 45,
        status: SERVER_STATUS_AUTOCOMMIT,
        auth_plugin: Some(mysql_native::PLUGIN_NAME.into()),
        mariadb_capabilities: 0,
    }
    .encode(&mut buf)
    .unwrap();
    send(&mut conn, buf).await;

    let first = recv(&mut conn).await.unwrap();
    assert_eq!(first.seq, 1);
    let ClientHandshake::Response(resp) = ClientHandshake::decode(first.payload).unwrap() else {
        panic!("the client asked for TLS");
    };
    let caps = caps & resp.capabilities;
    let ok = if v.auth_switch {
        let mut buf = BytesMut::new();
        AuthSwitchRequest {
            plugin: mysql_native::PLUGIN_NAME.into(),
            data: Bytes::from_static(SWITCH_SCRAMBLE),
        }
        .encode(&mut buf)
        .unwrap();
        send(&mut conn, buf).await;
        let answer = recv(&mut conn).await.unwrap();
        mysql_native::verify(PASSWORD, SWITCH_SCRAMBLE, &answer.payload)
    } else {
        mysql_native::verify(PASSWORD, SCRAMBLE, &resp.auth_response)
    };
    seen.response = Some(resp);
    let mut buf = BytesMut::new();
    if !ok {
        ErrPacket::new(1045, "28000", "Access denied for user 'app'")
            .encode(caps, &mut buf)
            .unwrap();
        send(&mut conn, buf).await;
        return seen;
    }
    seen.authenticated = true;
    OkPacket::with_status(SERVER_STATUS_AUTOCOMMIT).encode(caps, &mut buf);
    send(&mut conn, buf).await;

    loop {
        conn.codec_mut().reset_seq();
        let Some(p) = recv(&mut conn).await else {
            break;
        };
        match Command::decode(p.payload, caps).unwrap() {
            Command::Quit => {
                seen.quit = true;
                break;
            }
            Command::Query(sql) => {
                let sql = String::from_utf8(sql.to_vec()).unwrap();
                let boom = sql.contains("boom");
                seen.queries.push(sql);
                if boom {
                    let mut buf = BytesMut::new();
                    ErrPacket::new(1105, "HY000", "boom from shardwire")
                        .encode(caps, &mut buf)
                        .unwrap();
                    send(&mut conn, buf).await;
                    continue;
                }
                answer_rows(&mut conn, caps).await;
            }
            Command::Ping => {
                let mut buf = BytesMut::new();
                OkPacket::with_status(SERVER_STATUS_AUTOCOMMIT).encode(caps, &mut buf);
                send(&mut conn, buf).await;
            }
            other => {
                let mut buf = BytesMut::new();
                ErrPacket::new(1047, "08S01", format!("unsupported {other:?}"))
                    .encode(caps, &mut buf)
                    .unwrap();
                send(&mut conn, buf).await;
            }
        }
    }
    seen
}

/// A two-column, two-row result set, in one write.
async fn answer_rows(conn: &mut Framed<TcpStream, MySqlCodec>, caps: u32) {
    // Built with PacketWriter straight into the write buffer, the way a
    // session batches answers, then flushed once.
    let seq = conn.codec().next_seq();
    let out = conn.write_buffer_mut();
    let mut w = PacketWriter::new(out, seq);
    let columns = [
        ColumnDefinition::new("greeting", MYSQL_TYPE_VAR_STRING),
        ColumnDefinition::new("n", MYSQL_TYPE_LONGLONG),
    ];
    w.columns(&columns, SERVER_STATUS_AUTOCOMMIT, caps).unwrap();
    w.text_row([Some(&b"hello from shardwire"[..]), Some(&b"1"[..])])
        .unwrap();
    let mut raw = BytesMut::new();
    TextRow::encode([Some(&b"second row"[..]), None], &mut raw);
    w.raw(&raw).unwrap();
    w.result_end(SERVER_STATUS_AUTOCOMMIT, 0, caps).unwrap();
    let next = w.next_seq();
    conn.codec_mut().set_next_seq(next);
    SinkExt::<Packet>::flush(conn).await.unwrap();
}
