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

fn s(v: &str) -> Value {
    t(v)
}

#[test]
fn select_star_order_by_sorts_on_one_derived_column_and_drops_it() {
    let p = plan(
        Dialect::MySql,
        "SELECT * FROM t_order ORDER BY order_id LIMIT 1, 3",
    );
    assert_eq!(
        p.units[0].sql,
        "SELECT *, order_id AS order_by_derived_0 FROM t_order_0 ORDER BY order_id LIMIT 4"
    );
    // The wildcard stands for 4 columns [order_id, user_id, status, amount];
    // the derived order_id makes 5. The merge sorts on the last column.
    let row = |order: i64, user: i64| vec![i(order), i(user), s("paid"), i(order * 10), i(order)];
    let out = run(
        &p,
        vec![
            vec![row(2, 0), row(6, 0)],
            vec![row(1, 1), row(5, 1)],
            vec![row(4, 0)],
            vec![row(3, 1), row(7, 1)],
        ],
    );
    // Skip order 1, keep 2, 3, 4: the first 4 columns only.
    assert_eq!(
        out,
        vec![
            vec![i(2), i(0), s("paid"), i(20)],
            vec![i(3), i(1), s("paid"), i(30)],
            vec![i(4), i(0), s("paid"), i(40)],
        ]
    );
}

#[test]
fn qualified_star_order_by_two_derived_columns_postgresql() {
    let p = plan(
        Dialect::PostgreSql,
        "SELECT o.* FROM t_order o ORDER BY o.status DESC, o.order_id LIMIT 4",
    );
    assert!(
        p.units[0].sql.starts_with(
            "SELECT o.*, o.status AS order_by_derived_0, o.order_id AS order_by_derived_1"
        ),
        "{}",
        p.units[0].sql
    );
    // The wildcard stands for 3 columns [order_id, user_id, status]; the two
    // derived ones make 5. PostgreSQL DESC puts NULLs first.
    let row =
        |order: i64, status: Value| vec![i(order), i(order % 2), status.clone(), status, i(order)];
    let out = run(
        &p,
        vec![
            vec![row(4, Value::Null), row(2, s("b"))],
            vec![row(1, s("c")), row(3, s("a"))],
            vec![row(6, s("b"))],
            vec![],
        ],
    );
    assert_eq!(
        out,
        vec![
            vec![i(4), i(0), Value::Null],
            vec![i(1), i(1), s("c")],
            vec![i(2), i(0), s("b")],
            vec![i(6), i(0), s("b")],
        ]
    );
}

#[test]
fn star_then_extra_column_sorts_from_the_end_and_keeps_it() {
    let p = plan(
        Dialect::MySql,
        "SELECT *, amount * 2 AS doubled FROM t_order ORDER BY doubled DESC LIMIT 2",
    );
    // No derived column: [4 wildcard columns, doubled], all 5 are the client's.
    let row = |order: i64, amount: i64| vec![i(order), i(0), s("x"), i(amount), i(amount * 2)];
    let out = run(
        &p,
        vec![
            vec![row(1, 5), row(2, 1)],
            vec![row(3, 9)],
            vec![row(4, 7)],
            vec![],
        ],
    );
    assert_eq!(out, vec![row(3, 9), row(4, 7)]);
}

#[test]
fn star_with_avg_group_by_merges_partial_groups() {
    let p = plan(
        Dialect::MySql,
        "SELECT *, AVG(amount) FROM t_order GROUP BY user_id",
    );
    // [2 wildcard columns (user_id, amount), AVG, SUM, COUNT, user_id]:
    // width 6, 3 derived. User 1 has amounts 2 and 4 on two shards.
    let row = |user: i64, amount: i64, sum: i64, count: i64| {
        vec![
            i(user),
            i(amount),
            i(sum / count),
            i(sum),
            i(count),
            i(user),
        ]
    };
    let out = run(
        &p,
        vec![
            vec![row(1, 2, 2, 1), row(2, 8, 8, 1)],
            vec![row(1, 4, 4, 1)],
            vec![],
            vec![],
        ],
    );
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[0].len(), 3, "derived columns are dropped: {out:?}");
    assert_eq!((&out[0][0], &out[0][1]), (&i(1), &i(2)));
    assert_eq!(out[0][2].as_f64(), Some(3.0));
    assert_eq!(out[1][2].as_f64(), Some(8.0));
}

#[test]
fn distinct_star_compares_whole_rows_without_the_derived_column() {
    let p = plan(
        Dialect::PostgreSql,
        "SELECT DISTINCT * FROM t_order ORDER BY user_id",
    );
    // [order_id, user_id, status, amount, derived user_id]: width 5.
    let row = |order: i64, user: i64| vec![i(order), i(user), s("x"), i(1), i(user)];
    let out = run(
        &p,
        vec![
            vec![row(1, 1), row(2, 2)],
            vec![row(1, 1), row(3, 2)],
            vec![row(2, 2)],
            vec![],
        ],
    );
    assert_eq!(
        out,
        vec![
            vec![i(1), i(1), s("x"), i(1)],
            vec![i(2), i(2), s("x"), i(1)],
            vec![i(3), i(2), s("x"), i(1)],
        ]
    );
}

#[test]
fn wildcard_plan_over_empty_shards_is_empty() {
    let p = plan(Dialect::MySql, "SELECT * FROM t_order ORDER BY status");
    assert!(run(&p, vec![vec![], vec![], vec![], vec![]]).is_empty());
}
