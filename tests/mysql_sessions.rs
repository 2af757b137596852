//! End to end: what a MySQL session's state means across the shards, read
//! off the wire with a hand-made client so the status flags, error numbers
//! and messages are the proxy's exact answers: statements that commit
//! implicitly, session variables reaching the backend connections, and
//! writes over several data sources outside a transaction.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[path = "support_mysql/mod.rs"]
mod support_mysql;

use support_mysql::{Deployment, RawClient, PASSWORD, USER};

const SERVER_STATUS_IN_TRANS: u16 = 0x0001;
const SERVER_STATUS_AUTOCOMMIT: u16 = 0x0002;

/// The answer to a COM_QUERY that returns no rows.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Ok { affected: u64, status: u16 },
    Err { code: u16, message: String },
}

fn lenenc(p: &[u8], i: &mut usize) -> u64 {
    let first = p[*i];
    *i += 1;
    let n = match first {
        0xfc => 2,
        0xfd => 3,
        0xfe => 8,
        v => return u64::from(v),
    };
    let mut v = 0u64;
    for k in 0..n {
        v |= u64::from(p[*i + k]) << (8 * k);
    }
    *i += n;
    v
}

fn login(d: &Deployment) -> RawClient {
    let (c, answer) = RawClient::login(d.port, USER, PASSWORD, Some("sharding_db"));
    assert_eq!(
        answer[0],
        0x00,
        "login: {}",
        String::from_utf8_lossy(&answer)
    );
    c
}

/// Sends `sql` as COM_QUERY and reads its OK or ERR.
fn query(c: &mut RawClient, sql: &str) -> Answer {
    let mut payload = vec![0x03];
    payload.extend_from_slice(sql.as_bytes());
    c.write_packet(0, &payload);
    let (_, p) = c.read_packet().expect("an answer");
    match p[0] {
        0x00 => {
            let mut i = 1;
            let affected = lenenc(&p, &mut i);
            let _last_id = lenenc(&p, &mut i);
            Answer::Ok {
                affected,
                status: u16::from_le_bytes([p[i], p[i + 1]]),
            }
        }
        0xff => Answer::Err {
            code: u16::from_le_bytes([p[1], p[2]]),
            // 0xff, errno (2), '#', SQLSTATE (5), message.
            message: String::from_utf8_lossy(&p[9..]).into_owned(),
        },
        other => panic!("{sql}: a result set (0x{other:02x}) where OK or ERR was expected"),
    }
}

fn ok_status(c: &mut RawClient, sql: &str) -> u16 {
    match query(c, sql) {
        Answer::Ok { status, .. } => status,
        err => panic!("{sql}: {err:?}"),
    }
}

/// The status flags ending DESCRIBE t_region's rows.
fn describe_status(c: &mut RawClient) -> u16 {
    let mut payload = vec![0x03];
    payload.extend_from_slice(b"DESCRIBE t_region");
    c.write_packet(0, &payload);
    c.read_result_set_with_status().1
}

fn deployment() -> Deployment {
    let d = support_mysql::start();
    d.mariadb_ok(
        "CREATE TABLE t_order (order_id BIGINT NOT NULL PRIMARY KEY, user_id INT NOT NULL, \
         amount DECIMAL(10,2), status VARCHAR(20));\n\
         CREATE TABLE t_region (id INT NOT NULL PRIMARY KEY, name VARCHAR(20));\n",
    );
    d
}

