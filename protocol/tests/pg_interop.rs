// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! Talks to a real PostgreSQL with `PgClientCodec`: startup, SCRAM login,
//! simple and extended queries, errors. The strongest check that our byte
//! layouts are the server's, not just self-consistent.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use shardwire_protocol::auth::scram::{ScramClient, SCRAM_SHA_256};
use shardwire_protocol::pg::{
    Authentication, BackendMessage, Bind, CopyResponse, FrontendMessage, Parse, PgClientCodec,
    TargetKind, TransactionStatus, PROTOCOL_VERSION_3_0,
};
use shardwire_testkit::PgInstance;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

type Conn = Framed<TcpStream, PgClientCodec>;

async fn recv(conn: &mut Conn) -> BackendMessage {
    tokio::time::timeout(Duration::from_secs(20), conn.next())
        .await
        .expect("server answered in time")
        .expect("connection still open")
        .expect("message decodes")
}

/// Logs in; returns the first non-auth message after AuthenticationOk that
/// is not ParameterStatus / BackendKeyData (ReadyForQuery on success).
async fn login(pg: &PgInstance, password: &str) -> (Conn, BackendMessage) {
    let stream = TcpStream::connect(("127.0.0.1", pg.port())).await.unwrap();
    let mut conn = Framed::new(stream, PgClientCodec::new());
    conn.send(FrontendMessage::Startup {
        protocol_version: PROTOCOL_VERSION_3_0,
        params: vec![
            ("user".into(), pg.user().into()),
            ("database".into(), pg.database().into()),
            ("application_name".into(), "shardwire-protocol-test".into()),
        ],
    })
    .await
    .unwrap();

    let mut scram: Option<ScramClient> = None;
    let mut params = 0;
    loop {
        match recv(&mut conn).await {
            BackendMessage::Authentication(Authentication::Sasl { mechanisms }) => {
                assert!(
                    mechanisms.iter().any(|m| m == SCRAM_SHA_256),
                    "{mechanisms:?}"
                );
                // PostgreSQL ignores the SCRAM user name; libpq sends it empty.
                let mut c = ScramClient::new("", password).unwrap();
                let first = c.client_first();
                scram = Some(c);
                conn.send(FrontendMessage::SaslInitialResponse {
                    mechanism: SCRAM_SHA_256.into(),
                    data: Some(first.into_bytes().into()),
                })
                .await
                .unwrap();
            }
            BackendMessage::Authentication(Authentication::SaslContinue(data)) => {
                let fin = scram.as_mut().unwrap().handle_server_first(&data).unwrap();
                conn.send(FrontendMessage::SaslResponse(fin.into_bytes().into()))
                    .await
                    .unwrap();
            }
            BackendMessage::Authentication(Authentication::SaslFinal(data)) => {
                scram.as_mut().unwrap().verify_server_final(&data).unwrap();
            }
            BackendMessage::Authentication(Authentication::Ok) => {}
            BackendMessage::ParameterStatus { .. } => params += 1,
            BackendMessage::BackendKeyData { .. } => {}
            other => {
                if matches!(other, BackendMessage::ReadyForQuery(_)) {
                    assert!(params > 5, "server reports its parameters");
                }
                return (conn, other);
            }
        }
    }
}

