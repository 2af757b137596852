//! The harness against the real servers: parallel starts, password logins
//! over TCP, CLI access, isolation between instances, cleanup, and
//! kill + restart.

use std::net::{Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use shardwire_testkit::{
    mariadb_shards, pg_shards, HarnessError, MariaDbInstance, MariaDbOptions, PgInstance, PgOptions,
};
use sqlx::{Connection, MySqlConnection, PgConnection};

/// PostgreSQL's SQLSTATE for a failed password login.
const PG_INVALID_PASSWORD: &str = "28P01";
/// MariaDB's SQLSTATE for `ER_ACCESS_DENIED_ERROR` (1045).
const MY_ACCESS_DENIED: &str = "28000";

fn with_password(url: &str, good: &str, bad: &str) -> String {
    let replaced = url.replacen(&format!(":{good}@"), &format!(":{bad}@"), 1);
    assert_ne!(replaced, url, "password not found in {url}");
    replaced
}

fn accepts_connections(port: u16) -> bool {
    TcpStream::connect_timeout(
        &(Ipv4Addr::LOCALHOST, port).into(),
        Duration::from_millis(500),
    )
    .is_ok()
}

fn sqlstate(err: &sqlx::Error) -> Option<String> {
    err.as_database_error()
        .and_then(|db| db.code())
        .map(|code| code.into_owned())
}

async fn start_both(pg: usize, my: usize) -> (Vec<PgInstance>, Vec<MariaDbInstance>, Duration) {
    let started = Instant::now();
    let (pgs, mys) = tokio::join!(
        tokio::task::spawn_blocking(move || pg_shards(pg)),
        tokio::task::spawn_blocking(move || mariadb_shards(my)),
    );
    let pgs = pgs.expect("join").expect("start PostgreSQL shards");
    let mys = mys.expect("join").expect("start MariaDB shards");
    (pgs, mys, started.elapsed())
}

#[tokio::test]
async fn shards_serve_their_own_data_with_password_auth_and_vanish_on_drop() {
    let (pgs, mys, took) = start_both(2, 2).await;
    eprintln!("started 2 PostgreSQL + 2 MariaDB in {took:?}");

    let mut ports: Vec<u16> = pgs.iter().map(PgInstance::port).collect();
    ports.extend(mys.iter().map(MariaDbInstance::port));
    let mut unique = ports.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 4, "ports {ports:?}");
    assert!(!ports.contains(&5432) && !ports.contains(&3306));

    for (i, pg) in pgs.iter().enumerate() {
        let value = format!("pg-shard-{i}");
        let mut conn = PgConnection::connect(&pg.url()).await.expect("pg login");
        sqlx::query("CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL)")
            .execute(&mut conn)
            .await
            .expect("create table");
        sqlx::query("INSERT INTO t VALUES (1, $1)")
            .bind(&value)
            .execute(&mut conn)
            .await
            .expect("insert");
        let got: String = sqlx::query_scalar("SELECT v FROM t WHERE id = 1")
            .fetch_one(&mut conn)
            .await
            .expect("select");
        assert_eq!(got, value);
        let auth: String =
            sqlx::query_scalar("SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host'")
                .fetch_one(&mut conn)
                .await
                .expect("hba rules");
        assert_eq!(auth, "scram-sha-256");
        conn.close().await.expect("close");

        assert_eq!(
            pg.psql("SELECT v FROM t WHERE id = 1")
                .expect("psql")
                .trim(),
            value
        );
        assert_eq!(
            pg.jdbc_url(),
            format!("jdbc:postgresql://127.0.0.1:{}/shardwire", pg.port())
        );

        let bad = with_password(&pg.url(), pg.password(), "wrong");
        let err = PgConnection::connect(&bad)
            .await
            .expect_err("wrong password accepted");
        assert_eq!(
            sqlstate(&err).as_deref(),
            Some(PG_INVALID_PASSWORD),
            "{err}"
        );
    }

    for (i, my) in mys.iter().enumerate() {
        let value = format!("mariadb-shard-{i}");
        let mut conn = MySqlConnection::connect(&my.url())
            .await
            .expect("mariadb login");
        sqlx::query("CREATE TABLE t (id int PRIMARY KEY, v varchar(64) NOT NULL)")
            .execute(&mut conn)
            .await
            .expect("create table");
        sqlx::query("INSERT INTO t VALUES (1, ?)")
            .bind(&value)
            .execute(&mut conn)
            .await
            .expect("insert");
        let got: String = sqlx::query_scalar("SELECT v FROM t WHERE id = 1")
            .fetch_one(&mut conn)
            .await
            .expect("select");
        assert_eq!(got, value);
        conn.close().await.expect("close");

        assert_eq!(
            my.mysql("SELECT v FROM t WHERE id = 1")
                .expect("mariadb cli")
                .trim(),
            value
        );
        assert_eq!(
            my.mysql("SELECT DATABASE()").expect("mariadb cli").trim(),
            "shardwire"
        );

        let bad = with_password(&my.url(), my.password(), "wrong");
        let err = MySqlConnection::connect(&bad)
            .await
            .expect_err("wrong password accepted");
        assert_eq!(sqlstate(&err).as_deref(), Some(MY_ACCESS_DENIED), "{err}");
    }

    let mut dirs: Vec<PathBuf> = pgs.iter().map(|i| i.data_dir().to_owned()).collect();
    dirs.extend(mys.iter().map(|i| i.data_dir().to_owned()));
    for dir in &dirs {
        assert!(dir.is_dir(), "{} missing while running", dir.display());
    }
    let stopping = Instant::now();
    drop(pgs);
    drop(mys);
    eprintln!("stopped all four in {:?}", stopping.elapsed());
    for port in ports {
        assert!(
            !accepts_connections(port),
            "port {port} still accepts connections"
        );
    }
    for dir in dirs {
        let workdir = dir.parent().expect("data dir has a parent");
        assert!(!workdir.exists(), "{} not removed", workdir.display());
    }
}

