//! Shared by the end-to-end tests: recording a real client's session
//! through the relay, and replaying with the library.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use shardwire_conformance::compare::CompareOptions;
use shardwire_conformance::login_pg::Credentials;
use shardwire_conformance::relay::{RecordOptions, RecordSummary, Recorder};
use shardwire_conformance::{replay_file, ReplayOptions, Report};

pub fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Records `connections` connections (all of them when `None`) of what
/// `client` runs against the relay port it is given; the relay forwards to
/// `upstream` and stops a second after the client has returned (time for
/// the relay to read the last bytes of connections the client closed).
pub fn record(
    upstream: &str,
    out: &Path,
    connections: impl Into<Option<usize>>,
    client: impl FnOnce(u16) -> Output,
) -> (RecordSummary, Output) {
    let rt = runtime();
    let recorder = rt
        .block_on(Recorder::bind(RecordOptions {
            listen: "127.0.0.1:0".into(),
            upstream: upstream.into(),
            out: out.to_path_buf(),
            connections: connections.into(),
        }))
        .expect("the relay binds");
    let port = recorder.local_addr().expect("an address").port();
    let (client_done, client_exited) = tokio::sync::oneshot::channel::<()>();
    // A client that fails to connect must not leave the test hanging.
    let run = rt.spawn(async move {
        recorder
            .run(async move {
                let _ = client_exited.await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            })
            .await
    });
    let output = client(port);
    let _ = client_done.send(());
    let summary = rt
        .block_on(run)
        .expect("the relay task")
        .expect("the relay records");
    (summary, output)
}

/// Runs a scenario script (`NAME [ARG...]`, as in the manifest's `script`
/// without its `scripts/`) with the given environment.
pub fn run_script(script: &str, env: &[(&str, String)]) -> Output {
    let mut words = script.split_whitespace();
    let mut cmd = Command::new(scripts_dir().join(words.next().unwrap_or_default()));
    cmd.args(words);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the scenario script runs")
}

pub fn pg_env(port: u16, pg: &shardwire_testkit::PgInstance) -> Vec<(&'static str, String)> {
    vec![
        ("PGHOST", "127.0.0.1".into()),
        ("PGPORT", port.to_string()),
        ("PGUSER", pg.user().into()),
        ("PGPASSWORD", pg.password().into()),
        ("PGDATABASE", pg.database().into()),
    ]
}

pub fn mariadb_env(
    port: u16,
    db: &shardwire_testkit::MariaDbInstance,
) -> Vec<(&'static str, String)> {
    vec![
        ("MYSQL_HOST", "127.0.0.1".into()),
        ("MYSQL_PORT", port.to_string()),
        ("MYSQL_USER", db.user().into()),
        ("MYSQL_PASSWORD", db.password().into()),
        ("MYSQL_DATABASE", db.database().into()),
    ]
}

pub fn replay_against(
    capture: &Path,
    target: String,
    user: &str,
    password: &str,
    compare: CompareOptions,
) -> Result<Report, shardwire_conformance::ConformanceError> {
    let rt = runtime();
    rt.block_on(replay_file(
        capture,
        &ReplayOptions {
            target,
            credentials: Credentials {
                user: user.into(),
                password: password.into(),
                database: None,
            },
            compare,
            timeout: Duration::from_secs(10),
        },
    ))
}
