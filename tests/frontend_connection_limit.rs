// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! `proxy-frontend-max-connections`: a client past the limit gets the
//! server's own refusal (53300, "sorry, too many clients already") and the
//! sessions already in go on; a slot freed by a leaving client is taken
//! by the next one.

mod support;

use sqlx::{ConnectOptions, Connection, Row};

const LIMIT: usize = 3;

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
        sessions.push(options.connect().await.unwrap());
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
        let one: i32 = sqlx::query("SELECT 1")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
            .get(0);
        assert_eq!(one, 1);
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
    let one: i32 = sqlx::query("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    assert_eq!(one, 1);
}
