// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! A sorted merge over two tables of one shard when the statement may use
//! one connection per shard (`max-connections-size-per-query: 1`): the
//! second table's first row comes only after the whole of the first
//! table's answer, which must wait somewhere meanwhile. With
//! `proxy-unit-buffer-bytes` at 1 MiB it waits in a temporary file: the
//! answer is whole and in order, and the proxy's peak memory grows by far
//! less than the 150 MB that wait.

mod support;

use futures::TryStreamExt;
use sqlx::{ConnectOptions, Row};

/// Rows in each of the shard's two tables, and the width of each row.
const ROWS: i64 = 150_000;
const WIDTH: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_units_spill_past_the_budget_and_the_merge_stays_whole() {
    let d = support::start_edited(|global| {
        global
            .replace(
                "max-connections-size-per-query: 2",
                "max-connections-size-per-query: 1",
            )
            .replace("props:\n", "props:\n  proxy-unit-buffer-bytes: 1048576\n")
    });
    d.psql_ok(
        "sharding_db",
        "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT, status TEXT)",
    );
    // user_id 0 lives on ds_0; even order ids in t_order_0, odd in
    // t_order_1. Loaded on the shard directly: the proxy is not under test.
    for (table, parity) in [("t_order_0", 0), ("t_order_1", 1)] {
        d.shards[0]
            .psql(&format!(
                "INSERT INTO {table} SELECT 2 * g + {parity}, 0, repeat(chr(97 + g % 26), {WIDTH}) \
                 FROM generate_series(0, {}) g",
                ROWS - 1
            ))
            .unwrap();
    }
    let before = d.proxy.peak_rss().expect("the proxy's VmHWM");

    let mut conn = d.sqlx_options("sharding_db").connect().await.unwrap();
    let mut rows =
        sqlx::query("SELECT order_id, status FROM t_order WHERE user_id = 0 ORDER BY order_id")
            .fetch(&mut conn);
    let mut expected = 0i64;
    while let Some(row) = rows.try_next().await.unwrap() {
        let id: i64 = row.get(0);
        let status: String = row.get(1);
        assert_eq!(id, expected, "rows out of order or missing");
        assert_eq!(status.len(), WIDTH);
        expected += 1;
    }
    assert_eq!(expected, 2 * ROWS);
    drop(rows);

    let growth = d.proxy.peak_rss().unwrap().saturating_sub(before);
    let held = ROWS as u64 * WIDTH as u64;
    assert!(
        growth < held / 3,
        "the proxy's peak memory grew by {growth} bytes while {held} bytes of the first \
         table waited for the merge: they were held in memory, not spilled"
    );
}
