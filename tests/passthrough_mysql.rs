#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Passthrough MySQL sessions end to end: real MariaDB servers, a real
//! shardwire process with a passthrough database `direct` (one data
//! source, no rules), the mariadb CLI and mysql_async as clients. Each
//! scenario runs with the kernel splice (as root; the test fails if the
//! proxy fell back) and with the fast path forced off.
//!
//! What is checked: a CLI session with DDL, DML, a transaction, an error
//! and recovery, SET then SHOW; 1000 sessions leave no BPF map entry and no
//! file descriptor behind; a client that says goodbye gives its backend
//! session back clean (same connection id, none of its state) and one that
//! leaves mid-transaction does not; a killed client frees its backend; a
//! killed backend closes the client.

mod support_mysql;
#[macro_use]
mod support_passthrough;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use shardwire_testkit::{free_port, mariadb_shards, ShardwireProcess};
use support_mysql::{Deployment, PASSWORD, USER};
use support_passthrough::{
    assert_nothing_left, assert_path, assert_start_mode, fd_count, force_user_space, proxy_pid,
    wait_until, Mode,
};

fn start(mode: Mode) -> Deployment {
    let shards = mariadb_shards(2).unwrap();
    let conf = tempfile::tempdir().unwrap();
    let port = free_port().unwrap();
    support_mysql::write_conf(conf.path(), &shards, port, support_mysql::T_ORDER_RULES);
    support_mysql::write_passthrough(conf.path(), &shards[0]);
    if mode == Mode::UserSpace {
        let global = conf.path().join("global.yaml");
        let text = force_user_space(&std::fs::read_to_string(&global).unwrap());
        std::fs::write(&global, text).unwrap();
    }
    let proxy =
        ShardwireProcess::start(Path::new(env!("CARGO_BIN_EXE_shardwire")), conf.path()).unwrap();
    assert_start_mode(&proxy, mode);
    Deployment {
        shards,
        proxy,
        conf,
        port,
    }
}

/// Thread ids of the shard's sessions running `sql` right now.
fn running(d: &Deployment, sql: &str) -> Vec<u64> {
    d.on_shard(
        0,
        &format!("SELECT id FROM information_schema.processlist WHERE info = '{sql}'"),
    )
    .lines()
    .filter_map(|l| l.trim().parse().ok())
    .collect()
}

