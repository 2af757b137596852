// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! Limits at the front door. `proxy-frontend-max-connections`: a client
//! past the limit gets the server's own refusal (53300, "sorry, too many
//! clients already") and the sessions already in go on; a slot freed by a
//! leaving client is taken by the next one.
//! `proxy-frontend-login-timeout-milliseconds`: a client that does not log
//! in within it is dropped, and its slot with it.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, Connection, Row};

const LIMIT: usize = 3;

/// A session let in. The proxy's start-up probe (the harness's TCP
/// connect that proves the listener is up) holds a slot until the proxy
/// has read its end of stream, so a refusal right after start-up is
/// retried; any other error fails the test.
async fn admitted(options: &sqlx::postgres::PgConnectOptions) -> sqlx::PgConnection {
    for _ in 0..50 {
        match options.connect().await {
            Ok(conn) => return conn,
            Err(e) if e.to_string().contains("too many clients") => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("never let in");
}

/// The session is in and answers.
async fn assert_answers(conn: &mut sqlx::PgConnection) {
    let one: i32 = sqlx::query("SELECT 1")
        .fetch_one(conn)
        .await
        .unwrap()
        .get(0);
    assert_eq!(one, 1);
}

#[tokio::test]
async fn a_client_past_the_limit_is_refused_and_a_freed_slot_is_reused() {
    let d = support::start_edited(|global| {
        global.replace(
            "props:\n",
            &format!("props:\n  proxy-frontend-max-connections: {LIMIT}\n"),
        )
    });
    let options = d.sqlx_options("sharding_db");
    let mut sessions = Vec::new();
    for _ in 0..LIMIT {
        sessions.push(admitted(&options).await);
    }
    let Err(e) = options.connect().await else {
        panic!("a fourth session was let in");
    };
    let db = e
        .as_database_error()
        .map(|e| e.code().map(|c| c.into_owned()));
    assert_eq!(db, Some(Some("53300".to_owned())), "{e}");
    assert!(e.to_string().contains("too many clients"), "{e}");

    // Those in are not disturbed.
    for conn in &mut sessions {
        assert_answers(conn).await;
    }
    // A client that leaves frees its slot (the proxy notices the close
    // asynchronously, so the next login may take a moment).
    sessions.pop().unwrap().close().await.unwrap();
    let mut admitted = None;
    for _ in 0..50 {
        match options.connect().await {
            Ok(conn) => {
                admitted = Some(conn);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    let mut conn = admitted.expect("the freed slot was never given to a new client");
    assert_answers(&mut conn).await;
}

#[tokio::test]
async fn clients_that_never_log_in_are_dropped_at_the_login_timeout() {
    let d = support::start_edited(|global| {
        global.replace(
            "props:\n",
            &format!(
                "props:\n  proxy-frontend-max-connections: {LIMIT}\n  \
                 proxy-frontend-login-timeout-milliseconds: 500\n"
            ),
        )
    });
    let options = d.sqlx_options("sharding_db");
    // Every slot free first (see `admitted`): a session in and out.
    admitted(&options).await.close().await.unwrap();
    // Then every slot taken by a client that says nothing, or half a
    // startup packet. A slot still held by the session just closed would
    // refuse one of them at once: that round is not the case under test,
    // and runs again.
    let mut rounds = 0;
    let waited = loop {
        rounds += 1;
        assert!(rounds <= 10, "the silent clients never all got a slot");
        let started = Instant::now();
        let mut silent: Vec<TcpStream> = (0..LIMIT)
            .map(|i| {
                let mut s = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
                if i == 0 {
                    s.write_all(&[0, 0, 0, 40, 0, 3]).unwrap();
                }
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                s
            })
            .collect();
        let Err(e) = options.connect().await else {
            panic!("a client was let in past the silent ones");
        };
        assert!(e.to_string().contains("too many clients"), "{e}");
        // Each silent client is dropped: end of stream, well before the
        // read timeout.
        let answered = silent.iter_mut().any(|s| {
            let mut buf = [0u8; 64];
            s.read(&mut buf).unwrap_or(0) > 0
        });
        if answered {
            // Refused at once for want of a slot; wait out the others.
            tokio::time::sleep(Duration::from_millis(600)).await;
            continue;
        }
        break started.elapsed();
    };
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(5),
        "dropped after {waited:?}, not at the 500 ms login timeout"
    );
    // Their slots are free again.
    let mut conn = options.connect().await.unwrap();
    assert_answers(&mut conn).await;
}
