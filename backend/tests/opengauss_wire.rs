// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! The openGauss side of `PgConnection`: SHA256 / MD5_SHA256 login at 3.51,
//! the fallback to 3.0, and `execute_batch` sending Batch Bind. No openGauss
//! server runs on this machine, so the peer is a scripted server built from
//! the protocol crate's server codec and openGauss server-side auth, on a
//! real socket; `tests/opengauss_backend.rs` covers the same against
//! Shardwire's own openGauss listener.

mod common;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::data_source_at;
use futures::{SinkExt, StreamExt};
use shardwire_backend::pg::PgConnection;
use shardwire_backend::BackendError;
use shardwire_protocol::auth::opengauss::{
    Md5Sha256Challenge, Sha256Challenge, Sha256Secret, Sha256Tail, AUTH_MD5_SHA256, AUTH_SHA256,
    LEGACY_ITERATIONS,
};
use shardwire_protocol::pg::{
    Authentication, BackendMessage, BatchBind, ErrorFields, FrontendMessage, PgServerCodec,
    TransactionStatus, EMBEDDED_EXECUTE, PROTOCOL_VERSION_3_0, PROTOCOL_VERSION_3_51,
};
use shardwire_rules::snapshot::{DataSource, DatabaseProtocol};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

const PASSWORD: &str = "Gauss@123";

#[derive(Clone, Copy, PartialEq)]
enum Method {
    Sha256,
    Md5Sha256,
}

/// What the scripted server saw.
#[derive(Default)]
struct Seen {
    versions: Vec<u32>,
    batches: Vec<BatchBind>,
    messages: Vec<char>,
}

struct Script {
    method: Method,
    /// Refuse any startup version other than 3.0, as an old server would.
    only_3_0: bool,
    seen: Mutex<Seen>,
}

type Conn = Framed<TcpStream, PgServerCodec>;

async fn send(c: &mut Conn, m: BackendMessage) {
    c.send(m).await.unwrap();
}

async fn serve(stream: TcpStream, script: Arc<Script>) {
    let mut codec = PgServerCodec::new();
    codec.allow_extension(BatchBind::TAG);
    let mut c = Framed::new(stream, codec);
    let Some(Ok(FrontendMessage::Startup {
        protocol_version, ..
    })) = c.next().await
    else {
        return;
    };
    script.seen.lock().unwrap().versions.push(protocol_version);
    if script.only_3_0 && protocol_version != PROTOCOL_VERSION_3_0 {
        let e = ErrorFields::new("FATAL", "0A000", "unsupported frontend protocol");
        send(&mut c, BackendMessage::ErrorResponse(e)).await;
        return;
    }
    let ok = match script.method {
        Method::Sha256 => {
            let (iterations, tail) = if protocol_version == PROTOCOL_VERSION_3_51 {
                (4096, Sha256Tail::Iterations)
            } else {
                (LEGACY_ITERATIONS, Sha256Tail::for_version(protocol_version))
            };
            let secret = Sha256Secret::new_random(PASSWORD, iterations).unwrap();
            let ch = Sha256Challenge::new(secret, tail).unwrap();
            let data = ch.request_data().unwrap().into();
            let auth = Authentication::Other {
                code: AUTH_SHA256,
                data,
            };
            send(&mut c, BackendMessage::Authentication(auth)).await;
            let Some(Ok(FrontendMessage::Password(p))) = c.next().await else {
                return;
            };
            ch.verify(&p)
        }
        Method::Md5Sha256 => {
            let secret = Sha256Secret::new_random(PASSWORD, LEGACY_ITERATIONS).unwrap();
            let ch = Md5Sha256Challenge::new(secret).unwrap();
            let auth = Authentication::Other {
                code: AUTH_MD5_SHA256,
                data: ch.request_data().into(),
            };
            send(&mut c, BackendMessage::Authentication(auth)).await;
            let Some(Ok(FrontendMessage::Password(p))) = c.next().await else {
                return;
            };
            ch.verify(&p)
        }
    };
    if !ok {
        let e = ErrorFields::new("FATAL", "28P01", "Invalid username/password,login denied.");
        send(&mut c, BackendMessage::ErrorResponse(e)).await;
        return;
    }
    send(&mut c, BackendMessage::Authentication(Authentication::Ok)).await;
    send(
        &mut c,
        BackendMessage::ReadyForQuery(TransactionStatus::Idle),
    )
    .await;
    while let Some(Ok(msg)) = c.next().await {
        let (tag, answers) = match msg {
            FrontendMessage::Parse(_) => ('P', vec![BackendMessage::ParseComplete]),
            // As an openGauss server reads it: the rows, then the Execute
            // inside the frame; a named statement only.
            FrontendMessage::Extension { tag: b'U', body } => {
                assert!(
                    body.ends_with(&EMBEDDED_EXECUTE),
                    "no Execute in the 'U' frame"
                );
                let rows_end = body.len() - EMBEDDED_EXECUTE.len();
                let b = BatchBind::decode(body.slice(..rows_end)).unwrap();
                assert!(!b.statement.is_empty(), "'U' of the unnamed statement");
                let tag = format!("INSERT 0 {}", b.rows.len());
                script.seen.lock().unwrap().batches.push(b);
                let done = BackendMessage::CommandComplete(tag);
                ('U', vec![BackendMessage::BindComplete, done])
            }
            FrontendMessage::Bind(_) => ('B', vec![BackendMessage::BindComplete]),
            FrontendMessage::Execute { .. } => (
                'E',
                vec![BackendMessage::CommandComplete("DELETE 1".into())],
            ),
            FrontendMessage::Close { .. } => ('C', vec![BackendMessage::CloseComplete]),
            FrontendMessage::Flush => ('H', vec![]),
            FrontendMessage::Sync => (
                'S',
                vec![BackendMessage::ReadyForQuery(TransactionStatus::Idle)],
            ),
            FrontendMessage::Terminate => return,
            _ => ('?', vec![]),
        };
        script.seen.lock().unwrap().messages.push(tag);
        for a in answers {
            send(&mut c, a).await;
        }
    }
}

