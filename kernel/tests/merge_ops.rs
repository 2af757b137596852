// Tests unwrap: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]
//! The merge operators end to end through `merge::merge`, with exact rows.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::executor::block_on;
use futures::stream::{self, StreamExt, TryStreamExt};
use shardwire_kernel::merge::{
    merge, Aggregate, AggregateKind, Decimal, MergeError, MergePlan, Row, RowStream, SortKey, Value,
};

fn i(v: i64) -> Value {
    Value::Int(v)
}

fn d(s: &str) -> Value {
    Value::Decimal(Decimal::parse(s).unwrap())
}

fn t(s: &str) -> Value {
    Value::Text(s.to_owned())
}

const N: Value = Value::Null;

fn shard(rows: Vec<Vec<Value>>) -> RowStream {
    Box::pin(stream::iter(rows.into_iter().map(|v| Ok(Row::new(v)))))
}

fn shards(all: Vec<Vec<Vec<Value>>>) -> Vec<RowStream> {
    all.into_iter().map(shard).collect()
}

fn run(plan: &MergePlan, input: Vec<RowStream>) -> Vec<Vec<Value>> {
    block_on(merge(plan, input).map_ok(Row::into_values).try_collect()).unwrap()
}

fn run_err(plan: &MergePlan, input: Vec<RowStream>) -> (Vec<Vec<Value>>, MergeError) {
    let items: Vec<_> = block_on(merge(plan, input).collect());
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for item in items {
        match item {
            Ok(row) => {
                assert!(errors.is_empty(), "a row came after the error");
                rows.push(row.into_values());
            }
            Err(e) => errors.push(e),
        }
    }
    assert_eq!(errors.len(), 1, "exactly one error");
    (rows, errors.pop().unwrap())
}

fn ordered(columns: usize, keys: Vec<SortKey>) -> MergePlan {
    MergePlan {
        order_by: keys,
        ..MergePlan::iterate(columns)
    }
}

fn agg(kind: AggregateKind, column: usize) -> Aggregate {
    Aggregate { kind, column }
}

#[test]
fn iteration_concatenates_in_shard_order() {
    let rows = run(
        &MergePlan::iterate(1),
        shards(vec![vec![vec![i(3)], vec![i(1)]], vec![], vec![vec![i(2)]]]),
    );
    assert_eq!(rows, vec![vec![i(3)], vec![i(1)], vec![i(2)]]);
}

#[test]
fn order_by_merges_sorted_shards() {
    let plan = ordered(2, vec![SortKey::asc(0), SortKey::desc(1)]);
    let rows = run(
        &plan,
        shards(vec![
            vec![vec![i(1), t("b")], vec![i(4), t("a")]],
            vec![],
            vec![vec![i(1), t("c")], vec![i(2), t("z")], vec![i(9), t("a")]],
        ]),
    );
    assert_eq!(
        rows,
        vec![
            vec![i(1), t("c")],
            vec![i(1), t("b")],
            vec![i(2), t("z")],
            vec![i(4), t("a")],
            vec![i(9), t("a")],
        ]
    );
}

#[test]
fn nulls_placed_as_the_sort_key_says() {
    let input = || {
        shards(vec![
            vec![vec![i(1)], vec![i(3)], vec![N]],
            vec![vec![i(2)], vec![N]],
        ])
    };
    // PostgreSQL ASC: NULLS LAST.
    let rows = run(&ordered(1, vec![SortKey::asc(0)]), input());
    assert_eq!(
        rows,
        vec![vec![i(1)], vec![i(2)], vec![i(3)], vec![N], vec![N]]
    );

    // MySQL ASC: NULL smallest; the shards send NULLs first too.
    let mysql_asc = SortKey {
        nulls_first: true,
        ..SortKey::asc(0)
    };
    let rows = run(
        &ordered(1, vec![mysql_asc]),
        shards(vec![
            vec![vec![N], vec![i(1)], vec![i(3)]],
            vec![vec![N], vec![i(2)]],
        ]),
    );
    assert_eq!(
        rows,
        vec![vec![N], vec![N], vec![i(1)], vec![i(2)], vec![i(3)]]
    );

    // PostgreSQL DESC: NULLS FIRST.
    let rows = run(
        &ordered(1, vec![SortKey::desc(0)]),
        shards(vec![
            vec![vec![N], vec![i(3)], vec![i(1)]],
            vec![vec![i(2)]],
        ]),
    );
    assert_eq!(rows, vec![vec![N], vec![i(3)], vec![i(2)], vec![i(1)]]);
}

