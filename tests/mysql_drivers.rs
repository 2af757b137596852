//! MySQL drivers through Shardwire on two MariaDB shards: each driver runs
//! the scenario of tests/drivers/mysql/scenario.py (DDL fan-out, generated
//! keys, point / scatter / aggregate selects, commit and rollback across
//! shards, an error then recovery) against its own proxy.
//!
//! The drivers come from scripts/install-drivers.sh (tests/drivers/.venv);
//! a missing one fails its test with that hint rather than passing unseen.
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
    let d = support_mysql::start();
    let out = Command::new(venv_python())
        .arg(script)
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
fn mysql_connector_python() {
    run_python("mysql-connector-python", "mysql_connector_scenario.py");
}
