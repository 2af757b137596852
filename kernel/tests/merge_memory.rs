// Tests unwrap: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]
//! The ORDER BY merge must hold O(shards) rows, never a shard's result: 4
//! shards of 1,000,000 lazily generated rows go through it while the peak
//! resident set (VmHWM) stays small. Its own binary so no other test's
//! allocations count. Run with:
//! `cargo test --release -p shardwire-kernel --test merge_memory -- --nocapture`

use std::time::Instant;

use futures::executor::block_on;
use futures::stream::{self, StreamExt};
use shardwire_kernel::merge::{merge, MergePlan, Row, RowStream, SortKey, Value};

const SHARDS: i64 = 4;
const ROWS_PER_SHARD: i64 = 1_000_000;
const MAX_HWM_KIB: u64 = 64 * 1024;

/// Shard `s` holds keys s, s + 4, s + 8, ...: sorted, and interleaved with
/// the other shards so the heap reorders on every row.
fn generated_shard(s: i64) -> RowStream {
    Box::pin(stream::unfold(0i64, move |n| async move {
        (n < ROWS_PER_SHARD).then(|| {
            let key = n * SHARDS + s;
            let row = Row::new(vec![Value::Int(key), Value::Text(format!("row-{key}"))]);
            (Ok(row), n + 1)
        })
    }))
}

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn order_by_merge_of_4m_rows_stays_small() {
    let plan = MergePlan {
        order_by: vec![SortKey::asc(0)],
        ..MergePlan::iterate(2)
    };
    let shards = (0..SHARDS).map(generated_shard).collect();
    let started = Instant::now();
    let (count, last) = block_on(merge(&plan, shards).fold(
        (0i64, None::<i64>),
        |(count, last), row| async move {
            let row = row.unwrap();
            let Value::Int(key) = *row.get(0) else {
                panic!("{row:?}")
            };
            // Keys are 0, 1, 2, ... with no gap: order and completeness at once.
            assert_eq!(key, last.map_or(0, |k| k + 1));
            (count + 1, Some(key))
        },
    ));
    let elapsed = started.elapsed();
    let hwm = vm_hwm_kib();
    eprintln!(
        "merged {count} rows from {SHARDS} shards in {elapsed:?}; VmHWM {hwm} KiB ({:.1} MiB)",
        hwm as f64 / 1024.0
    );
    assert_eq!(count, SHARDS * ROWS_PER_SHARD);
    assert_eq!(last, Some(SHARDS * ROWS_PER_SHARD - 1));
    assert!(hwm < MAX_HWM_KIB, "VmHWM {hwm} KiB");
}
