// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! A session's settings reach the shards its statements run on, and only
//! its own: SET, RESET, startup parameters and SET LOCAL, on pooled
//! connections that other sessions use between its statements.

mod support;

use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Row};
use support::{start, Deployment};

async fn connect(d: &Deployment, application_name: Option<&str>) -> PgConnection {
    let mut options = d.sqlx_options("sharding_db");
    if let Some(name) = application_name {
        options = options.application_name(name);
    }
    options.connect().await.unwrap()
}

/// `current_setting(name)` as each shard sees it while running this
/// session's statement: a point select per shard, and one scatter select.
async fn on_shards(conn: &mut PgConnection, name: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for user_id in [0, 1] {
        // user_id % 2 picks the shard; the simple protocol, as psql sends.
        let row = sqlx::raw_sql(AssertSqlSafe(format!(
            "SELECT current_setting('{name}') FROM t_order WHERE user_id = {user_id} AND order_id = {user_id}"
        )))
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        seen.push(row.get::<String, _>(0));
    }
    // The extended protocol, over both shards at once.
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT DISTINCT current_setting('{name}') FROM t_order"
    )))
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    seen.extend(rows.iter().map(|r| r.get::<String, _>(0)));
    seen
}

async fn show(conn: &mut PgConnection, name: &str) -> String {
    sqlx::raw_sql(AssertSqlSafe(format!("SHOW {name}")))
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get(0)
}

