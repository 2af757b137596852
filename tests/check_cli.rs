//! `shardwire check` run as a process: JSON on a good config, exit 1 and the
//! file:line error on a bad one.

// Helpers outside #[test] fns may unwrap too: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn shardwire() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shardwire"))
}

#[test]
fn check_prints_expanded_rules_as_json() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart/conf");
    let out = shardwire()
        .args(["check", "--config", dir])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The quickstart holds more than one database; take ours by name.
    let db = v["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "sharding_db")
        .unwrap();
    let t = &db["sharding"]["tables"]["t_order"];
    assert_eq!(
        t["dataNodes"],
        serde_json::json!([
            "ds_0.t_order_0",
            "ds_0.t_order_1",
            "ds_1.t_order_0",
            "ds_1.t_order_1"
        ])
    );
    assert_eq!(t["databaseStrategy"]["type"], "standard");
    assert_eq!(
        t["databaseStrategy"]["columns"],
        serde_json::json!(["user_id"])
    );
    assert_eq!(t["tableStrategy"]["algorithmType"], "MOD");
    // Passwords never appear in the report.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("password"), "{text}");
}

#[test]
fn check_exits_1_with_file_and_line_on_a_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("global.yaml"), "props:\n  sql-show: true\n").unwrap();
    std::fs::write(
        dir.path().join("database-x.yaml"),
        "databaseName: x\ndataSources:\n  ds_0:\n    url: postgres://h/d\nrules:\n- !SHARDING\n  tables:\n    t:\n      actualDataNodes: ds_9.t\n",
    )
    .unwrap();
    let out = shardwire()
        .args(["check", "--config"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("database-x.yaml:9:"), "{err}");
    assert!(err.contains("data source `ds_9` is not declared"), "{err}");
}

#[test]
fn check_reports_data_sources_in_camel_case_without_secrets() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart/conf");
    let out = shardwire()
        .args(["check", "--config", dir])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ds = &v["databases"][0]["dataSources"]["ds_1"];
    assert_eq!(ds["database"], "shard_1");
    assert_eq!(ds["maxPoolSize"], 8);
    assert_eq!(ds["connectionTimeout"], 30000);
    assert!(ds.get("password").is_none());
}