#[test]
fn mixed_numeric_kinds_compare_by_value() {
    let rows = run(
        &ordered(1, vec![SortKey::asc(0)]),
        shards(vec![
            vec![vec![d("0.5")], vec![i(2)], vec![Value::Float(2.5)]],
            vec![vec![i(1)], vec![d("2.25")], vec![Value::Float(3.0)]],
            vec![vec![Value::Float(-1.5)], vec![d("10")]],
        ]),
    );
    assert_eq!(
        rows,
        vec![
            vec![Value::Float(-1.5)],
            vec![d("0.5")],
            vec![i(1)],
            vec![i(2)],
            vec![d("2.25")],
            vec![Value::Float(2.5)],
            vec![Value::Float(3.0)],
            vec![d("10")],
        ]
    );
}

#[test]
fn limit_with_offset_across_shards() {
    // LIMIT 3 OFFSET 2; each shard was asked for LIMIT 5 by the rewrite.
    let plan = MergePlan {
        offset: 2,
        limit: Some(3),
        ..ordered(1, vec![SortKey::asc(0)])
    };
    let rows = run(
        &plan,
        shards(vec![
            vec![vec![i(1)], vec![i(4)], vec![i(5)], vec![i(8)], vec![i(9)]],
            vec![vec![i(2)], vec![i(3)], vec![i(6)], vec![i(7)], vec![i(10)]],
        ]),
    );
    assert_eq!(rows, vec![vec![i(3)], vec![i(4)], vec![i(5)]]);

    let zero = MergePlan {
        limit: Some(0),
        ..plan.clone()
    };
    let pulled = Arc::new(AtomicUsize::new(0));
    assert!(run(&zero, vec![counted(vec![1, 2], pulled.clone())]).is_empty());
    assert_eq!(pulled.load(Ordering::SeqCst), 0);

    let none = MergePlan { offset: 20, ..plan };
    assert!(run(&none, shards(vec![vec![vec![i(1)]]])).is_empty());
}

/// A shard that counts how many rows were pulled from it.
fn counted(rows: Vec<i64>, pulled: Arc<AtomicUsize>) -> RowStream {
    Box::pin(stream::iter(rows).map(move |v| {
        pulled.fetch_add(1, Ordering::SeqCst);
        Ok(Row::new(vec![i(v)]))
    }))
}

#[test]
fn limit_stops_pulling_from_shards() {
    let pulled = Arc::new(AtomicUsize::new(0));
    let plan = MergePlan {
        limit: Some(2),
        ..ordered(1, vec![SortKey::asc(0)])
    };
    let input = vec![
        counted((0..1000).map(|v| v * 2).collect(), pulled.clone()),
        counted((0..1000).map(|v| v * 2 + 1).collect(), pulled.clone()),
    ];
    assert_eq!(run(&plan, input), vec![vec![i(0)], vec![i(1)]]);
    // Two first rows, plus one refill per emitted row.
    assert!(pulled.load(Ordering::SeqCst) <= 4, "{pulled:?}");
}

fn grouped_shards() -> Vec<RowStream> {
    // SELECT k, COUNT(*), SUM(x), MIN(x), MAX(x), AVG(x) ... GROUP BY k ORDER BY k
    // columns: k, count, sum, min, max, avg, derived sum, derived count
    let row = |k: &str, c: i64, s: &str, mn: i64, mx: i64| {
        vec![t(k), i(c), d(s), i(mn), i(mx), d("0"), d(s), i(c)]
    };
    shards(vec![
        vec![row("a", 2, "0.1", 1, 5), row("c", 1, "7", 7, 7)],
        vec![row("a", 8, "0.2", 0, 3), row("b", 3, "3.5", 2, 9)],
        vec![],
    ])
}

fn group_plan(order_by: Vec<SortKey>) -> MergePlan {
    MergePlan {
        group_by: vec![0],
        aggregates: vec![
            agg(AggregateKind::Count, 1),
            agg(AggregateKind::Sum, 2),
            agg(AggregateKind::Min, 3),
            agg(AggregateKind::Max, 4),
            agg(
                AggregateKind::Avg {
                    sum_col: 6,
                    count_col: 7,
                },
                5,
            ),
        ],
        ..ordered(6, order_by)
    }
}

