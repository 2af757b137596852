// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! PostgreSQL data sources that require TLS (a managed database): the
//! shard accepts TCP logins only under TLS (`hostnossl ... reject`), so
//! every answer here proves the proxy's backend connection was encrypted,
//! and `pg_stat_ssl` says so from the server's side. The URL's `sslmode`
//! and `sslrootcert` are read as libpq reads them; a check that fails is
//! an error naming what failed.

use std::path::Path;

use shardwire_testkit::{free_port, PgInstance, PgOptions, ShardwireProcess};
use sqlx::{ConnectOptions, Row};

const USER: &str = "app";
const PASSWORD: &str = "app-secret";

fn ds(name: &str, host: &str, pg: &PgInstance, db: &str, params: &str) -> String {
    format!(
        "  {name}:\n    url: jdbc:postgresql://{host}:{port}/{db}{params}\n    username: shardwire\n    \
         password: shardwire-secret\n    maxPoolSize: 4\n    connectionTimeoutMilliseconds: 5000\n",
        port = pg.port()
    )
}

/// A proxy whose databases are `(name, data sources YAML, rules YAML)`.
fn proxy(conf: &Path, databases: &[(&str, String, &str)]) -> ShardwireProcess {
    let port = free_port().unwrap();
    std::fs::write(
        conf.join("global.yaml"),
        format!(
            "authority:\n  users:\n    - user: {USER}@%\n      password: {PASSWORD}\n  privilege:\n    \
             type: ALL_PERMITTED\nlisteners:\n  - protocol: postgresql\n    address: 127.0.0.1:{port}\n"
        ),
    )
    .unwrap();
    for (name, sources, rules) in databases {
        std::fs::write(
            conf.join(format!("database-{name}.yaml")),
            format!("databaseName: {name}\ndataSources:\n{sources}{rules}"),
        )
        .unwrap();
    }
    ShardwireProcess::start(Path::new(env!("CARGO_BIN_EXE_shardwire")), conf).unwrap()
}

async fn connect(proxy: &ShardwireProcess, db: &str) -> Result<sqlx::PgConnection, sqlx::Error> {
    sqlx::postgres::PgConnectOptions::new()
        .host("127.0.0.1")
        .port(proxy.port())
        .username(USER)
        .password(PASSWORD)
        .database(db)
        .connect()
        .await
}

const SSL_IN_USE: &str = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

fn tls_shard() -> PgInstance {
    PgInstance::start_with(&PgOptions {
        tls: true,
        ..Default::default()
    })
    .unwrap()
}

#[tokio::test]
async fn sharded_and_passthrough_databases_run_over_tls_shards() {
    let pg = tls_shard();
    pg.create_database("second").unwrap();
    let ca = pg.tls_root_cert().unwrap().display().to_string();
    let conf = tempfile::tempdir().unwrap();
    let sharded_sources = ds("ds_0", "127.0.0.1", &pg, "shardwire", "?sslmode=require")
        + &ds("ds_1", "127.0.0.1", &pg, "second", "?sslmode=prefer");
    let rules = "rules:\n- !SHARDING\n  tables:\n    t_item:\n      actualDataNodes: ds_${0..1}.t_item\n      \
                 databaseStrategy:\n        standard:\n          shardingColumn: id\n          \
                 shardingAlgorithmName: by_id\n  shardingAlgorithms:\n    by_id:\n      type: MOD\n      \
                 props:\n        sharding-count: 2\n";
    let verify_ca = format!("?sslmode=verify-ca&sslrootcert={ca}");
    let verify_full = format!("?sslmode=verify-full&sslrootcert={ca}");
    let proxy = proxy(
        conf.path(),
        &[
            ("sharded", sharded_sources, rules),
            (
                "direct",
                ds("ds", "127.0.0.1", &pg, "shardwire", &verify_ca),
                "",
            ),
            (
                "named",
                ds("ds", "localhost", &pg, "shardwire", &verify_full),
                "",
            ),
        ],
    );

    let mut conn = connect(&proxy, "sharded").await.unwrap();
    sqlx::raw_sql("CREATE TABLE t_item (id INT PRIMARY KEY, v INT)")
        .execute(&mut conn)
        .await
        .unwrap();
    for id in 0..10 {
        sqlx::query("INSERT INTO t_item (id, v) VALUES ($1, $2)")
            .bind(id)
            .bind(id * 10)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let row = sqlx::query("SELECT count(*), sum(v) FROM t_item")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!((row.get::<i64, _>(0), row.get::<i64, _>(1)), (10, 450));
    // Each shard holds its half, written over its own TLS connection.
    for db in ["shardwire", "second"] {
        let n = pg
            .psql(&format!("\\c {db}\nSELECT count(*) FROM t_item"))
            .unwrap();
        assert_eq!(n.trim(), "5", "{db}");
    }

    // Passthrough sessions relay the TLS backend in user space.
    for db in ["direct", "named"] {
        let mut conn = connect(&proxy, db).await.unwrap();
        let ssl: bool = sqlx::query(SSL_IN_USE)
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get(0);
        assert!(ssl, "{db}: the backend session is not under TLS");
    }
}

#[tokio::test]
async fn refused_or_failed_tls_is_named() {
    let pg = tls_shard();
    let ca = pg.tls_root_cert().unwrap().display().to_string();
    let conf = tempfile::tempdir().unwrap();
    let wrong_name = format!("?sslmode=verify-full&sslrootcert={ca}");
    let proxy = proxy(
        conf.path(),
        &[
            // No sslmode: in the clear, which this server refuses.
            ("plain", ds("ds", "127.0.0.1", &pg, "shardwire", ""), ""),
            // The certificate names localhost, not 127.0.0.1.
            (
                "wrong_name",
                ds("ds", "127.0.0.1", &pg, "shardwire", &wrong_name),
                "",
            ),
            (
                "no_root",
                ds("ds", "127.0.0.1", &pg, "shardwire", "?sslmode=verify-ca"),
                "",
            ),
            (
                "bad_mode",
                ds("ds", "127.0.0.1", &pg, "shardwire", "?sslmode=always"),
                "",
            ),
        ],
    );
    let cases = [
        ("plain", "no encryption"),
        ("wrong_name", "certificate"),
        ("no_root", "needs sslrootcert"),
        ("bad_mode", "sslmode=always is not one of"),
    ];
    for (db, expected) in cases {
        let e = connect(&proxy, db).await.err().map(|e| e.to_string());
        let e = e.unwrap_or_else(|| panic!("{db}: the login succeeded"));
        assert!(e.contains(expected), "{db}: {e}");
    }
}
