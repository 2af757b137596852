//! sysbench through the MySQL frontend: `oltp_point_select` and
//! `oltp_read_only` for 30 s at 8 threads each over sbtest1 sharded by id
//! on two MariaDB shards, with no error and no reconnect. sysbench prepares
//! its statements on the server (COM_STMT_PREPARE / EXECUTE), and
//! oltp_read_only's BETWEEN ranges, SUM, ORDER BY and DISTINCT go to both
//! shards. Throughput is measured in benches/ (mysql-sharded), not here.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[path = "support_mysql/mod.rs"]
mod support_mysql;

use std::process::Command;

use support_mysql::{PASSWORD, USER};

const TABLE_SIZE: u32 = 10_000;

/// sbtest1's rows go to ds_${id % 2}; ranges of id to both shards.
const SBTEST_RULES: &str = "\
- !SHARDING
  tables:
    sbtest1:
      actualDataNodes: ds_${0..1}.sbtest1
      databaseStrategy:
        standard:
          shardingColumn: id
          shardingAlgorithmName: by_id
  shardingAlgorithms:
    by_id:
      type: INLINE
      props:
        algorithm-expression: ds_${id % 2}
        allow-range-query-with-inline-sharding: true
";

fn sysbench(test: &str, port: u16, user: &str, password: &str, db: &str, extra: &[&str]) -> String {
    let out = Command::new("sysbench")
        .arg(test)
        .args([
            "--db-driver=mysql",
            "--mysql-host=127.0.0.1",
            &format!("--mysql-port={port}"),
            &format!("--mysql-user={user}"),
            &format!("--mysql-password={password}"),
            &format!("--mysql-db={db}"),
            "--tables=1",
            &format!("--table-size={TABLE_SIZE}"),
        ])
        .args(extra)
        .output()
        .expect("sysbench is missing: run scripts/install-deps.sh");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "sysbench {test} {extra:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The first number after `label` in sysbench's summary.
fn figure(report: &str, label: &str) -> f64 {
    report
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} in:\n{report}"))
}

#[test]
fn sysbench_point_select_and_read_only_through_two_shards() {
    let d = support_mysql::start_with_rules(SBTEST_RULES);
    // Each shard gets the whole table from sysbench, then keeps its half.
    for (k, shard) in d.shards.iter().enumerate() {
        sysbench(
            "oltp_read_only",
            shard.port(),
            shard.user(),
            shard.password(),
            shard.database(),
            &["prepare"],
        );
        shard
            .mysql(&format!("DELETE FROM sbtest1 WHERE id % 2 <> {k}"))
            .unwrap();
    }
    assert_eq!(
        d.mariadb_ok("SELECT COUNT(*) FROM sbtest1 WHERE id BETWEEN 1 AND 100;"),
        "100\n"
    );

    for test in ["oltp_point_select", "oltp_read_only"] {
        let report = sysbench(
            test,
            d.port,
            USER,
            PASSWORD,
            "sharding_db",
            &["--threads=8", "--time=30", "run"],
        );
        let context = format!("{test}:\n{report}\nproxy log:\n{}", d.proxy.log_tail());
        let transactions = figure(&report, "transactions:");
        let tps = report
            .lines()
            .find(|l| l.trim_start().starts_with("transactions:"))
            .and_then(|l| l.split('(').nth(1))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(0.0);
        assert!(transactions > 0.0 && tps > 0.0, "{context}");
        assert_eq!(figure(&report, "ignored errors:"), 0.0, "{context}");
        assert_eq!(figure(&report, "reconnects:"), 0.0, "{context}");
        eprintln!("sysbench {test}, 8 threads, 30 s through Shardwire: {transactions} transactions, {tps} TPS");
    }
}
