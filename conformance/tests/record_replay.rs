//! End to end: a real client's session recorded through the relay against
//! a throwaway server, replayed against the same server (no difference),
//! then against a server that answers differently (a difference naming the
//! request).

mod common;

use common::*;
use shardwire_conformance::compare::CompareOptions;
use shardwire_conformance::detect::Protocol;
use shardwire_conformance::dialog::load_capture;

#[test]
fn psql_session_records_and_replays() {
    let pg = shardwire_testkit::PgInstance::start().expect("PostgreSQL starts");
    let dir = tempfile::tempdir().expect("a temp dir");
    let capture = dir.path().join("psql.pcap");
    let upstream = format!("{}:{}", pg.host(), pg.port());
    let (summary, out) = record(&upstream, &capture, 1, |port| {
        run_script("psql-basic.sh", &pg_env(port, &pg))
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("syntax error"),
        "psql ran the scenario: {stderr}"
    );
    assert_eq!(summary.connections, 1);

    let cap = load_capture(&capture).expect("the capture reads");
    assert_eq!(cap.dialogs.len(), 1);
    assert_eq!(cap.dialogs[0].protocol, Protocol::Postgres);
    // One exchange per statement of the script, plus Terminate.
    assert!(
        cap.dialogs[0].exchanges.len() >= 14,
        "{:?}",
        cap.dialogs[0].exchanges.len()
    );

    let same = replay_against(
        &capture,
        upstream.clone(),
        pg.user(),
        pg.password(),
        CompareOptions::default(),
    )
    .expect("replays");
    assert!(same.agrees(), "{}", same.to_text());
    assert!(same.requests >= 14);

    // A pre-existing table: CREATE TABLE now fails with 42P07.
    pg.psql(
        "CREATE TABLE conf_items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2))",
    )
    .expect("creates the table");
    let differs = replay_against(
        &capture,
        upstream,
        pg.user(),
        pg.password(),
        CompareOptions::default(),
    )
    .expect("replays");
    assert!(!differs.agrees());
    let text = differs.to_text();
    assert!(text.contains("CREATE TABLE conf_items"), "{text}");
    assert!(text.contains("42P07"), "{text}");
}

#[test]
fn mariadb_cli_session_records_and_replays() {
    let db = shardwire_testkit::MariaDbInstance::start().expect("MariaDB starts");
    let dir = tempfile::tempdir().expect("a temp dir");
    let capture = dir.path().join("mariadb.pcap");
    let upstream = format!("{}:{}", db.host(), db.port());
    let (summary, out) = record(&upstream, &capture, 1, |port| {
        run_script("mariadb-basic.sh", &mariadb_env(port, &db))
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1064"),
        "mariadb ran the scenario: {stderr}"
    );
    assert_eq!(summary.connections, 1);

    let cap = load_capture(&capture).expect("the capture reads");
    assert_eq!(cap.dialogs.len(), 1);
    assert_eq!(cap.dialogs[0].protocol, Protocol::MySql);

    let same = replay_against(
        &capture,
        upstream.clone(),
        db.user(),
        db.password(),
        CompareOptions::default(),
    )
    .expect("replays");
    assert!(same.agrees(), "{}", same.to_text());

    // A missing privilege: a user that may not create tables.
    db.mysql(
        "CREATE USER 'reader'@'%' IDENTIFIED BY 'reader-secret'; \
         GRANT SELECT ON shardwire.* TO 'reader'@'%';",
    )
    .expect("creates the user");
    let differs = replay_against(
        &capture,
        upstream,
        "reader",
        "reader-secret",
        CompareOptions::default(),
    )
    .expect("replays");
    assert!(!differs.agrees());
    let text = differs.to_text();
    assert!(text.contains("CREATE TABLE conf_items"), "{text}");
    // ER_TABLEACCESS_DENIED_ERROR.
    assert!(text.contains("error 1142"), "{text}");
}

/// Two connections that overlapped in the capture overlap in the replay:
/// each sleeps 2.5 s on the server, so one after the other they cannot take
/// less than 5 s, which is the bound; together they take 2.5 s plus the
/// logins (SCRAM in a debug build on a busy machine is slow, hence the
/// wide margin). The scheduling rule itself is unit-tested in `replay`.
#[test]
fn overlapping_connections_replay_concurrently() {
    let pg = shardwire_testkit::PgInstance::start().expect("PostgreSQL starts");
    let dir = tempfile::tempdir().expect("a temp dir");
    let capture = dir.path().join("two.pcap");
    let upstream = format!("{}:{}", pg.host(), pg.port());
    let (summary, _) = record(&upstream, &capture, 2, |port| {
        let spawn = || {
            let mut cmd = std::process::Command::new("psql");
            cmd.args(["-X", "-c", "SELECT pg_sleep(2.5), 1 AS done"])
                .stdout(std::process::Stdio::null());
            for (k, v) in pg_env(port, &pg) {
                cmd.env(k, v);
            }
            cmd.spawn().expect("psql starts")
        };
        let (a, mut b) = (spawn(), spawn());
        let _ = b.wait();
        a.wait_with_output().expect("psql ends")
    });
    assert_eq!(summary.connections, 2);
    let cap = load_capture(&capture).expect("reads");
    assert_eq!(cap.dialogs.len(), 2);
    let started = std::time::Instant::now();
    let report = replay_against(
        &capture,
        upstream,
        pg.user(),
        pg.password(),
        CompareOptions::default(),
    )
    .expect("replays");
    let took = started.elapsed();
    assert!(report.agrees(), "{}", report.to_text());
    assert_eq!(report.connections.len(), 2);
    assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
}