fn expected_groups() -> Vec<Vec<Value>> {
    vec![
        vec![t("a"), i(10), d("0.3"), i(0), i(5), d("0.03")],
        vec![t("b"), i(3), d("3.5"), i(2), i(9), d("1.16667")],
        vec![t("c"), i(1), d("7"), i(7), i(7), d("7")],
    ]
}

#[test]
fn group_by_streams_when_sorted_by_group_keys() {
    let plan = group_plan(vec![SortKey::asc(0)]);
    assert!(plan.groups_arrive_sorted());
    let rows = run(&plan, grouped_shards());
    assert_eq!(rows, expected_groups());
    // Exact digits: 0.1 + 0.2 is 0.3, not 0.30000000000000004.
    assert!(matches!(&rows[0][2], Value::Decimal(s) if s.to_string() == "0.3"));
}

#[test]
fn group_by_in_memory_when_unsorted_then_order_by() {
    // ORDER BY COUNT(*) DESC: not the group keys, so groups are hashed and
    // sorted afterwards.
    let plan = group_plan(vec![SortKey::desc(1)]);
    assert!(!plan.groups_arrive_sorted());
    let rows = run(&plan, grouped_shards());
    assert_eq!(
        rows.iter().map(|r| r[1].clone()).collect::<Vec<_>>(),
        vec![i(10), i(3), i(1)]
    );
    let mut sorted = rows.clone();
    sorted.sort_by(|a, b| a[0].sql_cmp(&b[0]));
    assert_eq!(sorted, expected_groups());
}

#[test]
fn avg_is_weighted_by_shard_counts() {
    // Shard A: 2 rows summing to 10 (avg 5); shard B: 8 rows summing to 80
    // (avg 10). The true average is 90 / 10 = 9, not (5 + 10) / 2.
    let plan = MergePlan {
        aggregates: vec![agg(
            AggregateKind::Avg {
                sum_col: 1,
                count_col: 2,
            },
            0,
        )],
        ..MergePlan::iterate(1)
    };
    let rows = run(
        &plan,
        shards(vec![
            vec![vec![d("5.0000"), i(10), i(2)]],
            vec![vec![d("10.0000"), i(80), i(8)]],
        ]),
    );
    assert_eq!(rows, vec![vec![d("9")]]);
    assert!(matches!(&rows[0][0], Value::Decimal(v) if v.to_string() == "9.0000"));
}

#[test]
fn aggregates_without_group_by_give_one_row() {
    // SELECT COUNT(*), MAX(x), SUM(x), MIN(x)
    let plan = MergePlan {
        aggregates: vec![
            agg(AggregateKind::Count, 0),
            agg(AggregateKind::Max, 1),
            agg(AggregateKind::Sum, 2),
            agg(AggregateKind::Min, 3),
        ],
        ..MergePlan::iterate(4)
    };
    let rows = run(
        &plan,
        shards(vec![
            vec![vec![i(3), i(7), i(12), i(1)]],
            vec![vec![i(0), N, N, N]],
            vec![vec![i(2), i(9), i(i64::MAX), i(4)]],
        ]),
    );
    let big_sum = Decimal::from(i64::MAX)
        .checked_add(Decimal::from(12))
        .unwrap();
    assert_eq!(rows, vec![vec![i(5), i(9), Value::Decimal(big_sum), i(1)]]);

    // No shard returned a row at all.
    let rows = run(&plan, shards(vec![vec![], vec![]]));
    assert_eq!(rows, vec![vec![i(0), N, N, N]]);
    let rows = run(&plan, Vec::new());
    assert_eq!(rows, vec![vec![i(0), N, N, N]]);
}

#[test]
fn distinct_adjacent_and_hashed() {
    let input = || {
        shards(vec![
            vec![vec![i(1), t("x"), i(100)], vec![i(2), t("y"), i(101)]],
            vec![vec![i(1), t("x"), i(102)], vec![i(3), t("y"), i(103)]],
        ])
    };
    // Sorted on both output columns: duplicates are neighbours. Column 2 is
    // derived and differs, yet the rows are duplicates to the client.
    let plan = MergePlan {
        distinct: true,
        ..ordered(2, vec![SortKey::asc(0), SortKey::asc(1)])
    };
    assert!(plan.duplicates_arrive_adjacent());
    let expected = vec![vec![i(1), t("x")], vec![i(2), t("y")], vec![i(3), t("y")]];
    assert_eq!(run(&plan, input()), expected);

    let plan = MergePlan {
        distinct: true,
        ..MergePlan::iterate(2)
    };
    assert_eq!(
        run(&plan, input()),
        vec![vec![i(1), t("x")], vec![i(2), t("y")], vec![i(3), t("y")]]
    );
    // NULLs are one value to DISTINCT.
    assert_eq!(
        run(&plan, shards(vec![vec![vec![N, N]], vec![vec![N, N]]])),
        vec![vec![N, N]]
    );
}

