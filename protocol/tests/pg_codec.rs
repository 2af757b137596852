// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! Codec tier-1 tests: every message round-trips through its codec, pipelined
//! and split buffers decode to the same messages, limits hold, and random
//! bytes never panic a decoder.

use bytes::{BufMut, Bytes, BytesMut};
use shardwire_protocol::pg::*;
use shardwire_protocol::ProtocolError;
use tokio_util::codec::{Decoder, Encoder};

fn all_frontend() -> Vec<FrontendMessage> {
    vec![
        FrontendMessage::Query("SELECT 1; SELECT 'é'".into()),
        FrontendMessage::Parse(Parse {
            name: "s1".into(),
            query: "SELECT $1, $2".into(),
            param_types: vec![23, 0],
        }),
        FrontendMessage::Bind(Bind {
            portal: "p".into(),
            statement: "s1".into(),
            param_formats: vec![0, 1],
            params: vec![Some(Bytes::from_static(b"41")), None, Some(Bytes::new())],
            result_formats: vec![1],
        }),
        FrontendMessage::Bind(Bind::default()),
        FrontendMessage::Describe {
            kind: TargetKind::Statement,
            name: "s1".into(),
        },
        FrontendMessage::Describe {
            kind: TargetKind::Portal,
            name: String::new(),
        },
        FrontendMessage::Execute {
            portal: String::new(),
            max_rows: 100,
        },
        FrontendMessage::Close {
            kind: TargetKind::Portal,
            name: "p".into(),
        },
        FrontendMessage::Sync,
        FrontendMessage::Flush,
        FrontendMessage::CopyData(Bytes::from_static(b"1\tone\n")),
        FrontendMessage::CopyDone,
        FrontendMessage::CopyFail("client gave up".into()),
        FrontendMessage::FunctionCall(Bytes::from_static(b"\0\0\0\x01raw")),
        FrontendMessage::Terminate,
    ]
}

fn all_backend() -> Vec<BackendMessage> {
    vec![
        BackendMessage::Authentication(Authentication::Ok),
        BackendMessage::Authentication(Authentication::CleartextPassword),
        BackendMessage::Authentication(Authentication::Md5Password { salt: [1, 2, 3, 4] }),
        BackendMessage::Authentication(Authentication::Sasl {
            mechanisms: vec!["SCRAM-SHA-256".into(), "SCRAM-SHA-256-PLUS".into()],
        }),
        BackendMessage::Authentication(Authentication::SaslContinue(Bytes::from_static(
            b"r=abc,s=xyz,i=4096",
        ))),
        BackendMessage::Authentication(Authentication::SaslFinal(Bytes::from_static(b"v=sig"))),
        BackendMessage::Authentication(Authentication::Other {
            code: 7,
            data: Bytes::new(),
        }),
        BackendMessage::ParameterStatus {
            name: "server_version".into(),
            value: "15.4".into(),
        },
        BackendMessage::BackendKeyData {
            pid: 4242,
            secret: -7,
        },
        BackendMessage::ReadyForQuery(TransactionStatus::Idle),
        BackendMessage::ReadyForQuery(TransactionStatus::InTransaction),
        BackendMessage::ReadyForQuery(TransactionStatus::Failed),
        BackendMessage::RowDescription(RowDescription {
            fields: vec![
                FieldDescription {
                    name: "id".into(),
                    table_oid: 16384,
                    column_attr: 1,
                    type_oid: 23,
                    type_size: 4,
                    type_modifier: -1,
                    format: 0,
                },
                FieldDescription {
                    name: "?column?".into(),
                    type_oid: 25,
                    type_size: -1,
                    type_modifier: -1,
                    ..Default::default()
                },
            ],
        }),
        BackendMessage::RowDescription(RowDescription::default()),
        BackendMessage::DataRow(
            DataRow::from_values([Some(&b"1"[..]), None, Some(&b""[..])]).unwrap(),
        ),
        BackendMessage::DataRow(DataRow::from_values([]).unwrap()),
        BackendMessage::CommandComplete("INSERT 0 3".into()),
        BackendMessage::EmptyQueryResponse,
        BackendMessage::ErrorResponse(
            ErrorFields::new("ERROR", "42P01", "relation \"t\" does not exist")
                .with(field::POSITION, "15")
                .with(field::HINT, "create it"),
        ),
        BackendMessage::NoticeResponse(
            ErrorFields::new("NOTICE", "00000", "hello").with(b'Z', "unknown field kept"),
        ),
        BackendMessage::ParseComplete,
        BackendMessage::BindComplete,
        BackendMessage::CloseComplete,
        BackendMessage::NoData,
        BackendMessage::PortalSuspended,
        BackendMessage::ParameterDescription(vec![23, 25, 0]),
        BackendMessage::CopyInResponse(CopyResponse {
            format: 0,
            column_formats: vec![0, 0],
        }),
        BackendMessage::CopyOutResponse(CopyResponse {
            format: 1,
            column_formats: vec![1],
        }),
        BackendMessage::CopyBothResponse(CopyResponse::default()),
        BackendMessage::CopyData(Bytes::from_static(b"row\n")),
        BackendMessage::CopyDone,
        BackendMessage::NegotiateProtocolVersion {
            newest_minor: 0,
            unrecognized: vec!["_pq_.foo".into()],
        },
        BackendMessage::NotificationResponse {
            pid: 1,
            channel: "ch".into(),
            payload: "{}".into(),
        },
        BackendMessage::FunctionCallResponse(Bytes::from_static(b"\xff\xff\xff\xff")),
    ]
}

