//! End to end: what mariadb-dump reads of a sharded database, through the
//! `mariadb` CLI against two MariaDB shards, compared with the same tables
//! in one plain MariaDB database (a second database on shard 0): SHOW
//! [FULL] TABLES lists the logical tables that exist (sharded, broadcast,
//! and tables in no rule), SHOW CREATE TABLE names the logical table, and
//! LOCK TABLES, which the proxy cannot yet hold per data source, is
//! refused by name instead of leaving locks on a pooled connection.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[path = "support_mysql/mod.rs"]
mod support_mysql;

use support_mysql::PASSWORD;

const T_ORDER: &str = "CREATE TABLE t_order (order_id BIGINT NOT NULL PRIMARY KEY, \
     user_id INT NOT NULL, amount DECIMAL(10,2), status VARCHAR(20), KEY by_user (user_id))";
const T_REGION: &str = "CREATE TABLE t_region (id INT NOT NULL PRIMARY KEY, name VARCHAR(20))";
/// On the shards only, in no rule: MariaDB shows it, so the proxy does.
const A_EXTRA: &str = "CREATE TABLE a_extra (id INT)";

#[test]
fn mariadb_dump_reads_the_logical_database() {
    let d = support_mysql::start();
    d.mariadb_ok(&format!("{T_ORDER}; {T_REGION};"));
    for shard in 0..2 {
        d.on_shard(shard, &format!("{A_EXTRA};"));
    }
    d.shards[0]
        .mysql(&format!(
            "CREATE DATABASE reference; USE reference; {T_ORDER}; {T_REGION}; {A_EXTRA};"
        ))
        .unwrap();
    let reference = |sql: &str| d.shards[0].mysql(&format!("USE reference; {sql}")).unwrap();

    for sql in [
        "SHOW FULL TABLES;",
        "SHOW TABLES;",
        "SHOW TABLES LIKE 't\\_%';",
        "SHOW FULL TABLES LIKE 't_order';",
        "SHOW CREATE TABLE t_order;",
        "SHOW CREATE TABLE t_region;",
    ] {
        let proxied = d.mariadb_ok(sql);
        assert!(!proxied.is_empty(), "{sql}: no rows");
        assert_eq!(proxied, reference(sql), "{sql}");
    }
    // The actual tables are not the client's tables.
    assert!(d.mariadb_ok("SHOW TABLES LIKE 't_order_%';").is_empty());
    assert_eq!(
        d.mariadb_ok("SHOW TABLES FROM sharding_db LIKE 't_r%';"),
        "t_region\n"
    );

    // The column is named after the logical database, and the pattern.
    let out = d.mariadb_with(&["--column-names"], "SHOW FULL TABLES LIKE 't%';");
    assert!(
        out.stdout
            .starts_with("Tables_in_sharding_db (t%)\tTable_type\n"),
        "{}",
        out.stdout
    );

    let out = d.mariadb(
        "sharding_db",
        PASSWORD,
        "SHOW FULL TABLES WHERE Table_type = 'VIEW';",
    );
    assert!(
        out.stderr.contains("ERROR 1235") && out.stderr.contains("SHOW TABLES ... WHERE"),
        "{}",
        out.stderr
    );

    // As mariadb-dump sends it. Refused: a pooled connection must never
    // go back to the pool holding table locks.
    let out = d.mariadb(
        "sharding_db",
        PASSWORD,
        "LOCK TABLES `t_order` READ /*!32311 LOCAL */,`t_region` READ /*!32311 LOCAL */;\n\
         UNLOCK TABLES;\nINSERT INTO t_region VALUES (1, 'north');",
    );
    assert!(
        out.stderr.contains("ERROR 1235") && out.stderr.contains("LOCK TABLES"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("ERROR").count(),
        1,
        "only LOCK TABLES fails: {}",
        out.stderr
    );
    assert_eq!(d.mariadb_ok("SELECT name FROM t_region;"), "north\n");
}
