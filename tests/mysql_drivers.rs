//! MySQL drivers through Shardwire on two MariaDB shards, each against its
//! own proxy: PyMySQL, mysqlclient, aiomysql and mysql-connector-python run
//! tests/drivers/mysql/scenario.py, MariaDB Connector/J and node mysql2 the
//! same steps in java/Scenario.java and node/mysql2_scenario.js (DDL
//! fan-out, generated keys, point / scatter / aggregate selects, commit and
//! rollback across shards, an error then recovery); mysql_async runs them
//! in Rust. Drivers with both a text and a server-side prepared mode run
//! the scenario in each, and a relay counting their commands checks which
//! protocol each run really used.
//!
//! The drivers come from scripts/install-drivers.sh (tests/drivers/.venv,
//! Debian's libmariadb-java); a missing one fails its test with that hint
//! rather than passing unseen.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[path = "support_mysql/mod.rs"]
mod support_mysql;

use std::path::{Path, PathBuf};
use std::process::Command;

use support_mysql::relay::{CommandCounter, COM_QUERY, COM_STMT_EXECUTE, COM_STMT_PREPARE};
use support_mysql::{PASSWORD, USER};

const DRIVERS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/drivers");

fn venv_python() -> PathBuf {
    let python = Path::new(DRIVERS_DIR).join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/install-drivers.sh",
        python.display()
    );
    python
}

/// The protocol a driver variant claims to use, checked on the wire.
#[derive(Clone, Copy, Debug)]
enum Protocol {
    /// COM_QUERY only, parameters inlined by the driver.
    Text,
    /// Server-side prepared statements: COM_STMT_PREPARE / EXECUTE.
    Prepared,
}

/// Which logical database a driver's scenario runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// `sharding_db`, routed over both shards.
    Sharded,
    /// `direct`, a passthrough database: the login is spliced to a pooled
    /// backend session, which must speak as the driver does (its
    /// capability flags, its character set by name).
    Passthrough,
}

fn run_python(driver: &str, script: &[&str], protocol: Protocol) {
    run(
        driver,
        venv_python(),
        script,
        &[],
        protocol,
        Target::Sharded,
    );
}

fn run_python_passthrough(driver: &str, script: &[&str], protocol: Protocol) {
    run(
        driver,
        venv_python(),
        script,
        &[],
        protocol,
        Target::Passthrough,
    );
}

/// Runs a driver's scenario against its own deployment, through a relay
/// that counts the driver's commands, and checks it used `protocol`.
fn run(
    driver: &str,
    program: PathBuf,
    args: &[&str],
    env: &[(&str, &str)],
    protocol: Protocol,
    target: Target,
) {
    let (d, database, direct) = match target {
        Target::Sharded => (support_mysql::start(), "sharding_db", "0"),
        Target::Passthrough => (support_mysql::start_with_passthrough(), "direct", "1"),
    };
    let counter = CommandCounter::start(d.port);
    let out = Command::new(program)
        .args(args)
        .current_dir(Path::new(DRIVERS_DIR).join("mysql"))
        .env("SW_HOST", "127.0.0.1")
        .env("SW_PORT", counter.port.to_string())
        .env("SW_USER", USER)
        .env("SW_PASSWORD", PASSWORD)
        .env("SW_DATABASE", database)
        .env("SW_DIRECT", direct)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("scenario passed"),
        "{driver} failed on {target:?} (if it is not installed: scripts/install-drivers.sh)\n\
         stdout:\n{stdout}\nstderr:\n{stderr}\nproxy log:\n{}",
        d.proxy.log_tail()
    );
    let (queries, prepares, executes) = (
        counter.count(COM_QUERY),
        counter.count(COM_STMT_PREPARE),
        counter.count(COM_STMT_EXECUTE),
    );
    let seen = format!(
        "{driver} sent {queries} COM_QUERY, {prepares} COM_STMT_PREPARE, {executes} COM_STMT_EXECUTE"
    );
    // The scenario runs about twenty statements with parameters; a driver
    // that prepared some but inlined the rest would show fewer executes.
    match protocol {
        Protocol::Text => assert!(prepares == 0 && executes == 0 && queries >= 15, "{seen}"),
        Protocol::Prepared => assert!(prepares >= 5 && executes >= 15, "{seen}"),
    }
    eprintln!("{seen}");
}

