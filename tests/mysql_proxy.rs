//! End to end: MySQL clients through Shardwire to two MariaDB shards: the
//! `mariadb` CLI runs the sharding scenario (DDL fan-out, generated keys,
//! point / scatter / aggregate selects, commit and rollback across shards,
//! an error then recovery, multi-statement strings), and sqlx runs
//! prepared statements whose parameters route.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[path = "support_mysql/mod.rs"]
mod support_mysql;

use sqlx::{Connection, Row};
use support_mysql::{Deployment, PASSWORD, USER};

const SCHEMA: &str = "CREATE TABLE t_order (order_id BIGINT NOT NULL PRIMARY KEY, user_id INT NOT NULL, amount DECIMAL(10,2), status VARCHAR(20));\n\
                      CREATE TABLE t_region (id INT NOT NULL PRIMARY KEY, name VARCHAR(20));\n";

fn lines(out: &str) -> Vec<&str> {
    out.lines().collect()
}

fn deployment_with_schema() -> Deployment {
    let d = support_mysql::start();
    d.mariadb_ok(SCHEMA);
    d
}

#[test]
fn mariadb_cli_runs_the_sharding_scenario() {
    let d = deployment_with_schema();
    // DDL fan-out: every shard has both actual tables and the broadcast one.
    for shard in 0..2 {
        let tables = d.on_shard(shard, "SHOW TABLES");
        for t in ["t_order_0", "t_order_1", "t_region"] {
            assert!(tables.contains(t), "shard {shard} lacks {t}: {tables}");
        }
    }
    assert_eq!(
        lines(&d.mariadb_ok("SHOW TABLES;")),
        vec!["t_order", "t_region"]
    );
    assert!(lines(&d.mariadb_ok("SHOW DATABASES;")).contains(&"sharding_db"));
    assert_eq!(
        lines(
            &d.mariadb(
                "",
                PASSWORD,
                "SHOW FULL TABLES FROM sharding_db LIKE 't_o%';"
            )
            .stdout
        ),
        vec!["t_order\tBASE TABLE"]
    );
    // information_schema, as GUI tools read it: logical names, once each.
    assert_eq!(
        lines(&d.mariadb_ok(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = 'sharding_db' ORDER BY TABLE_NAME;"
        )),
        vec!["sharding_db\tt_order", "sharding_db\tt_region"]
    );
    assert_eq!(
        lines(&d.mariadb_ok(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME = 't_region' ORDER BY ORDINAL_POSITION;"
        )),
        vec!["id", "name"]
    );
    assert_eq!(
        lines(&d.mariadb_ok(
            "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = 'sharding_db' AND TABLE_NAME = 't_order' ORDER BY ORDINAL_POSITION;"
        )),
        vec!["t_order\torder_id", "t_order\tuser_id", "t_order\tamount", "t_order\tstatus"]
    );

    // DESCRIBE and SHOW COLUMNS answer once, not once per data node.
    let described = d.mariadb_ok("DESCRIBE t_order;\nSHOW COLUMNS FROM t_order;");
    let fields: Vec<&str> = lines(&described)
        .iter()
        .map(|l| l.split('\t').next().unwrap_or_default())
        .collect();
    assert_eq!(
        fields,
        vec!["order_id", "user_id", "amount", "status", "order_id", "user_id", "amount", "status"]
    );

    // A generated key: reported as LAST_INSERT_ID and stored under it.
    let out = d.mariadb_ok(
        "INSERT INTO t_order (user_id, amount, status) VALUES (7, 10.50, 'gen');\n\
         SELECT LAST_INSERT_ID();\n\
         SELECT order_id FROM t_order WHERE user_id = 7;",
    );
    let got = lines(&out);
    assert_eq!(got.len(), 2, "{out}");
    assert_ne!(got[0], "0");
    assert_eq!(got[0], got[1], "LAST_INSERT_ID is the stored key");

    // Rows over both shards and both tables of each.
    d.mariadb_ok(
        "INSERT INTO t_order (order_id, user_id, amount, status) VALUES \
         (100, 1, 1.00, 'a'), (101, 2, 2.00, 'b'), (102, 3, 3.00, 'a'), (103, 4, 4.00, 'b');\n\
         INSERT INTO t_region (id, name) VALUES (1, 'north');",
    );
    assert_eq!(
        d.on_shard(
            1,
            "SELECT order_id FROM t_order_0 WHERE order_id < 1000 UNION ALL \
             SELECT order_id FROM t_order_1 WHERE order_id < 1000 ORDER BY 1"
        )
        .split_whitespace()
        .collect::<Vec<_>>(),
        vec!["100", "102"],
        "odd user ids live on ds_1"
    );
    assert!(d.on_shard(0, "SELECT name FROM t_region").contains("north"));
    assert!(d.on_shard(1, "SELECT name FROM t_region").contains("north"));

    // Point, scatter, ordered, paginated and aggregate selects.
    assert_eq!(
        lines(&d.mariadb_ok("SELECT status FROM t_order WHERE user_id = 2 AND order_id = 101;")),
        vec!["b"]
    );
    assert_eq!(
        lines(&d.mariadb_ok(
            "SELECT order_id, status FROM t_order WHERE order_id BETWEEN 100 AND 199 ORDER BY order_id DESC LIMIT 2 OFFSET 1;"
        )),
        vec!["102\ta", "101\tb"]
    );
    assert_eq!(
        lines(&d.mariadb_ok(
            "SELECT COUNT(*), SUM(amount), MIN(order_id), MAX(order_id), AVG(amount) FROM t_order WHERE order_id BETWEEN 100 AND 199;"
        )),
        vec!["4\t10.00\t100\t103\t2.500000"]
    );
    assert_eq!(
        lines(&d.mariadb_ok(
            "SELECT status, COUNT(*) AS n, SUM(amount) FROM t_order WHERE order_id BETWEEN 100 AND 199 GROUP BY status ORDER BY status;"
        )),
        vec!["a\t2\t4.00", "b\t2\t6.00"]
    );

    // Commit across shards, rollback across shards, autocommit off.
    let out = d.mariadb_ok(
        "BEGIN;\n\
         INSERT INTO t_order (order_id, user_id, amount, status) VALUES (200, 1, 1, 'tx');\n\
         INSERT INTO t_order (order_id, user_id, amount, status) VALUES (201, 2, 1, 'tx');\n\
         COMMIT;\n\
         START TRANSACTION;\n\
         INSERT INTO t_order (order_id, user_id, amount, status) VALUES (300, 1, 1, 'rb');\n\
         INSERT INTO t_order (order_id, user_id, amount, status) VALUES (301, 2, 1, 'rb');\n\
         SELECT COUNT(*) FROM t_order WHERE status = 'rb';\n\
         ROLLBACK;\n\
         SELECT COUNT(*) FROM t_order WHERE status = 'rb';\n\
         SET autocommit = 0;\n\
         INSERT INTO t_order (order_id, user_id, amount, status) VALUES (400, 1, 1, 'ac');\n\
         INSERT INTO t_order (order_id, user_id, amount, status) VALUES (401, 2, 1, 'ac');\n\
         ROLLBACK;\n\
         INSERT INTO t_order (order_id, user_id, amount, status) VALUES (402, 3, 1, 'ac');\n\
         COMMIT;\n\
         SET autocommit = 1;\n\
         SELECT @@autocommit;",
    );
    assert_eq!(lines(&out), vec!["2", "0", "1"], "{out}");
    assert_eq!(
        lines(&d.mariadb_ok(
            "SELECT COUNT(*) FROM t_order WHERE status = 'tx';\nSELECT order_id FROM t_order WHERE status = 'ac';"
        )),
        vec!["2", "402"]
    );

    // An error, then the session goes on.
    let out = d.mariadb(
        "sharding_db",
        PASSWORD,
        "INSERT INTO t_order (order_id, user_id, amount, status) VALUES (100, 1, 1, 'dup');\n\
         SELECT COUNT(*) FROM t_order WHERE order_id = 100;",
    );
    assert!(out.stderr.contains("ERROR 1062"), "{}", out.stderr);
    assert!(out.stderr.contains("Duplicate entry"), "{}", out.stderr);
    assert_eq!(lines(&out.stdout), vec!["1"]);

    // One COM_QUERY holding several statements answers every result set.
    let out = d.mariadb_ok(
        "DELIMITER //\n\
         SELECT 'first'; SELECT order_id FROM t_order WHERE order_id IN (100, 101) ORDER BY order_id; SELECT COUNT(*) FROM t_region //\n\
         DELIMITER ;\n",
    );
    assert_eq!(lines(&out), vec!["first", "100", "101", "1"], "{out}");

    // Column definitions name the logical database and table, on the fast
    // path and through the merge alike.
    for sql in [
        "SELECT status FROM t_order WHERE user_id = 2 AND order_id = 101;",
        "SELECT status FROM t_order WHERE order_id BETWEEN 100 AND 199 ORDER BY status;",
    ] {
        let out = d.mariadb_with(&["--table", "--column-type-info"], sql);
        assert!(out.ok, "{}", out.stderr);
        assert!(
            out.stdout.contains("Database:   `sharding_db`"),
            "{}",
            out.stdout
        );
        assert!(
            out.stdout.contains("Table:      `t_order`"),
            "{}",
            out.stdout
        );
        assert!(
            out.stdout.contains("Org_table:  `t_order`"),
            "{}",
            out.stdout
        );
    }

    // Session-level statements clients send.
    let out = d.mariadb_ok(
        "SELECT @@version, @@version_comment, DATABASE();\nSET NAMES utf8mb4;\nSELECT @@character_set_client;\nUSE sharding_db;\nSHOW VARIABLES LIKE 'max_allowed_packet';",
    );
    assert_eq!(
        lines(&out),
        vec![
            "5.7.22-shardwire\tShardwire\tsharding_db",
            "utf8mb4",
            &format!("max_allowed_packet\t{}", support_mysql::MAX_PACKET),
        ]
    );
}

