// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! PostgreSQL clients through Shardwire to two real PostgreSQL shards:
//! DDL fan-out, generated keys, point and scatter queries, merges,
//! transactions across shards, the extended protocol, and the passthrough
//! database.

mod support;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection, Row};
use support::{start, start_with, Deployment};

const SCHEMA: &str = "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT NOT NULL, \
                      status VARCHAR(16), amount NUMERIC(10,2)); \
                      CREATE TABLE t_region (id INT PRIMARY KEY, name TEXT)";

fn shard_count(d: &Deployment, shard: usize, sql: &str) -> String {
    d.shards[shard].psql(sql).unwrap().trim().to_owned()
}

#[test]
fn psql_runs_the_sharded_scenario() {
    let d = start();
    d.psql_ok("sharding_db", SCHEMA);
    // DDL reached every actual table, and the broadcast table everywhere.
    for shard in 0..2 {
        let tables = shard_count(
            &d,
            shard,
            "select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname = 'public'",
        );
        assert_eq!(tables, "t_order_0,t_order_1,t_region", "shard {shard}");
    }
    // Explicit keys and generated ones.
    d.psql_ok(
        "sharding_db",
        "INSERT INTO t_order (order_id, user_id, status, amount) VALUES \
         (1, 1, 'paid', 10.50), (2, 2, 'paid', 20.00), (3, 3, 'new', 30.25), (4, 4, 'new', 5.00); \
         INSERT INTO t_order (user_id, status, amount) VALUES (5, 'paid', 7.75), (6, 'new', 100.00); \
         INSERT INTO t_region VALUES (1, 'north'), (2, 'south')",
    );
    let per_shard: Vec<String> = (0..2)
        .map(|s| {
            shard_count(
                &d,
                s,
                "select (select count(*) from t_order_0) + (select count(*) from t_order_1)",
            )
        })
        .collect();
    assert_eq!(per_shard, vec!["3", "3"], "rows split by user_id % 2");
    assert_eq!(shard_count(&d, 1, "select count(*) from t_region"), "2");

    // Point select, routed to one table.
    assert_eq!(
        d.psql_ok(
            "sharding_db",
            "SELECT status, amount FROM t_order WHERE order_id = 3 AND user_id = 3"
        ),
        "new|30.25\n"
    );
    // Scatter with ORDER BY / LIMIT / OFFSET.
    assert_eq!(
        d.psql_ok(
            "sharding_db",
            "SELECT user_id FROM t_order ORDER BY amount DESC LIMIT 3 OFFSET 1"
        ),
        "3\n2\n1\n"
    );
    // Aggregates over all shards, with and without GROUP BY.
    assert_eq!(
        d.psql_ok(
            "sharding_db",
            "SELECT count(*), sum(amount), min(amount), max(amount) FROM t_order"
        ),
        "6|173.50|5.00|100.00\n"
    );
    assert_eq!(
        d.psql_ok(
            "sharding_db",
            "SELECT status, count(*), sum(amount) FROM t_order GROUP BY status ORDER BY status"
        ),
        "new|3|135.25\npaid|3|38.25\n"
    );
    let avg = d.psql_ok(
        "sharding_db",
        "SELECT avg(amount) FROM t_order WHERE status = 'paid'",
    );
    assert!(avg.starts_with("12.75"), "{avg}");
    // Broadcast table read from one shard.
    assert_eq!(
        d.psql_ok("sharding_db", "SELECT name FROM t_region ORDER BY id"),
        "north\nsouth\n"
    );

    // A transaction over both shards, committed, and one rolled back.
    d.psql_ok(
        "sharding_db",
        "BEGIN; INSERT INTO t_order (order_id, user_id, status, amount) VALUES (10, 10, 'txn', 1), (11, 11, 'txn', 1); COMMIT",
    );
    d.psql_ok(
        "sharding_db",
        "BEGIN; INSERT INTO t_order (order_id, user_id, status, amount) VALUES (12, 12, 'gone', 1), (13, 13, 'gone', 1); ROLLBACK",
    );
    assert_eq!(
        d.psql_ok(
            "sharding_db",
            "SELECT status, count(*) FROM t_order WHERE status IN ('txn', 'gone') GROUP BY status"
        ),
        "txn|2\n"
    );

    // An error, then the session goes on; an error inside a transaction
    // fails the block until ROLLBACK.
    let (ok, _, err) = d.psql("sharding_db", "SELECT * FROM no_such_table");
    assert!(!ok && err.contains("no_such_table"), "{err}");
    let (ok, out, err) = d.psql_script(
        "sharding_db",
        "BEGIN;\nSELECT 1/0 FROM t_order WHERE user_id = 1;\nSELECT 1;\nROLLBACK;\nSELECT count(*) FROM t_order;",
    );
    assert!(ok, "{err}");
    assert!(
        err.contains("division by zero") && err.contains("current transaction is aborted"),
        "{err}"
    );
    assert!(out.trim_end().ends_with('8'), "{out}");

    // SQL-level PREPARE / EXECUTE, routed by the EXECUTE's arguments.
    assert_eq!(
        d.psql_ok(
            "sharding_db",
            "PREPARE by_user(int) AS SELECT order_id FROM t_order WHERE user_id = $1; \
             EXECUTE by_user(3); EXECUTE by_user(4); DEALLOCATE by_user",
        ),
        "3\n4\n"
    );
    // Statements of one multi-statement query are one transaction: a
    // failure rolls back the shards written before it.
    let (ok, _, err) = d.psql(
        "sharding_db",
        "INSERT INTO t_order (order_id, user_id, status) VALUES (20, 20, 'atomic'), (21, 21, 'atomic'); SELECT 1/0",
    );
    assert!(!ok && err.contains("division by zero"), "{err}");
    assert_eq!(
        d.psql_ok(
            "sharding_db",
            "SELECT count(*) FROM t_order WHERE status = 'atomic'"
        ),
        "0\n"
    );

    // Unsupported SQL names the construct.
    let (ok, _, err) = d.psql(
        "sharding_db",
        "UPDATE t_order SET user_id = 5 WHERE order_id = 20",
    );
    assert!(
        !ok && err.contains("UPDATE of sharding column user_id"),
        "{err}"
    );
}