#[test]
fn pymysql() {
    run_python("PyMySQL", &["pymysql_scenario.py"], Protocol::Text);
}

#[test]
fn mysqlclient() {
    run_python("mysqlclient", &["mysqlclient_scenario.py"], Protocol::Text);
}

#[test]
fn aiomysql() {
    run_python("aiomysql", &["aiomysql_scenario.py"], Protocol::Text);
}

#[test]
fn mysql_connector_python_prepared() {
    run_python(
        "mysql-connector-python, cursor(prepared=True)",
        &["mysql_connector_scenario.py", "prepared"],
        Protocol::Prepared,
    );
}

#[test]
fn mysql_connector_python_text() {
    run_python(
        "mysql-connector-python, plain cursor",
        &["mysql_connector_scenario.py", "text"],
        Protocol::Text,
    );
}

// Passthrough logins of the drivers whose flags and character sets differ
// from the mariadb CLI's: mysql-connector-python and mysql2 do not ask for
// CLIENT_PS_MULTI_RESULTS, PyMySQL and connector-python log in with
// collation 224 / 45, which MariaDB refuses as a number in SET.

#[test]
fn pymysql_passthrough() {
    run_python_passthrough("PyMySQL", &["pymysql_scenario.py"], Protocol::Text);
}

#[test]
fn mysql_connector_python_passthrough() {
    run_python_passthrough(
        "mysql-connector-python, cursor(prepared=True)",
        &["mysql_connector_scenario.py", "prepared"],
        Protocol::Prepared,
    );
}

#[test]
fn node_mysql2_passthrough() {
    node_mysql2_on("execute", Protocol::Prepared, Target::Passthrough);
}

#[test]
fn mariadb_connector_j_passthrough() {
    mariadb_connector_j_on("true", Protocol::Prepared, Target::Passthrough);
}

fn node_mysql2(api: &str, protocol: Protocol) {
    node_mysql2_on(api, protocol, Target::Sharded);
}

fn node_mysql2_on(api: &str, protocol: Protocol, target: Target) {
    let node = Path::new(DRIVERS_DIR).join("mysql/node/node_modules/mysql2");
    assert!(
        node.exists(),
        "{} is missing: run scripts/install-drivers.sh",
        node.display()
    );
    run(
        &format!("node mysql2, {api}"),
        PathBuf::from("node"),
        &["node/mysql2_scenario.js"],
        &[("SW_MYSQL2_API", api)],
        protocol,
        target,
    );
}

#[test]
fn node_mysql2_execute() {
    node_mysql2("execute", Protocol::Prepared);
}

#[test]
fn node_mysql2_query() {
    node_mysql2("query", Protocol::Text);
}

/// Debian's libmariadb-java.
const CONNECTOR_J_JAR: &str = "/usr/share/java/mariadb-java-client.jar";

fn mariadb_connector_j(server_prep: &str, protocol: Protocol) {
    mariadb_connector_j_on(server_prep, protocol, Target::Sharded);
}

fn mariadb_connector_j_on(server_prep: &str, protocol: Protocol, target: Target) {
    assert!(
        Path::new(CONNECTOR_J_JAR).exists(),
        "{CONNECTOR_J_JAR} is missing: run scripts/install-drivers.sh"
    );
    run(
        &format!("MariaDB Connector/J, useServerPrepStmts={server_prep}"),
        PathBuf::from("java"),
        &["-cp", CONNECTOR_J_JAR, "java/Scenario.java"],
        &[("SW_SERVER_PREP_STMTS", server_prep)],
        protocol,
        target,
    );
}