#[test]
fn sqlx_prepared_statements_route_by_their_parameters() {
    let d = deployment_with_schema();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = format!(
            "mysql://{USER}:{PASSWORD}@127.0.0.1:{}/sharding_db",
            d.port
        );
        let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
        for (order_id, user_id, status) in [(1i64, 1i32, "one"), (2, 2, "two"), (3, 3, "three"), (4, 4, "four")] {
            let done = sqlx::query("INSERT INTO t_order (order_id, user_id, amount, status) VALUES (?, ?, 1.5, ?)")
                .bind(order_id)
                .bind(user_id)
                .bind(status)
                .execute(&mut conn)
                .await
                .unwrap();
            assert_eq!(done.rows_affected(), 1);
        }
        // A point select reaches one shard, whose binary rows pass through.
        let row = sqlx::query("SELECT status, user_id FROM t_order WHERE user_id = ? AND order_id = ?")
            .bind(3i32)
            .bind(3i64)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(row.get::<String, _>(0), "three");
        assert_eq!(row.get::<i32, _>(1), 3);
        // A scatter select merges binary rows in order.
        let ids: Vec<i64> = sqlx::query("SELECT order_id FROM t_order WHERE order_id >= ? ORDER BY order_id DESC")
            .bind(2i64)
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(ids, vec![4, 3, 2]);
        // LIMIT and OFFSET as parameters, across shards.
        let page: Vec<i64> = sqlx::query_scalar(
            "SELECT order_id FROM t_order WHERE order_id >= ? ORDER BY order_id LIMIT ? OFFSET ?",
        )
        .bind(1i64)
        .bind(2i64)
        .bind(1i64)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert_eq!(page, vec![2, 3]);
        let (count, max): (i64, i64) = sqlx::query_as("SELECT COUNT(*), MAX(order_id) FROM t_order WHERE order_id <= ?")
            .bind(4i64)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!((count, max), (4, 4));
        // A multi-row insert split over the shards keeps each row's values.
        sqlx::query("INSERT INTO t_order (order_id, user_id, amount, status) VALUES (?, ?, 2, ?), (?, ?, 2, ?)")
            .bind(10i64)
            .bind(10i32)
            .bind("ten")
            .bind(11i64)
            .bind(11i32)
            .bind("eleven")
            .execute(&mut conn)
            .await
            .unwrap();
        assert!(d.on_shard(1, "SELECT status FROM t_order_1").contains("eleven"));
        assert!(d.on_shard(0, "SELECT status FROM t_order_0").contains("ten"));
        // A transaction over both shards, rolled back, then committed.
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("UPDATE t_order SET status = ? WHERE order_id IN (?, ?)")
            .bind("changed")
            .bind(1i64)
            .bind(2i64)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        let changed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t_order WHERE status = ?")
            .bind("changed")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(changed, 0);
        let mut tx = conn.begin().await.unwrap();
        let done = sqlx::query("UPDATE t_order SET status = ? WHERE order_id IN (?, ?)")
            .bind("changed")
            .bind(1i64)
            .bind(2i64)
            .execute(&mut *tx)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 2);
        tx.commit().await.unwrap();
        let changed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t_order WHERE status = ?")
            .bind("changed")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(changed, 2);
        // An error, then the connection goes on.
        let err = sqlx::query("INSERT INTO t_order (order_id, user_id, amount, status) VALUES (?, ?, 1, 'dup')")
            .bind(1i64)
            .bind(1i32)
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Duplicate entry"), "{err}");
        conn.ping().await.unwrap();
        conn.close().await.unwrap();
    });
}
