// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! What a client sees of a sharded database must be what one database
//! would say: an unknown table is PostgreSQL's 42P01 (drivers raise their
//! "undefined table" class from it), a statement fanned out to four actual
//! tables gives each distinct NOTICE once and in logical names, and
//! pg_database (psql's `\l`) lists the logical databases, not the shards'
//! physical one.

mod support;

use sqlx::{Connection, Executor, PgConnection};
use support::start;

#[test]
fn an_unknown_table_is_undefined_table() {
    let d = start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = PgConnection::connect_with(&d.sqlx_options("sharding_db"))
            .await
            .unwrap();
        for sql in [
            "SELECT * FROM t_nowhere",
            "INSERT INTO t_nowhere (id) VALUES (1)",
        ] {
            let err = c.execute(sql).await.unwrap_err();
            let db = err.as_database_error().expect("a database error");
            assert_eq!(db.code().as_deref(), Some("42P01"), "{sql}: {db}");
            assert_eq!(db.message(), "relation \"t_nowhere\" does not exist");
        }
        // The session goes on.
        c.execute("SELECT 1").await.unwrap();
    });
}

#[test]
fn fanned_out_ddl_gives_each_notice_once_in_logical_names() {
    let d = start();
    // t_order has four actual tables, none created: PostgreSQL says
    // "does not exist, skipping" four times, once per actual table.
    let (ok, _, stderr) = d.psql("sharding_db", "DROP TABLE IF EXISTS t_order");
    assert!(ok, "{stderr}");
    let notices: Vec<&str> = stderr.lines().filter(|l| l.contains("NOTICE")).collect();
    assert_eq!(
        notices,
        vec!["NOTICE:  table \"t_order\" does not exist, skipping"],
        "{stderr}"
    );
}

#[test]
fn pg_database_lists_the_logical_databases() {
    let d = start();
    let out = d.psql_ok(
        "sharding_db",
        "SELECT datname FROM pg_catalog.pg_database ORDER BY 1",
    );
    assert_eq!(out, "direct\nsharding_db\n");
    // psql's own \l query, through the same rewrite.
    let (ok, list, err) = d.psql("sharding_db", "\\l");
    assert!(ok, "{err}");
    let names: Vec<&str> = list.lines().filter_map(|l| l.split('|').next()).collect();
    assert_eq!(names, vec!["direct", "sharding_db"], "{list}");
}
