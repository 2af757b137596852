//! Table metadata through Shardwire's MySQL listener over two MariaDB
//! shards: INSERT without a column list into sharded (with and without a
//! key generator), broadcast and single tables, read back from each shard;
//! the column list after ALTER TABLE ... ADD COLUMN; REFRESH TABLE
//! METADATA; a multi-table DROP TABLE IF EXISTS as one statement.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[path = "support_mysql/mod.rs"]
mod support_mysql;

use mysql_async::prelude::Queryable;
use support_mysql::{Deployment, PASSWORD, USER};

/// The support module's rules plus `t_item` (sharded by user_id, one table
/// per shard, no key generator) and `t_single` (a single table on ds_1).
fn rules() -> String {
    let item = "    t_item:\n      actualDataNodes: ds_${0..1}.t_item\n      databaseStrategy:\n        \
                standard:\n          shardingColumn: user_id\n          shardingAlgorithmName: by_user\n\
                \x20     tableStrategy:\n        none: {}\n";
    support_mysql::T_ORDER_RULES.replacen(
        "  shardingAlgorithms:\n",
        &format!("{item}  shardingAlgorithms:\n"),
        1,
    ) + "- !SINGLE\n  tables:\n    - ds_1.t_single\n"
}

const SCHEMA: &str =
    "CREATE TABLE t_order (order_id BIGINT NOT NULL PRIMARY KEY, user_id INT NOT NULL, \
                      status VARCHAR(16), amount DECIMAL(10,2));\n\
                      CREATE TABLE t_item (item_id INT, user_id INT NOT NULL, note VARCHAR(20));\n\
                      CREATE TABLE t_region (id INT NOT NULL PRIMARY KEY, name VARCHAR(20));\n\
                      CREATE TABLE t_single (id INT NOT NULL PRIMARY KEY, name VARCHAR(20));\n";

fn deploy() -> Deployment {
    let d = support_mysql::start_with_rules(&rules());
    d.mariadb_ok(SCHEMA);
    d
}

/// The CLI's error for `sql` through the proxy, which must fail.
fn proxy_error(d: &Deployment, sql: &str) -> String {
    let out = d.mariadb("sharding_db", PASSWORD, sql);
    assert!(!out.stderr.is_empty(), "{sql} should fail: {}", out.stdout);
    out.stderr
}

#[test]
fn insert_without_columns_lands_where_the_values_say() {
    let d = deploy();
    d.mariadb_ok("INSERT INTO t_order VALUES (1, 1, 'paid', 10.50), (2, 2, 'new', 20.00), (3, 3, 'new', 3.00);");
    assert_eq!(
        d.on_shard(1, "SELECT order_id, status FROM t_order_1 ORDER BY 1")
            .trim(),
        "1\tpaid\n3\tnew"
    );
    assert_eq!(
        d.on_shard(0, "SELECT order_id, amount FROM t_order_0")
            .trim(),
        "2\t20.00"
    );
    // Key left out: generated, and LAST_INSERT_ID says which.
    let out = d.mariadb_ok("INSERT INTO t_order VALUES (5, 'gen', 7.75); SELECT LAST_INSERT_ID();");
    let key: u64 = out.trim().parse().unwrap();
    assert!(key > 1000, "{out}");
    let table = format!("t_order_{}", key % 2);
    assert_eq!(
        d.on_shard(
            1,
            &format!("SELECT user_id, status, amount FROM {table} WHERE order_id = {key}")
        )
        .trim(),
        "5\tgen\t7.75"
    );
    // No key generator: every column, as MySQL wants.
    d.mariadb_ok("INSERT INTO t_item VALUES (10, 4, 'four'), (11, 7, 'seven');");
    assert_eq!(
        d.on_shard(0, "SELECT item_id, note FROM t_item").trim(),
        "10\tfour"
    );
    assert_eq!(
        d.on_shard(1, "SELECT item_id, note FROM t_item").trim(),
        "11\tseven"
    );
    d.mariadb_ok(
        "INSERT INTO t_region VALUES (1, 'north'); INSERT INTO t_single VALUES (7, 'only');",
    );
    for shard in 0..2 {
        assert_eq!(
            d.on_shard(shard, "SELECT name FROM t_region").trim(),
            "north"
        );
    }
    assert_eq!(d.on_shard(1, "SELECT name FROM t_single").trim(), "only");
    assert_eq!(
        d.on_shard(
            0,
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_NAME = 't_single'"
        )
        .trim(),
        "0"
    );

    // A wrong count: MariaDB's own error, number and words.
    let direct = d.shards[0]
        .mysql("INSERT INTO t_item VALUES (1, 2)")
        .unwrap_err()
        .to_string();
    let words = "Column count doesn't match value count at row 1";
    assert!(direct.contains(words), "{direct}");
    let ours = proxy_error(&d, "INSERT INTO t_item VALUES (1, 2);");
    assert!(
        ours.contains("ERROR 1136 (21S01)") && ours.contains(words),
        "{ours}"
    );
    let ours = proxy_error(&d, "INSERT INTO t_item VALUES (1, 2, 'a'), (3, 4);");
    assert!(
        ours.contains("ERROR 1136") && ours.contains("at row 2"),
        "{ours}"
    );

    // Moving a row to another shard by UPDATE is refused, and nothing moves.
    let ours = proxy_error(&d, "UPDATE t_order SET user_id = 4 WHERE order_id = 2;");
    assert!(ours.contains("UPDATE of sharding column user_id"), "{ours}");
    assert_eq!(
        d.on_shard(0, "SELECT user_id FROM t_order_0 WHERE order_id = 2")
            .trim(),
        "2"
    );
}

