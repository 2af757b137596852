//! The committed corpus: every manifest entry replays against a fresh
//! server of its kind with no difference beyond what it declares (or, for
//! a capture declared a known failure in configuration `own`, still fails
//! as declared).
//!
//! `cargo test -p shardwire-conformance --test corpus -- --ignored
//! regenerate_corpus` records the corpus anew (real clients through the
//! relay, against testkit servers) from the scripts in `scripts/`.

mod common;

use std::time::Instant;

use common::*;
use shardwire_conformance::detect::Protocol;
use shardwire_conformance::manifest::load_manifest;

#[test]
fn every_corpus_capture_replays_against_a_fresh_server() {
    let (manifest, dir) = load_manifest(&corpus_dir().join("manifest.toml")).expect("the manifest");
    assert!(!manifest.captures.is_empty(), "the corpus is empty");
    let mut pg = None;
    let mut my = None;
    let mut failures = Vec::new();
    for entry in &manifest.captures {
        let path = dir.join(&entry.file);
        let cap = shardwire_conformance::load_capture(&path).expect("the capture reads");
        assert!(!cap.dialogs.is_empty(), "{}", entry.file);
        let (target, user, password) = match entry.protocol().expect("protocol") {
            Protocol::Postgres => {
                let s = pg.get_or_insert_with(|| {
                    shardwire_testkit::PgInstance::start().expect("PostgreSQL starts")
                });
                (
                    format!("{}:{}", s.host(), s.port()),
                    s.user().to_owned(),
                    s.password().to_owned(),
                )
            }
            Protocol::MySql => {
                let s = my.get_or_insert_with(|| {
                    shardwire_testkit::MariaDbInstance::start().expect("MariaDB starts")
                });
                (
                    format!("{}:{}", s.host(), s.port()),
                    s.user().to_owned(),
                    s.password().to_owned(),
                )
            }
        };
        let started = Instant::now();
        let report = replay_against(&path, target, &user, &password, entry.compare_options())
            .expect("replays");
        eprintln!(
            "corpus {}: {} request(s), {} difference(s), {} ms",
            entry.file,
            report.requests,
            report.differences,
            started.elapsed().as_millis()
        );
        match (report.agrees(), entry.known_failure("own")) {
            (true, None) => {}
            (false, None) => failures.push(format!("{}:\n{}", entry.file, report.to_text())),
            (true, Some(k)) => failures.push(format!(
                "{}: declared to fail on its own kind of server ({}), but passes",
                entry.file, k.reason
            )),
            (false, Some(k)) => {
                let first = report.connections.iter().find_map(|c| {
                    c.differences
                        .first()
                        .map(|d| d.request.clone())
                        .or_else(|| c.error.clone())
                });
                if !first.is_some_and(|f| f.contains(&k.first_difference)) {
                    failures.push(format!(
                        "{}: fails, but not as declared ({:?}):\n{}",
                        entry.file,
                        k.first_difference,
                        report.to_text()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Scenario scripts by manifest entry: (capture file, script and its
/// arguments, protocol).
const SCENARIOS: &[(&str, &str, Protocol)] = &[
    ("psql-basic.pcap", "psql-basic.sh", Protocol::Postgres),
    ("psql-meta.pcap", "psql-meta.sh", Protocol::Postgres),
    ("mariadb-basic.pcap", "mariadb-basic.sh", Protocol::MySql),
    (
        "psycopg3-basic.pcap",
        "psycopg3-basic.sh",
        Protocol::Postgres,
    ),
    ("pymysql-basic.pcap", "pymysql-basic.sh", Protocol::MySql),
    (
        "mysqlconnector-prepared.pcap",
        "mysqlconnector-prepared.sh",
        Protocol::MySql,
    ),
    (
        "drv-psql.pcap",
        "driver-scenario.sh psql",
        Protocol::Postgres,
    ),
    (
        "drv-psycopg3.pcap",
        "driver-scenario.sh psycopg3",
        Protocol::Postgres,
    ),
    (
        "drv-psycopg2.pcap",
        "driver-scenario.sh psycopg2",
        Protocol::Postgres,
    ),
    (
        "drv-asyncpg.pcap",
        "driver-scenario.sh asyncpg",
        Protocol::Postgres,
    ),
    (
        "drv-pg8000.pcap",
        "driver-scenario.sh pg8000",
        Protocol::Postgres,
    ),
    (
        "drv-node-pg.pcap",
        "driver-scenario.sh node-pg",
        Protocol::Postgres,
    ),
    (
        "drv-postgresjs.pcap",
        "driver-scenario.sh postgresjs",
        Protocol::Postgres,
    ),
    (
        "drv-pgjdbc.pcap",
        "driver-scenario.sh pgjdbc",
        Protocol::Postgres,
    ),
    (
        "drv-pymysql.pcap",
        "driver-scenario.sh pymysql",
        Protocol::MySql,
    ),
    (
        "drv-mysqlclient.pcap",
        "driver-scenario.sh mysqlclient",
        Protocol::MySql,
    ),
    (
        "drv-aiomysql.pcap",
        "driver-scenario.sh aiomysql",
        Protocol::MySql,
    ),
    (
        "drv-mysqlconnector-prepared.pcap",
        "driver-scenario.sh mysqlconnector-prepared",
        Protocol::MySql,
    ),
    (
        "drv-mysqlconnector-text.pcap",
        "driver-scenario.sh mysqlconnector-text",
        Protocol::MySql,
    ),
    (
        "drv-mysql2-execute.pcap",
        "driver-scenario.sh mysql2-execute",
        Protocol::MySql,
    ),
    (
        "drv-mysql2-query.pcap",
        "driver-scenario.sh mysql2-query",
        Protocol::MySql,
    ),
    (
        "drv-connectorj-server-prep.pcap",
        "driver-scenario.sh connectorj-server-prep",
        Protocol::MySql,
    ),
    (
        "drv-connectorj-client-prep.pcap",
        "driver-scenario.sh connectorj-client-prep",
        Protocol::MySql,
    ),
    (
        "psycopg3-pipeline.pcap",
        "psycopg3-pipeline.sh",
        Protocol::Postgres,
    ),
    ("asyncpg-copy.pcap", "asyncpg-copy.sh", Protocol::Postgres),
    ("errors-pg.pcap", "errors-pg.sh", Protocol::Postgres),
    ("errors-mysql.pcap", "errors-mysql.sh", Protocol::MySql),
    (
        "jdbc-metadata-pg.pcap",
        "jdbc-metadata-pg.sh",
        Protocol::Postgres,
    ),
    (
        "jdbc-metadata-mariadb.pcap",
        "jdbc-metadata-mariadb.sh",
        Protocol::MySql,
    ),
    (
        "connectorj-batch.pcap",
        "connectorj-batch.sh",
        Protocol::MySql,
    ),
    ("mariadb-dump.pcap", "mariadb-dump.sh", Protocol::MySql),
    ("pgbench.pcap", "pgbench.sh", Protocol::Postgres),
    (
        "sqlalchemy-pg.pcap",
        "sqlalchemy-orm.sh",
        Protocol::Postgres,
    ),
    (
        "sqlalchemy-mysql.pcap",
        "sqlalchemy-orm-mysql.sh",
        Protocol::MySql,
    ),
    ("django-pg.pcap", "django-orm.sh", Protocol::Postgres),
    ("psql-describe.pcap", "psql-describe.sh", Protocol::Postgres),
];

/// The manifest and [`SCENARIOS`] agree: every capture but the dumpcap one
/// (recorded by hand, see scripts/dumpcap-pg.sh) is regenerated by the
/// script the manifest names, and every scenario is in the manifest.
#[test]
fn every_capture_has_its_recording_scenario() {
    let (manifest, _) = load_manifest(&corpus_dir().join("manifest.toml")).expect("the manifest");
    for entry in &manifest.captures {
        if entry.script == "scripts/dumpcap-pg.sh" {
            continue;
        }
        let found = SCENARIOS.iter().find(|(file, ..)| *file == entry.file);
        let Some((_, script, protocol)) = found else {
            panic!("{} has no entry in SCENARIOS", entry.file);
        };
        assert_eq!(entry.script, format!("scripts/{script}"), "{}", entry.file);
        assert_eq!(
            entry.protocol().expect("protocol"),
            *protocol,
            "{}",
            entry.file
        );
    }
    for (file, ..) in SCENARIOS {
        assert!(
            manifest.captures.iter().any(|e| e.file == *file),
            "{file} is recorded but not in the manifest"
        );
    }
}

/// Records every scenario of [`SCENARIOS`], or with CONFORMANCE_ONLY set,
/// those whose capture file contains one of its comma-separated words.
#[test]
#[ignore = "records the corpus anew; run by hand"]
fn regenerate_corpus() {
    let only: Vec<String> = std::env::var("CONFORMANCE_ONLY")
        .map(|v| v.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let pg = shardwire_testkit::PgInstance::start().expect("PostgreSQL starts");
    let my = shardwire_testkit::MariaDbInstance::start().expect("MariaDB starts");
    for (file, script, protocol) in SCENARIOS {
        if !only.is_empty() && !only.iter().any(|w| file.contains(w.as_str())) {
            continue;
        }
        let out = corpus_dir().join(file);
        // Every connection the client opens, until it exits.
        let (summary, output) = match protocol {
            Protocol::Postgres => record(
                &format!("{}:{}", pg.host(), pg.port()),
                &out,
                None,
                |port| run_script(script, &pg_env(port, &pg)),
            ),
            Protocol::MySql => record(
                &format!("{}:{}", my.host(), my.port()),
                &out,
                None,
                |port| run_script(script, &mariadb_env(port, &my)),
            ),
        };
        eprintln!(
            "{file}: {} connection(s), {} packet(s); script exit {:?}",
            summary.connections, summary.packets, output.status
        );
        assert!(
            output.status.success(),
            "{script} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
