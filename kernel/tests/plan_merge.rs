// Tests unwrap: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]
//! The derived merge plan driving the merge engine: shard rows shaped like
//! the rewritten SQL's select list go in, the client's rows come out.

use std::path::Path;

use futures::executor::block_on;
use futures::stream::{self, TryStreamExt};
use shardwire_kernel::merge::{merge, Row, RowStream, Value};
use shardwire_kernel::{plan_with, Dialect, ParseCache, Plan, PlanOptions};

fn plan(dialect: Dialect, sql: &str) -> Plan {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quickstart/conf");
    let snapshot = shardwire_rules::load_dir(&dir).unwrap();
    let db = snapshot.database("sharding_db").unwrap();
    plan_with(
        &ParseCache::new(4),
        db,
        dialect,
        sql,
        &[],
        &PlanOptions::default(),
    )
    .unwrap()
}

fn run(plan: &Plan, shards: Vec<Vec<Vec<Value>>>) -> Vec<Vec<Value>> {
    assert_eq!(shards.len(), plan.units.len());
    let streams: Vec<RowStream> = shards
        .into_iter()
        .map(|rows| -> RowStream {
            Box::pin(stream::iter(rows.into_iter().map(|v| Ok(Row::new(v)))))
        })
        .collect();
    let merge_plan = plan.merge.as_ref().unwrap();
    block_on(
        merge(merge_plan, streams)
            .map_ok(Row::into_values)
            .try_collect(),
    )
    .unwrap()
}

fn i(v: i64) -> Value {
    Value::Int(v)
}

fn t(s: &str) -> Value {
    Value::Text(s.to_owned())
}

#[test]
fn avg_group_order_and_page_across_shards() {
    let p = plan(
        Dialect::PostgreSql,
        "SELECT user_id, AVG(amount) FROM t_order GROUP BY user_id ORDER BY user_id DESC \
         LIMIT 1 OFFSET 1",
    );
    assert!(
        p.units[0].sql.ends_with("ORDER BY user_id DESC LIMIT 2"),
        "{}",
        p.units[0].sql
    );
    // Each shard answers [user_id, AVG, SUM, COUNT], sorted, at most 2 groups.
    // User 3 has amounts 1, 2 on one shard and 6 on another: AVG 3 overall.
    let out = run(
        &p,
        vec![
            vec![vec![i(3), i(1), i(3), i(2)], vec![i(1), i(10), i(10), i(1)]],
            vec![vec![i(3), i(6), i(6), i(1)], vec![i(2), i(4), i(4), i(1)]],
            vec![],
            vec![],
        ],
    );
    // Groups by user_id DESC: 3 (AVG 3), 2 (AVG 4), 1 (AVG 10); page 2 of 1.
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].len(), 2, "derived columns are dropped: {out:?}");
    assert_eq!(out[0][0], i(2));
    assert_eq!(out[0][1].as_f64(), Some(4.0));
}

#[test]
fn derived_sort_column_is_used_then_dropped_mysql_nulls_smallest() {
    let p = plan(
        Dialect::MySql,
        "SELECT order_id FROM t_order ORDER BY status DESC LIMIT 3",
    );
    // Each shard answers [order_id, status] sorted by status DESC (MySQL:
    // NULL is smallest, so last).
    let out = run(
        &p,
        vec![
            vec![vec![i(1), t("b")], vec![i(2), Value::Null]],
            vec![vec![i(3), t("c")], vec![i(4), t("a")]],
            vec![vec![i(5), Value::Null]],
            vec![],
        ],
    );
    assert_eq!(out, vec![vec![i(3)], vec![i(1)], vec![i(4)]]);
}

#[test]
fn postgresql_nulls_are_largest() {
    let p = plan(
        Dialect::PostgreSql,
        "SELECT order_id, status FROM t_order ORDER BY status",
    );
    // PostgreSQL ASC: NULLs last.
    let out = run(
        &p,
        vec![
            vec![vec![i(1), t("b")], vec![i(2), Value::Null]],
            vec![vec![i(3), t("a")]],
            vec![],
            vec![],
        ],
    );
    assert_eq!(
        out,
        vec![
            vec![i(3), t("a")],
            vec![i(1), t("b")],
            vec![i(2), Value::Null]
        ]
    );
}

#[test]
fn count_without_group_over_shards() {
    let p = plan(Dialect::MySql, "SELECT COUNT(*), MAX(amount) FROM t_order");
    let out = run(
        &p,
        vec![
            vec![vec![i(2), i(7)]],
            vec![vec![i(0), Value::Null]],
            vec![vec![i(5), i(9)]],
            vec![vec![i(1), i(3)]],
        ],
    );
    assert_eq!(out, vec![vec![i(8), i(9)]]);
}