fn text(row: &BackendMessage) -> Vec<Option<String>> {
    let BackendMessage::DataRow(row) = row else {
        panic!("expected DataRow, got {row:?}");
    };
    row.columns()
        .map(|c| c.map(|b| String::from_utf8(b.to_vec()).unwrap()))
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn real_postgres_login_simple_and_extended_query() {
    let pg = PgInstance::start().unwrap();
    let (mut conn, ready) = login(&pg, pg.password()).await;
    assert_eq!(
        ready,
        BackendMessage::ReadyForQuery(TransactionStatus::Idle)
    );

    // Simple query.
    conn.send(FrontendMessage::Query("SELECT 1".into()))
        .await
        .unwrap();
    let BackendMessage::RowDescription(rd) = recv(&mut conn).await else {
        panic!("expected RowDescription")
    };
    assert_eq!(rd.fields.len(), 1);
    assert_eq!(rd.fields[0].type_oid, 23, "int4");
    assert_eq!(text(&recv(&mut conn).await), vec![Some("1".to_owned())]);
    assert_eq!(
        recv(&mut conn).await,
        BackendMessage::CommandComplete("SELECT 1".into())
    );
    assert_eq!(
        recv(&mut conn).await,
        BackendMessage::ReadyForQuery(TransactionStatus::Idle)
    );

    // Extended query, pipelined in one write, with a NULL and a text parameter.
    for m in [
        FrontendMessage::Parse(Parse {
            name: "s1".into(),
            query: "SELECT $1::int4 + 1, $2::text IS NULL".into(),
            param_types: vec![23, 25],
        }),
        FrontendMessage::Bind(Bind {
            portal: String::new(),
            statement: "s1".into(),
            param_formats: vec![0],
            params: vec![Some("41".into()), None],
            result_formats: vec![0],
        }),
        FrontendMessage::Describe {
            kind: TargetKind::Portal,
            name: String::new(),
        },
        FrontendMessage::Execute {
            portal: String::new(),
            max_rows: 0,
        },
        FrontendMessage::Close {
            kind: TargetKind::Statement,
            name: "s1".into(),
        },
        FrontendMessage::Sync,
    ] {
        conn.feed(m).await.unwrap();
    }
    conn.flush().await.unwrap();
    assert_eq!(recv(&mut conn).await, BackendMessage::ParseComplete);
    assert_eq!(recv(&mut conn).await, BackendMessage::BindComplete);
    assert!(
        matches!(recv(&mut conn).await, BackendMessage::RowDescription(rd) if rd.fields.len() == 2)
    );
    assert_eq!(
        text(&recv(&mut conn).await),
        vec![Some("42".to_owned()), Some("t".to_owned())]
    );
    assert_eq!(
        recv(&mut conn).await,
        BackendMessage::CommandComplete("SELECT 1".into())
    );
    assert_eq!(recv(&mut conn).await, BackendMessage::CloseComplete);
    assert_eq!(
        recv(&mut conn).await,
        BackendMessage::ReadyForQuery(TransactionStatus::Idle)
    );

    // Statement-level describe reports parameter types.
    conn.feed(FrontendMessage::Parse(Parse {
        name: String::new(),
        query: "SELECT $1::int8".into(),
        param_types: vec![],
    }))
    .await
    .unwrap();
    conn.feed(FrontendMessage::Describe {
        kind: TargetKind::Statement,
        name: String::new(),
    })
    .await
    .unwrap();
    conn.send(FrontendMessage::Sync).await.unwrap();
    assert_eq!(recv(&mut conn).await, BackendMessage::ParseComplete);
    assert_eq!(
        recv(&mut conn).await,
        BackendMessage::ParameterDescription(vec![20])
    );
    assert!(matches!(
        recv(&mut conn).await,
        BackendMessage::RowDescription(_)
    ));
    assert_eq!(
        recv(&mut conn).await,
        BackendMessage::ReadyForQuery(TransactionStatus::Idle)
    );

    // Errors carry SQLSTATE and position; a transaction block reports 'T' / 'E'.
    conn.send(FrontendMessage::Query(
        "BEGIN; SELECT * FROM no_such_table".into(),
    ))
    .await
    .unwrap();
    assert_eq!(
        recv(&mut conn).await,
        BackendMessage::CommandComplete("BEGIN".into())
    );
    let BackendMessage::ErrorResponse(e) = recv(&mut conn).await else {
        panic!("expected ErrorResponse")
    };
    assert_eq!(e.code(), Some("42P01"));
    assert_eq!(e.severity(), Some("ERROR"));
    assert_eq!(e.position(), Some(22));
    assert!(e.message().unwrap().contains("no_such_table"));
    assert_eq!(
        recv(&mut conn).await,
        BackendMessage::ReadyForQuery(TransactionStatus::Failed)
    );

    conn.send(FrontendMessage::Query("ROLLBACK; SELECT NULL, ''".into()))
        .await
        .unwrap();
    assert_eq!(
        recv(&mut conn).await,
        BackendMessage::CommandComplete("ROLLBACK".into())
    );
    assert!(matches!(
        recv(&mut conn).await,
        BackendMessage::RowDescription(_)
    ));
    assert_eq!(
        text(&recv(&mut conn).await),
        vec![None, Some(String::new())]
    );
    assert_eq!(
        recv(&mut conn).await,
        BackendMessage::CommandComplete("SELECT 1".into())
    );
    assert_eq!(
        recv(&mut conn).await,
        BackendMessage::ReadyForQuery(TransactionStatus::Idle)
    );

    // Empty query.
    conn.send(FrontendMessage::Query(String::new()))
        .await
        .unwrap();
    assert_eq!(recv(&mut conn).await, BackendMessage::EmptyQueryResponse);
    assert_eq!(
        recv(&mut conn).await,
        BackendMessage::ReadyForQuery(TransactionStatus::Idle)
    );

    conn.send(FrontendMessage::Terminate).await.unwrap();
    assert!(conn.next().await.is_none(), "server closes after Terminate");
}

#[tokio::test(flavor = "current_thread")]
async fn real_postgres_rejects_wrong_password() {
    let pg = PgInstance::start().unwrap();
    // With a wrong password our client proof is wrong; the server answers
    // with ErrorResponse 28P01 instead of SASLFinal.
    let (_conn, answer) = login(&pg, "definitely-wrong").await;
    let BackendMessage::ErrorResponse(e) = answer else {
        panic!("expected ErrorResponse, got {answer:?}")
    };
    assert_eq!(e.code(), Some("28P01"));
}

/// Reads until ReadyForQuery, returning everything before it.
async fn until_ready(conn: &mut Conn) -> Vec<BackendMessage> {
    let mut out = Vec::new();
    loop {
        match recv(conn).await {
            BackendMessage::ReadyForQuery(_) => return out,
            m => out.push(m),
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn real_postgres_copy_notify_suspend_and_notice() {
    let pg = PgInstance::start().unwrap();
    let (mut conn, _) = login(&pg, pg.password()).await;

    // COPY FROM STDIN.
    conn.send(FrontendMessage::Query(
        "CREATE TEMP TABLE t (a int, b text); COPY t FROM STDIN".into(),
    ))
    .await
    .unwrap();
    assert_eq!(
        recv(&mut conn).await,
        BackendMessage::CommandComplete("CREATE TABLE".into())
    );
    assert_eq!(
        recv(&mut conn).await,
        BackendMessage::CopyInResponse(CopyResponse {
            format: 0,
            column_formats: vec![0, 0],
        })
    );
    conn.feed(FrontendMessage::CopyData("1\tone\n".into()))
        .await
        .unwrap();
    conn.feed(FrontendMessage::CopyData("2\t\\N\n".into()))
        .await
        .unwrap();
    conn.send(FrontendMessage::CopyDone).await.unwrap();
    assert_eq!(
        until_ready(&mut conn).await,
        vec![BackendMessage::CommandComplete("COPY 2".into())]
    );

    // COPY TO STDOUT.
    conn.send(FrontendMessage::Query("COPY t TO STDOUT".into()))
        .await
        .unwrap();
    assert_eq!(
        until_ready(&mut conn).await,
        vec![
            BackendMessage::CopyOutResponse(CopyResponse {
                format: 0,
                column_formats: vec![0, 0],
            }),
            BackendMessage::CopyData("1\tone\n".into()),
            BackendMessage::CopyData("2\t\\N\n".into()),
            BackendMessage::CopyDone,
            BackendMessage::CommandComplete("COPY 2".into()),
        ]
    );

    // CopyFail aborts the copy with an error.
    conn.send(FrontendMessage::Query("COPY t FROM STDIN".into()))
        .await
        .unwrap();
    assert!(matches!(
        recv(&mut conn).await,
        BackendMessage::CopyInResponse(_)
    ));
    conn.send(FrontendMessage::CopyFail("changed my mind".into()))
        .await
        .unwrap();
    let msgs = until_ready(&mut conn).await;
    assert!(
        matches!(&msgs[..], [BackendMessage::ErrorResponse(e)] if e.code() == Some("57014")),
        "{msgs:?}"
    );

    // LISTEN / NOTIFY on the same session.
    conn.send(FrontendMessage::Query(
        "LISTEN ch; NOTIFY ch, 'hello'".into(),
    ))
    .await
    .unwrap();
    let msgs = until_ready(&mut conn).await;
    assert!(
        msgs.iter().any(|m| matches!(m,
            BackendMessage::NotificationResponse { channel, payload, .. } if channel == "ch" && payload == "hello")),
        "{msgs:?}"
    );

    // A notice.
    conn.send(FrontendMessage::Query(
        "DO $$ BEGIN RAISE NOTICE 'hi there'; END $$".into(),
    ))
    .await
    .unwrap();
    let msgs = until_ready(&mut conn).await;
    assert!(
        matches!(&msgs[0], BackendMessage::NoticeResponse(n) if n.message() == Some("hi there") && n.severity() == Some("NOTICE")),
        "{msgs:?}"
    );

    // Execute with max_rows suspends the portal; Flush gets output before Sync.
    for m in [
        FrontendMessage::Parse(Parse {
            name: String::new(),
            query: "SELECT generate_series(1, 3)".into(),
            param_types: vec![],
        }),
        FrontendMessage::Bind(Bind::default()),
        FrontendMessage::Execute {
            portal: String::new(),
            max_rows: 2,
        },
        FrontendMessage::Flush,
    ] {
        conn.feed(m).await.unwrap();
    }
    conn.flush().await.unwrap();
    assert_eq!(recv(&mut conn).await, BackendMessage::ParseComplete);
    assert_eq!(recv(&mut conn).await, BackendMessage::BindComplete);
    assert_eq!(text(&recv(&mut conn).await), vec![Some("1".to_owned())]);
    assert_eq!(text(&recv(&mut conn).await), vec![Some("2".to_owned())]);
    assert_eq!(recv(&mut conn).await, BackendMessage::PortalSuspended);
    conn.feed(FrontendMessage::Execute {
        portal: String::new(),
        max_rows: 0,
    })
    .await
    .unwrap();
    conn.send(FrontendMessage::Sync).await.unwrap();
    assert_eq!(text(&recv(&mut conn).await), vec![Some("3".to_owned())]);
    assert_eq!(
        recv(&mut conn).await,
        BackendMessage::CommandComplete("SELECT 1".into())
    );
    assert_eq!(
        recv(&mut conn).await,
        BackendMessage::ReadyForQuery(TransactionStatus::Idle)
    );

    // An error in a pipeline: the server skips to Sync.
    for m in [
        FrontendMessage::Parse(Parse {
            name: String::new(),
            query: "SELEC broken".into(),
            param_types: vec![],
        }),
        FrontendMessage::Bind(Bind::default()),
        FrontendMessage::Execute {
            portal: String::new(),
            max_rows: 0,
        },
        FrontendMessage::Sync,
    ] {
        conn.feed(m).await.unwrap();
    }
    conn.flush().await.unwrap();
    let msgs = until_ready(&mut conn).await;
    assert!(
        matches!(&msgs[..], [BackendMessage::ErrorResponse(e)] if e.code() == Some("42601")),
        "{msgs:?}"
    );

    conn.send(FrontendMessage::Terminate).await.unwrap();
}

/// Logs in and returns the connection with its BackendKeyData.
async fn key_data(pg: &PgInstance) -> (Conn, BackendMessage) {
    let stream = TcpStream::connect(("127.0.0.1", pg.port())).await.unwrap();
    let mut conn = Framed::new(stream, PgClientCodec::new());
    conn.send(FrontendMessage::Startup {
        protocol_version: PROTOCOL_VERSION_3_0,
        params: vec![
            ("user".into(), pg.user().into()),
            ("database".into(), pg.database().into()),
        ],
    })
    .await
    .unwrap();
    let mut scram = ScramClient::new("", pg.password()).unwrap();
    let mut key = None;
    loop {
        match recv(&mut conn).await {
            BackendMessage::Authentication(Authentication::Sasl { .. }) => {
                conn.send(FrontendMessage::SaslInitialResponse {
                    mechanism: SCRAM_SHA_256.into(),
                    data: Some(scram.client_first().into_bytes().into()),
                })
                .await
                .unwrap();
            }
            BackendMessage::Authentication(Authentication::SaslContinue(d)) => {
                let fin = scram.handle_server_first(&d).unwrap();
                conn.send(FrontendMessage::SaslResponse(fin.into_bytes().into()))
                    .await
                    .unwrap();
            }
            BackendMessage::Authentication(Authentication::SaslFinal(d)) => {
                scram.verify_server_final(&d).unwrap()
            }
            k @ BackendMessage::BackendKeyData { .. } => key = Some(k),
            BackendMessage::ReadyForQuery(_) => return (conn, key.unwrap()),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn real_postgres_honours_cancel_request() {
    let pg = PgInstance::start().unwrap();
    let (mut conn, key) = key_data(&pg).await;
    let BackendMessage::BackendKeyData { pid, secret } = key else {
        unreachable!()
    };
    conn.send(FrontendMessage::Query("SELECT pg_sleep(30)".into()))
        .await
        .unwrap();
    // A cancel that arrives before the query starts is a no-op, so under
    // load one may be lost: repeat it until the query ends.
    let mut msgs = Vec::new();
    loop {
        let cancel = TcpStream::connect(("127.0.0.1", pg.port())).await.unwrap();
        let mut cancel = Framed::new(cancel, PgClientCodec::new());
        cancel
            .send(FrontendMessage::CancelRequest { pid, secret })
            .await
            .unwrap();
        // The server closes the cancel connection without answering.
        assert!(cancel.next().await.is_none());
        while let Ok(m) = tokio::time::timeout(Duration::from_millis(500), conn.next()).await {
            match m.unwrap().unwrap() {
                BackendMessage::ReadyForQuery(_) => {
                    assert!(
                        msgs.iter().any(
                            |m| matches!(m, BackendMessage::ErrorResponse(e) if e.code() == Some("57014"))
                        ),
                        "{msgs:?}"
                    );
                    return;
                }
                m => msgs.push(m),
            }
        }
    }
}
