// Tests unwrap: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]
//! The same query on one unsharded table and through the merge over shards
//! must give the same rows. The "databases" here are a few lines of Rust over
//! deterministic pseudo-random rows.

use std::collections::BTreeMap;

use futures::executor::block_on;
use futures::stream::{self, TryStreamExt};
use shardwire_kernel::merge::{
    merge, Aggregate, AggregateKind, Decimal, MergePlan, Row, RowStream, SortKey, Value,
    AVG_EXTRA_SCALE,
};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }

    fn maybe(&mut self, below: u64, null_one_in: u64) -> Option<i64> {
        let v = self.next(below) as i64 - (below as i64 / 2);
        (self.next(null_one_in) != 0).then_some(v)
    }
}

/// (id, g, x): g and x are sometimes NULL.
type Source = (i64, Option<i64>, Option<i64>);

fn table(seed: u64, rows: usize) -> Vec<Source> {
    let mut rng = Lcg(seed);
    (0..rows as i64)
        .map(|id| (id, rng.maybe(8, 9), rng.maybe(100, 7)))
        .collect()
}

fn opt(v: Option<i64>) -> Value {
    v.map_or(Value::Null, Value::Int)
}

fn to_stream(rows: Vec<Vec<Value>>) -> RowStream {
    Box::pin(stream::iter(rows.into_iter().map(|v| Ok(Row::new(v)))))
}

fn split(rows: &[Source], shards: usize) -> Vec<Vec<Source>> {
    let mut out = vec![Vec::new(); shards];
    for row in rows {
        out[(row.0 as usize * 7 + 3) % shards].push(*row);
    }
    out
}

/// SELECT g, COUNT(x), SUM(x), MIN(x), MAX(x), AVG(x), SUM(x), COUNT(x)
/// FROM t GROUP BY g ORDER BY g (NULLS LAST), as one database answers it.
fn group_query(rows: &[Source]) -> Vec<Vec<Value>> {
    let mut groups: BTreeMap<(bool, Option<i64>), Vec<i64>> = BTreeMap::new();
    for (_, g, x) in rows {
        let xs = groups.entry((g.is_none(), *g)).or_default();
        xs.extend(x);
    }
    groups
        .into_iter()
        .map(|((_, g), xs)| {
            let count = xs.len() as i64;
            let sum = (!xs.is_empty()).then(|| xs.iter().sum::<i64>());
            let avg = sum.map_or(Value::Null, |s| {
                Value::Decimal(
                    Decimal::from(s)
                        .checked_div_int(i128::from(count), AVG_EXTRA_SCALE)
                        .unwrap(),
                )
            });
            vec![
                opt(g),
                Value::Int(count),
                opt(sum),
                opt(xs.iter().min().copied()),
                opt(xs.iter().max().copied()),
                avg,
                opt(sum),
                Value::Int(count),
            ]
        })
        .collect()
}

fn group_plan(order_by: Vec<SortKey>) -> MergePlan {
    let agg = |kind, column| Aggregate { kind, column };
    MergePlan {
        order_by,
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
        ..MergePlan::iterate(6)
    }
}

fn run(plan: &MergePlan, shards: Vec<RowStream>) -> Vec<Vec<Value>> {
    block_on(merge(plan, shards).map_ok(Row::into_values).try_collect()).unwrap()
}

#[test]
fn group_by_matches_one_database() {
    for (seed, rows, shard_count) in [(1, 500, 4), (2, 50, 7), (3, 3000, 2), (4, 5, 8)] {
        let all = table(seed, rows);
        let mut expected = group_query(&all);
        for row in &mut expected {
            row.truncate(6);
        }
        let shard_results = || {
            split(&all, shard_count)
                .iter()
                .map(|rows| to_stream(group_query(rows)))
                .collect::<Vec<_>>()
        };

        let sorted = group_plan(vec![SortKey::asc(0)]);
        assert!(sorted.groups_arrive_sorted());
        assert_eq!(run(&sorted, shard_results()), expected, "seed {seed}");

        // Same groups through the hash path, compared after sorting by g.
        let hashed = group_plan(Vec::new());
        let mut rows = run(&hashed, shard_results());
        rows.sort_by_key(|r| match r[0] {
            Value::Int(g) => (false, g),
            _ => (true, 0),
        });
        assert_eq!(rows, expected, "seed {seed}");
    }
}

#[test]
fn order_by_with_limit_matches_one_database() {
    // SELECT id, x FROM t ORDER BY x ASC (MySQL: NULLs first), id DESC
    // LIMIT 17 OFFSET 23: each shard runs it with LIMIT 40 and no offset.
    let keys = vec![
        SortKey {
            nulls_first: true,
            ..SortKey::asc(1)
        },
        SortKey::desc(0),
    ];
    let sort = |rows: &mut Vec<Source>| {
        rows.sort_by(|a, b| {
            (a.2.is_some(), a.2)
                .cmp(&(b.2.is_some(), b.2))
                .then(b.0.cmp(&a.0))
        })
    };
    for (seed, count, shard_count) in [(5, 400, 3), (6, 30, 5), (7, 1000, 16)] {
        let mut all = table(seed, count);
        let shards = split(&all, shard_count)
            .into_iter()
            .map(|mut rows| {
                sort(&mut rows);
                rows.truncate(40);
                to_stream(
                    rows.iter()
                        .map(|(id, _, x)| vec![Value::Int(*id), opt(*x)])
                        .collect(),
                )
            })
            .collect();
        sort(&mut all);
        let expected: Vec<Vec<Value>> = all
            .iter()
            .skip(23)
            .take(17)
            .map(|(id, _, x)| vec![Value::Int(*id), opt(*x)])
            .collect();
        let plan = MergePlan {
            order_by: keys.clone(),
            offset: 23,
            limit: Some(17),
            ..MergePlan::iterate(2)
        };
        assert_eq!(run(&plan, shards), expected, "seed {seed}");
    }
}