/// A server codec already past startup.
fn server() -> PgServerCodec {
    let mut c = PgServerCodec::new();
    c.set_phase(ServerPhase::Regular);
    c
}

fn decode_all<D: Decoder<Error = ProtocolError>>(
    codec: &mut D,
    buf: &mut BytesMut,
) -> Vec<D::Item> {
    let mut out = Vec::new();
    while let Some(m) = codec.decode(buf).unwrap() {
        out.push(m);
    }
    out
}

#[test]
fn every_frontend_message_round_trips() {
    for msg in all_frontend() {
        let mut buf = BytesMut::new();
        PgClientCodec::new().encode(msg.clone(), &mut buf).unwrap();
        let mut codec = server();
        assert_eq!(
            codec.decode(&mut buf).unwrap(),
            Some(msg.clone()),
            "{msg:?}"
        );
        assert!(buf.is_empty(), "nothing left over after {msg:?}");
    }
}

#[test]
fn startup_family_round_trips() {
    let startup = FrontendMessage::Startup {
        protocol_version: PROTOCOL_VERSION_3_0,
        params: vec![
            ("user".into(), "alice".into()),
            ("database".into(), "db".into()),
            ("client_encoding".into(), "'utf-8'".into()),
        ],
    };
    // openGauss 3.51: any version is carried through.
    let og = FrontendMessage::Startup {
        protocol_version: 0x0003_0033,
        params: vec![],
    };
    for msg in [
        startup,
        og,
        FrontendMessage::SslRequest,
        FrontendMessage::GssEncRequest,
        FrontendMessage::CancelRequest {
            pid: 12,
            secret: -34,
        },
    ] {
        let mut buf = BytesMut::new();
        PgClientCodec::new().encode(msg.clone(), &mut buf).unwrap();
        let mut codec = PgServerCodec::new();
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(msg.clone()));
        assert!(buf.is_empty());
        let after = if matches!(msg, FrontendMessage::Startup { .. }) {
            ServerPhase::Regular
        } else {
            ServerPhase::Startup
        };
        assert_eq!(codec.phase(), after, "{msg:?}");
    }
}

#[test]
fn ssl_request_then_startup_then_query() {
    let mut buf = BytesMut::new();
    let mut client = PgClientCodec::new();
    client
        .encode(FrontendMessage::SslRequest, &mut buf)
        .unwrap();
    let mut codec = PgServerCodec::new();
    assert_eq!(
        codec.decode(&mut buf).unwrap(),
        Some(FrontendMessage::SslRequest)
    );
    // The server declines; the client goes on unencrypted.
    let mut answer = BytesMut::new();
    codec
        .encode(
            BackendMessage::EncryptionResponse { accepted: false },
            &mut answer,
        )
        .unwrap();
    assert_eq!(&answer[..], b"N");
    assert_eq!(
        client.decode(&mut answer).unwrap(),
        Some(BackendMessage::EncryptionResponse { accepted: false })
    );
    let startup = FrontendMessage::Startup {
        protocol_version: PROTOCOL_VERSION_3_0,
        params: vec![("user".into(), "u".into())],
    };
    client.encode(startup.clone(), &mut buf).unwrap();
    client
        .encode(FrontendMessage::Query("SELECT 1".into()), &mut buf)
        .unwrap();
    assert_eq!(
        decode_all(&mut codec, &mut buf),
        vec![startup, FrontendMessage::Query("SELECT 1".into())]
    );
}

