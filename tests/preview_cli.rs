//! `shardctl preview` run as a process: the route units as JSON, or exit 1
//! with the error on stderr.

// Helpers outside #[test] fns may unwrap too: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

const QUICKSTART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart/conf");

fn preview(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shardctl"))
        .args([
            "preview",
            "--config",
            QUICKSTART,
            "--database",
            "sharding_db",
        ])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn preview_prints_route_units_as_json() {
    let out = preview(&["SELECT * FROM t_order WHERE user_id = 1 AND order_id IN (2, 3)"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!([
            {"dataSource": "ds_1", "sql": "SELECT * FROM t_order_0 WHERE user_id = 1 AND order_id IN (2, 3)"},
            {"dataSource": "ds_1", "sql": "SELECT * FROM t_order_1 WHERE user_id = 1 AND order_id IN (2, 3)"}
        ])
    );
}

#[test]
fn preview_postgresql_with_params() {
    let out = preview(&[
        "--dialect",
        "postgresql",
        "--param",
        "2",
        "--param",
        "5",
        "INSERT INTO \"t_order\" (user_id, order_id) VALUES ($1, $2)",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!([
            {"dataSource": "ds_0", "sql": "INSERT INTO \"t_order_1\" (user_id, order_id) VALUES ($1, $2)"}
        ])
    );
}

#[test]
fn preview_bad_sql_exits_1_with_the_position() {
    let out = preview(&["SELEC 1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Line: 1, Column: 1"), "{err}");
}

#[test]
fn preview_unsupported_exits_1_naming_the_construct() {
    let out = preview(&["INSERT INTO t_order (user_id) VALUES (1)"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sharding column order_id"), "{err}");
    assert!(err.contains("t_order"), "{err}");
}

#[test]
fn preview_unknown_database_exits_1() {
    let out = Command::new(env!("CARGO_BIN_EXE_shardctl"))
        .args([
            "preview",
            "--config",
            QUICKSTART,
            "--database",
            "nope",
            "SELECT 1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sharding_db"));
}
