//! `shardctl preview` run as a process: the route units, merge plan and
//! generated keys as JSON, or exit 1 with the error on stderr.

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

/// The JSON a successful preview printed; a failed one fails the test with
/// its stderr.
fn json_of(out: Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn preview_prints_route_units_as_json() {
    let v = json_of(preview(&[
        "SELECT * FROM t_order WHERE user_id = 1 AND order_id IN (2, 3)",
    ]));
    assert_eq!(
        v["units"],
        serde_json::json!([
            {"dataSource": "ds_1", "sql": "SELECT * FROM t_order_0 WHERE user_id = 1 AND order_id IN (2, 3)"},
            {"dataSource": "ds_1", "sql": "SELECT * FROM t_order_1 WHERE user_id = 1 AND order_id IN (2, 3)"}
        ])
    );
    // Two units: their rows are concatenated, every column kept.
    assert_eq!(
        v["merge"],
        serde_json::json!({
            "orderBy": [], "groupBy": [], "aggregates": [], "distinct": false,
            "offset": 0, "limit": null, "outputColumns": null
        })
    );
    assert_eq!(v["generatedKeys"], serde_json::Value::Null);
}

#[test]
fn preview_shows_the_merge_plan() {
    let v = json_of(preview(&[
        "--dialect",
        "postgresql",
        "SELECT user_id, AVG(amount) FROM t_order GROUP BY user_id ORDER BY user_id DESC LIMIT 5 OFFSET 10",
    ]));
    let units = v["units"].as_array().unwrap();
    assert_eq!(units.len(), 4);
    assert_eq!(units[0]["dataSource"], "ds_0");
    assert_eq!(
        units[0]["sql"],
        "SELECT user_id, AVG(amount), SUM(amount) AS avg_derived_sum_0, \
         COUNT(amount) AS avg_derived_count_0 FROM t_order_0 GROUP BY user_id \
         ORDER BY user_id DESC LIMIT 15"
    );
    assert_eq!(
        v["merge"],
        serde_json::json!({
            "orderBy": [{"column": 0, "descending": true, "nullsFirst": true}],
            "groupBy": [0],
            "aggregates": [{"kind": "AVG", "column": 1, "sumColumn": 2, "countColumn": 3}],
            "distinct": false,
            "offset": 10,
            "limit": 5,
            "outputColumns": 2
        })
    );
}

#[test]
fn preview_shows_what_the_proxy_computes_after_the_merge() {
    let v = json_of(preview(&[
        "--dialect",
        "postgresql",
        "SELECT user_id, round(AVG(amount), 2) FROM t_order GROUP BY user_id \
         HAVING COUNT(DISTINCT status) > 1",
    ]));
    let merge = &v["merge"];
    assert_eq!(
        merge["computed"],
        serde_json::json!([{"column": 1, "expression": "round(avg(#2 / #3), 2)"}])
    );
    assert_eq!(merge["having"], "(#5 > 1)");
    assert_eq!(
        merge["aggregates"][2],
        serde_json::json!({"kind": "COUNT DISTINCT", "column": 5, "distinctColumn": 4})
    );
    assert_eq!(merge["outputColumns"], 2);
}

#[test]
fn preview_shows_where_a_wildcard_puts_the_derived_columns() {
    let v = json_of(preview(&[
        "SELECT * FROM t_order ORDER BY order_id LIMIT 10",
    ]));
    assert_eq!(
        v["units"][0]["sql"],
        "SELECT *, order_id AS order_by_derived_0 FROM t_order_0 ORDER BY order_id LIMIT 10"
    );
    // Column 0 is the first column after the wildcard: the derived one,
    // last in each row; the merge drops it.
    assert_eq!(
        v["merge"],
        serde_json::json!({
            "orderBy": [{"column": 0, "descending": false, "nullsFirst": true}],
            "groupBy": [],
            "aggregates": [],
            "distinct": false,
            "offset": 0,
            "limit": 10,
            "outputColumns": null,
            "wildcard": {"leading": 0, "trailing": 1, "derived": 1}
        })
    );
}

#[test]
fn preview_reports_generated_keys() {
    let v = json_of(preview(&[
        "INSERT INTO t_order (user_id, status) VALUES (1, 'a')",
    ]));
    assert_eq!(v["generatedKeys"]["column"], "order_id");
    let key = v["generatedKeys"]["keys"][0].as_i64().unwrap();
    assert!(key > 0, "{v}");
    // The generated key is in the SQL and chose the table by its parity.
    let units = v["units"].as_array().unwrap();
    assert_eq!(units.len(), 1);
    assert_eq!(units[0]["dataSource"], "ds_1");
    assert_eq!(
        units[0]["sql"],
        format!(
            "INSERT INTO t_order_{} (user_id, status, order_id) VALUES (1, 'a', {key})",
            key % 2
        )
    );
    assert_eq!(v["merge"], serde_json::Value::Null);
}

#[test]
fn preview_postgresql_with_params() {
    let v = json_of(preview(&[
        "--dialect",
        "postgresql",
        "--param",
        "2",
        "--param",
        "5",
        "INSERT INTO \"t_order\" (user_id, order_id) VALUES ($1, $2)",
    ]));
    assert_eq!(
        v["units"],
        serde_json::json!([
            {"dataSource": "ds_0", "sql": "INSERT INTO \"t_order_1\" (user_id, order_id) VALUES ($1, $2)"}
        ])
    );
    // One unit answers: nothing to merge; the client gave the key.
    assert_eq!(v["merge"], serde_json::Value::Null);
    assert_eq!(v["generatedKeys"], serde_json::Value::Null);
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
    // COUNT(DISTINCT) is answered now; upper() over a group is not.
    let out = preview(&["SELECT status FROM t_order GROUP BY status HAVING upper(status) = 'NEW'"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("function upper()"), "{err}");
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
