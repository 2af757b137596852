// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! More concurrent statements than a shard's pool has connections, each
//! wanting two connections of the same shard (two tables there, and
//! `max-connections-size-per-query: 2`). Taking one and waiting for the
//! second would let the statements split the pool between them and wait on
//! each other until the pool's timeout; every statement must instead be
//! answered, its second table on the connection it holds.

mod support;

use sqlx::{ConnectOptions, Row};
use support::start;

/// Twice the pools' 8 connections.
const SESSIONS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_needing_two_connections_never_starve_each_other() {
    let d = start();
    d.psql_ok(
        "sharding_db",
        "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT, status TEXT); \
         INSERT INTO t_order (order_id, user_id, status) VALUES (0, 0, 'a'), (1, 0, 'b'), (2, 1, 'c'), (3, 1, 'd')",
    );
    let options = d.sqlx_options("sharding_db");
    let mut conns = Vec::new();
    for _ in 0..SESSIONS {
        conns.push(options.connect().await.unwrap());
    }
    // All at once: each statement reaches both tables of both shards, and
    // holds what it has for a while (pg_sleep on every table's rows).
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(SESSIONS));
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                sqlx::query("SELECT count(*) FROM t_order WHERE pg_sleep(0.05) IS NOT NULL")
                    .fetch_one(&mut conn)
                    .await
                    .map(|row| row.get::<i64, _>(0))
            })
        })
        .collect();
    for task in tasks {
        let count = task.await.unwrap();
        assert_eq!(count.map_err(|e| e.to_string()), Ok(4));
    }
}
