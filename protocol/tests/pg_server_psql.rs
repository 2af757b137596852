// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! Drives `PgServerCodec` and the server halves of the auth schemes with a
//! real client, psql (libpq): encryption negotiation, SCRAM / MD5 /
//! cleartext logins, a wrong password, and a simple query.

use std::path::PathBuf;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use shardwire_protocol::auth::md5::{md5_stored, verify_md5};
use shardwire_protocol::auth::scram::{ScramServer, ScramVerifier, SCRAM_SHA_256};
use shardwire_protocol::auth::verify_cleartext;
use shardwire_protocol::pg::{
    Authentication, BackendMessage, DataRow, ErrorFields, FieldDescription, FrontendMessage,
    PgServerCodec, RowDescription, TransactionStatus,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

const USER: &str = "alice";
const PASSWORD: &str = "wonder,land=";

#[derive(Debug, Clone, Copy)]
enum Method {
    Scram,
    Md5,
    Cleartext,
}

type Conn = Framed<TcpStream, PgServerCodec>;

async fn recv(conn: &mut Conn) -> FrontendMessage {
    conn.next().await.unwrap().unwrap()
}

async fn fail(conn: &mut Conn) {
    conn.send(BackendMessage::ErrorResponse(ErrorFields::new(
        "FATAL",
        "28P01",
        format!("password authentication failed for user \"{USER}\""),
    )))
    .await
    .unwrap();
}

/// A one-connection server: just enough session logic to log psql in and
/// answer `SELECT 1`. Returns whether authentication succeeded.
async fn serve_one(listener: TcpListener, method: Method) -> bool {
    let (stream, _) = listener.accept().await.unwrap();
    let mut conn = Framed::new(stream, PgServerCodec::new());
    let params = loop {
        match recv(&mut conn).await {
            FrontendMessage::SslRequest | FrontendMessage::GssEncRequest => {
                conn.send(BackendMessage::EncryptionResponse { accepted: false })
                    .await
                    .unwrap();
            }
            FrontendMessage::Startup { params, .. } => break params,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(
        params.iter().any(|(k, v)| k == "user" && v == USER),
        "{params:?}"
    );

    let ok = match method {
        Method::Scram => {
            let verifier = ScramVerifier::new_random(PASSWORD, 4096).unwrap();
            let mut scram = ScramServer::new(verifier);
            conn.send(BackendMessage::Authentication(Authentication::Sasl {
                mechanisms: vec![SCRAM_SHA_256.into()],
            }))
            .await
            .unwrap();
            let FrontendMessage::SaslInitialResponse { mechanism, data } = recv(&mut conn).await
            else {
                panic!("expected SASLInitialResponse")
            };
            assert_eq!(mechanism, SCRAM_SHA_256);
            let first = scram.handle_client_first(&data.unwrap()).unwrap();
            conn.send(BackendMessage::Authentication(
                Authentication::SaslContinue(first.into_bytes().into()),
            ))
            .await
            .unwrap();
            let FrontendMessage::SaslResponse(data) = recv(&mut conn).await else {
                panic!("expected SASLResponse")
            };
            match scram.handle_client_final(&data) {
                Ok(fin) => {
                    conn.send(BackendMessage::Authentication(Authentication::SaslFinal(
                        fin.into_bytes().into(),
                    )))
                    .await
                    .unwrap();
                    true
                }
                Err(_) => false,
            }
        }
        Method::Md5 => {
            let salt = [9, 8, 7, 6];
            conn.send(BackendMessage::Authentication(
                Authentication::Md5Password { salt },
            ))
            .await
            .unwrap();
            let FrontendMessage::Password(p) = recv(&mut conn).await else {
                panic!("expected PasswordMessage")
            };
            verify_md5(&md5_stored(USER, PASSWORD), salt, &p)
        }
        Method::Cleartext => {
            conn.send(BackendMessage::Authentication(
                Authentication::CleartextPassword,
            ))
            .await
            .unwrap();
            let FrontendMessage::Password(p) = recv(&mut conn).await else {
                panic!("expected PasswordMessage")
            };
            verify_cleartext(PASSWORD, &p)
        }
    };
    if !ok {
        fail(&mut conn).await;
        return false;
    }

    for m in [
        BackendMessage::Authentication(Authentication::Ok),
        BackendMessage::ParameterStatus {
            name: "server_version".into(),
            value: "15.0".into(),
        },
        BackendMessage::ParameterStatus {
            name: "client_encoding".into(),
            value: "UTF8".into(),
        },
        BackendMessage::ParameterStatus {
            name: "server_encoding".into(),
            value: "UTF8".into(),
        },
        BackendMessage::ParameterStatus {
            name: "standard_conforming_strings".into(),
            value: "on".into(),
        },
        BackendMessage::BackendKeyData { pid: 1, secret: 2 },
        BackendMessage::ReadyForQuery(TransactionStatus::Idle),
    ] {
        conn.feed(m).await.unwrap();
    }
    conn.flush().await.unwrap();

    loop {
        match conn.next().await {
            None | Some(Ok(FrontendMessage::Terminate)) => return true,
            Some(Ok(FrontendMessage::Query(q))) => {
                assert_eq!(q, "SELECT 1");
                for m in [
                    BackendMessage::RowDescription(RowDescription {
                        fields: vec![FieldDescription {
                            name: "?column?".into(),
                            type_oid: 23,
                            type_size: 4,
                            type_modifier: -1,
                            ..Default::default()
                        }],
                    }),
                    BackendMessage::DataRow(DataRow::from_values([Some(&b"1"[..])]).unwrap()),
                    BackendMessage::CommandComplete("SELECT 1".into()),
                    BackendMessage::ReadyForQuery(TransactionStatus::Idle),
                ] {
                    conn.feed(m).await.unwrap();
                }
                conn.flush().await.unwrap();
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn psql() -> PathBuf {
    let debian = PathBuf::from("/usr/lib/postgresql/15/bin/psql");
    if debian.exists() {
        debian
    } else {
        PathBuf::from("psql")
    }
}

async fn run(method: Method, password: &str) -> (bool, std::process::Output) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(serve_one(listener, method));
    let out = tokio::process::Command::new(psql())
        .args([
            "-X",
            "-A",
            "-t",
            "-h",
            "127.0.0.1",
            "-U",
            USER,
            "-d",
            "db",
            "-c",
            "SELECT 1",
        ])
        .arg("-p")
        .arg(port.to_string())
        .env("PGPASSWORD", password)
        .env("PGSSLMODE", "prefer")
        .env("PGGSSENCMODE", "disable")
        .env("PGCONNECT_TIMEOUT", "10")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .expect("psql finished in time")
        .unwrap();
    let ok = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server finished")
        .unwrap();
    (ok, out)
}

#[tokio::test]
async fn psql_logs_in_with_each_method_and_queries() {
    for method in [Method::Scram, Method::Md5, Method::Cleartext] {
        let (ok, out) = run(method, PASSWORD).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(ok, "{method:?}: {stderr}");
        assert!(out.status.success(), "{method:?}: {stderr}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n", "{method:?}");
    }
}

#[tokio::test]
async fn psql_with_a_wrong_password_is_refused() {
    for method in [Method::Scram, Method::Md5] {
        let (ok, out) = run(method, "wrong").await;
        assert!(!ok, "{method:?}");
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("password authentication failed"),
            "{stderr}"
        );
    }
}