#[test]
fn bytes_pipelined_behind_ssl_request_are_rejected() {
    let mut buf = BytesMut::new();
    let mut client = PgClientCodec::new();
    client
        .encode(FrontendMessage::SslRequest, &mut buf)
        .unwrap();
    client
        .encode(FrontendMessage::Query("injected".into()), &mut buf)
        .unwrap();
    assert!(matches!(
        PgServerCodec::new().decode(&mut buf),
        Err(ProtocolError::DataAfterEncryptionRequest)
    ));

    // Client side: bytes after the server's 'S' are refused as well.
    let mut client = PgClientCodec::new();
    client
        .encode(FrontendMessage::SslRequest, &mut BytesMut::new())
        .unwrap();
    let mut answer = BytesMut::from(&b"SZ\0\0\0\x05I"[..]);
    assert!(matches!(
        client.decode(&mut answer),
        Err(ProtocolError::DataAfterEncryptionRequest)
    ));
}

#[test]
fn password_flavours_follow_the_auth_request() {
    let mut codec = server();
    let mut out = BytesMut::new();
    let mut client = PgClientCodec::new();

    codec
        .encode(
            BackendMessage::Authentication(Authentication::CleartextPassword),
            &mut out,
        )
        .unwrap();
    let mut buf = BytesMut::new();
    client
        .encode(FrontendMessage::Password("pw".into()), &mut buf)
        .unwrap();
    assert_eq!(
        codec.decode(&mut buf).unwrap(),
        Some(FrontendMessage::Password("pw".into()))
    );

    codec
        .encode(
            BackendMessage::Authentication(Authentication::Sasl {
                mechanisms: vec!["SCRAM-SHA-256".into()],
            }),
            &mut out,
        )
        .unwrap();
    assert_eq!(codec.password_kind(), PasswordKind::SaslInitial);
    for data in [Some(Bytes::from_static(b"n,,n=,r=abc")), None] {
        let msg = FrontendMessage::SaslInitialResponse {
            mechanism: "SCRAM-SHA-256".into(),
            data,
        };
        client.encode(msg.clone(), &mut buf).unwrap();
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(msg));
    }

    codec
        .encode(
            BackendMessage::Authentication(Authentication::SaslContinue(Bytes::from_static(
                b"r=x",
            ))),
            &mut out,
        )
        .unwrap();
    let msg = FrontendMessage::SaslResponse(Bytes::from_static(b"c=biws,r=x,p=y"));
    client.encode(msg.clone(), &mut buf).unwrap();
    assert_eq!(codec.decode(&mut buf).unwrap(), Some(msg));
    assert!(buf.is_empty());
}

#[test]
fn every_backend_message_round_trips() {
    for msg in all_backend() {
        let mut buf = BytesMut::new();
        server().encode(msg.clone(), &mut buf).unwrap();
        let mut codec = PgClientCodec::new();
        assert_eq!(
            codec.decode(&mut buf).unwrap(),
            Some(msg.clone()),
            "{msg:?}"
        );
        assert!(buf.is_empty(), "nothing left over after {msg:?}");
    }
}

#[test]
fn data_row_columns_are_zero_copy_slices() {
    let row = DataRow::from_values([Some(&b"abc"[..]), None, Some(&b""[..])]).unwrap();
    assert_eq!(row.len(), 3);
    let cols: Vec<_> = row.columns().collect();
    assert_eq!(
        cols,
        vec![Some(Bytes::from_static(b"abc")), None, Some(Bytes::new())]
    );
    // Forwarding re-encodes the body byte for byte.
    let decoded = DataRow::decode(row.body().clone()).unwrap();
    assert_eq!(decoded, row);
}

