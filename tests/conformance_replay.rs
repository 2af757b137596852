// The shared MySQL test support unwraps: a panic is a failed test.
#![allow(clippy::unwrap_used)]
//! The replay tier of the conformance corpus (issue 12): every capture of
//! conformance/corpus/manifest.toml replayed against
//! - `own`: a fresh server of the kind it was recorded on (proves the
//!   replayer; a known failure here only for a capture bound to the very
//!   server it was recorded on, such as OID literals),
//! - `passthrough`: Shardwire's passthrough database `direct` over one such
//!   server,
//! - `sharded`: Shardwire's logical database `shardwire` with the
//!   scenarios' tables over two shards ([`PG_RULES`], [`mysql_rules`]). It
//!   is named after the database the captures were recorded in, as a team
//!   moving to Shardwire names it after the one its application already
//!   uses: tools name it in their SQL (mariadb-dump's `USE shardwire`,
//!   SQLAlchemy's reflection of `shardwire`.`t_order`),
//!
//! comparing answers within the capture's declared differences. A
//! `[[capture.known_failure]]` of the manifest must still fail, with its
//! declared first difference, so that a fix forces the manifest to change.
//! The table capture x configuration -> result goes to stderr
//! (`--nocapture`) and into the failure message.

mod support_mysql;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shardwire_conformance::detect::Protocol;
use shardwire_conformance::login_pg::Credentials;
use shardwire_conformance::manifest::{load_manifest, ManifestEntry};
use shardwire_conformance::{replay_file, ReplayOptions, Report};
use shardwire_testkit::shardwire::ShardwireProcess;
use shardwire_testkit::{free_port, mariadb_shards, pg_shards, MariaDbInstance, PgInstance};

const USER: &str = "app";
const PASSWORD: &str = "app-secret";
/// The sharded configuration's logical database: the recorded one's name.
const SHARDED_DB: &str = "shardwire";

/// The sharded database for PostgreSQL captures. The driver scenarios' tables
/// (tests/drivers, recorded without prefix) as tests/drivers/conf shards
/// them: `orders` by user_id over the data sources and by order_id over
/// two tables in each, keys by SNOWFLAKE; `regions` broadcast. The small
/// hand-written scenarios' tables (conf_*) are broadcast: their DDL and DML
/// reach both shards, their reads one. pgbench's tables are broadcast too:
/// `pgbench -i -I G` fills pgbench_accounts with INSERT ... SELECT
/// generate_series, which no sharded table takes (ShardingSphere neither),
/// and client-side generation (COPY of 100,000 rows) would make a capture
/// of megabytes. Range
/// conditions on INLINE columns go to every target (as the scenarios'
/// `order_id >= 20` need).
const PG_RULES: &str = "\
- !SHARDING
  tables:
    orders:
      actualDataNodes: ds_${0..1}.orders_${0..1}
      databaseStrategy:
        standard:
          shardingColumn: user_id
          shardingAlgorithmName: by_user
      tableStrategy:
        standard:
          shardingColumn: order_id
          shardingAlgorithmName: by_order
      keyGenerateStrategy:
        column: order_id
        keyGeneratorName: snowflake
  shardingAlgorithms:
    by_user:
      type: INLINE
      props:
        algorithm-expression: ds_${user_id % 2}
        allow-range-query-with-inline-sharding: true
    by_order:
      type: INLINE
      props:
        algorithm-expression: orders_${order_id % 2}
        allow-range-query-with-inline-sharding: true
  keyGenerators:
    snowflake:
      type: SNOWFLAKE
- !BROADCAST
  tables:
    - regions
    - conf_items
    - conf_meta
    - conf_py
    - pgbench_accounts
    - pgbench_branches
    - pgbench_history
    - pgbench_tellers
";

/// The sharded database for MySQL captures: tests/drivers/mysql's `t_order` and
/// `t_region` as tests/support_mysql shards them, conf_* broadcast too.
fn mysql_rules() -> String {
    format!(
        "{}    - conf_items\n    - conf_ps\n    - conf_py\n",
        support_mysql::T_ORDER_RULES
    )
}

/// Every table a scenario may leave behind when its replay stops early.
const PG_TABLES: &str = "orders, orders_0, orders_1, regions, conf_items, conf_meta, conf_py, \
     pgbench_accounts, pgbench_branches, pgbench_history, pgbench_tellers";
const MYSQL_TABLES: &str = "t_order, t_order_0, t_order_1, t_region, conf_items, conf_ps, conf_py";

const CONFIGS: [&str; 3] = ["own", "passthrough", "sharded"];

/// One protocol's servers: its own fresh server, two shards and the proxy
/// serving `direct` (over shard 0) and [`SHARDED_DB`] (over both).
struct Stack {
    own: Server,
    shards: Vec<Server>,
    proxy: ShardwireProcess,
    _conf: tempfile::TempDir,
}

enum Server {
    Pg(PgInstance),
    My(MariaDbInstance),
}

impl Server {
    fn addr(&self) -> String {
        match self {
            Server::Pg(s) => format!("{}:{}", s.host(), s.port()),
            Server::My(s) => format!("{}:{}", s.host(), s.port()),
        }
    }

