// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! openGauss data sources end to end. Shardwire A serves an openGauss
//! listener (SHA256 logins) in front of a PostgreSQL started by the testkit;
//! Shardwire B's data sources are `jdbc:opengauss://` URLs pointing at A. So
//! B's backend logs in to A as an openGauss client (startup 3.51, SHA256)
//! and sends it Batch Bind, and A answers as an openGauss server would.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use shardwire_backend::pg::PgConnection;
use shardwire_rules::snapshot::{DataSource, DatabaseProtocol};
use shardwire_testkit::shardwire::ShardwireProcess;
use shardwire_testkit::{free_port, PgInstance};

const USER: &str = "app";
const PASSWORD: &str = "app-secret";

fn global(listeners: &[(&str, u16)]) -> String {
    let mut g = format!(
        "authority:\n  users:\n    - user: {USER}@%\n      password: {PASSWORD}\n  privilege:\n    type: ALL_PERMITTED\n\
         props:\n  opengauss-sha256-iterations: 4096\n\
         listeners:\n"
    );
    for (protocol, port) in listeners {
        g.push_str(&format!(
            "  - protocol: {protocol}\n    address: 127.0.0.1:{port}\n"
        ));
    }
    g
}

/// One data source with `t` as a broadcast table: a rule keeps the database
/// out of passthrough (which would splice sessions and forward 'U' raw), so
/// each Shardwire really parses, routes and runs what it receives.
fn database(name: &str, source: &str, url: &str, user: &str, password: &str) -> String {
    format!(
        "databaseName: {name}\n\
         dataSources:\n  {source}:\n    url: {url}\n    username: {user}\n    password: {password}\n    maxPoolSize: 4\n    connectionTimeoutMilliseconds: 5000\n\
         rules:\n- !BROADCAST\n  tables:\n    - t\n"
    )
}

/// A TCP relay between B and A that records the type byte of every message
/// B sends: the proof of what B's backend puts on the wire.
fn relay(to: u16) -> (u16, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let tags = Arc::new(Mutex::new(Vec::new()));
    let seen = tags.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let server = TcpStream::connect(("127.0.0.1", to)).unwrap();
            let (mut c_read, mut s_write) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut s_read, mut c_write) = (server, client);
            std::thread::spawn(move || std::io::copy(&mut s_read, &mut c_write));
            let seen = seen.clone();
            std::thread::spawn(move || {
                // The startup packet has no type byte; every later one does.
                let mut buf = Vec::new();
                let mut started = false;
                let mut chunk = [0u8; 65536];
                while let Ok(n) = c_read.read(&mut chunk) {
                    if n == 0 || s_write.write_all(&chunk[..n]).is_err() {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    loop {
                        let head = if started { 5 } else { 4 };
                        if buf.len() < head {
                            break;
                        }
                        let at = head - 4;
                        let len = i32::from_be_bytes(buf[at..at + 4].try_into().unwrap());
                        let total = at + usize::try_from(len).unwrap();
                        if buf.len() < total {
                            break;
                        }
                        if started {
                            seen.lock().unwrap().push(buf[0]);
                        }
                        started = true;
                        buf.drain(..total);
                    }
                }
            });
        }
    });
    (port, tags)
}

struct Chain {
    pg: PgInstance,
    /// Type bytes of what B's backend sent to A.
    b_to_a: Arc<Mutex<Vec<u8>>>,
    _a: ShardwireProcess,
    _b: ShardwireProcess,
    _confs: (tempfile::TempDir, tempfile::TempDir),
    a_port: u16,
    b_pg_port: u16,
    b_og_port: u16,
}

fn start() -> Chain {
    let pg = PgInstance::start().unwrap();
    let a_port = free_port().unwrap();
    let a = tempfile::tempdir().unwrap();
    std::fs::write(
        a.path().join("global.yaml"),
        global(&[("opengauss", a_port)]),
    )
    .unwrap();
    let pg_url = format!(
        "jdbc:postgresql://127.0.0.1:{}/{}",
        pg.port(),
        pg.database()
    );
    std::fs::write(
        a.path().join("database-og.yaml"),
        database("og_db", "pg_ds", &pg_url, pg.user(), pg.password()),
    )
    .unwrap();
    let a_proc = ShardwireProcess::start(bin(), a.path()).unwrap();

    let (b_pg_port, b_og_port) = (free_port().unwrap(), free_port().unwrap());
    let b = tempfile::tempdir().unwrap();
    std::fs::write(
        b.path().join("global.yaml"),
        global(&[("postgresql", b_pg_port), ("opengauss", b_og_port)]),
    )
    .unwrap();
    let (relay_port, b_to_a) = relay(a_port);
    let og_url = format!("jdbc:opengauss://127.0.0.1:{relay_port}/og_db");
    std::fs::write(
        b.path().join("database-front.yaml"),
        database("front", "og_a", &og_url, USER, PASSWORD),
    )
    .unwrap();
    std::fs::write(
        b.path().join("database-bad.yaml"),
        database("bad", "og_wrong_pw", &og_url, USER, "not-the-password"),
    )
    .unwrap();
    let b_proc = ShardwireProcess::start(bin(), b.path()).unwrap();
    Chain {
        pg,
        b_to_a,
        _a: a_proc,
        _b: b_proc,
        _confs: (a, b),
        a_port,
        b_pg_port,
        b_og_port,
    }
}

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_shardwire"))
}