#[test]
fn prepared_inserts_without_columns_route_by_their_values() {
    let d = deploy();
    let url = format!("mysql://{USER}:{PASSWORD}@127.0.0.1:{}/sharding_db", d.port);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut conn = mysql_async::Conn::from_url(url).await.unwrap();
        for (order, user) in [(20i64, 2i32), (21, 3)] {
            conn.exec_drop(
                "INSERT INTO t_order VALUES (?, ?, ?, ?)",
                (order, user, "bound", "1.25"),
            )
            .await
            .unwrap();
        }
        // Key generated for a prepared statement too.
        conn.exec_drop(
            "INSERT INTO t_order VALUES (?, ?, ?)",
            (4i32, "gen", "2.50"),
        )
        .await
        .unwrap();
        assert!(conn.last_insert_id().unwrap_or(0) > 1000);
        conn.disconnect().await.unwrap();
    });
    assert_eq!(
        d.on_shard(
            0,
            "SELECT order_id, amount FROM t_order_0 WHERE order_id = 20"
        )
        .trim(),
        "20\t1.25"
    );
    assert_eq!(
        d.on_shard(1, "SELECT order_id, status FROM t_order_1")
            .trim(),
        "21\tbound"
    );
    assert_eq!(
        d.on_shard(0, "SELECT COUNT(*) FROM (SELECT * FROM t_order_0 UNION ALL SELECT * FROM t_order_1) o WHERE status = 'gen'")
            .trim(),
        "1"
    );
}

#[test]
fn ddl_and_refresh_keep_the_column_list_current() {
    let d = deploy();
    d.mariadb_ok("INSERT INTO t_order VALUES (1, 1, 'a', 1.00);");
    d.mariadb_ok("ALTER TABLE t_order ADD COLUMN note VARCHAR(20);");
    d.mariadb_ok("INSERT INTO t_order VALUES (2, 2, 'b', 2.00, 'noted');");
    assert_eq!(
        d.on_shard(0, "SELECT note FROM t_order_0 WHERE order_id = 2")
            .trim(),
        "noted"
    );
    // Behind the proxy's back: stale until REFRESH TABLE METADATA.
    for shard in 0..2 {
        for t in ["t_order_0", "t_order_1"] {
            d.shards[shard]
                .mysql(&format!("ALTER TABLE {t} ADD COLUMN extra INT"))
                .unwrap();
        }
    }
    let stale = proxy_error(&d, "INSERT INTO t_order VALUES (6, 2, 'c', 1.00, 'n', 42);");
    assert!(stale.contains("ERROR 1136"), "{stale}");
    d.mariadb_ok("REFRESH TABLE METADATA t_order;");
    d.mariadb_ok("INSERT INTO t_order VALUES (6, 2, 'c', 1.00, 'n', 42);");
    assert_eq!(
        d.on_shard(0, "SELECT extra FROM t_order_0 WHERE order_id = 6")
            .trim(),
        "42"
    );
    d.mariadb_ok("REFRESH TABLE METADATA;");
}

#[test]
fn multi_table_drop_is_one_statement() {
    let d = deploy();
    d.mariadb_ok("INSERT INTO t_region VALUES (1, 'n');");
    d.mariadb_ok("DROP TABLE t_item;");
    let out = d.mariadb(
        "sharding_db",
        PASSWORD,
        "DROP TABLE IF EXISTS t_order, t_item, t_region; SELECT 'after';",
    );
    assert!(
        out.ok && out.stderr.is_empty(),
        "{}\n{}",
        out.stderr,
        d.proxy.log_tail()
    );
    assert_eq!(out.stdout.trim(), "after");
    for shard in 0..2 {
        let tables = d.on_shard(shard, "SHOW TABLES");
        for t in ["t_order_0", "t_order_1", "t_item", "t_region"] {
            assert!(
                !tables.lines().any(|l| l == t),
                "shard {shard} still has {t}: {tables}"
            );
        }
    }
}
