//! Criterion micro-benchmarks of the kernel's hot path: parse (cold and
//! cached), statement context, route and rewrite (AST printing) of a point
//! select over the quickstart rules, the whole `plan_with` of it (cached
//! parse, cached context, route, spliced rewrite), and the order-by merge of
//! 4 shards. Inputs are fixed or seeded, so runs differ only by the
//! machine's noise.
//!
//! `cargo bench -p shardwire-kernel --bench kernel`

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use futures::executor::block_on;
use futures::stream::{self, StreamExt};
use shardwire_kernel::merge::{merge, MergePlan, Row, RowStream, SortKey, Value};
use shardwire_kernel::{
    parse_one, plan, plan_with, rewrite, route, Dialect, ParseCache, PlanOptions, StatementContext,
};
use shardwire_rules::{load_dir, ShardingValue};

const POINT_SELECT: &str =
    "SELECT order_id, user_id, status FROM t_order WHERE user_id = ? AND order_id = ?";

fn quickstart() -> std::sync::Arc<shardwire_rules::snapshot::LogicalDatabase> {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quickstart/conf");
    let snapshot = load_dir(&conf).expect("the quickstart config loads");
    snapshot
        .database("sharding_db")
        .expect("sharding_db is defined")
        .clone()
}

fn point_select(c: &mut Criterion) {
    let db = quickstart();
    let params = [ShardingValue::Int(7), ShardingValue::Int(1001)];
    let cache = ParseCache::new(1024);
    let statement = cache.parse(Dialect::MySql, POINT_SELECT).expect("parses");
    let context = StatementContext::new(&statement);
    let routed = route(&db, &context, &params).expect("routes");
    assert_eq!(routed.units.len(), 1, "a point select routes to one unit");

    let mut g = c.benchmark_group("point_select");
    g.bench_function("parse_cold", |b| {
        b.iter(|| parse_one(Dialect::MySql, black_box(POINT_SELECT)))
    });
    g.bench_function("parse_cached", |b| {
        b.iter(|| cache.parse(Dialect::MySql, black_box(POINT_SELECT)))
    });
    g.bench_function("context", |b| {
        b.iter(|| StatementContext::new(black_box(&statement)))
    });
    g.bench_function("route", |b| {
        b.iter(|| route(&db, black_box(&context), black_box(&params)))
    });
    g.bench_function("rewrite", |b| {
        b.iter(|| rewrite(black_box(&statement), black_box(&routed)))
    });
    g.bench_function("cached_parse_route_rewrite", |b| {
        b.iter(|| {
            plan(
                &cache,
                &db,
                Dialect::MySql,
                black_box(POINT_SELECT),
                &params,
            )
        })
    });
    g.bench_function("plan_with", |b| {
        b.iter(|| {
            plan_with(
                &cache,
                &db,
                Dialect::MySql,
                black_box(POINT_SELECT),
                &params,
                &PlanOptions::default(),
            )
        })
    });
    g.finish();
}

/// 4 sorted shards of `rows` keys each, interleaved, from a fixed formula.
fn shards(rows: i64) -> Vec<RowStream> {
    (0..4)
        .map(|s| -> RowStream {
            Box::pin(stream::iter((0..rows).map(move |n| {
                Ok(Row::new(vec![Value::Int(n * 4 + s), Value::Int(n % 97)]))
            })))
        })
        .collect()
}

fn order_by_merge(c: &mut Criterion) {
    let plan = MergePlan {
        order_by: vec![SortKey::asc(0)],
        ..MergePlan::iterate(2)
    };
    c.bench_function("merge/order_by_4x10k", |b| {
        b.iter(|| block_on(merge(&plan, shards(10_000)).count()))
    });
}

criterion_group!(benches, point_select, order_by_merge);
criterion_main!(benches);