async fn server(method: Method, only_3_0: bool) -> (DataSource, Arc<Script>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = Arc::new(Script {
        method,
        only_3_0,
        seen: Mutex::default(),
    });
    let s = script.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, s.clone()));
        }
    });
    let mut ds = data_source_at(port);
    ds.protocol = DatabaseProtocol::OpenGauss;
    ds.username = "omm".into();
    ds.password = PASSWORD.into();
    (ds, script)
}

fn rows(n: usize) -> Vec<Arc<[Option<Bytes>]>> {
    (0..n)
        .map(|i| {
            Arc::from(vec![
                Some(Bytes::from(i.to_string())),
                Some(Bytes::from("v".repeat(200))),
            ])
        })
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn sha256_login_at_3_51_and_batches_as_batch_bind() {
    let (ds, script) = server(Method::Sha256, false).await;
    let mut conn = PgConnection::connect(&ds).await.unwrap();
    assert!(conn.is_opengauss());
    let out = conn
        .execute_batch("INSERT INTO t VALUES ($1, $2)", &[23, 25], &[], &rows(3000))
        .await
        .unwrap();
    assert_eq!((out.tag.as_str(), out.rows), ("INSERT 0 3000", 3000));
    let seen = script.seen.lock().unwrap();
    assert_eq!(seen.versions, vec![PROTOCOL_VERSION_3_51]);
    // 3000 rows of ~215 bytes: more than one chunk, each 'U' + Execute,
    // Flush between chunks, one Parse and one Sync.
    assert!(seen.batches.len() > 1, "{}", seen.batches.len());
    let all: Vec<_> = seen.batches.iter().flat_map(|b| b.rows.iter()).collect();
    assert_eq!(all.len(), 3000);
    assert_eq!(all[2999][0].as_deref(), Some(b"2999".as_slice()));
    let m: String = seen.messages.iter().collect();
    assert!(m.starts_with("PUH") && m.ends_with("UCS"), "{m}");
    assert_eq!(m.matches('H').count(), seen.batches.len() - 1, "{m}");
    assert_eq!(m.matches('U').count(), seen.batches.len(), "{m}");
    let names: Vec<_> = seen.batches.iter().map(|b| b.statement.clone()).collect();
    assert!(names.iter().all(|n| *n == names[0]), "{names:?}");
}

/// openGauss runs a DELETE inside a 'U' row by row with a tag per row, so
/// DELETE batches are pipelined as Bind/Execute even on openGauss.
#[tokio::test(flavor = "current_thread")]
async fn delete_batches_are_pipelined() {
    let (ds, script) = server(Method::Sha256, false).await;
    let mut conn = PgConnection::connect(&ds).await.unwrap();
    let ids: Vec<Arc<[Option<Bytes>]>> = (0..3)
        .map(|i| Arc::from(vec![Some(Bytes::from(i.to_string()))]))
        .collect();
    let out = conn
        .execute_batch("DELETE FROM t WHERE id = $1", &[23], &[], &ids)
        .await
        .unwrap();
    assert_eq!(out.tag, "DELETE 3");
    let m: String = script.seen.lock().unwrap().messages.iter().collect();
    assert_eq!(m, "PBEBEBES");
}

#[tokio::test(flavor = "current_thread")]
async fn wrong_password_names_the_data_source() {
    let (mut ds, _) = server(Method::Sha256, false).await;
    ds.password = "wrong".into();
    let err = PgConnection::connect(&ds).await.unwrap_err();
    assert!(matches!(err, BackendError::Auth { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("data source \"ds_test\"") && msg.contains("login denied"),
        "{msg}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn md5_sha256_login() {
    let (ds, _) = server(Method::Md5Sha256, false).await;
    let mut conn = PgConnection::connect(&ds).await.unwrap();
    let out = conn
        .execute_batch("INSERT INTO t VALUES ($1, $2)", &[23, 25], &[], &rows(3))
        .await
        .unwrap();
    assert_eq!(out.tag, "INSERT 0 3");
}

/// A server that refuses 3.51 is retried once at 3.0, where the SHA256
/// request carries the server signature instead of the iteration count.
#[tokio::test(flavor = "current_thread")]
async fn refused_version_falls_back_to_3_0() {
    let (ds, script) = server(Method::Sha256, true).await;
    let conn = PgConnection::connect(&ds).await.unwrap();
    assert!(conn.is_opengauss());
    let seen = script.seen.lock().unwrap();
    assert_eq!(
        seen.versions,
        vec![PROTOCOL_VERSION_3_51, PROTOCOL_VERSION_3_0]
    );
}
