//! `shardctl record` and `shardctl replay` as a user runs them: psql
//! recorded through the relay against a throwaway PostgreSQL, the capture
//! read by tshark (when installed) and replayed with exit codes 0, 1 and 2;
//! the relay stopped by SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn shardctl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shardctl"))
}

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/scripts")
}

/// Starts `shardctl record` and waits for it to listen.
fn start_record(upstream: &str, out: &Path, connections: Option<usize>) -> (Child, u16) {
    let port = shardwire_testkit::free_port().expect("a free port");
    let mut cmd = shardctl();
    cmd.args([
        "record",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--upstream",
        upstream,
    ])
    .arg("--out")
    .arg(out)
    .stderr(Stdio::piped());
    if let Some(n) = connections {
        cmd.args(["--connections", &n.to_string()]);
    }
    let mut child = cmd.spawn().expect("shardctl record starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut reader = BufReader::new(stderr);
    let mut line = String::new();
    reader.read_line(&mut line).expect("a first line");
    assert!(line.contains("listening on"), "{line}");
    // Keep reading: a closed pipe would fail the relay's last message.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    (child, port)
}

fn wait(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let until = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("waits") {
            return status;
        }
        assert!(Instant::now() < until, "shardctl record did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn replay(capture: &Path, pg: &shardwire_testkit::PgInstance, extra: &[&str]) -> Output {
    shardctl()
        .arg("replay")
        .arg(capture)
        .args(["--target", &format!("{}:{}", pg.host(), pg.port())])
        .args(["--user", pg.user(), "--password", pg.password()])
        .args(extra)
        .output()
        .expect("shardctl replay runs")
}

#[test]
fn record_then_replay_with_shardctl() {
    let pg = shardwire_testkit::PgInstance::start().expect("PostgreSQL starts");
    let dir = tempfile::tempdir().expect("tmp");
    let capture = dir.path().join("psql.pcap");
    let upstream = format!("{}:{}", pg.host(), pg.port());
    let (mut relay, port) = start_record(&upstream, &capture, Some(1));
    let psql = Command::new(scripts().join("psql-basic.sh"))
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", port.to_string())
        .env("PGUSER", pg.user())
        .env("PGPASSWORD", pg.password())
        .env("PGDATABASE", pg.database())
        .output()
        .expect("psql runs");
    assert!(psql.status.success(), "{psql:?}");
    assert!(wait(&mut relay, Duration::from_secs(20)).success());

    if let Ok(tshark) = Command::new("tshark")
        .arg("-r")
        .arg(&capture)
        .args(["-d", &format!("tcp.port=={},pgsql", pg.port())])
        .output()
    {
        let text = String::from_utf8_lossy(&tshark.stdout);
        assert!(tshark.status.success(), "{tshark:?}");
        assert!(text.contains("PGSQL"), "{text}");
    }

    let same = replay(&capture, &pg, &[]);
    assert_eq!(same.status.code(), Some(0), "{same:?}");
    let json = replay(&capture, &pg, &["--json"]);
    assert_eq!(json.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(report["differences"], 0);
    assert!(report["requests"].as_u64().unwrap_or(0) >= 14);

    pg.psql(
        "CREATE TABLE conf_items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2))",
    )
    .expect("a pre-existing table");
    let differs = replay(&capture, &pg, &[]);
    assert_eq!(differs.status.code(), Some(1), "{differs:?}");
    let text = String::from_utf8_lossy(&differs.stdout);
    assert!(text.contains("CREATE TABLE conf_items"), "{text}");

    let junk = dir.path().join("junk.pcap");
    std::fs::write(&junk, b"GET / HTTP/1.1\r\n").expect("writes");
    let unusable = replay(&junk, &pg, &[]);
    assert_eq!(unusable.status.code(), Some(2), "{unusable:?}");
    assert!(String::from_utf8_lossy(&unusable.stderr).contains("not a pcap"));
}

#[test]
fn record_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("tmp");
    let capture = dir.path().join("idle.pcap");
    // Nothing needs to listen upstream: no client connects.
    let (mut relay, _) = start_record("127.0.0.1:9", &capture, None);
    let kill = Command::new("kill")
        .args(["-TERM", &relay.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    assert!(wait(&mut relay, Duration::from_secs(10)).success());
    let bytes = std::fs::read(&capture).expect("the capture exists");
    // A pcap header and no packets.
    assert_eq!(bytes.len(), 24);
    assert_eq!(&bytes[..4], &0xa1b2_c3d4u32.to_le_bytes());
}