    fn credentials(&self) -> (String, String) {
        match self {
            Server::Pg(s) => (s.user().to_owned(), s.password().to_owned()),
            Server::My(s) => (s.user().to_owned(), s.password().to_owned()),
        }
    }

    /// Drops what a replay that stopped early left behind, so the next
    /// capture starts on a clean database.
    fn clean(&self) {
        match self {
            Server::Pg(s) => {
                s.psql(&format!("DROP TABLE IF EXISTS {PG_TABLES} CASCADE"))
                    .expect("cleaning a PostgreSQL server");
            }
            Server::My(s) => {
                s.mysql(&format!("DROP TABLE IF EXISTS {MYSQL_TABLES};"))
                    .expect("cleaning a MariaDB server");
            }
        }
    }

    /// `jdbc:` URL of its database for a conf's data source.
    fn data_source(&self) -> String {
        let (url, user, password) = match self {
            Server::Pg(s) => (
                format!("jdbc:postgresql://127.0.0.1:{}/{}", s.port(), s.database()),
                s.user(),
                s.password(),
            ),
            Server::My(s) => (
                format!("jdbc:mysql://127.0.0.1:{}/{}", s.port(), s.database()),
                s.user(),
                s.password(),
            ),
        };
        format!(
            "    url: {url}\n    username: {user}\n    password: {password}\n    maxPoolSize: 8\n    connectionTimeoutMilliseconds: 5000\n"
        )
    }
}

impl Stack {
    fn start(protocol: Protocol) -> Stack {
        let (own, shards, listener, rules) = match protocol {
            Protocol::Postgres => (
                Server::Pg(PgInstance::start().expect("PostgreSQL starts")),
                pg_shards(2)
                    .expect("PostgreSQL shards start")
                    .into_iter()
                    .map(Server::Pg)
                    .collect::<Vec<_>>(),
                "postgresql",
                PG_RULES.to_owned(),
            ),
            Protocol::MySql => (
                Server::My(MariaDbInstance::start().expect("MariaDB starts")),
                mariadb_shards(2)
                    .expect("MariaDB shards start")
                    .into_iter()
                    .map(Server::My)
                    .collect::<Vec<_>>(),
                "mysql",
                mysql_rules(),
            ),
        };
        let conf = tempfile::tempdir().expect("a conf dir");
        let port = free_port().expect("a free port");
        std::fs::write(
            conf.path().join("global.yaml"),
            format!(
                "authority:\n  users:\n    - user: {USER}@%\n      password: {PASSWORD}\n  privilege:\n    type: ALL_PERMITTED\n\
                 listeners:\n  - protocol: {listener}\n    address: 127.0.0.1:{port}\n"
            ),
        )
        .expect("writes global.yaml");
        std::fs::write(
            conf.path().join("database-sharding.yaml"),
            format!(
                "databaseName: {SHARDED_DB}\ndataSources:\n  ds_0:\n{}  ds_1:\n{}rules:\n{rules}",
                shards[0].data_source(),
                shards[1].data_source()
            ),
        )
        .expect("writes database-sharding.yaml");
        std::fs::write(
            conf.path().join("database-direct.yaml"),
            format!(
                "databaseName: direct\ndataSources:\n  ds:\n{}",
                shards[0].data_source()
            ),
        )
        .expect("writes database-direct.yaml");
        let proxy =
            ShardwireProcess::start(Path::new(env!("CARGO_BIN_EXE_shardwire")), conf.path())
                .expect("Shardwire starts");
        Stack {
            own,
            shards,
            proxy,
            _conf: conf,
        }
    }