#[test]
fn opengauss_sha256_auth_code_can_be_kept_raw() {
    let body = Bytes::from_static(b"\0\0\0\x0a\0\0\0\x02salt");
    let mut buf = BytesMut::new();
    buf.put_u8(b'R');
    buf.put_i32(4 + body.len() as i32);
    buf.put_slice(&body);
    let mut og = PgClientCodec::new().with_raw_auth_codes(vec![10]);
    assert_eq!(
        og.decode(&mut buf.clone()).unwrap(),
        Some(BackendMessage::Authentication(Authentication::Other {
            code: 10,
            data: Bytes::from_static(b"\0\0\0\x02salt"),
        }))
    );
    // Plain PostgreSQL reads code 10 as a SASL mechanism list, which this
    // body is not.
    assert!(matches!(
        PgClientCodec::new().decode(&mut buf),
        Err(ProtocolError::Malformed { message: 'R', .. })
    ));
}

fn pipelined_buffer() -> (BytesMut, Vec<FrontendMessage>) {
    let mut msgs = Vec::new();
    for i in 0..3 {
        msgs.push(FrontendMessage::Parse(Parse {
            name: format!("s{i}"),
            query: format!("SELECT {i}"),
            param_types: vec![],
        }));
        msgs.push(FrontendMessage::Bind(Bind {
            statement: format!("s{i}"),
            ..Default::default()
        }));
        msgs.push(FrontendMessage::Describe {
            kind: TargetKind::Portal,
            name: String::new(),
        });
        msgs.push(FrontendMessage::Execute {
            portal: String::new(),
            max_rows: 0,
        });
    }
    msgs.push(FrontendMessage::Sync);
    let mut buf = BytesMut::new();
    let mut client = PgClientCodec::new();
    for m in &msgs {
        client.encode(m.clone(), &mut buf).unwrap();
    }
    (buf, msgs)
}

#[test]
fn pipelined_extended_query_decodes_in_one_pass() {
    let (mut buf, msgs) = pipelined_buffer();
    let got = decode_all(&mut server(), &mut buf);
    assert_eq!(got.len(), 13);
    assert_eq!(got, msgs);
    assert!(buf.is_empty());
}

#[test]
fn every_split_point_yields_the_same_messages() {
    let (whole, msgs) = pipelined_buffer();
    for split in 0..=whole.len() {
        let mut codec = server();
        let mut buf = BytesMut::from(&whole[..split]);
        let mut got = decode_all(&mut codec, &mut buf);
        buf.extend_from_slice(&whole[split..]);
        got.extend(decode_all(&mut codec, &mut buf));
        assert_eq!(got, msgs, "split at {split}");
        assert!(buf.is_empty());
    }
    // Byte by byte, through the client codec for backend messages too.
    let mut whole = BytesMut::new();
    let backend = all_backend();
    for m in &backend {
        server().encode(m.clone(), &mut whole).unwrap();
    }
    let mut codec = PgClientCodec::new();
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for b in whole.iter() {
        buf.put_u8(*b);
        got.extend(decode_all(&mut codec, &mut buf));
    }
    assert_eq!(got, backend);
}

#[test]
fn over_long_messages_are_refused_before_allocating() {
    // A typed frame claiming 2 GiB: refused from its 5-byte header alone.
    let mut buf = BytesMut::from(&b"Q\x7f\xff\xff\xff"[..]);
    let err = server().decode(&mut buf).unwrap_err();
    assert!(
        matches!(err, ProtocolError::MessageTooLong { len: 0x7fff_ffff, max } if max == DEFAULT_MAX_MESSAGE_LEN),
        "{err}"
    );
    assert!(
        buf.capacity() < 1024,
        "no buffer growth for a refused length"
    );

    let mut small = server().with_max_message_len(64);
    let mut buf = BytesMut::new();
    PgClientCodec::new()
        .encode(FrontendMessage::Query("x".repeat(100)), &mut buf)
        .unwrap();
    assert!(matches!(
        small.decode(&mut buf),
        Err(ProtocolError::MessageTooLong { len: 105, max: 64 })
    ));

    // Startup packets are capped at 10 000 bytes, like PostgreSQL.
    let mut buf = BytesMut::new();
    buf.put_i32(10_001);
    assert!(matches!(
        PgServerCodec::new().decode(&mut buf),
        Err(ProtocolError::MessageTooLong {
            len: 10_001,
            max: 10_000
        })
    ));

    let mut client = PgClientCodec::new().with_max_message_len(16);
    let mut buf = BytesMut::from(&b"D\0\0\0\x20"[..]);
    assert!(matches!(
        client.decode(&mut buf),
        Err(ProtocolError::MessageTooLong { .. })
    ));
}

