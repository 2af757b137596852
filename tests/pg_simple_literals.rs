// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! Simple-protocol statements that differ only in their literals (the
//! kernel plans them from one cached parse and splices the client's text)
//! reach the right shard with their own values, and a session keeps
//! reading whole messages across idle waits, where it gives its buffers
//! back, and across a statement far larger than its idle read buffer.

mod support;

use std::time::Duration;

use sqlx::{AssertSqlSafe, ConnectOptions, Row};
use support::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn literal_statements_route_by_their_own_values_across_idle_waits() {
    let d = start();
    d.psql_ok(
        "sharding_db",
        "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT, status TEXT)",
    );
    let mut conn = d.sqlx_options("sharding_db").connect().await.unwrap();
    // raw_sql: the simple query protocol, one text per value.
    for id in 1..=12i64 {
        let status = format!("it''s {id}");
        sqlx::raw_sql(AssertSqlSafe(format!(
            "INSERT INTO t_order (order_id, user_id, status) VALUES ({id}, {}, '{status}')",
            id % 4
        )))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    for id in 1..=12i64 {
        let row = sqlx::raw_sql(AssertSqlSafe(format!(
            "SELECT status, user_id FROM t_order WHERE user_id = {} AND order_id = {id}",
            id % 4
        )))
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(row.get::<String, _>(0), format!("it's {id}"));
        sqlx::raw_sql(AssertSqlSafe(format!(
            "UPDATE t_order SET status = 'done' WHERE user_id = {} AND order_id = {id}",
            id % 4
        )))
        .execute(&mut conn)
        .await
        .unwrap();
        if id % 4 == 0 {
            // Quiet for a moment: the session waits without buffers.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Each row sits on the shard and table its values name (user_id % 2,
    // order_id % 2), and every UPDATE reached it.
    for shard in 0..2usize {
        for table in 0..2i64 {
            let rows = d.shards[shard]
                .psql(&format!(
                    "SELECT string_agg(order_id || ':' || user_id || ':' || status, ',' ORDER BY order_id) FROM t_order_{table}"
                ))
                .unwrap();
            let want: Vec<String> = (1..=12i64)
                .filter(|id| (id % 4) as usize % 2 == shard && id % 2 == table)
                .map(|id| format!("{id}:{}:done", id % 4))
                .collect();
            assert_eq!(
                rows.trim(),
                want.join(","),
                "shard {shard}, t_order_{table}"
            );
        }
    }
    // A statement of ~300 KB (arrives in several reads), then small ones
    // after an idle wait.
    let list = vec!["'x'"; 60_000].join(", ");
    let row = sqlx::raw_sql(AssertSqlSafe(format!(
        "SELECT count(*) FROM t_order WHERE user_id = 1 AND order_id = 1 AND status NOT IN ({list})"
    )))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(row.get::<i64, _>(0), 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let row = sqlx::raw_sql("SELECT status FROM t_order WHERE user_id = 2 AND order_id = 6")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>(0), "done");
}