    /// Replays `capture` in `config` and cleans the servers it touched.
    fn replay(&self, config: &str, capture: &Path, entry: &ManifestEntry) -> Report {
        let (target, user, password, database, touched) = match config {
            "own" => {
                let (u, p) = self.own.credentials();
                (self.own.addr(), u, p, None, vec![&self.own])
            }
            "passthrough" => (
                self.proxy.addr().to_string(),
                USER.to_owned(),
                PASSWORD.to_owned(),
                Some("direct".to_owned()),
                vec![&self.shards[0]],
            ),
            _ => (
                self.proxy.addr().to_string(),
                USER.to_owned(),
                PASSWORD.to_owned(),
                Some(SHARDED_DB.to_owned()),
                self.shards.iter().collect(),
            ),
        };
        let opts = ReplayOptions {
            target,
            credentials: Credentials {
                user,
                password,
                database,
            },
            compare: entry.compare_options(),
            // Far above any captured request's time (pgbench's 100,000-row
            // INSERT ... SELECT on a loaded CI machine included); what
            // exceeds it is a hang, reported as such.
            timeout: Duration::from_secs(20),
        };
        let report = runtime()
            .block_on(replay_file(capture, &opts))
            .unwrap_or_else(|e| panic!("{}: the capture does not load: {e}", entry.file));
        for s in touched {
            s.clean();
        }
        report
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// What a replay in one configuration showed, beyond the declarations.
struct Outcome {
    /// Differences in requests no declaration of this configuration
    /// covers, plus connection errors.
    undeclared: usize,
    /// Differences a declaration covers.
    declared: usize,
    /// The request (or connection error) of the first undeclared one.
    first: Option<String>,
    /// Declarations of this configuration that covered no difference.
    unused: Vec<String>,
}

fn outcome(report: &Report, entry: &ManifestEntry, config: &str) -> Outcome {
    let decls: Vec<_> = entry
        .declared_differences
        .iter()
        .filter(|d| d.config == config)
        .collect();
    let mut used = vec![false; decls.len()];
    let (mut undeclared, mut declared, mut first) = (0, 0, None);
    for c in &report.connections {
        for d in &c.differences {
            match decls.iter().position(|x| d.request.contains(&x.request)) {
                Some(i) if d.error.is_none() => {
                    used[i] = true;
                    declared += 1;
                }
                _ => {
                    undeclared += 1;
                    first.get_or_insert_with(|| d.request.clone());
                }
            }
        }
        if let Some(e) = &c.error {
            undeclared += 1;
            first.get_or_insert_with(|| e.clone());
        }
    }
    let unused = decls
        .iter()
        .zip(used)
        .filter(|(_, u)| !u)
        .map(|(d, _)| format!("{} {:?}", d.kind, d.request))
        .collect();
    Outcome {
        undeclared,
        declared,
        first,
        unused,
    }
}

fn corpus_manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/corpus/manifest.toml")
}

#[test]
fn every_capture_replays_on_its_server_through_passthrough_and_sharded() {
    let started = Instant::now();
    let (manifest, dir) = load_manifest(&corpus_manifest()).expect("the manifest loads");
    assert!(!manifest.captures.is_empty(), "the corpus is empty");
    let mut pg: Option<Stack> = None;
    let mut my: Option<Stack> = None;
    let mut table = String::new();
    let _ = writeln!(
        table,
        "{:<36} {:<10} {:<26} {:<26} {:<26}",
        "capture", "requests", CONFIGS[0], CONFIGS[1], CONFIGS[2]
    );
    let mut failures = Vec::new();
    // SHARDWIRE_CONFORMANCE_ONLY=a,b replays only the captures whose file
    // name contains one of the words: for working on one driver's failure.
    let only: Vec<String> = std::env::var("SHARDWIRE_CONFORMANCE_ONLY")
        .map(|v| v.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    for entry in &manifest.captures {
        if !only.is_empty() && !only.iter().any(|w| entry.file.contains(w.as_str())) {
            continue;
        }
        let protocol = entry.protocol().expect("a known protocol");
        let stack = match protocol {
            Protocol::Postgres => pg.get_or_insert_with(|| Stack::start(protocol)),
            Protocol::MySql => my.get_or_insert_with(|| Stack::start(protocol)),
        };
        let path = dir.join(&entry.file);
        let mut cells = Vec::new();
        let mut requests = 0;
        for config in CONFIGS {
            let report = stack.replay(config, &path, entry);
            requests = report.requests;
            let known = entry.known_failure(config);
            let o = outcome(&report, entry, config);
            if !o.unused.is_empty() {
                failures.push(format!(
                    "{} / {config}: declared differences that no longer occur; remove them \
                     from the manifest: {}",
                    entry.file,
                    o.unused.join(", ")
                ));
            }
            let cell = match (o.undeclared == 0, known) {
                (true, None) if o.declared == 0 => "pass".to_owned(),
                (true, None) => format!("pass, {} declared", o.declared),
                (false, None) => {
                    failures.push(format!(
                        "{} / {config}: differences not declared in the manifest:\n{}",
                        entry.file,
                        report.to_text()
                    ));
                    format!("FAIL ({} undeclared)", o.undeclared)
                }
                (true, Some(k)) => {
                    failures.push(format!(
                        "{} / {config}: declared known failure now passes; remove it from \
                         the manifest ({})",
                        entry.file, k.reason
                    ));
                    "FAIL (known failure passes)".to_owned()
                }
                (false, Some(k)) => {
                    if o.first
                        .as_deref()
                        .is_some_and(|f| f.contains(&k.first_difference))
                    {
                        format!("known failure ({} diff)", o.undeclared)
                    } else {
                        failures.push(format!(
                            "{} / {config}: fails, but not as declared (first difference \
                             {:?}, declared {:?}):\n{}",
                            entry.file,
                            o.first,
                            k.first_difference,
                            report.to_text()
                        ));
                        "FAIL (other failure)".to_owned()
                    }
                }
            };
            cells.push(cell);
        }
        let _ = writeln!(
            table,
            "{:<36} {:<10} {:<26} {:<26} {:<26}",
            entry.file, requests, cells[0], cells[1], cells[2]
        );
    }
    let _ = writeln!(
        table,
        "{} capture(s) x {} configuration(s) in {:.1} s",
        manifest.captures.len(),
        CONFIGS.len(),
        started.elapsed().as_secs_f64()
    );
    eprintln!("{table}");
    assert!(failures.is_empty(), "{table}\n{}", failures.join("\n\n"));
}
