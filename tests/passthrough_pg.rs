#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Passthrough PostgreSQL sessions end to end: a real PostgreSQL, a real
//! shardwire process, psql and tokio-postgres as clients. Every scenario
//! runs twice: with the kernel splice (as root with BPF, which this machine
//! has; the test fails if the proxy fell back to user space) and with the
//! fast path forced off by configuration.
//!
//! What is checked: a psql session with DDL, DML, a transaction, an error
//! and recovery, SET then SHOW; 1000 sessions leave no BPF map entry and no
//! file descriptor behind; a client that says goodbye gives its backend
//! session back clean (same backend pid, none of its state) and one that
//! leaves mid-transaction does not; a killed client frees its backend; a
//! killed backend closes the client.

mod support;
#[macro_use]
mod support_passthrough;

use std::time::{Duration, Instant};

use support::Deployment;
use support_passthrough::{
    assert_nothing_left, assert_path, assert_start_mode, fd_count, proxy_pid, wait_until, Mode,
};
use tokio_postgres::NoTls;

fn start(mode: Mode) -> Deployment {
    let d = match mode {
        Mode::Kernel => support::start(),
        Mode::UserSpace => support::start_user_space(),
    };
    assert_start_mode(&d.proxy, mode);
    d
}

async fn connect(d: &Deployment) -> (tokio_postgres::Client, tokio::task::JoinHandle<()>) {
    let config = format!(
        "host=127.0.0.1 port={} user={} password={} dbname=direct connect_timeout=10",
        d.port,
        support::USER,
        support::PASSWORD
    );
    let (client, connection) = tokio_postgres::connect(&config, NoTls).await.unwrap();
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    (client, task)
}

/// Drops the client (tokio-postgres sends Terminate) and waits until its
/// connection is closed.
async fn leave(client: tokio_postgres::Client, task: tokio::task::JoinHandle<()>) {
    drop(client);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

async fn backend_pid(client: &tokio_postgres::Client) -> i32 {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0)
}

