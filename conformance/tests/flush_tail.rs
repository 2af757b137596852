//! The postgres.js shape: Parse + Describe + Flush, answered without a
//! ReadyForQuery, then Bind + Execute + Sync. Replay must wait for the
//! Flush's answers by count (there is no ReadyForQuery to wait for), also
//! when the Parse fails and the server skips to Sync. The capture is
//! synthesised; its answers are what PostgreSQL 15 says, which the replay
//! against a real one checks.

mod common;

use std::net::SocketAddr;
use std::time::SystemTime;

use bytes::BytesMut;
use common::*;
use shardwire_conformance::compare::CompareOptions;
use shardwire_conformance::dialog::Wait;
use shardwire_conformance::pcap_write::{PcapWriter, TcpFlow};
use shardwire_protocol::pg::{
    Authentication, BackendMessage, Bind, DataRow, ErrorFields, FieldDescription, FrontendMessage,
    Parse, RowDescription, TargetKind, TransactionStatus, PROTOCOL_VERSION_3_0,
};

fn client(msgs: Vec<FrontendMessage>) -> Vec<u8> {
    let mut buf = BytesMut::new();
    for m in msgs {
        m.encode(&mut buf).expect("encodes");
    }
    buf.to_vec()
}

fn server(msgs: Vec<BackendMessage>) -> Vec<u8> {
    let mut buf = BytesMut::new();
    for m in msgs {
        m.encode(&mut buf).expect("encodes");
    }
    buf.to_vec()
}

fn parse_describe_flush(sql: &str) -> Vec<FrontendMessage> {
    vec![
        FrontendMessage::Parse(Parse {
            name: String::new(),
            query: sql.into(),
            param_types: Vec::new(),
        }),
        FrontendMessage::Describe {
            kind: TargetKind::Statement,
            name: String::new(),
        },
        FrontendMessage::Flush,
    ]
}

fn bind_execute_sync() -> Vec<FrontendMessage> {
    vec![
        FrontendMessage::Bind(Bind::default()),
        FrontendMessage::Execute {
            portal: String::new(),
            max_rows: 0,
        },
        FrontendMessage::Sync,
    ]
}

fn capture(user: &str, database: &str) -> Vec<u8> {
    let ready = || BackendMessage::ReadyForQuery(TransactionStatus::Idle);
    let column = FieldDescription {
        name: "?column?".into(),
        table_oid: 0,
        column_attr: 0,
        type_oid: 23,
        type_size: 4,
        type_modifier: -1,
        format: 0,
    };
    let talk: Vec<(bool, Vec<u8>)> = vec![
        (
            true,
            client(vec![FrontendMessage::Startup {
                protocol_version: PROTOCOL_VERSION_3_0,
                params: vec![
                    ("user".into(), user.into()),
                    ("database".into(), database.into()),
                ],
            }]),
        ),
        (
            false,
            server(vec![
                BackendMessage::Authentication(Authentication::Ok),
                ready(),
            ]),
        ),
        (true, client(parse_describe_flush("SELECT 1"))),
        (
            false,
            server(vec![
                BackendMessage::ParseComplete,
                BackendMessage::ParameterDescription(Vec::new()),
                BackendMessage::RowDescription(RowDescription {
                    fields: vec![column],
                }),
            ]),
        ),
        (true, client(bind_execute_sync())),
        (
            false,
            server(vec![
                BackendMessage::BindComplete,
                BackendMessage::DataRow(DataRow::from_values([Some(&b"1"[..])]).expect("a row")),
                BackendMessage::CommandComplete("SELECT 1".into()),
                ready(),
            ]),
        ),
        (true, client(parse_describe_flush("SELEC 1"))),
        (
            false,
            server(vec![BackendMessage::ErrorResponse(ErrorFields::new(
                "ERROR",
                "42601",
                "syntax error at or near \"SELEC\"",
            ))]),
        ),
        (true, client(bind_execute_sync())),
        (false, server(vec![ready()])),
        (true, client(vec![FrontendMessage::Terminate])),
    ];
    let c: SocketAddr = "127.0.0.1:41000".parse().expect("addr");
    let s: SocketAddr = "127.0.0.1:5432".parse().expect("addr");
    let mut flow = TcpFlow::new(c, s);
    let mut out = Vec::new();
    let mut w = PcapWriter::new(&mut out).expect("header");
    let now = SystemTime::now();
    let mut frames = flow.handshake();
    for (from_client, bytes) in &talk {
        frames.extend(flow.data(*from_client, bytes));
    }
    frames.push(flow.fin(true));
    frames.push(flow.fin(false));
    for f in frames {
        w.packet(now, &f).expect("packet");
    }
    out
}

#[test]
fn flush_answers_are_awaited_by_count() {
    let pg = shardwire_testkit::PgInstance::start().expect("PostgreSQL starts");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("flush.pcap");
    std::fs::write(&path, capture(pg.user(), pg.database())).expect("writes");

    let cap = shardwire_conformance::load_capture(&path).expect("reads");
    let waits: Vec<(usize, usize)> = cap.dialogs[0]
        .exchanges
        .iter()
        .map(|e| match e.wait {
            Wait::Pg { ready, tail } => (ready, tail),
            Wait::MySql { .. } => (usize::MAX, usize::MAX),
        })
        .collect();
    assert_eq!(waits, vec![(0, 3), (1, 0), (0, 1), (1, 0), (0, 0)]);

    let target = format!("{}:{}", pg.host(), pg.port());
    let report = replay_against(
        &path,
        target,
        pg.user(),
        pg.password(),
        CompareOptions::default(),
    )
    .expect("replays");
    assert!(report.agrees(), "{}", report.to_text());
    assert_eq!(report.requests, 5);
}
