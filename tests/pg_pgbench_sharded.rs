// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! pgbench on a sharded database, as a user would run it: `pgbench -i`
//! through the proxy (its multi-table DROP, CREATE, COPY ... FROM STDIN
//! WITH (FREEZE ON) inside a transaction with TRUNCATE, VACUUM ANALYZE,
//! ALTER TABLE ADD PRIMARY KEY), then the default TPC-B-like script at
//! four clients and the select-only one, and server-side generation
//! (`-I G`: INSERT ... SELECT FROM generate_series into the sharded
//! table). pgbench_accounts and
//! pgbench_history are sharded by aid over the two shards; branches and
//! tellers are broadcast, so every transaction writes both shards' copy of
//! the one branch row: concurrent transactions must not deadlock across
//! shards, and the money must add up.
//!
//! CI runs scale 2 for 10 s; the full run (scale 10, 30 s) is
//! `SHARDWIRE_PGBENCH_SCALE=10 SHARDWIRE_PGBENCH_SECS=30 cargo test --test
//! pg_pgbench_sharded -- --nocapture`, which prints pgbench's reports.

mod support;

use std::process::Command;

use support::{start_with_rules, Deployment, PASSWORD, USER};

const RULES: &str = "\
- !SHARDING
  tables:
    pgbench_accounts:
      actualDataNodes: ds_${0..1}.pgbench_accounts
      databaseStrategy:
        standard:
          shardingColumn: aid
          shardingAlgorithmName: by_aid
    pgbench_history:
      actualDataNodes: ds_${0..1}.pgbench_history
      databaseStrategy:
        standard:
          shardingColumn: aid
          shardingAlgorithmName: by_aid
  bindingTables:
    - pgbench_accounts,pgbench_history
  shardingAlgorithms:
    by_aid:
      type: MOD
      props:
        sharding-count: 2
- !BROADCAST
  tables:
    - pgbench_branches
    - pgbench_tellers
";

fn pgbench(d: &Deployment, args: &[&str]) -> String {
    let out = Command::new(support::pgbench())
        .args(args)
        .args(["-h", "127.0.0.1", "-p", &d.port.to_string(), "-U", USER])
        .arg("sharding_db")
        .env("PGPASSWORD", PASSWORD)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "pgbench {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}\nproxy log:\n{}",
        d.proxy.log_tail()
    );
    format!("{stdout}{stderr}")
}

fn one(d: &Deployment, sql: &str) -> String {
    d.psql_ok("sharding_db", sql).trim().to_owned()
}

/// A knob of the on-demand full run, or its CI value.
fn knob(name: &str, ci: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ci)
}

#[test]
fn pgbench_initialises_and_runs_on_a_sharded_database() {
    let d = start_with_rules(RULES);
    let scale = knob("SHARDWIRE_PGBENCH_SCALE", 2);
    let secs = knob("SHARDWIRE_PGBENCH_SECS", 10).to_string();
    let select_secs = knob("SHARDWIRE_PGBENCH_SECS", 5).to_string();
    let init = pgbench(&d, &["-i", "-s", &scale.to_string()]);
    assert!(init.contains("done in"), "{init}");
    eprintln!("pgbench -i -s {scale}:\n{init}");
    // 100,000 accounts per scale, split by aid % 2: each shard holds only
    // its own.
    for (shard, parity) in [(0, 0), (1, 1)] {
        let counts = d.shards[shard]
            .psql(&format!(
                "select count(*), count(*) filter (where aid % 2 <> {parity}) from pgbench_accounts"
            ))
            .unwrap();
        assert_eq!(
            counts.trim(),
            format!("{}|0", scale * 50_000),
            "shard {shard}"
        );
        let copies = d.shards[shard]
            .psql("select (select count(*) from pgbench_branches), (select count(*) from pgbench_tellers)")
            .unwrap();
        assert_eq!(
            copies.trim(),
            format!("{scale}|{}", scale * 10),
            "shard {shard}: broadcast tables whole"
        );
    }
    assert_eq!(
        one(&d, "select count(*) from pgbench_accounts"),
        (scale * 100_000).to_string()
    );

    let run = pgbench(&d, &["-T", &secs, "-c", "4", "-j", "2"]);
    eprintln!("pgbench -T {secs} -c 4:\n{run}");
    assert!(run.contains("number of failed transactions: 0"), "{run}");
    let transactions: u64 = run
        .lines()
        .find_map(|l| l.strip_prefix("number of transactions actually processed: "))
        .and_then(|n| n.split('/').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    assert!(transactions > 0, "{run}");
    // Every transaction moved one delta into an account, a teller, a
    // branch and the history: the four sums agree, and both shards' copies
    // of the broadcast tables agree.
    let accounts = one(&d, "select sum(abalance) from pgbench_accounts");
    let history = one(&d, "select sum(delta) from pgbench_history");
    let tellers = one(&d, "select sum(tbalance) from pgbench_tellers");
    let branches = one(&d, "select sum(bbalance) from pgbench_branches");
    assert_eq!(
        (&history, &tellers, &branches),
        (&accounts, &accounts, &accounts),
        "history, tellers, branches vs accounts"
    );
    assert_eq!(
        one(&d, "select count(*) from pgbench_history"),
        transactions.to_string()
    );
    for shard in 0..2 {
        let b = d.shards[shard]
            .psql("select sum(bbalance) from pgbench_branches")
            .unwrap();
        assert_eq!(b.trim(), branches, "shard {shard}'s copy of the branches");
    }

    for mode in ["simple", "prepared"] {
        let run = pgbench(
            &d,
            &["-S", "-M", mode, "-T", &select_secs, "-c", "4", "-j", "2"],
        );
        assert!(run.contains("number of failed transactions: 0"), "{run}");
        eprintln!("pgbench -S -M {mode} -T {select_secs} -c 4:\n{run}");
    }

    // Server-side generation (-I G): INSERT INTO pgbench_accounts (...)
    // SELECT ... FROM generate_series(...), each row routed by its aid.
    let init = pgbench(&d, &["-i", "-I", "dtGvp", "-s", "1"]);
    assert!(init.contains("server-side generate"), "{init}");
    for (shard, parity) in [(0, 0), (1, 1)] {
        let counts = d.shards[shard]
            .psql(&format!(
                "select count(*), count(*) filter (where aid % 2 <> {parity}) from pgbench_accounts"
            ))
            .unwrap();
        assert_eq!(counts.trim(), "50000|0", "shard {shard}");
    }
    // Without a column list the sharding column cannot be found yet:
    // refused by name, not guessed.
    let (ok, _, err) = d.psql(
        "sharding_db",
        "INSERT INTO pgbench_history SELECT 1, 1, g, 0 FROM generate_series(1, 2) g",
    );
    assert!(!ok && err.contains("without a column list"), "{err}");
}
