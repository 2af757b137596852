//! Replay against targets that log in differently or not at all: MD5 and
//! cleartext password logins (the client side of both), and a server that
//! accepts but never answers, which must be reported within the timeout,
//! never waited on.

mod common;

use std::time::{Duration, Instant};

use common::*;
use shardwire_conformance::compare::CompareOptions;

fn allow_login(pg: &shardwire_testkit::PgInstance, user: &str, method: &str) {
    let hba = pg.data_dir().join("pg_hba.conf");
    let old = std::fs::read_to_string(&hba).expect("pg_hba.conf");
    // First match wins: the new line goes before the SCRAM catch-all.
    let line = format!("host all {user} 127.0.0.1/32 {method}\n");
    std::fs::write(&hba, line + &old).expect("writes pg_hba.conf");
    pg.psql("SELECT pg_reload_conf()").expect("reloads");
}

#[test]
fn md5_and_cleartext_logins_replay() {
    let pg = shardwire_testkit::PgInstance::start().expect("PostgreSQL starts");
    pg.psql(
        "SET password_encryption = 'md5'; \
         CREATE USER md5_user PASSWORD 'md5-secret'; \
         CREATE USER plain_user PASSWORD 'plain-secret'; \
         GRANT ALL ON SCHEMA public TO md5_user, plain_user;",
    )
    .expect("creates the users");
    allow_login(&pg, "md5_user", "md5");
    allow_login(&pg, "plain_user", "password");
    let capture = corpus_dir().join("psql-basic.pcap");
    let target = format!("{}:{}", pg.host(), pg.port());
    for (user, password) in [("md5_user", "md5-secret"), ("plain_user", "plain-secret")] {
        let report = replay_against(
            &capture,
            target.clone(),
            user,
            password,
            CompareOptions::default(),
        )
        .expect("replays");
        assert!(report.agrees(), "{user}: {}", report.to_text());
    }
    let wrong = replay_against(
        &capture,
        target,
        "md5_user",
        "wrong",
        CompareOptions::default(),
    )
    .expect("replays");
    assert!(!wrong.agrees());
    let error = wrong.connections[0].error.clone().unwrap_or_default();
    assert!(error.contains("28P01"), "{error}");
}

#[test]
fn a_silent_server_is_reported_not_waited_on() {
    let rt = runtime();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("binds");
    let addr = listener.local_addr().expect("an address");
    // Accepts and reads, never writes.
    rt.spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let started = Instant::now();
    let report = rt
        .block_on(shardwire_conformance::replay_file(
            &corpus_dir().join("psql-basic.pcap"),
            &shardwire_conformance::ReplayOptions {
                target: addr.to_string(),
                credentials: shardwire_conformance::login_pg::Credentials {
                    user: "u".into(),
                    password: "p".into(),
                    database: None,
                },
                compare: CompareOptions::default(),
                timeout: Duration::from_millis(500),
            },
        ))
        .expect("the capture is fine");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!report.agrees());
    let error = report.connections[0].error.clone().unwrap_or_default();
    assert!(error.contains("no answer within"), "{error}");
}