#[test]
fn mariadb_connector_j_server_prepared() {
    mariadb_connector_j("true", Protocol::Prepared);
}

#[test]
fn mariadb_connector_j_client_prepared() {
    mariadb_connector_j("false", Protocol::Text);
}

/// mysql_async (the Rust driver of the mysql crate family): text queries,
/// prepared statements with parameters that route, LAST_INSERT_ID of a
/// generated key, a transaction over both shards, an error then recovery.
#[test]
fn mysql_async() {
    use mysql_async::prelude::{Query, Queryable};
    use mysql_async::{params, TxOpts};

    let d = support_mysql::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = format!("mysql://{USER}:{PASSWORD}@127.0.0.1:{}/sharding_db", d.port);
        let pool = mysql_async::Pool::new(url.as_str());
        let mut conn = pool.get_conn().await.unwrap();
        "CREATE TABLE t_order (order_id BIGINT NOT NULL PRIMARY KEY, user_id INT NOT NULL, \
         amount DECIMAL(10,2), status VARCHAR(20))"
            .ignore(&mut conn)
            .await
            .unwrap();
        conn.exec_drop(
            "INSERT INTO t_order (user_id, amount, status) VALUES (?, ?, ?)",
            (7, "1.50", "gen"),
        )
        .await
        .unwrap();
        let generated = conn.last_insert_id().unwrap();
        assert_ne!(generated, 0);
        let stored: Vec<u64> = conn
            .exec("SELECT order_id FROM t_order WHERE user_id = ?", (7,))
            .await
            .unwrap();
        assert_eq!(stored, vec![generated]);
        conn.exec_batch(
            "INSERT INTO t_order (order_id, user_id, amount, status) VALUES (:id, :user, 1, :status)",
            (0..4).map(|i| params! { "id" => 100 + i, "user" => 1 + i, "status" => ["a", "b"][i % 2] }),
        )
        .await
        .unwrap();
        let point: Option<String> = conn
            .exec_first(
                "SELECT status FROM t_order WHERE user_id = ? AND order_id = ?",
                (2, 101),
            )
            .await
            .unwrap();
        assert_eq!(point.as_deref(), Some("b"));
        let ids: Vec<i64> = conn
            .exec(
                "SELECT order_id FROM t_order WHERE order_id BETWEEN ? AND ? ORDER BY order_id DESC",
                (100, 199),
            )
            .await
            .unwrap();
        assert_eq!(ids, vec![103, 102, 101, 100]);
        let counts: Vec<(String, i64)> = "SELECT status, COUNT(*) FROM t_order \
             WHERE order_id BETWEEN 100 AND 199 GROUP BY status ORDER BY status"
            .fetch(&mut conn)
            .await
            .unwrap();
        assert_eq!(counts, vec![("a".into(), 2), ("b".into(), 2)]);

        let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
        tx.exec_drop("UPDATE t_order SET status = 'tx' WHERE order_id IN (?, ?)", (100, 101))
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
        tx.exec_drop("UPDATE t_order SET status = 'tx' WHERE order_id IN (?, ?)", (100, 101))
            .await
            .unwrap();
        assert_eq!(tx.affected_rows(), 2);
        tx.commit().await.unwrap();
        let changed: Option<i64> = "SELECT COUNT(*) FROM t_order WHERE status = 'tx'"
            .first(&mut conn)
            .await
            .unwrap();
        assert_eq!(changed, Some(2));

        let err = conn
            .exec_drop(
                "INSERT INTO t_order (order_id, user_id, amount, status) VALUES (?, ?, 1, 'dup')",
                (100, 1),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Duplicate entry"), "{err}");
        conn.ping().await.unwrap();
        drop(conn);
        pool.disconnect().await.unwrap();
    });
}
