// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! pgbench through the passthrough database: `-S` (simple protocol) and
//! `-M prepared` (extended protocol) for 30 s at 8 clients, with no error.
//! Throughput is measured in benches/, not here.

mod support;

use std::process::Command;

use support::{pgbench, start, PASSWORD, USER};

#[test]
fn pgbench_runs_through_the_passthrough_database() {
    let d = start();
    // Load pgbench's tables straight into the passthrough database's backend.
    let shard = &d.shards[0];
    let init = Command::new(pgbench())
        .args([
            "-i",
            "-s",
            "1",
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            &shard.port().to_string(),
            "-U",
            shard.user(),
            shard.database(),
        ])
        .env("PGPASSWORD", shard.password())
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    for mode in ["simple", "prepared"] {
        let out = Command::new(pgbench())
            .args(["-S", "-M", mode, "-c", "8", "-j", "2", "-T", "30", "-n"])
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &d.port.to_string(),
                "-U",
                USER,
                "direct",
            ])
            .env("PGPASSWORD", PASSWORD)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "pgbench -M {mode} failed: {stderr}\n{stdout}\nproxy log:\n{}",
            d.proxy.log_tail()
        );
        let processed: u64 = stdout
            .lines()
            .find_map(|l| l.strip_prefix("number of transactions actually processed: "))
            .and_then(|n| n.split('/').next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        assert!(processed > 0, "{stdout}");
        let failed = stdout
            .lines()
            .find_map(|l| l.strip_prefix("number of failed transactions: "))
            .and_then(|n| n.split_whitespace().next())
            .unwrap_or("0");
        assert_eq!(failed, "0", "{stdout}");
        eprintln!(
            "pgbench -S -M {mode} through Shardwire passthrough: {processed} transactions in 30 s"
        );
    }
}