#[tokio::test]
async fn killed_servers_refuse_queries_and_come_back_on_restart_with_their_data() {
    let (mut pgs, mut mys, _) = start_both(1, 1).await;
    let (pg, my) = (&mut pgs[0], &mut mys[0]);

    let mut pg_conn = PgConnection::connect(&pg.url()).await.expect("pg login");
    sqlx::query("CREATE TABLE kept (v int)")
        .execute(&mut pg_conn)
        .await
        .expect("create");
    sqlx::query("INSERT INTO kept VALUES (7)")
        .execute(&mut pg_conn)
        .await
        .expect("insert");
    let mut my_conn = MySqlConnection::connect(&my.url())
        .await
        .expect("mariadb login");
    sqlx::query("CREATE TABLE kept (v int)")
        .execute(&mut my_conn)
        .await
        .expect("create");
    sqlx::query("INSERT INTO kept VALUES (8)")
        .execute(&mut my_conn)
        .await
        .expect("insert");

    let (pg_port, my_port) = (pg.port(), my.port());
    pg.kill();
    my.kill();

    sqlx::query("SELECT 1")
        .execute(&mut pg_conn)
        .await
        .expect_err("query on a killed PostgreSQL");
    sqlx::query("SELECT 1")
        .execute(&mut my_conn)
        .await
        .expect_err("query on a killed MariaDB");
    PgConnection::connect(&pg.url())
        .await
        .expect_err("login to a killed PostgreSQL");
    MySqlConnection::connect(&my.url())
        .await
        .expect_err("login to a killed MariaDB");
    assert!(matches!(
        pg.psql("SELECT 1"),
        Err(HarnessError::NotRunning { .. })
    ));
    assert!(matches!(
        my.mysql("SELECT 1"),
        Err(HarnessError::NotRunning { .. })
    ));

    let restarting = Instant::now();
    pg.restart().expect("restart PostgreSQL");
    my.restart().expect("restart MariaDB");
    eprintln!(
        "restarted both (with crash recovery) in {:?}",
        restarting.elapsed()
    );
    assert_eq!((pg.port(), my.port()), (pg_port, my_port));

    let mut pg_conn = PgConnection::connect(&pg.url())
        .await
        .expect("pg login after restart");
    let v: i32 = sqlx::query_scalar("SELECT v FROM kept")
        .fetch_one(&mut pg_conn)
        .await
        .expect("committed row survives");
    assert_eq!(v, 7);
    pg_conn.close().await.expect("close");
    let mut my_conn = MySqlConnection::connect(&my.url())
        .await
        .expect("mariadb login after restart");
    let v: i32 = sqlx::query_scalar("SELECT v FROM kept")
        .fetch_one(&mut my_conn)
        .await
        .expect("committed row survives");
    assert_eq!(v, 8);
    my_conn.close().await.expect("close");

    // A restart of a running server is a clean stop and start.
    pg.restart().expect("restart a running PostgreSQL");
    assert_eq!(
        pg.psql("SELECT count(*) FROM kept").expect("psql").trim(),
        "1"
    );
}

#[test]
fn options_are_honoured_and_names_are_quoted() {
    let pg = PgInstance::start_with(&PgOptions {
        user: "tester".to_owned(),
        password: "p@ss:w'rd".to_owned(),
        database: "other db".to_owned(),
        max_connections: 50,
        settings: vec![("work_mem".to_owned(), "8MB".to_owned())],
        ..PgOptions::default()
    })
    .expect("start PostgreSQL");
    let row = pg
        .psql("SELECT current_user, current_database(), current_setting('max_connections'), current_setting('work_mem')")
        .expect("psql");
    assert_eq!(row.trim(), "tester|other db|50|8MB");
    assert!(pg.url().contains("tester:p%40ss%3Aw%27rd@"), "{}", pg.url());
    pg.create_database("second").expect("create database");
    assert!(pg
        .psql("SELECT datname FROM pg_database")
        .expect("psql")
        .contains("second"));

    let my = MariaDbInstance::start_with(&MariaDbOptions {
        password: "p@ss:w'rd\\".to_owned(),
        database: "other db".to_owned(),
        max_connections: 50,
        server_args: vec!["--sql-mode=ANSI_QUOTES".to_owned()],
        ..MariaDbOptions::default()
    })
    .expect("start MariaDB");
    let row = my
        .mysql("SELECT DATABASE(), @@max_connections, @@sql_mode")
        .expect("mariadb cli");
    assert_eq!(row.trim(), "other db\t50\tANSI_QUOTES");
    my.create_database("second").expect("create database");
    assert!(my
        .mysql("SHOW DATABASES")
        .expect("mariadb cli")
        .contains("second"));
}