#[test]
fn malformed_and_unknown_frames_are_clear_errors() {
    let cases: &[(&[u8], &str)] = &[
        (b"Q\0\0\0\x03", "length below 4"),
        (b"Q\0\0\0\x05x", "query without NUL"),
        (b"S\0\0\0\x05x", "Sync with a body"),
        (b"D\0\0\0\x06Xn\0", "bad describe kind"),
        (b"P\0\0\0\x0as\0q\0\xff\xff", "negative count"),
        (b"B\0\0\0\x0a\0\0\0\x01\0\0", "truncated formats"),
    ];
    for (bytes, why) in cases {
        let mut buf = BytesMut::from(*bytes);
        let err = server().decode(&mut buf).unwrap_err();
        assert!(
            matches!(err, ProtocolError::Malformed { .. }),
            "{why}: {err}"
        );
    }
    let mut buf = BytesMut::from(&b"U\0\0\0\x04"[..]);
    assert!(matches!(
        server().decode(&mut buf),
        Err(ProtocolError::UnknownMessage(b'U'))
    ));

    // With the extension enabled, 'U' reaches the dialect module raw.
    let mut og = server();
    og.allow_extension(b'U');
    let mut buf = BytesMut::from(&b"U\0\0\0\x06ab"[..]);
    assert_eq!(
        og.decode(&mut buf).unwrap(),
        Some(FrontendMessage::Extension {
            tag: b'U',
            body: Bytes::from_static(b"ab"),
        })
    );

    // A DataRow whose column runs past the frame is refused, not read on.
    let mut buf = BytesMut::from(&b"D\0\0\0\x0b\0\x01\0\0\0\x09abZ\0\0\0\x05I"[..]);
    assert!(matches!(
        PgClientCodec::new().decode(&mut buf),
        Err(ProtocolError::Malformed { .. })
    ));
    let mut buf = BytesMut::from(&b"\0\0\0\x04"[..]);
    assert!(matches!(
        PgServerCodec::new().decode(&mut buf),
        Err(ProtocolError::Malformed { .. })
    ));
}

#[test]
fn encoding_refuses_what_the_wire_cannot_carry() {
    let mut buf = BytesMut::new();
    let err = FrontendMessage::Query("a\0b".into())
        .encode(&mut buf)
        .unwrap_err();
    assert!(matches!(err, ProtocolError::Encode { .. }));
    let too_many = Parse {
        param_types: vec![0; 40_000],
        ..Default::default()
    };
    assert!(too_many.encode(&mut buf).is_err());
}

/// A tiny LCG: deterministic, no dependency, good enough to shake decoders.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
}

#[test]
fn random_bytes_never_panic_the_decoders() {
    let mut rng = Lcg(0x5eed);
    let tags = b"QPBDECSHXpdcfFRSKZTDIEN123nst GHWvAU";
    for round in 0..20_000 {
        let mut buf = BytesMut::new();
        // Mostly plausible headers with random bodies, sometimes pure noise.
        if round % 4 != 0 {
            buf.put_u8(tags[rng.next() as usize % tags.len()]);
            let body_len = rng.next() as usize % 40;
            buf.put_i32(4 + body_len as i32);
            for _ in 0..body_len {
                buf.put_u8(rng.next() as u8);
            }
        } else {
            for _ in 0..rng.next() % 64 {
                buf.put_u8(rng.next() as u8);
            }
        }
        let mut s = server();
        s.set_password_kind(match round % 3 {
            0 => PasswordKind::Password,
            1 => PasswordKind::SaslInitial,
            _ => PasswordKind::Sasl,
        });
        let _ = decode_all_lossy(&mut s, &mut buf.clone());
        let _ = decode_all_lossy(&mut PgServerCodec::new(), &mut buf.clone());
        let _ = decode_all_lossy(&mut PgClientCodec::new(), &mut buf);
    }
}

fn decode_all_lossy<D: Decoder>(codec: &mut D, buf: &mut BytesMut) -> usize {
    let mut n = 0;
    while let Ok(Some(_)) = codec.decode(buf) {
        n += 1;
    }
    n
}