async fn run(conn: &mut PgConnection, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_follow_their_session_onto_the_shards() {
    let d = start();
    d.psql_ok(
        "sharding_db",
        "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT, status TEXT); \
         INSERT INTO t_order (order_id, user_id, status) VALUES (0, 0, 'a'), (1, 1, 'b')",
    );
    let mut a = connect(&d, Some("app-a")).await;
    // A startup parameter reaches every shard.
    assert_eq!(on_shards(&mut a, "application_name").await, ["app-a"; 3]);

    run(&mut a, "SET TimeZone = 'Asia/Tokyo'").await.unwrap();
    assert_eq!(show(&mut a, "TimeZone").await, "Asia/Tokyo");
    assert_eq!(on_shards(&mut a, "TimeZone").await, ["Asia/Tokyo"; 3]);

    // A list keeps its shape: two schemas, not one named "x, public".
    run(&mut a, "SET search_path = x, public").await.unwrap();
    assert_eq!(on_shards(&mut a, "search_path").await, ["x, public"; 3]);

    // A value the server refuses is the client's error, and undone.
    let err = run(&mut a, "SET TimeZone = 'Not/A_Zone'")
        .await
        .unwrap_err();
    let code = err.as_database_error().and_then(|e| e.code()).unwrap();
    assert_eq!(code, "22023", "{err}");
    assert_eq!(show(&mut a, "TimeZone").await, "Asia/Tokyo");
    assert_eq!(on_shards(&mut a, "TimeZone").await, ["Asia/Tokyo"; 3]);

    // Another session on the same pools sees none of it, while `a` is
    // still connected and after it left.
    let mut b = connect(&d, None).await;
    // sqlx logs in with its own TimeZone, which b's statements must get.
    let default_zone = show(&mut b, "TimeZone").await;
    assert_ne!(default_zone, "Asia/Tokyo");
    assert_eq!(
        on_shards(&mut b, "TimeZone").await,
        [default_zone.as_str(); 3]
    );
    assert_eq!(
        on_shards(&mut b, "search_path").await,
        ["\"$user\", public"; 3]
    );
    assert_ne!(on_shards(&mut b, "application_name").await[0], "app-a");
    assert_eq!(on_shards(&mut a, "TimeZone").await, ["Asia/Tokyo"; 3]);
    a.close().await.unwrap();
    for _ in 0..4 {
        assert_eq!(
            on_shards(&mut b, "TimeZone").await,
            [default_zone.as_str(); 3]
        );
    }

    // RESET, SET ... TO DEFAULT.
    run(&mut b, "SET work_mem = '9MB'").await.unwrap();
    assert_eq!(on_shards(&mut b, "work_mem").await, ["9MB"; 3]);
    run(&mut b, "RESET work_mem").await.unwrap();
    assert_eq!(on_shards(&mut b, "work_mem").await, ["4MB"; 3]);
    run(&mut b, "SET TimeZone = 'Asia/Tokyo'").await.unwrap();
    run(&mut b, "SET TimeZone TO DEFAULT").await.unwrap();
    assert_eq!(
        on_shards(&mut b, "TimeZone").await,
        [default_zone.as_str(); 3]
    );

    // SET LOCAL lasts for its transaction, on every shard it reaches.
    run(&mut b, "BEGIN").await.unwrap();
    run(&mut b, "SET LOCAL work_mem = '7MB'").await.unwrap();
    assert_eq!(on_shards(&mut b, "work_mem").await, ["7MB"; 3]);
    run(&mut b, "COMMIT").await.unwrap();
    assert_eq!(on_shards(&mut b, "work_mem").await, ["4MB"; 3]);

    // A SET inside a transaction that rolls back is undone, as PostgreSQL
    // does it.
    run(&mut b, "BEGIN").await.unwrap();
    run(&mut b, "SET work_mem = '6MB'").await.unwrap();
    assert_eq!(on_shards(&mut b, "work_mem").await, ["6MB"; 3]);
    run(&mut b, "ROLLBACK").await.unwrap();
    assert_eq!(show(&mut b, "work_mem").await, "4MB");
    assert_eq!(on_shards(&mut b, "work_mem").await, ["4MB"; 3]);

    // The same SET committed stays.
    run(&mut b, "BEGIN; SET work_mem = '5MB'; COMMIT")
        .await
        .unwrap();
    assert_eq!(on_shards(&mut b, "work_mem").await, ["5MB"; 3]);

    // A refused value inside a transaction, on a shard the transaction
    // already holds: the error fails the transaction, the rollback ends
    // it, and the shards keep the session's settings from before.
    run(&mut b, "BEGIN").await.unwrap();
    assert_eq!(on_shards(&mut b, "work_mem").await, ["5MB"; 3]);
    let err = run(&mut b, "SET TimeZone = 'Not/A_Zone'")
        .await
        .unwrap_err();
    let code = err.as_database_error().and_then(|e| e.code()).unwrap();
    assert_eq!(code, "22023", "{err}");
    assert!(
        run(&mut b, "SELECT 1").await.is_err(),
        "the transaction failed"
    );
    run(&mut b, "ROLLBACK").await.unwrap();
    assert_eq!(show(&mut b, "TimeZone").await, default_zone);
    assert_eq!(
        on_shards(&mut b, "TimeZone").await,
        [default_zone.as_str(); 3]
    );
    assert_eq!(on_shards(&mut b, "work_mem").await, ["5MB"; 3]);
}

/// psycopg 3 runs `sql` at `url` and prints each answer's one value and
/// then the TimeZone the server last reported (ParameterStatus).
fn psycopg_answers(url: &str, statements: &[&str]) -> String {
    let python =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/drivers/.venv/bin/python");
    let script = "import sys, psycopg\n\
                  c = psycopg.connect(sys.argv[1], autocommit=True)\n\
                  for sql in sys.argv[2:]:\n\
                  \x20   try:\n\
                  \x20       print(c.execute(sql).fetchone()[0], c.info.parameter_status('TimeZone'))\n\
                  \x20   except psycopg.Error as e:\n\
                  \x20       print(e.sqlstate, e.diag.message_primary)\n";
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(url)
        .args(statements)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_config_is_a_set_for_the_whole_session() {
    let d = start();
    d.psql_ok(
        "sharding_db",
        "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT, status TEXT); \
         INSERT INTO t_order (order_id, user_id, status) VALUES (0, 0, 'a'), (1, 1, 'b')",
    );
    // The answer, its normalized value and the ParameterStatus, as
    // PostgreSQL itself gives them.
    let statements = [
        "SELECT set_config('TimeZone', 'asia/tokyo', false)",
        "SHOW TimeZone",
        "SELECT pg_catalog.set_config('timezone', 'Not/A_Zone', false) AS z",
        "SELECT set_config('work_mem', '3MB', false)",
        "SELECT current_setting('work_mem')",
    ];
    let s = &d.shards[0];
    let own = format!(
        "postgres://{}:{}@{}:{}/{}",
        s.user(),
        s.password(),
        s.host(),
        s.port(),
        s.database()
    );
    let expected = psycopg_answers(&own, &statements);
    assert!(
        expected.starts_with("Asia/Tokyo Asia/Tokyo\n"),
        "{expected}"
    );
    assert_eq!(
        psycopg_answers(&d.url("sharding_db"), &statements),
        expected
    );

    let mut a = connect(&d, None).await;
    let mut b = connect(&d, None).await;
    let default_zone = show(&mut b, "TimeZone").await;
    run(&mut a, "SELECT set_config('TimeZone', 'Asia/Tokyo', false)")
        .await
        .unwrap();
    // Every shard, and only this session's statements.
    assert_eq!(on_shards(&mut a, "TimeZone").await, ["Asia/Tokyo"; 3]);
    assert_eq!(
        on_shards(&mut b, "TimeZone").await,
        [default_zone.as_str(); 3]
    );
    // is_local = true lasts for the transaction, on every shard.
    run(&mut a, "BEGIN").await.unwrap();
    run(&mut a, "SELECT set_config('work_mem', '7MB', true)")
        .await
        .unwrap();
    assert_eq!(on_shards(&mut a, "work_mem").await, ["7MB"; 3]);
    run(&mut a, "COMMIT").await.unwrap();
    assert_eq!(on_shards(&mut a, "work_mem").await, ["4MB"; 3]);
    // Outside a transaction it lasts for its own statement only.
    let row = sqlx::raw_sql("SELECT set_config('work_mem', '6MB', true)")
        .fetch_one(&mut a)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>(0), "6MB");
    assert_eq!(on_shards(&mut a, "work_mem").await, ["4MB"; 3]);
    // Other uses would change one pooled connection: refused by name.
    let err = run(
        &mut a,
        "SELECT set_config('work_mem', status, false) FROM t_order",
    )
    .await
    .unwrap_err();
    let db = err.as_database_error().unwrap();
    assert_eq!(db.code().as_deref(), Some("0A000"), "{err}");
    assert!(db.message().contains("set_config"), "{err}");
    assert_eq!(on_shards(&mut b, "work_mem").await, ["4MB"; 3]);
}