/// An openGauss data source for the test's own backend client.
fn og_source(port: u16, database: &str) -> DataSource {
    DataSource {
        name: "og_test".into(),
        protocol: DatabaseProtocol::OpenGauss,
        host: "127.0.0.1".into(),
        port,
        database: database.into(),
        params: Default::default(),
        username: USER.into(),
        password: PASSWORD.into(),
        connection_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        max_lifetime: Duration::from_secs(600),
        max_pool_size: 1,
        min_pool_size: 0,
    }
}

async fn client(port: u16, database: &str) -> tokio_postgres::Client {
    let url = format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{port}/{database}");
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

async fn direct_count(pg: &PgInstance) -> i64 {
    let url = format!(
        "postgres://{}:{}@127.0.0.1:{}/{}",
        pg.user(),
        pg.password(),
        pg.port(),
        pg.database()
    );
    let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    c.query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0)
}

fn rows(from: usize, n: usize) -> Vec<Arc<[Option<Bytes>]>> {
    (from..from + n)
        .map(|i| {
            Arc::from(vec![
                Some(Bytes::from(i.to_string())),
                Some(Bytes::from("v")),
            ])
        })
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn shardwire_logs_in_to_an_opengauss_server() {
    let chain = start();

    // Statements through B reach PostgreSQL through A: B's backend logged
    // in to A's openGauss listener.
    let b = client(chain.b_pg_port, "front").await;
    b.batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        .await
        .unwrap();
    let n = b
        .execute("INSERT INTO t VALUES ($1, $2)", &[&1i32, &"one"])
        .await
        .unwrap();
    assert_eq!(n, 1);
    let v: String = b
        .query_one("SELECT v FROM t WHERE id = 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, "one");
    assert_eq!(direct_count(&chain.pg).await, 1);

    // The same login as B's, by hand: A accepted 3.51 without negotiating
    // down and asked for code 10 as openGauss SHA256 (a SASL request would
    // not have decoded as one), so the session is openGauss.
    let a = PgConnection::connect(&og_source(chain.a_port, "og_db"))
        .await
        .unwrap();
    assert!(a.is_opengauss());
    assert!(a.parameter("server_version").is_some());
    a.close().await;
}

#[tokio::test(flavor = "current_thread")]
async fn batches_go_as_batch_bind_through_both() {
    let chain = start();
    let b = client(chain.b_pg_port, "front").await;
    b.batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'one')")
        .await
        .unwrap();
    let mut a = PgConnection::connect(&og_source(chain.a_port, "og_db"))
        .await
        .unwrap();
    let out = a
        .execute_batch(
            "INSERT INTO t VALUES ($1, $2)",
            &[23, 25],
            &[],
            &rows(100, 1000),
        )
        .await
        .unwrap();
    assert_eq!((out.tag.as_str(), out.rows), ("INSERT 0 1000", 1000));
    assert_eq!(direct_count(&chain.pg).await, 1001);

    // A batch sent to B's openGauss listener: B runs it on its openGauss
    // connection to A, as Batch Bind again; A's answer is the summed tag.
    let mut via_b = PgConnection::connect(&og_source(chain.b_og_port, "front"))
        .await
        .unwrap();
    assert!(via_b.is_opengauss());
    let out = via_b
        .execute_batch(
            "INSERT INTO t VALUES ($1, $2)",
            &[23, 25],
            &[],
            &rows(5000, 500),
        )
        .await
        .unwrap();
    assert_eq!(out.rows, 500, "{out:?}");
    assert_eq!(direct_count(&chain.pg).await, 1501);
    // B sent the rows on as Batch Bind, and A ran them.
    let tags = String::from_utf8(chain.b_to_a.lock().unwrap().clone()).unwrap();
    assert!(tags.contains("PUCS"), "B sent {tags}");

    // A duplicate key in the batch: A's error (SQLSTATE kept) comes back
    // through B, and nothing of the batch stays.
    let mut dup = rows(9000, 10);
    dup[5] = rows(1, 1).remove(0);
    let err = via_b
        .execute_batch("INSERT INTO t VALUES ($1, $2)", &[23, 25], &[], &dup)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("duplicate key"), "{err}");
    assert_eq!(direct_count(&chain.pg).await, 1501);
    via_b.health_check().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_wrong_password_names_the_data_source() {
    let chain = start();
    let url = format!(
        "postgres://{USER}:{PASSWORD}@127.0.0.1:{}/bad",
        chain.b_pg_port
    );
    // B may check its backend at login or at the first statement.
    let err = match tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
        Err(e) => e,
        Ok((b, conn)) => {
            tokio::spawn(conn);
            b.simple_query("SELECT 1").await.unwrap_err()
        }
    };
    let msg = err
        .as_db_error()
        .map(|e| e.message().to_owned())
        .unwrap_or_else(|| err.to_string());
    assert!(msg.contains("og_wrong_pw"), "{msg}");
}
