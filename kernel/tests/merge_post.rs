// Tests unwrap: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]
//! DISTINCT aggregates, HAVING and proxy-computed columns in the merge,
//! on hand-made shard rows: a value on two shards counts once, the DISTINCT
//! values a merge holds are bounded by the plan's memory limit, HAVING
//! drops groups, and PostgreSQL's division by zero fails the stream.

use futures::executor::block_on;
use futures::stream::{self, StreamExt};
use shardwire_kernel::merge::eval::{BinOp, Expr, Literal};
use shardwire_kernel::merge::{
    merge, Aggregate, AggregateKind, MergeError, MergePlan, PostAggregate, Row, RowStream, SortKey,
    Value,
};
use shardwire_kernel::Dialect;

fn shard(rows: Vec<Vec<Value>>) -> RowStream {
    Box::pin(stream::iter(rows.into_iter().map(|r| Ok(Row::new(r)))))
}

fn run(plan: &MergePlan, shards: Vec<RowStream>) -> Vec<Result<Vec<Value>, MergeError>> {
    block_on(
        merge(plan, shards)
            .map(|r| r.map(Row::into_values))
            .collect(),
    )
}

fn int(v: i64) -> Value {
    Value::Int(v)
}

/// SELECT k, COUNT(DISTINCT x), SUM(DISTINCT x) ... GROUP BY k: shards send
/// k, count slot, sum slot, x (one row per k and x, sorted by k).
fn distinct_plan() -> MergePlan {
    MergePlan {
        order_by: vec![SortKey::asc(0)],
        group_by: vec![0],
        aggregates: vec![
            Aggregate {
                kind: AggregateKind::CountDistinct { arg: 3 },
                column: 1,
            },
            Aggregate {
                kind: AggregateKind::SumDistinct { arg: 3 },
                column: 2,
            },
        ],
        ..MergePlan::iterate(3)
    }
}

#[test]
fn a_value_on_two_shards_counts_once() {
    let row = |k, x| vec![int(k), int(1), int(x), int(x)];
    let out = run(
        &distinct_plan(),
        vec![
            shard(vec![row(1, 5), row(1, 7), row(2, 5)]),
            shard(vec![
                row(1, 5),
                row(2, 6),
                vec![int(2), int(0), Value::Null, Value::Null],
            ]),
        ],
    );
    let out: Vec<Vec<Value>> = out.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        out,
        vec![vec![int(1), int(2), int(12)], vec![int(2), int(2), int(11)],]
    );
}

#[test]
fn distinct_values_are_bounded_by_the_memory_limit() {
    // One group, 100,000 distinct values: far past a 64 KiB budget.
    let rows = (0..100_000).map(|x| Ok(Row::new(vec![int(0), int(1), int(x), int(x)])));
    let plan = MergePlan {
        memory_limit_bytes: 64 * 1024,
        ..distinct_plan()
    };
    let out = run(&plan, vec![Box::pin(stream::iter(rows))]);
    assert!(
        matches!(out.as_slice(), [Err(MergeError::MemoryLimit { .. })]),
        "{:?}",
        out.first()
    );
    // Without GROUP BY (one group for all rows) the same.
    let scalar = MergePlan {
        order_by: Vec::new(),
        group_by: Vec::new(),
        ..plan
    };
    let rows = (0..100_000).map(|x| Ok(Row::new(vec![int(0), int(1), int(x), int(x)])));
    let out = run(&scalar, vec![Box::pin(stream::iter(rows))]);
    assert!(matches!(
        out.as_slice(),
        [Err(MergeError::MemoryLimit { .. })]
    ));
}

fn post_plan(dialect: Dialect, computed: Expr, having: Option<Expr>) -> MergePlan {
    // SELECT k, SUM(a) / COUNT(*) ... GROUP BY k [HAVING ...]: shards send
    // k, a slot, SUM(a), COUNT(*).
    MergePlan {
        order_by: vec![SortKey::asc(0)],
        group_by: vec![0],
        aggregates: vec![
            Aggregate {
                kind: AggregateKind::Sum,
                column: 2,
            },
            Aggregate {
                kind: AggregateKind::Count,
                column: 3,
            },
        ],
        post: Some(PostAggregate {
            dialect,
            computed: vec![(1, computed)],
            having,
        }),
        ..MergePlan::iterate(2)
    }
}

fn bin(op: BinOp, l: Expr, r: Expr) -> Expr {
    Expr::Binary {
        op,
        left: Box::new(l),
        right: Box::new(r),
    }
}

#[test]
fn having_drops_groups_after_the_merge() {
    let ratio = bin(BinOp::Div, Expr::Column(2), Expr::Column(3));
    // HAVING COUNT(*) > 2: group 1 has 2 rows on each shard (4), group 2
    // one on each (2): only the merged count tells.
    let having = bin(BinOp::Gt, Expr::Column(3), Expr::Literal(Literal::Int(2)));
    let plan = post_plan(Dialect::PostgreSql, ratio, Some(having));
    let row = |k, s, n| vec![int(k), Value::Null, int(s), int(n)];
    let out = run(
        &plan,
        vec![
            shard(vec![row(1, 10, 2), row(2, 3, 1)]),
            shard(vec![row(1, 7, 2), row(2, 4, 1)]),
        ],
    );
    let out: Vec<Vec<Value>> = out.into_iter().map(Result::unwrap).collect();
    // 17 / 4 truncates on PostgreSQL (bigint / bigint).
    assert_eq!(out, vec![vec![int(1), int(4)]]);
}

#[test]
fn postgresql_division_by_zero_fails_mysql_gives_null() {
    let by_zero = bin(BinOp::Div, Expr::Column(2), Expr::Literal(Literal::Int(0)));
    let rows = || vec![shard(vec![vec![int(1), Value::Null, int(5), int(1)]])];
    let pg = run(
        &post_plan(Dialect::PostgreSql, by_zero.clone(), None),
        rows(),
    );
    assert!(
        matches!(pg.as_slice(), [Err(MergeError::DivisionByZero)]),
        "{pg:?}"
    );
    let my = run(&post_plan(Dialect::MySql, by_zero, None), rows());
    assert_eq!(
        my.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        vec![vec![int(1), Value::Null]]
    );
}