/// Backend pids connected to the shard, from the shard itself.
fn shard_backends(d: &Deployment) -> Vec<i32> {
    d.shards[0]
        .psql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

// ---- psql ----

fn psql_scenario(mode: Mode) {
    let d = start(mode);
    let pid = proxy_pid(d.conf.path());
    let script = "\
CREATE TABLE pt_items (id int PRIMARY KEY, name text);
INSERT INTO pt_items VALUES (1, 'one'), (2, 'two');
SELECT name FROM pt_items ORDER BY id;
BEGIN;
INSERT INTO pt_items VALUES (3, 'three');
SELECT count(*) FROM pt_items;
ROLLBACK;
SELECT count(*) FROM pt_items;
SELECT 1/0;
SELECT 'recovered';
BEGIN;
INSERT INTO pt_items VALUES (4, 'four');
COMMIT;
SET work_mem = '7MB';
SHOW work_mem;
SELECT count(*) FROM pt_items;
";
    let (_, out, err) = d.psql_script("direct", script);
    assert_eq!(out, "one\ntwo\n3\n2\nrecovered\n7MB\n3\n", "stderr: {err}");
    assert!(err.contains("division by zero"), "{err}");
    assert_eq!(err.lines().count(), 1, "one error only: {err}");
    assert_path(&d.proxy, pid, mode);
}

in_both_modes!(psql_session => psql_scenario);

// ---- 1000 sessions ----

async fn thousand_sessions(mode: Mode) {
    let d = start(mode);
    let pid = proxy_pid(d.conf.path());
    // One session first, so the proxy's lazily opened pieces (the pool,
    // the runtime's threads) count in the baseline.
    let (c, t) = connect(&d).await;
    leave(c, t).await;
    let fds_before = fd_count(pid);
    let sessions = 1000;
    let workers = 4;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let w: i32 = w;
        let config_port = d.port;
        tasks.push(tokio::spawn(async move {
            let config = format!(
                "host=127.0.0.1 port={config_port} user={} password={} dbname=direct",
                support::USER,
                support::PASSWORD
            );
            for i in 0..sessions / workers {
                let (client, connection) = tokio_postgres::connect(&config, NoTls).await.unwrap();
                let task = tokio::spawn(async move {
                    let _ = connection.await;
                });
                let n: i32 = client
                    .query_one("SELECT $1::int + 1", &[&(w * 1000 + i)])
                    .await
                    .unwrap()
                    .get(0);
                assert_eq!(n, w * 1000 + i + 1);
                drop(client);
                task.await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Pool sessions may have been opened (4 at a time, at most the pool's
    // 8); anything past that is a leak. The last hand-backs finish after
    // the clients have gone, which the helper waits for.
    assert_nothing_left(&d.proxy, pid, mode, (1001, fds_before, 8));
}

in_both_modes!(thousand_sessions_leave_nothing => async thousand_sessions);

// ---- session pooling ----

async fn pooling(mode: Mode) {
    let d = start(mode);
    let pid = proxy_pid(d.conf.path());

    let (a, ta) = connect(&d).await;
    let first = backend_pid(&a).await;
    a.batch_execute(
        "SET work_mem = '9MB'; CREATE TEMP TABLE pt_temp (x int); PREPARE pt_stmt AS SELECT 1;",
    )
    .await
    .unwrap();
    leave(a, ta).await;
    // The hand-back (DISCARD ALL) runs after the client is gone.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (b, tb) = connect(&d).await;
    assert_eq!(
        backend_pid(&b).await,
        first,
        "the backend session was not reused"
    );
    let work_mem: String = b.query_one("SHOW work_mem", &[]).await.unwrap().get(0);
    assert_eq!(work_mem, "4MB", "the first client's SET survived");
    let temp = b.batch_execute("SELECT * FROM pt_temp").await;
    assert!(temp.is_err(), "the first client's temp table survived");
    let prepared = b.batch_execute("EXECUTE pt_stmt").await;
    assert!(
        prepared.is_err(),
        "the first client's prepared statement survived"
    );

    // Leaving inside a transaction: the backend session is closed.
    b.batch_execute("BEGIN; SELECT 1").await.unwrap();
    leave(b, tb).await;
    wait_until(
        "the mid-transaction backend closed",
        Duration::from_secs(5),
        || !shard_backends(&d).contains(&first),
    );
    let (c, tc) = connect(&d).await;
    assert_ne!(backend_pid(&c).await, first);
    leave(c, tc).await;
    assert_path(&d.proxy, pid, mode);
}

in_both_modes!(pooling => async pooling);

// ---- a client killed mid-stream ----

fn killed_client(mode: Mode) {
    let d = start(mode);
    let pid = proxy_pid(d.conf.path());
    let mut psql = std::process::Command::new("psql")
        .args(["-X", "-h", "127.0.0.1", "-p", &d.port.to_string()])
        .args([
            "-U",
            support::USER,
            "-d",
            "direct",
            "-c",
            "SELECT pg_sleep(60)",
        ])
        .env("PGPASSWORD", support::PASSWORD)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut sleeper = 0;
    wait_until(
        "pg_sleep running on the shard",
        Duration::from_secs(10),
        || {
            let out = d.shards[0]
            .psql("SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'")
            .unwrap();
            sleeper = out.trim().parse().unwrap_or(0);
            sleeper != 0
        },
    );
    psql.kill().unwrap();
    psql.wait().unwrap();
    wait_until(
        "the killed client's backend gone",
        Duration::from_secs(5),
        || !shard_backends(&d).contains(&sleeper),
    );
    assert_path(&d.proxy, pid, mode);
}

in_both_modes!(killed_client_frees_its_backend => killed_client);

// ---- a backend killed mid-stream ----

async fn killed_backend(mode: Mode) {
    let d = start(mode);
    let pid = proxy_pid(d.conf.path());
    let (client, task) = connect(&d).await;
    let backend = backend_pid(&client).await;
    let sleeping = tokio::spawn(async move {
        let r = client.batch_execute("SELECT pg_sleep(60)").await;
        (r, client)
    });
    wait_until("pg_sleep running", Duration::from_secs(10), || {
        d.shards[0]
            .psql(&format!(
                "SELECT state FROM pg_stat_activity WHERE pid = {backend}"
            ))
            .unwrap()
            .trim()
            == "active"
    });
    d.shards[0]
        .psql(&format!("SELECT pg_terminate_backend({backend})"))
        .unwrap();
    let started = Instant::now();
    let (result, client) = tokio::time::timeout(Duration::from_secs(5), sleeping)
        .await
        .expect("the client was not told within 5 s")
        .unwrap();
    assert!(result.is_err(), "the query survived its backend");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The proxy closed the client's connection: its task has ended.
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the client's connection is still open")
        .unwrap();
    assert!(client.is_closed());
    assert_path(&d.proxy, pid, mode);
}

in_both_modes!(killed_backend_closes_the_client => async killed_backend);