#[test]
fn memory_limit_is_a_clear_error() {
    let plan = MergePlan {
        memory_limit_bytes: 200,
        ..group_plan(vec![SortKey::desc(1)])
    };
    let (_, err) = run_err(&plan, grouped_shards());
    assert!(
        matches!(err, MergeError::MemoryLimit { limit: 200, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("GROUP BY") && message.contains("200 bytes"),
        "{message}"
    );
    assert!(message.contains("ORDER BY"), "{message}");

    let plan = MergePlan {
        distinct: true,
        memory_limit_bytes: 300,
        ..MergePlan::iterate(1)
    };
    let (rows, err) = run_err(&plan, vec![shard((0..100).map(|v| vec![i(v)]).collect())]);
    assert!(!rows.is_empty() && rows.len() < 100);
    assert!(err.to_string().contains("DISTINCT"), "{err}");
}

#[test]
fn shard_error_midway_ends_the_merge() {
    let failing = || -> RowStream {
        Box::pin(stream::iter(vec![
            Ok(Row::new(vec![i(2)])),
            Err(MergeError::Source(Box::new(std::io::Error::other(
                "connection reset",
            )))),
            Ok(Row::new(vec![i(4)])),
        ]))
    };
    let healthy = || shard(vec![vec![i(1)], vec![i(3)], vec![i(5)]]);

    for plan in [
        MergePlan::iterate(1),
        ordered(1, vec![SortKey::asc(0)]),
        MergePlan {
            group_by: vec![0],
            ..ordered(1, vec![SortKey::asc(0)])
        },
        MergePlan {
            group_by: vec![0],
            ..MergePlan::iterate(1)
        },
        MergePlan {
            aggregates: vec![agg(AggregateKind::Sum, 0)],
            ..MergePlan::iterate(1)
        },
    ] {
        let (rows, err) = run_err(&plan, vec![healthy(), failing()]);
        assert!(rows.len() <= 4, "{plan:?}: {rows:?}");
        assert!(!rows.contains(&vec![i(4)]), "{plan:?}");
        let MergeError::Source(source) = err else {
            panic!("{plan:?}: {err:?}");
        };
        assert_eq!(source.to_string(), "connection reset");
    }
}

#[test]
fn sum_of_text_names_the_column() {
    let plan = MergePlan {
        aggregates: vec![agg(AggregateKind::Sum, 1)],
        ..MergePlan::iterate(2)
    };
    let (_, err) = run_err(&plan, shards(vec![vec![vec![i(1), t("abc")]]]));
    assert!(matches!(err, MergeError::Type { column: 1, .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("SUM") && message.contains("abc"),
        "{message}"
    );
}

#[test]
fn raw_rows_pass_through_until_changed() {
    let raw = |v: i64| -> RowStream {
        Box::pin(stream::iter(vec![Ok(Row::with_raw(
            vec![i(v)],
            format!("raw{v}").into_bytes(),
        ))]))
    };
    let merged: Vec<Row> =
        block_on(merge(&ordered(1, vec![SortKey::asc(0)]), vec![raw(2), raw(1)]).try_collect())
            .unwrap();
    assert_eq!(merged[0].raw(), Some(&b"raw1"[..]));
    assert_eq!(merged[1].raw(), Some(&b"raw2"[..]));

    // A derived column is dropped, so the backend encoding is stale.
    let with_derived = Box::pin(stream::iter(vec![Ok(Row::with_raw(
        vec![i(1), i(2)],
        b"raw".to_vec(),
    ))])) as RowStream;
    let merged: Vec<Row> =
        block_on(merge(&MergePlan::iterate(1), vec![with_derived]).try_collect()).unwrap();
    assert_eq!(merged[0].values(), &[i(1)]);
    assert_eq!(merged[0].raw(), None);
}
