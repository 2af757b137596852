// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! The extended protocol through Shardwire's sharded database, compared
//! with one plain PostgreSQL holding the same rows: Execute with a row
//! limit (portals fetched in slices, by tokio-postgres and by asyncpg's
//! cursors, fetchrow and fetchval) and errors PostgreSQL reports at Parse.

mod support;

use std::path::Path;
use std::process::Command;

use shardwire_testkit::PgInstance;
use support::{start, Deployment};

const SCHEMA: &str = "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT NOT NULL, \
                      status VARCHAR(16), amount NUMERIC(10,2))";

/// Nine rows over both data sources and all four tables, distinct amounts
/// so ORDER BY amount has one answer.
const ROWS: &str = "INSERT INTO t_order (order_id, user_id, status, amount) VALUES \
                    (1, 1, 'a', 10.50), (2, 2, 'b', 20.00), (3, 3, 'a', 30.25), \
                    (4, 4, 'b', 5.00), (5, 5, 'a', 7.75), (6, 6, 'b', 100.00), \
                    (7, 7, 'a', 64.00), (8, 8, 'b', 12.00), (9, 9, 'a', 1.00)";

/// The sharded deployment and a reference PostgreSQL, both with [`ROWS`].
fn setup() -> (Deployment, PgInstance) {
    let d = start();
    d.psql_ok("sharding_db", SCHEMA);
    d.psql_ok("sharding_db", ROWS);
    let reference = PgInstance::start().unwrap();
    reference.psql(SCHEMA).unwrap();
    reference.psql(ROWS).unwrap();
    (d, reference)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

/// A portal of a multi-shard ORDER BY fetched 2 rows at a time inside a
/// transaction, with another statement of the same transaction (on the
/// connections the portal reads) between slices, and a row the
/// transaction inserted: the slices are the reference's.
async fn slices(url: &str) -> (Vec<String>, Vec<i64>) {
    let mut client = connect(url).await;
    let tx = client.transaction().await.unwrap();
    tx.execute(
        "INSERT INTO t_order (order_id, user_id, status, amount) VALUES (10, 10, 'tx', 50.00)",
        &[],
    )
    .await
    .unwrap();
    let portal = tx
        .bind(
            "SELECT order_id, user_id, amount::text AS a FROM t_order WHERE amount > $1::int \
             ORDER BY amount DESC",
            &[&2i32],
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    let mut counts = Vec::new();
    loop {
        let rows = tx.query_portal(&portal, 2).await.unwrap();
        assert!(rows.len() <= 2, "a slice of {} rows", rows.len());
        if rows.is_empty() {
            break;
        }
        out.push(
            rows.iter()
                .map(|r| {
                    format!(
                        "{} {} {}",
                        r.get::<_, i64>(0),
                        r.get::<_, i32>(1),
                        r.get::<_, String>(2)
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        );
        let n: i64 = tx
            .query_one("SELECT count(*) FROM t_order", &[])
            .await
            .unwrap()
            .get(0);
        counts.push(n);
    }
    tx.rollback().await.unwrap();
    (out, counts)
}

#[test]
fn a_multi_shard_order_by_fetched_in_slices_of_two_is_postgresql_s_answer() {
    let (d, reference) = setup();
    let rt = runtime();
    let expected = rt.block_on(slices(&reference.url()));
    let got = rt.block_on(slices(&d.url("sharding_db")));
    assert_eq!(expected.0.len(), 5, "9 rows over 2 in slices of 2");
    assert_eq!(got, expected, "proxy log:\n{}", d.proxy.log_tail());
    // The transaction was rolled back on every shard.
    assert_eq!(
        d.psql_ok("sharding_db", "SELECT count(*) FROM t_order"),
        "9\n"
    );
}

fn venv_python() -> std::path::PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/drivers/.venv/bin/python");
    assert!(
        python.exists(),
        "the Python drivers (tests/drivers/.venv): run scripts/install-drivers.sh"
    );
    python
}

/// asyncpg's uses of a row limit: fetchrow and fetchval (max_rows 1 on the
/// unnamed portal), a cursor fetched 2 rows at a time in a transaction
/// with other statements in between, and a write with RETURNING fetched
/// with fetchrow (PostgreSQL runs the whole write).
const ASYNCPG: &str = r#"
import asyncio, json, sys
import asyncpg

async def main(dsn):
    conn = await asyncpg.connect(dsn)
    out = {}
    out["fetchrow"] = list(await conn.fetchrow(
        "SELECT order_id, amount::text AS a FROM t_order ORDER BY amount DESC"))
    out["fetchval"] = await conn.fetchval("SELECT count(*) FROM t_order")
    out["slices"], out["between"] = [], []
    async with conn.transaction():
        cur = await conn.cursor(
            "SELECT order_id, user_id, amount::text AS a FROM t_order ORDER BY amount")
        while True:
            rows = await cur.fetch(2)
            if not rows:
                break
            out["slices"].append([list(r) for r in rows])
            out["between"].append(await conn.fetchval(
                "SELECT count(*) FROM t_order WHERE amount > $1", 10))
    out["returning"] = list(await conn.fetchrow(
        "UPDATE t_order SET status = 'seen' WHERE amount > 0 RETURNING status"))
    out["updated"] = await conn.fetchval(
        "SELECT count(*) FROM t_order WHERE status = 'seen'")
    out["after"] = await conn.fetchval("SELECT count(*) FROM t_order")
    await conn.close()
    print(json.dumps(out, default=str))

asyncio.run(main(sys.argv[1]))
"#;

fn asyncpg(url: &str) -> serde_json::Value {
    let out = Command::new(venv_python())
        .args(["-c", ASYNCPG, url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "asyncpg against {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn asyncpg_cursors_fetchrow_and_fetchval_get_postgresql_s_answers() {
    let (d, reference) = setup();
    let expected = asyncpg(&reference.url());
    assert_eq!(expected["slices"].as_array().unwrap().len(), 5);
    assert_eq!(expected["updated"], 9);
    let got = asyncpg(&d.url("sharding_db"));
    assert_eq!(got, expected, "proxy log:\n{}", d.proxy.log_tail());
}

/// What a prepare (Parse, Describe, Sync) of `sql` fails with.
async fn prepare_error(url: &str, sql: &str) -> (String, String) {
    let client = connect(url).await;
    let e = client.prepare(sql).await.expect_err("the Parse fails");
    let db = e.as_db_error().expect("a server error");
    (db.code().code().to_owned(), db.message().to_owned())
}

/// PostgreSQL refuses an unknown table and a syntax error at Parse; the
/// proxy must too, with the same code and message (the timing, before
/// the Sync, is what drv-postgresjs.pcap of the conformance tier checks).
#[test]
fn parse_reports_unknown_tables_and_syntax_errors_as_postgresql_does() {
    let (d, reference) = setup();
    let rt = runtime();
    for sql in [
        "SELECT * FROM orders_missing WHERE id = $1",
        "SELECT order_id FROM t_order JOIN nowhere ON true",
    ] {
        let expected = rt.block_on(prepare_error(&reference.url(), sql));
        let got = rt.block_on(prepare_error(&d.url("sharding_db"), sql));
        assert_eq!(got, expected, "{sql}");
    }
    // The message of a syntax error is sqlparser's, not PostgreSQL's
    // grammar's: only the code is the same.
    let expected = rt.block_on(prepare_error(&reference.url(), "SELEC 1"));
    let got = rt.block_on(prepare_error(&d.url("sharding_db"), "SELEC 1"));
    assert_eq!((got.0.as_str(), expected.0.as_str()), ("42601", "42601"));
}

/// `COPY (query) TO STDOUT` over both shards with ORDER BY, LIMIT, GROUP
/// BY and values COPY escapes: the lines are the reference's.
#[test]
fn copy_of_a_merged_query_to_stdout_is_postgresql_s_answer() {
    let (d, reference) = setup();
    let tricky = "UPDATE t_order SET status = E'x\\ty\\\\z' WHERE order_id = 3; \
                  UPDATE t_order SET status = NULL WHERE order_id = 4";
    d.psql_ok("sharding_db", tricky);
    reference.psql(tricky).unwrap();
    for sql in [
        "COPY (SELECT order_id, status, amount FROM t_order ORDER BY amount DESC) TO STDOUT",
        "COPY (SELECT order_id, status FROM t_order WHERE order_id > 2 ORDER BY order_id LIMIT 4) TO STDOUT",
        "COPY (SELECT status, count(*), sum(amount) FROM t_order GROUP BY status ORDER BY status) TO STDOUT WITH (FORMAT text)",
    ] {
        let expected = reference.psql(sql).unwrap();
        assert!(expected.lines().count() >= 3, "{sql}: {expected}");
        assert_eq!(d.psql_ok("sharding_db", sql), expected, "{sql}");
    }
}
