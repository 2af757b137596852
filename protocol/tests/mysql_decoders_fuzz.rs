// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! Fuzz-style smoke test: every MySQL decoder gets random payloads and
//! mutations of valid ones (seeded, so a failure reproduces). Any result
//! is fine except a panic or an allocation sized by a lying length.

mod fuzz_rng;

use bytes::{Bytes, BytesMut};
use fuzz_rng::Rng;
use shardwire_protocol::mysql::constants::capability::*;
use shardwire_protocol::mysql::constants::column_type::*;
use shardwire_protocol::mysql::{
    decode_column_count, AuthPacket, BinaryRow, BinaryType, ClientHandshake, ColumnDefinition,
    Command, EofPacket, ErrPacket, HandshakeResponse41, HandshakeV10, MySqlCodec, OkPacket,
    ResultEnd, StmtExecute, StmtPrepareOk, TextRow, Value,
};
use tokio_util::codec::Decoder;

/// MySQL's interesting length prefixes (lenenc markers, NULL, zero).
fn lenenc_prefix(rng: &mut Rng, v: &mut [u8]) {
    if !v.is_empty() {
        let i = rng.below(v.len());
        v[i] = [0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x00][rng.below(6)];
    }
}

const CAPS: u32 = CLIENT_PROTOCOL_41
    | CLIENT_TRANSACTIONS
    | CLIENT_SECURE_CONNECTION
    | CLIENT_PLUGIN_AUTH
    | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
    | CLIENT_CONNECT_ATTRS
    | CLIENT_CONNECT_WITH_DB
    | CLIENT_SESSION_TRACK
    | CLIENT_DEPRECATE_EOF;

fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut b = BytesMut::new();
    OkPacket {
        affected_rows: 70_000,
        last_insert_id: 3,
        status: 0x4002,
        warnings: 1,
        info: Bytes::from_static(b"info"),
        session_state: Some(Bytes::from_static(b"\x00\x03abc")),
    }
    .encode(CAPS, &mut b);
    out.push(b.to_vec());
    let mut b = BytesMut::new();
    ErrPacket::new(1146, "42S02", "no table")
        .encode(CAPS, &mut b)
        .unwrap();
    out.push(b.to_vec());
    let mut b = BytesMut::new();
    EofPacket::default().encode(CAPS, &mut b);
    out.push(b.to_vec());
    let mut b = BytesMut::new();
    HandshakeV10 {
        server_version: "8.0".into(),
        connection_id: 1,
        auth_data: Bytes::from_static(b"abcdefghijklmnopqrst"),
        capabilities: CAPS,
        charset: 45,
        status: 2,
        auth_plugin: Some("mysql_native_password".into()),
        mariadb_capabilities: 0,
    }
    .encode(&mut b)
    .unwrap();
    out.push(b.to_vec());
    let mut b = BytesMut::new();
    HandshakeResponse41 {
        capabilities: CAPS,
        max_packet_size: 1 << 24,
        charset: 45,
        username: "u".into(),
        auth_response: Bytes::from_static(&[1; 20]),
        database: Some("d".into()),
        auth_plugin: Some("p".into()),
        attributes: vec![("k".into(), "v".into())],
        zstd_level: None,
    }
    .encode(&mut b)
    .unwrap();
    out.push(b.to_vec());
    let mut b = BytesMut::new();
    ColumnDefinition::new("c", MYSQL_TYPE_LONG).encode(&mut b);
    out.push(b.to_vec());
    let mut b = BytesMut::new();
    TextRow::encode([Some(&b"1"[..]), None, Some(b"abc")], &mut b);
    out.push(b.to_vec());
    let mut b = BytesMut::new();
    Command::StmtExecute(
        StmtExecute::new(1, &[Value::Int(1), Value::Null, Value::Bytes(Bytes::new())]).unwrap(),
    )
    .encode(CAPS, &mut b)
    .unwrap();
    out.push(b.to_vec());
    let mut b = BytesMut::new();
    StmtPrepareOk {
        statement_id: 1,
        num_columns: 2,
        num_params: 3,
        warnings: 0,
    }
    .encode(&mut b);
    out.push(b.to_vec());
    out
}

fn types() -> Vec<BinaryType> {
    [
        MYSQL_TYPE_TINY,
        MYSQL_TYPE_LONGLONG,
        MYSQL_TYPE_DATETIME,
        MYSQL_TYPE_TIME,
        MYSQL_TYPE_VAR_STRING,
        MYSQL_TYPE_DOUBLE,
    ]
    .into_iter()
    .map(|t| BinaryType::new(t, false))
    .collect()
}

fn decode_everything(payload: &[u8]) {
    let p = Bytes::copy_from_slice(payload);
    let _ = OkPacket::decode(p.clone(), CAPS);
    let _ = OkPacket::decode(p.clone(), 0);
    let _ = ErrPacket::decode(p.clone());
    let _ = EofPacket::decode(p.clone(), CAPS);
    let _ = ResultEnd::decode(p.clone(), CAPS);
    let _ = ResultEnd::decode(p.clone(), CLIENT_PROTOCOL_41);
    let _ = HandshakeV10::decode(p.clone());
    let _ = ClientHandshake::decode(p.clone());
    let _ = AuthPacket::decode(p.clone(), CAPS);
    let _ = ColumnDefinition::decode(p.clone());
    let _ = ColumnDefinition::decode_field_list(p.clone());
    for n in 0..4 {
        if let Ok(row) = TextRow::decode(p.clone(), n) {
            assert_eq!(row.cells().count(), n, "a decoded row has its cells");
        }
    }
    let types = types();
    for n in 0..=types.len() {
        let _ = BinaryRow::decode(p.clone(), &types[..n]);
    }
    if let Ok(Command::StmtExecute(e)) = Command::decode(p.clone(), CAPS) {
        for n in [0, 1, 3, 1000, usize::MAX / 2] {
            let _ = e.params(n, Some(&types[..3]), &[false, true]);
            let _ = e.params(n, None, &[]);
        }
    }
    let _ = StmtPrepareOk::decode(p.clone());
    let _ = decode_column_count(p);
}

#[test]
fn decoders_survive_random_and_mutated_payloads() {
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let seeds = seeds();
    for _ in 0..20_000 {
        let payload = if rng.below(3) == 0 {
            rng.bytes(64)
        } else {
            let seed = &seeds[rng.below(seeds.len())];
            rng.mutate(seed, lenenc_prefix)
        };
        decode_everything(&payload);
    }
}

#[test]
fn the_codec_survives_random_streams() {
    let mut rng = Rng(0xdead_beef_1234_5678);
    for _ in 0..2_000 {
        let mut codec = MySqlCodec::new()
            .with_max_packet_len(1 << 16)
            .with_sequence_check(rng.below(2) == 0);
        let mut src = BytesMut::from(&rng.bytes(256)[..]);
        // Decode until it needs more input or fails; never loop forever.
        for _ in 0..300 {
            match codec.decode(&mut src) {
                Ok(Some(p)) => assert!(p.payload.len() <= 1 << 16),
                Ok(None) | Err(_) => break,
            }
        }
    }
}
