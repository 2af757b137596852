// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! Bad input at the PostgreSQL frontend: each case gets a clear error,
//! ends at most its own session, and the proxy keeps serving.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use support::{start, Deployment, PASSWORD, USER};

fn still_serves(d: &Deployment) {
    assert_eq!(d.psql_ok("sharding_db", "SELECT 1"), "1\n");
}

/// Reads whatever the proxy answers until it closes the connection.
fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    out
}

fn startup_packet(user: &str, database: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&196_608u32.to_be_bytes());
    for (k, v) in [("user", user), ("database", database)] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut packet = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    packet.extend_from_slice(&body);
    packet
}

#[test]
fn login_failures_are_clear_and_isolated() {
    let d = start();
    // Wrong password.
    let (ok, _, err) = d.psql_as(USER, "wrong", "sharding_db", "select 1", &[]);
    assert!(
        !ok && err.contains("password authentication failed"),
        "{err}"
    );
    // Unknown user: the same message, so users cannot be probed.
    let (_, _, err) = d.psql_as("mallory", PASSWORD, "sharding_db", "select 1", &[]);
    assert!(
        err.contains("password authentication failed for user \"mallory\""),
        "{err}"
    );
    // A client encoding Shardwire cannot serve, at startup and by SET.
    let (ok, _, err) = d.psql_as(
        USER,
        PASSWORD,
        "sharding_db",
        "select 1",
        &[("PGCLIENTENCODING", "LATIN1")],
    );
    assert!(!ok && err.contains("serves UTF8 clients only"), "{err}");
    let (ok, _, err) = d.psql("sharding_db", "SET client_encoding = 'LATIN1'");
    assert!(!ok && err.contains("serves UTF8 clients only"), "{err}");
    // Unknown database.
    let (ok, _, err) = d.psql("no_such_db", "select 1");
    assert!(
        !ok && err.contains("database \"no_such_db\" does not exist"),
        "{err}"
    );
    still_serves(&d);
}

#[test]
fn malformed_and_oversized_messages_end_only_their_session() {
    let d = start();
    // A startup packet whose length is absurd.
    let mut s = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    s.write_all(&[0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0]).unwrap();
    let answer = read_to_close(&mut s);
    assert_eq!(answer.first(), Some(&b'E'), "a FATAL error, got {answer:?}");
    // A startup packet that ends in the middle of a parameter.
    let mut s = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    s.write_all(&[0, 0, 0, 14, 0, 3, 0, 0, b'u', b's', b'e', b'r', 0, b'x'])
        .unwrap();
    let answer = read_to_close(&mut s);
    assert_eq!(answer.first(), Some(&b'E'), "a FATAL error, got {answer:?}");
    // Garbage instead of a startup packet.
    let mut s = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let _ = read_to_close(&mut s);
    still_serves(&d);

    // A message over proxy-frontend-max-packet-size (1 MiB here), after
    // login: the client is told why, and only its session ends.
    let big = "x".repeat(2 * 1024 * 1024);
    let (_, _, err) = d.psql_script("sharding_db", &format!("SELECT '{big}';"));
    assert!(
        err.contains("exceeds") || err.contains("too long") || err.contains("limit"),
        "{err}"
    );
    still_serves(&d);

    // An unexpected startup message type after login.
    let mut s = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    s.write_all(&startup_packet(USER, "sharding_db")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 1];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(buf[0], b'R', "an authentication request comes first");
    s.write_all(&[b'Z', 0, 0, 0, 4]).unwrap();
    let _ = read_to_close(&mut s);
    still_serves(&d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_mid_query_frees_its_backend() {
    let d = start();
    d.psql_ok("sharding_db", "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT, status TEXT, amount NUMERIC)");
    for _ in 0..12 {
        // More abandoned queries than the pool has connections (8): if an
        // abandoned connection were not freed, the later ones would time out.
        let mut s = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
        let opts: PgConnectOptions = d.url("sharding_db").parse().unwrap();
        let mut c = PgConnection::connect_with(&opts).await.unwrap();
        let q = sqlx::query("SELECT pg_sleep(0.3), order_id FROM t_order").fetch_all(&mut c);
        let _ = tokio::time::timeout(Duration::from_millis(50), q).await;
        drop(c);
        let _ = s.shutdown(std::net::Shutdown::Both);
        s.flush().ok();
    }
    let started = Instant::now();
    still_serves(&d);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_killed_mid_query_errors_fast_and_recovers() {
    let mut d = start();
    d.psql_ok("sharding_db", "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT, status TEXT, amount NUMERIC)");
    d.psql_ok(
        "sharding_db",
        "INSERT INTO t_order (order_id, user_id) VALUES (1, 1)",
    );
    let opts: PgConnectOptions = d
        .url("sharding_db")
        .parse::<PgConnectOptions>()
        .unwrap()
        .disable_statement_logging();
    let mut c = PgConnection::connect_with(&opts).await.unwrap();
    let query = tokio::spawn(async move {
        let started = Instant::now();
        let r = sqlx::query("SELECT pg_sleep(30), order_id FROM t_order WHERE user_id = 1")
            .fetch_all(&mut c)
            .await;
        (r.map(|_| ()), started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    let killed_at = Instant::now();
    d.shards[1].kill();
    let (result, _) = tokio::time::timeout(Duration::from_secs(10), query)
        .await
        .unwrap()
        .unwrap();
    let err = result.expect_err("the query's backend died");
    assert!(
        killed_at.elapsed() < Duration::from_secs(5),
        "error after {:?}",
        killed_at.elapsed()
    );
    let text = err.to_string();
    assert!(
        text.contains("backend") || text.contains("terminat") || text.contains("connection"),
        "{text}"
    );
    // While the shard is down, statements that need it fail clearly...
    let (ok, _, err) = d.psql("sharding_db", "SELECT count(*) FROM t_order");
    assert!(!ok && err.contains("backend"), "{err}");
    // ...and once it is back, the pool reconnects.
    d.shards[1].restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (ok, out, err) = d.psql("sharding_db", "SELECT count(*) FROM t_order");
        if ok {
            assert_eq!(out, "1\n");
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: {err}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[test]
fn md5_users_log_in_with_md5() {
    // A second user with an MD5 authenticator, as ShardingSphere writes it.
    let d = support::start_edited(|global| {
        global.replace(
            "  privilege:",
            "    - user: legacy@%\n      password: old-school\n      authenticationMethodName: md5\n  \
             authenticators:\n    md5:\n      type: MD5\n  privilege:",
        )
    });
    let (ok, _, err) = d.psql_as("legacy", "old-school", "sharding_db", "SELECT 1", &[]);
    assert!(ok, "{err}");
    let (ok, _, err) = d.psql_as("legacy", "wrong", "sharding_db", "SELECT 1", &[]);
    assert!(
        !ok && err.contains("password authentication failed"),
        "{err}"
    );
    // The proxy really asks this user for MD5 (code 5), and others for
    // SASL (code 10).
    let auth_code = |user: &str| {
        let mut s = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
        s.write_all(&startup_packet(user, "sharding_db")).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut head = [0u8; 9];
        s.read_exact(&mut head).unwrap();
        assert_eq!(head[0], b'R');
        i32::from_be_bytes([head[5], head[6], head[7], head[8]])
    };
    assert_eq!(auth_code("legacy"), 5);
    assert_eq!(auth_code(USER), 10);
    still_serves(&d);
}