fn shard_sessions(d: &Deployment) -> Vec<u64> {
    d.on_shard(0, "SELECT id FROM information_schema.processlist")
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// The mariadb CLI on `direct`, in the background, running `sql`.
fn cli_in_background(d: &Deployment, sql: &str) -> std::process::Child {
    Command::new("mariadb")
        .args(["--no-defaults", "--protocol=TCP", "-h", "127.0.0.1", "-P"])
        .arg(d.port.to_string())
        .args(["-u", USER, &format!("-p{PASSWORD}"), "--database=direct"])
        .args(["--batch", "--skip-reconnect", "-e", sql])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

// ---- the CLI ----

fn cli_scenario(mode: Mode) {
    let d = start(mode);
    let pid = proxy_pid(d.conf.path());
    let script = "\
CREATE TABLE pt_items (id INT PRIMARY KEY, name VARCHAR(20));
INSERT INTO pt_items VALUES (1, 'one'), (2, 'two');
SELECT name FROM pt_items ORDER BY id;
BEGIN;
INSERT INTO pt_items VALUES (3, 'three');
SELECT COUNT(*) FROM pt_items;
ROLLBACK;
SELECT COUNT(*) FROM pt_items;
SELECT * FROM no_such_table;
SELECT 'recovered';
START TRANSACTION;
INSERT INTO pt_items VALUES (4, 'four');
COMMIT;
SET SESSION wait_timeout = 1234;
SHOW SESSION VARIABLES LIKE 'wait_timeout';
SET @pt_var = 'kept';
SELECT @pt_var;
SELECT COUNT(*) FROM pt_items;
";
    let out = d.mariadb("direct", PASSWORD, script);
    assert_eq!(
        out.stdout, "one\ntwo\n3\n2\nrecovered\nwait_timeout\t1234\nkept\n3\n",
        "stderr: {}",
        out.stderr
    );
    assert!(out.stderr.contains("no_such_table"), "{}", out.stderr);
    // With --force the CLI echoes the failed statement between dashes and
    // one ERROR line per failure.
    let errors = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("ERROR"))
        .count();
    assert_eq!(errors, 1, "one error only: {}", out.stderr);
    // The rows are on the data source itself: nothing was rewritten.
    assert_eq!(d.on_shard(0, "SELECT COUNT(*) FROM pt_items"), "3\n");
    assert_path(&d.proxy, pid, mode);
}

in_both_modes!(cli_session => cli_scenario);

// ---- 1000 sessions ----

async fn thousand_sessions(mode: Mode) {
    let d = start(mode);
    let pid = proxy_pid(d.conf.path());
    let url = format!("mysql://{USER}:{PASSWORD}@127.0.0.1:{}/direct", d.port);
    let one = |url: String, n: u32| async move {
        let mut conn = mysql_async::Conn::from_url(url).await.unwrap();
        let got: Option<u32> = conn.query_first(format!("SELECT {n} + 1")).await.unwrap();
        assert_eq!(got, Some(n + 1));
        conn.disconnect().await.unwrap();
    };
    one(url.clone(), 0).await;
    let fds_before = fd_count(pid);
    let workers = 4u32;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..1000 / workers {
                one(url.clone(), w * 1000 + i).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Pool sessions may have been opened (4 at a time, at most the pool's
    // 8); anything past that is a leak.
    assert_nothing_left(&d.proxy, pid, mode, (1001, fds_before, 8));
}

in_both_modes!(thousand_sessions_leave_nothing => async thousand_sessions);

// ---- session pooling ----

async fn connection_id(c: &mut mysql_async::Conn) -> u64 {
    c.query_first("SELECT CONNECTION_ID()")
        .await
        .unwrap()
        .unwrap()
}

async fn pooling(mode: Mode) {
    let d = start(mode);
    let pid = proxy_pid(d.conf.path());
    let url = format!("mysql://{USER}:{PASSWORD}@127.0.0.1:{}/direct", d.port);

    let mut a = mysql_async::Conn::from_url(url.clone()).await.unwrap();
    let first = connection_id(&mut a).await;
    a.query_drop(
        "SET @pt_var = 'first'; SET SESSION wait_timeout = 77; CREATE TEMPORARY TABLE pt_temp (x INT); PREPARE pt_stmt FROM 'SELECT 1'",
    )
    .await
    .unwrap();
    a.disconnect().await.unwrap();
    // The hand-back (COM_RESET_CONNECTION) runs after the client is gone.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut b = mysql_async::Conn::from_url(url.clone()).await.unwrap();
    assert_eq!(
        connection_id(&mut b).await,
        first,
        "the backend session was not reused"
    );
    let var: Option<Option<String>> = b.query_first("SELECT @pt_var").await.unwrap();
    assert_eq!(var, Some(None), "the first client's user variable survived");
    let timeout: Option<u64> = b
        .query_first("SELECT @@session.wait_timeout")
        .await
        .unwrap();
    assert_ne!(timeout, Some(77), "the first client's SET survived");
    assert!(b.query_drop("SELECT * FROM pt_temp").await.is_err());
    assert!(b.query_drop("EXECUTE pt_stmt").await.is_err());

    // Leaving inside a transaction: the backend session is closed.
    b.query_drop("BEGIN").await.unwrap();
    b.query_drop("SELECT 1").await.unwrap();
    b.disconnect().await.unwrap();
    wait_until(
        "the mid-transaction backend closed",
        Duration::from_secs(5),
        || !shard_sessions(&d).contains(&first),
    );
    let mut c = mysql_async::Conn::from_url(url).await.unwrap();
    assert_ne!(connection_id(&mut c).await, first);
    c.disconnect().await.unwrap();
    assert_path(&d.proxy, pid, mode);
}

in_both_modes!(pooling => async pooling);

// ---- a client killed mid-stream ----

/// The CLI running `SELECT SLEEP(60)` through the proxy, and the shard
/// session that runs it, once it does.
fn sleeping_cli(d: &Deployment) -> (std::process::Child, u64) {
    let cli = cli_in_background(d, "SELECT SLEEP(60)");
    let mut sleeper = Vec::new();
    wait_until(
        "SLEEP running on the shard",
        Duration::from_secs(10),
        || {
            sleeper = running(d, "SELECT SLEEP(60)");
            !sleeper.is_empty()
        },
    );
    (cli, sleeper[0])
}

fn killed_client(mode: Mode) {
    let d = start(mode);
    let pid = proxy_pid(d.conf.path());
    let (mut cli, sleeper) = sleeping_cli(&d);
    cli.kill().unwrap();
    cli.wait().unwrap();
    wait_until(
        "the killed client's backend gone",
        Duration::from_secs(5),
        || !shard_sessions(&d).contains(&sleeper),
    );
    assert_path(&d.proxy, pid, mode);
}

in_both_modes!(killed_client_frees_its_backend => killed_client);

// ---- a backend killed mid-stream ----

fn killed_backend(mode: Mode) {
    let d = start(mode);
    let pid = proxy_pid(d.conf.path());
    let (mut cli, sleeper) = sleeping_cli(&d);
    d.on_shard(0, &format!("KILL CONNECTION {sleeper}"));
    let started = Instant::now();
    let mut status = None;
    wait_until("the CLI told", Duration::from_secs(5), || {
        status = cli.try_wait().unwrap();
        status.is_some()
    });
    assert!(started.elapsed() < Duration::from_secs(5));
    let status = status.unwrap();
    assert!(!status.success(), "the CLI did not see its session end");
    let mut err = String::new();
    std::io::Read::read_to_string(cli.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(
        err.contains("Lost connection")
            || err.contains("server has gone away")
            || err.contains("killed"),
        "{err}"
    );
    assert_path(&d.proxy, pid, mode);
}

in_both_modes!(killed_backend_closes_the_client => killed_backend);
