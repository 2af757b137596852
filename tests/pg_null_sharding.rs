// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! NULL sharding values through a sharded PostgreSQL session answer as
//! PostgreSQL does: an INSERT of NULL into a NOT NULL sharding column gets
//! the database's own 23502 (with the logical table's name), `= NULL`
//! finds and changes no rows; into a nullable sharding column the INSERT
//! is refused by name, since no shard holds a NULL row.

mod support;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{AssertSqlSafe, ConnectOptions, Row};
use support::start;

const STEPS: &[&str] = &[
    "INSERT INTO t_order (order_id, user_id, status) VALUES (1, 1, 'a'), (2, NULL, 'b')",
    "INSERT INTO t_order (order_id, user_id, status) VALUES (3, 3, 'c')",
    "SELECT order_id::text FROM t_order ORDER BY order_id",
    "SELECT order_id::text FROM t_order WHERE user_id = NULL",
    "UPDATE t_order SET status = 'x' WHERE user_id = NULL",
    "DELETE FROM t_order WHERE user_id IN (NULL)",
    "SELECT status FROM t_order WHERE user_id IN (3, NULL)",
];

/// One line per step: its rows, or its error's code, message and detail.
async fn transcript(conn: &mut PgConnection, null_param: bool) -> Vec<String> {
    let mut out = Vec::new();
    for sql in STEPS {
        let result = sqlx::raw_sql(AssertSqlSafe(*sql))
            .fetch_all(&mut *conn)
            .await;
        out.push(line(sql, result));
    }
    if null_param {
        // The extended protocol with a NULL parameter, as psycopg sends it.
        let sql = "INSERT INTO t_order (order_id, user_id) VALUES ($1, $2)";
        let result = sqlx::query(sql)
            .bind(4i64)
            .bind(None::<i32>)
            .fetch_all(&mut *conn)
            .await;
        out.push(line(sql, result));
        let sql = "SELECT status FROM t_order WHERE user_id = $1";
        let result = sqlx::query(sql)
            .bind(None::<i32>)
            .fetch_all(&mut *conn)
            .await;
        out.push(line(sql, result));
    }
    out
}

fn line(sql: &str, result: Result<Vec<sqlx::postgres::PgRow>, sqlx::Error>) -> String {
    match result {
        Ok(rows) => {
            let rows: Vec<String> = rows.iter().map(|r| r.get::<String, _>(0)).collect();
            format!("{sql} => {rows:?}")
        }
        Err(e) => {
            let db = e
                .as_database_error()
                .unwrap_or_else(|| panic!("{sql}: {e}"));
            let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
            format!(
                "{sql} => error {} {} / {:?}",
                db.code().unwrap_or_default(),
                db.message(),
                pg.and_then(|p| p.detail())
            )
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_sharding_values_answer_as_postgresql() {
    let d = start();
    let create =
        "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT NOT NULL, status TEXT)";
    d.psql_ok("sharding_db", create);
    let reference = &d.shards[0];
    reference.create_database("reference").unwrap();
    let mut own = PgConnectOptions::new()
        .host(reference.host())
        .port(reference.port())
        .username(reference.user())
        .password(reference.password())
        .database("reference")
        .connect()
        .await
        .unwrap();
    sqlx::raw_sql(create).execute(&mut own).await.unwrap();
    let expected = transcript(&mut own, true).await;
    assert!(expected[0].contains("error 23502"), "{}", expected[0]);

    let mut proxied = d.sqlx_options("sharding_db").connect().await.unwrap();
    let got = transcript(&mut proxied, true).await;
    for (e, g) in expected.iter().zip(&got) {
        assert_eq!(e, g, "\nproxy log:\n{}", d.proxy.log_tail());
    }

    // A nullable sharding column: no shard holds the NULL row.
    d.psql_ok("sharding_db", "DROP TABLE t_order");
    d.psql_ok(
        "sharding_db",
        "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT, status TEXT)",
    );
    let err = sqlx::raw_sql("INSERT INTO t_order (order_id, user_id) VALUES (5, NULL)")
        .execute(&mut proxied)
        .await
        .unwrap_err();
    let db = err.as_database_error().unwrap();
    assert_eq!(db.code().as_deref(), Some("0A000"), "{err}");
    assert!(db.message().contains("NULL sharding value"), "{err}");
    let rows = sqlx::raw_sql("SELECT order_id FROM t_order")
        .fetch_all(&mut proxied)
        .await
        .unwrap();
    assert!(rows.is_empty());
}