async fn connect(d: &Deployment, database: &str) -> PgConnection {
    let opts: PgConnectOptions = d.url(database).parse().unwrap();
    PgConnection::connect_with(&opts).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlx_prepared_statements_route_and_merge() {
    let d = start();
    d.psql_ok("sharding_db", SCHEMA);
    let mut c = connect(&d, "sharding_db").await;
    for user in 1..=20i32 {
        sqlx::query("INSERT INTO t_order (order_id, user_id, status, amount) VALUES ($1, $2, $3, $4::numeric)")
            .bind(i64::from(user) * 100)
            .bind(user)
            .bind(if user % 3 == 0 { "new" } else { "paid" })
            .bind(format!("{}.25", user))
            .execute(&mut c)
            .await
            .unwrap();
    }
    // Binary results of a routed point select.
    let row =
        sqlx::query("SELECT order_id, status FROM t_order WHERE user_id = $1 AND order_id = $2")
            .bind(7i32)
            .bind(700i64)
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert_eq!(row.get::<i64, _>(0), 700);
    assert_eq!(row.get::<String, _>(1), "paid");
    // Merged rows re-encoded in binary.
    let rows = sqlx::query(
        "SELECT user_id, order_id FROM t_order ORDER BY order_id DESC LIMIT $1 OFFSET $2",
    )
    .bind(3i64)
    .bind(1i64)
    .fetch_all(&mut c)
    .await
    .unwrap();
    let ids: Vec<i64> = rows.iter().map(|r| r.get(1)).collect();
    assert_eq!(ids, vec![1900, 1800, 1700]);
    let row =
        sqlx::query("SELECT count(*), sum(user_id), max(order_id) FROM t_order WHERE status = $1")
            .bind("paid")
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert_eq!(row.get::<i64, _>(0), 14);
    assert_eq!(row.get::<i64, _>(1), 210 - (3 + 6 + 9 + 12 + 15 + 18));
    assert_eq!(row.get::<i64, _>(2), 2000);
    // Generated keys come back through RETURNING.
    let row =
        sqlx::query("INSERT INTO t_order (user_id, status) VALUES ($1, 'gen') RETURNING order_id")
            .bind(5i32)
            .fetch_one(&mut c)
            .await
            .unwrap();
    let generated: i64 = row.get(0);
    assert!(generated > 0);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t_order WHERE order_id = $1")
        .bind(generated)
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(n, 1);
    // A transaction across shards through the extended protocol.
    let mut tx = c.begin().await.unwrap();
    tx.execute("INSERT INTO t_order (order_id, user_id, status, amount) VALUES (5001, 1, 'tx', 1), (5002, 2, 'tx', 1)").await.unwrap();
    tx.rollback().await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t_order WHERE status = 'tx'")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(n, 0);
    // An error, then the connection still works.
    let e = sqlx::query("SELECT nope FROM t_order WHERE user_id = $1")
        .bind(1i32)
        .fetch_all(&mut c)
        .await;
    assert!(e.is_err());
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t_order")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(n, 21);
}

#[test]
fn passthrough_database_forwards_everything() {
    passthrough_scenario(start());
}

#[test]
fn passthrough_works_with_the_fast_path_forced_off() {
    let d = support::start_user_space();
    passthrough_scenario_checks(&d);
    assert!(
        d.proxy.log_tail().contains("copied in user space"),
        "{}",
        d.proxy.log_tail()
    );
}

fn passthrough_scenario(d: Deployment) {
    passthrough_scenario_checks(&d);
    // Run as root here, the session was spliced in the kernel; elsewhere
    // the proxy says why it copies in user space.
    let log = d.proxy.log_tail();
    let is_root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    if is_root {
        assert!(
            log.contains("spliced in the kernel"),
            "expected the kernel splice: {log}"
        );
    }
}

fn passthrough_scenario_checks(d: &Deployment) {
    d.shards[0]
        .psql("CREATE TABLE plain_t (id int); INSERT INTO plain_t VALUES (1), (2)")
        .unwrap();
    assert_eq!(d.psql_ok("direct", "SELECT sum(id) FROM plain_t"), "3\n");
    // Catalog queries of psql's \dt go to the backend as they are.
    let out = d.psql_ok("direct", "\\dt");
    assert!(out.contains("plain_t"), "{out}");
    assert_eq!(
        d.psql_ok("direct", "SELECT current_setting('application_name')"),
        "psql\n"
    );
    // Many short sessions: each is spliced and torn down cleanly.
    for _ in 0..20 {
        assert_eq!(d.psql_ok("direct", "SELECT 40 + 2"), "42\n");
    }
}

#[test]
fn catalog_queries_list_logical_tables() {
    let d = start();
    d.psql_ok("sharding_db", SCHEMA);
    // psql's \dt reads pg_catalog: the logical tables, once each.
    let out = d.psql_ok("sharding_db", "\\dt");
    assert!(
        out.contains("|t_order|") && out.contains("|t_region|"),
        "{out}"
    );
    assert!(!out.contains("t_order_0"), "{out}");
    assert_eq!(out.matches("|t_order|").count(), 1, "{out}");
    // information_schema by logical name.
    assert_eq!(
        d.psql_ok(
            "sharding_db",
            "SELECT column_name FROM information_schema.columns WHERE table_name = 't_order' ORDER BY ordinal_position"
        ),
        "order_id\nuser_id\nstatus\namount\n"
    );
}

/// `SELECT 1` through psql with the given sslmode; its output.
fn select_one_with_sslmode(d: &Deployment, database: &str, sslmode: &str) -> String {
    let out = std::process::Command::new("psql")
        .args([
            "-X",
            "-A",
            "-t",
            "-h",
            "127.0.0.1",
            "-p",
            &d.port.to_string(),
        ])
        .args(["-U", support::USER, "-d", database, "-c", "SELECT 1"])
        .env("PGPASSWORD", support::PASSWORD)
        .env("PGSSLMODE", sslmode)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn tls_sessions_work_and_plaintext_still_does() {
    let d = start_with(true);
    // `require` fails unless the proxy accepted the SSLRequest.
    assert_eq!(select_one_with_sslmode(&d, "sharding_db", "require"), "1\n");
    assert_eq!(select_one_with_sslmode(&d, "direct", "require"), "1\n");
    assert_eq!(select_one_with_sslmode(&d, "direct", "disable"), "1\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_requests_reach_the_running_shards() {
    let d = start();
    d.psql_ok("sharding_db", SCHEMA);
    d.psql_ok(
        "sharding_db",
        "INSERT INTO t_order (order_id, user_id) VALUES (1, 1), (2, 2)",
    );
    let (client, connection) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user={} password={} dbname=sharding_db",
            d.port,
            support::USER,
            support::PASSWORD
        ),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let token = client.cancel_token();
    let started = std::time::Instant::now();
    let query = tokio::spawn(async move {
        client
            .simple_query("SELECT pg_sleep(30), order_id FROM t_order")
            .await
    });
    // A cancel that arrives before the query reached the shards cancels
    // nothing, as in PostgreSQL; on a loaded machine that can take a
    // moment, so keep asking until the query ends.
    while !query.is_finished() && started.elapsed() < std::time::Duration::from_secs(10) {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        token.cancel_query(tokio_postgres::NoTls).await.unwrap();
    }
    let result = query.await.unwrap();
    let err = result.expect_err("the query was cancelled");
    let code = err.as_db_error().map(|e| e.code().code().to_owned());
    assert_eq!(
        code.as_deref(),
        Some("57014"),
        "query_canceled expected: {err:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
