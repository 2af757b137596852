// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! SAVEPOINT, RELEASE and ROLLBACK TO through a sharded session answer as
//! PostgreSQL itself does: the same script runs on a plain PostgreSQL
//! database and through Shardwire over two shards, and every step's rows
//! or error must agree. The script writes on a shard that joins the
//! transaction only after a savepoint and rolls those rows back, repeats
//! savepoint names, fails the transaction on one shard and recovers with
//! ROLLBACK TO, and rolls back a SET made after a savepoint.

mod support;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{AssertSqlSafe, ConnectOptions, Row};
use support::start;

/// One step and whether an error's message is compared too (the shards'
/// unique-violation message names another constraint; only its code is
/// PostgreSQL's promise).
const SCRIPT: &[(&str, bool)] = &[
    ("SAVEPOINT a", true),
    ("RELEASE SAVEPOINT a", true),
    ("ROLLBACK TO SAVEPOINT a", true),
    // Several statements in one Query are an implicit block, not a
    // transaction block.
    ("SELECT 1; SAVEPOINT a", true),
    ("BEGIN", true),
    (
        "INSERT INTO t_order (order_id, user_id, status) VALUES (1, 0, 'before')",
        true,
    ),
    ("SAVEPOINT a", true),
    // user_id 1: the other shard, which joins after the savepoint.
    (
        "INSERT INTO t_order (order_id, user_id, status) VALUES (2, 1, 'after a')",
        true,
    ),
    ("SAVEPOINT Sp_B", true),
    (
        "INSERT INTO t_order (order_id, user_id, status) VALUES (3, 1, 'after b')",
        true,
    ),
    ("ROLLBACK TO sp_b", true),
    (
        "SELECT order_id::text, status FROM t_order ORDER BY order_id",
        true,
    ),
    ("ROLLBACK TO SAVEPOINT a", true),
    (
        "SELECT order_id::text, status FROM t_order ORDER BY order_id",
        true,
    ),
    ("RELEASE SAVEPOINT sp_b", true),
    // The transaction failed: only ROLLBACK TO (and ROLLBACK) are heard.
    ("SELECT 1", true),
    ("SAVEPOINT c", true),
    ("RELEASE a", true),
    ("ROLLBACK TO nope", true),
    ("SELECT 1", true),
    ("ROLLBACK TO a", true),
    (
        "SELECT order_id::text, status FROM t_order ORDER BY order_id",
        true,
    ),
    // A failure on one shard only (a duplicate key), then recovery.
    (
        "INSERT INTO t_order (order_id, user_id, status) VALUES (4, 1, 'four')",
        true,
    ),
    (
        "INSERT INTO t_order (order_id, user_id, status) VALUES (1, 0, 'dup')",
        false,
    ),
    ("SELECT 1", true),
    ("ROLLBACK TO a", true),
    (
        "SELECT order_id::text, status FROM t_order ORDER BY order_id",
        true,
    ),
    // A repeated name: the newest wins, RELEASE uncovers the older one.
    ("SAVEPOINT a", true),
    (
        "INSERT INTO t_order (order_id, user_id, status) VALUES (5, 1, 'five')",
        true,
    ),
    ("RELEASE a", true),
    (
        "SELECT order_id::text, status FROM t_order ORDER BY order_id",
        true,
    ),
    ("ROLLBACK TO a", true),
    (
        "SELECT order_id::text, status FROM t_order ORDER BY order_id",
        true,
    ),
    (
        "INSERT INTO t_order (order_id, user_id, status) VALUES (6, 1, 'six')",
        true,
    ),
    // A SET after a savepoint is undone by ROLLBACK TO, on every shard.
    ("SAVEPOINT s", true),
    ("SET work_mem = '7MB'", true),
    ("SHOW work_mem", true),
    (
        "SELECT DISTINCT current_setting('work_mem') FROM t_order",
        true,
    ),
    ("ROLLBACK TO s", true),
    ("SHOW work_mem", true),
    (
        "SELECT current_setting('work_mem') FROM t_order WHERE user_id = 0 AND order_id = 1",
        true,
    ),
    (
        "SELECT current_setting('work_mem') FROM t_order WHERE user_id = 1 AND order_id = 6",
        true,
    ),
    ("COMMIT", true),
    (
        "SELECT order_id::text, status FROM t_order ORDER BY order_id",
        true,
    ),
    ("SHOW work_mem", true),
];

/// Each step's rows (as text) or error, one line each.
async fn transcript(conn: &mut PgConnection) -> Vec<String> {
    let mut out = Vec::new();
    for (sql, full_message) in SCRIPT {
        let line = match sqlx::raw_sql(AssertSqlSafe(*sql))
            .fetch_all(&mut *conn)
            .await
        {
            Ok(rows) => {
                let rows: Vec<Vec<Option<String>>> = rows
                    .iter()
                    .map(|r| (0..r.len()).map(|i| r.get(i)).collect())
                    .collect();
                format!("{sql} => {rows:?}")
            }
            Err(e) => {
                let db = e
                    .as_database_error()
                    .unwrap_or_else(|| panic!("{sql}: {e}"));
                let code = db.code().unwrap_or_default();
                if *full_message {
                    format!("{sql} => error {code} {}", db.message())
                } else {
                    format!("{sql} => error {code}")
                }
            }
        };
        out.push(line);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn savepoints_through_the_shards_answer_as_postgresql() {
    let d = start();
    let create = "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT, status TEXT)";
    d.psql_ok("sharding_db", create);
    let reference = &d.shards[0];
    reference.create_database("reference").unwrap();
    let mut own = PgConnectOptions::new()
        .host(reference.host())
        .port(reference.port())
        .username(reference.user())
        .password(reference.password())
        .database("reference")
        .connect()
        .await
        .unwrap();
    sqlx::raw_sql(create).execute(&mut own).await.unwrap();
    let expected = transcript(&mut own).await;

    let mut proxied = d.sqlx_options("sharding_db").connect().await.unwrap();
    let got = transcript(&mut proxied).await;
    for (e, g) in expected.iter().zip(&got) {
        assert_eq!(e, g, "\nproxy log:\n{}", d.proxy.log_tail());
    }
    // Not vacuous: the script did reach both shards and left row 6 on
    // the one that joined after the first savepoint.
    assert!(expected.iter().any(|l| l.contains("\"six\"")));
    let on_ds_1 = d.shards[1]
        .psql("SELECT order_id FROM t_order_0 UNION ALL SELECT order_id FROM t_order_1 ORDER BY 1")
        .unwrap();
    assert_eq!(on_ds_1.trim(), "6");
}
