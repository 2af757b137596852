//! Peers that go away in the middle of a statement, at the MySQL frontend
//! on two MariaDB shards: a client that leaves while its result streams
//! must not leave a half-read backend connection in the pool, and a shard
//! killed mid-query must give its client a clear error quickly, fail what
//! needs it while it is down, and be used again once it is back.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[path = "support_mysql/mod.rs"]
mod support_mysql;

use std::net::Shutdown;
use std::thread;
use std::time::{Duration, Instant};

use support_mysql::{Deployment, RawClient, PASSWORD, USER};

/// Rows in each of the four actual tables: a scatter SELECT * of all of
/// them is several MB, far more than one socket buffer.
const ROWS_PER_TABLE: u32 = 50_000;

fn create_t_order(d: &Deployment) {
    d.mariadb_ok(
        "CREATE TABLE t_order (order_id BIGINT NOT NULL PRIMARY KEY, user_id INT NOT NULL, \
         amount DECIMAL(10,2), status VARCHAR(100));",
    );
}

fn login(d: &Deployment) -> RawClient {
    let (c, answer) = RawClient::login(d.port, USER, PASSWORD, Some("sharding_db"));
    assert_eq!(
        answer[0],
        0x00,
        "login: {}",
        String::from_utf8_lossy(&answer)
    );
    c
}

#[test]
fn a_client_gone_mid_result_leaves_the_pool_usable() {
    let d = support_mysql::start();
    create_t_order(&d);
    // Filled on the shards directly (MariaDB's sequence engine): the rows
    // need not follow the rule, only be many.
    for shard in 0..2 {
        for table in 0..2 {
            d.on_shard(
                shard,
                &format!(
                    "INSERT INTO t_order_{table} SELECT seq, seq, 1, REPEAT('x', 60) \
                     FROM seq_1_to_{ROWS_PER_TABLE}"
                ),
            );
        }
    }
    let total = 4 * u64::from(ROWS_PER_TABLE);

    // More abandoned results than a shard's pool has connections (8): a
    // connection put back half-read, or never put back, would show below.
    for _ in 0..12 {
        let mut c = login(&d);
        c.write_packet(0, b"\x03SELECT * FROM t_order");
        let (_, first) = c.read_packet().unwrap();
        assert_eq!(first[0], 4, "a result with four columns comes");
        c.stream.shutdown(Shutdown::Both).unwrap();
    }

    // Ten sessions at once, each with a statement on both shards: every
    // pooled connection they get must answer its own statement.
    let started = Instant::now();
    let clients: Vec<_> = (0..10)
        .map(|_| {
            let mut c = login(&d);
            thread::spawn(move || {
                c.write_packet(
                    0,
                    b"\x03SELECT COUNT(*), SUM(amount) FROM t_order WHERE order_id > 0",
                );
                c.read_result_set()
            })
        })
        .collect();
    for client in clients {
        assert_eq!(
            client.join().unwrap(),
            vec![vec![Some(total.to_string()), Some(format!("{total}.00"))]]
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(d.mariadb_ok("SELECT 1;"), "1\n");
}

#[test]
fn a_shard_killed_mid_query_errors_fast_and_recovers() {
    let mut d = support_mysql::start();
    create_t_order(&d);
    d.mariadb_ok("INSERT INTO t_order (order_id, user_id, amount, status) VALUES (1, 1, 1, 'x');");

    // user_id 1 lives on ds_1; the query sleeps there until the kill.
    let mut c = login(&d);
    c.write_packet(
        0,
        b"\x03SELECT SLEEP(30), order_id FROM t_order WHERE user_id = 1 AND order_id = 1",
    );
    thread::sleep(Duration::from_millis(700));
    let killed_at = Instant::now();
    d.shards[1].kill();
    let (seq, err) = c.read_packet().expect("an answer, not a closed socket");
    let waited = killed_at.elapsed();
    assert_eq!(err[0], 0xff, "an ERR: {}", String::from_utf8_lossy(&err));
    assert_eq!(seq, 1);
    assert_eq!(
        u16::from_le_bytes([err[1], err[2]]),
        1430,
        "a server error number"
    );
    let message = String::from_utf8_lossy(&err[9..]).into_owned();
    eprintln!("killed mid-query, after {waited:?}: {message}");
    assert!(waited < Duration::from_secs(5), "error after {waited:?}");
    assert!(
        message.contains("ds_1") || message.contains("backend"),
        "the error names what failed: {message}"
    );
    // The session itself goes on.
    c.write_packet(0, b"\x0e");
    assert_eq!(c.read_packet().unwrap().1[0], 0x00);

    // While the shard is down, statements that need it fail clearly, and
    // those that do not still run.
    let mut scatter = login(&d);
    scatter.write_packet(0, b"\x03SELECT COUNT(*) FROM t_order");
    let (seq, err) = scatter.read_packet().unwrap();
    assert_eq!(
        (seq, err[0]),
        (1, 0xff),
        "an ERR first, not a result: {}",
        String::from_utf8_lossy(&err)
    );
    assert_eq!(u16::from_le_bytes([err[1], err[2]]), 1429);
    eprintln!("with ds_1 down: {}", String::from_utf8_lossy(&err[9..]));
    // The mariadb CLI shows the same error: a client-side error number
    // (CR_SERVER_LOST) here once made it report a malformed packet.
    let out = d.mariadb("sharding_db", PASSWORD, "SELECT COUNT(*) FROM t_order;");
    assert!(
        out.stdout.is_empty()
            && out.stderr.contains("ERROR 1429")
            && out.stderr.contains("cannot connect"),
        "stdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    scatter.write_packet(0, b"\x0e");
    assert_eq!(
        scatter.read_packet().unwrap(),
        (1, vec![0, 0, 0, 2, 0, 0, 0])
    );
    assert_eq!(
        d.mariadb_ok("SELECT COUNT(*) FROM t_order WHERE user_id = 2;"),
        "0\n"
    );

    // Once it is back, the pool connects again.
    d.shards[1].restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let out = d.mariadb("sharding_db", PASSWORD, "SELECT COUNT(*) FROM t_order;");
        if out.ok && out.stderr.is_empty() {
            assert_eq!(out.stdout, "1\n");
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: {}", out.stderr);
        thread::sleep(Duration::from_millis(300));
    }
}