#[test]
fn ddl_commits_the_open_transaction_first() {
    let d = deployment();
    let mut c = login(&d);
    assert_eq!(ok_status(&mut c, "SET autocommit = 0"), 0);
    // The first write opens the implicit transaction on both shards.
    assert_eq!(
        ok_status(&mut c, "INSERT INTO t_region (id, name) VALUES (5, 'east')"),
        SERVER_STATUS_IN_TRANS
    );
    // DDL commits it and leaves none open: status 0, as MariaDB answers.
    assert_eq!(
        ok_status(&mut c, "ALTER TABLE t_region ADD COLUMN note VARCHAR(10)"),
        0
    );
    assert_eq!(ok_status(&mut c, "ROLLBACK"), 0);
    for shard in 0..2 {
        assert_eq!(
            d.on_shard(shard, "SELECT name FROM t_region WHERE id = 5")
                .trim(),
            "east",
            "shard {shard}: the row DDL committed stays after ROLLBACK"
        );
    }
    // Without DDL, the rollback takes the row away.
    assert_eq!(
        ok_status(&mut c, "INSERT INTO t_region (id, name) VALUES (6, 'west')"),
        SERVER_STATUS_IN_TRANS
    );
    // DESCRIBE joins an open transaction, and starts none.
    assert_eq!(describe_status(&mut c), SERVER_STATUS_IN_TRANS);
    assert_eq!(ok_status(&mut c, "ROLLBACK"), 0);
    assert_eq!(
        d.on_shard(0, "SELECT COUNT(*) FROM t_region WHERE id = 6")
            .trim(),
        "0"
    );
    assert_eq!(describe_status(&mut c), 0);
    // Back in autocommit, DDL answers with the autocommit flag only.
    assert_eq!(
        ok_status(&mut c, "SET autocommit = 1"),
        SERVER_STATUS_AUTOCOMMIT
    );
    assert_eq!(
        ok_status(&mut c, "ALTER TABLE t_region DROP COLUMN note"),
        SERVER_STATUS_AUTOCOMMIT
    );
}

