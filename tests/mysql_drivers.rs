//! MySQL drivers through Shardwire on two MariaDB shards, each against its
//! own proxy: PyMySQL, mysqlclient, aiomysql and mysql-connector-python run
//! tests/drivers/mysql/scenario.py, MariaDB Connector/J and node mysql2 the
//! same steps in java/Scenario.java and node/mysql2_scenario.js (DDL fan-out, generated keys, point / scatter /
//! aggregate selects, commit and rollback across shards, an error then
//! recovery).
//!
//! The drivers come from scripts/install-drivers.sh (tests/drivers/.venv,
//! Debian's libmariadb-java); a missing one fails its test with that hint
//! rather than passing unseen.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[path = "support_mysql/mod.rs"]
mod support_mysql;

use std::path::{Path, PathBuf};
use std::process::Command;

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

fn run_python(driver: &str, script: &str) {
    run(driver, venv_python(), &[script]);
}

fn run(driver: &str, program: PathBuf, args: &[&str]) {
    let d = support_mysql::start();
    let out = Command::new(program)
        .args(args)
        .current_dir(Path::new(DRIVERS_DIR).join("mysql"))
        .env("SW_HOST", "127.0.0.1")
        .env("SW_PORT", d.port.to_string())
        .env("SW_USER", USER)
        .env("SW_PASSWORD", PASSWORD)
        .env("SW_DATABASE", "sharding_db")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("scenario passed"),
        "{driver} failed (if it is not installed: scripts/install-drivers.sh)\n\
         stdout:\n{stdout}\nstderr:\n{stderr}\nproxy log:\n{}",
        d.proxy.log_tail()
    );
}

#[test]
fn pymysql() {
    run_python("PyMySQL", "pymysql_scenario.py");
}

#[test]
fn mysqlclient() {
    run_python("mysqlclient", "mysqlclient_scenario.py");
}

#[test]
fn aiomysql() {
    run_python("aiomysql", "aiomysql_scenario.py");
}

#[test]
fn mysql_connector_python() {
    run_python("mysql-connector-python", "mysql_connector_scenario.py");
}

#[test]
fn node_mysql2() {
    let node = Path::new(DRIVERS_DIR).join("mysql/node/node_modules/mysql2");
    assert!(
        node.exists(),
        "{} is missing: run scripts/install-drivers.sh",
        node.display()
    );
    run(
        "node mysql2",
        PathBuf::from("node"),
        &["node/mysql2_scenario.js"],
    );
}

/// Debian's libmariadb-java.
const CONNECTOR_J_JAR: &str = "/usr/share/java/mariadb-java-client.jar";

#[test]
fn mariadb_connector_j() {
    assert!(
        Path::new(CONNECTOR_J_JAR).exists(),
        "{CONNECTOR_J_JAR} is missing: run scripts/install-drivers.sh"
    );
    run(
        "MariaDB Connector/J",
        PathBuf::from("java"),
        &["-cp", CONNECTOR_J_JAR, "java/Scenario.java"],
    );
}