#[test]
fn session_variables_reach_the_connections_statements_run_on() {
    let d = deployment();
    let mut setup = login(&d);
    for sql in [
        "INSERT INTO t_order (order_id, user_id, status) VALUES (1, 1, 'new')",
        "INSERT INTO t_order (order_id, user_id, status) VALUES (2, 2, 'new')",
    ] {
        assert!(matches!(
            query(&mut setup, sql),
            Answer::Ok { affected: 1, .. }
        ));
    }
    // Session A holds order 1's row lock on ds_1.
    let mut a = login(&d);
    ok_status(&mut a, "BEGIN");
    ok_status(
        &mut a,
        "UPDATE t_order SET status = 'a' WHERE user_id = 1 AND order_id = 1",
    );

    // Session B waits one second, not the server's default 50.
    let mut b = login(&d);
    assert_eq!(
        ok_status(
            &mut b,
            "SET SESSION innodb_lock_wait_timeout = 1, @@session.wait_timeout = 600"
        ),
        SERVER_STATUS_AUTOCOMMIT
    );
    let started = std::time::Instant::now();
    let answer = query(
        &mut b,
        "UPDATE t_order SET status = 'b' WHERE user_id = 1 AND order_id = 1",
    );
    assert_eq!(
        answer,
        Answer::Err {
            code: 1205,
            message: "Lock wait timeout exceeded; try restarting transaction".into()
        }
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    // The pooled connection goes back clean: a session that set nothing
    // sees the server's value on every connection it gets.
    let mut c = login(&d);
    for user in [1, 2, 1, 2, 1, 2] {
        let mut payload = vec![0x03];
        payload.extend_from_slice(
            format!(
                "SELECT @@innodb_lock_wait_timeout FROM t_order \
                 WHERE user_id = {user} AND order_id = {user}"
            )
            .as_bytes(),
        );
        c.write_packet(0, &payload);
        assert_eq!(c.read_result_set(), vec![vec![Some("50".to_owned())]]);
    }
    // A value the server refuses is the server's error, and not kept.
    assert!(matches!(
        query(&mut b, "SET innodb_lock_wait_timeout = 'soon'"),
        Answer::Err { code: 1232, .. }
    ));
    // SET x = DEFAULT takes the variable back.
    ok_status(&mut b, "SET @@innodb_lock_wait_timeout = DEFAULT");
    let mut payload = vec![0x03];
    payload.extend_from_slice(
        b"SELECT @@innodb_lock_wait_timeout FROM t_order WHERE user_id = 1 AND order_id = 1",
    );
    b.write_packet(0, &payload);
    assert_eq!(b.read_result_set(), vec![vec![Some("50".to_owned())]]);
    ok_status(&mut a, "ROLLBACK");
}

#[test]
fn a_write_over_several_tables_commits_or_fails_as_one() {
    let d = deployment();
    let mut c = login(&d);
    assert!(matches!(
        query(
            &mut c,
            "INSERT INTO t_order (order_id, user_id, status) VALUES (1, 3, 'new')"
        ),
        Answer::Ok { affected: 1, .. }
    ));
    // Rows for both data sources (user 2 on ds_0, user 3 on ds_1) and
    // both tables of each; order 1 is a duplicate on ds_1's t_order_1,
    // which runs after ds_0's parts succeeded (data sources in name order).
    let failing = "INSERT INTO t_order (order_id, user_id, status) VALUES \
                   (30, 3, 'dup'), (20, 2, 'dup'), (1, 3, 'dup'), (21, 2, 'dup')";
    assert_eq!(
        query(&mut c, failing),
        Answer::Err {
            code: 1062,
            message: "Duplicate entry '1' for key 'PRIMARY'".into()
        }
    );
    for shard in 0..2 {
        assert_eq!(
            d.on_shard(
                shard,
                "SELECT (SELECT COUNT(*) FROM t_order_0 WHERE status = 'dup') + \
                 (SELECT COUNT(*) FROM t_order_1 WHERE status = 'dup')"
            )
            .trim(),
            "0",
            "shard {shard} kept part of the failed statement"
        );
    }
    // The session is still in autocommit, with no transaction left open.
    assert_eq!(
        ok_status(
            &mut c,
            "INSERT INTO t_order (order_id, user_id, status) VALUES \
             (30, 3, 'ok'), (20, 2, 'ok'), (21, 3, 'ok')"
        ),
        SERVER_STATUS_AUTOCOMMIT
    );
    assert_eq!(
        d.on_shard(1, "SELECT COUNT(*) FROM t_order_0 WHERE status = 'ok'")
            .trim(),
        "1"
    );
    assert_eq!(
        d.on_shard(1, "SELECT COUNT(*) FROM t_order_1 WHERE status = 'ok'")
            .trim(),
        "1"
    );
    assert_eq!(
        d.on_shard(0, "SELECT COUNT(*) FROM t_order_0 WHERE status = 'ok'")
            .trim(),
        "1"
    );
    // A broadcast write is atomic over its copies too.
    assert!(matches!(
        query(&mut c, "INSERT INTO t_region (id, name) VALUES (1, 'a')"),
        Answer::Ok { affected: 1, .. }
    ));
    d.on_shard(0, "DELETE FROM t_region WHERE id = 1");
    assert!(matches!(
        query(&mut c, "INSERT INTO t_region (id, name) VALUES (1, 'b')"),
        Answer::Err { code: 1062, .. }
    ));
    assert_eq!(
        d.on_shard(0, "SELECT COUNT(*) FROM t_region").trim(),
        "0",
        "the copy on ds_0 was rolled back with ds_1's failure"
    );
}

/// Only a query reading information_schema is a catalog query: a write
/// whose value merely holds the word is routed like any other, inside the
/// session's transaction.
#[test]
fn a_value_naming_information_schema_is_routed_like_any_other() {
    let d = deployment();
    let mut c = login(&d);
    let insert =
        "INSERT INTO t_order (order_id, user_id, status) VALUES (7, 3, 'information_schema')";
    let rows = "SELECT COUNT(*) FROM t_order_1 WHERE status = 'information_schema'";
    assert!(matches!(query(&mut c, "BEGIN"), Answer::Ok { .. }));
    assert!(
        matches!(query(&mut c, insert), Answer::Ok { affected: 1, .. }),
        "the INSERT was not routed"
    );
    assert!(matches!(query(&mut c, "ROLLBACK"), Answer::Ok { .. }));
    assert_eq!(
        d.on_shard(1, rows).trim(),
        "0",
        "the INSERT ran outside the transaction"
    );
    assert!(matches!(
        query(&mut c, insert),
        Answer::Ok { affected: 1, .. }
    ));
    // User 3 lives on ds_1, order 7 in t_order_1.
    assert_eq!(d.on_shard(1, rows).trim(), "1");
    // A real catalog query still answers in logical names.
    let mut payload = vec![0x03];
    payload.extend_from_slice(
        b"SELECT table_name FROM information_schema.tables \
          WHERE table_schema = 'sharding_db' AND table_name LIKE 't_order%'",
    );
    c.write_packet(0, &payload);
    assert_eq!(c.read_result_set(), vec![vec![Some("t_order".to_owned())]]);
}
