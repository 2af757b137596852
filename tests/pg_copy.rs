// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! COPY ... FROM STDIN into the sharded database, from psql and from
//! tokio-postgres (text, CSV with a header and quoted line ends, binary):
//! every row lands on the data node its user_id / order_id pick, a
//! broadcast table gets every row on every shard, and a COPY that fails
//! anywhere (a bad row, a duplicate key on one shard, the client's own
//! CopyFail) leaves nothing behind on any shard.
//!
//! t_order: ds_{user_id % 2}, t_order_{order_id % 2}; so each data
//! source runs two COPYs, the second from rows held while the first ran.

mod support;

use futures::SinkExt;
use support::{start, Deployment};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;
use tokio_postgres::NoTls;

const SCHEMA: &str = "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT NOT NULL, \
                      status VARCHAR(16), amount NUMERIC(10,2)); \
                      CREATE TABLE t_region (id INT PRIMARY KEY, name TEXT)";

/// Rows of each actual table on each shard: (ds_0 t_order_0, ds_0
/// t_order_1, ds_1 t_order_0, ds_1 t_order_1), and whether any row sits
/// where its keys do not send it.
fn placement(d: &Deployment) -> (Vec<u64>, u64) {
    let mut counts = Vec::new();
    let mut misplaced = 0;
    for (shard, ds) in [(0usize, 0), (1, 1)] {
        for table in 0..2 {
            let row = d.shards[shard]
                .psql(&format!(
                    "select count(*), count(*) filter (where user_id % 2 <> {ds} or order_id % 2 <> {table}) from t_order_{table}"
                ))
                .unwrap();
            let (n, bad) = row.trim().split_once('|').unwrap();
            counts.push(n.parse().unwrap());
            misplaced += bad.parse::<u64>().unwrap();
        }
    }
    (counts, misplaced)
}

async fn client(d: &Deployment) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&d.url("sharding_db"), NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

#[test]
fn psql_copy_text_and_csv() {
    let d = start();
    d.psql_ok("sharding_db", SCHEMA);
    let (ok, out, err) = d.psql_script(
        "sharding_db",
        "COPY t_order (order_id, user_id, status, amount) FROM STDIN;\n\
         1\t1\tnew\t1.50\n2\t1\tpaid\\tx\t2.00\n3\t2\t\\N\t3.00\n4\t2\tnew\t4.00\n5\t3\tnew\t\\N\n\\.\n\
         COPY t_order FROM STDIN WITH (FORMAT csv, HEADER true);\n\
         order_id,user_id,status,amount\n10,4,\"two\nlines\",1\n11,5,\"a,b\",2\n12,6,,3\n\\.\n\
         COPY t_region FROM STDIN (FORMAT csv);\n1,north\n2,south\n\\.\n\
         SELECT count(*), sum(amount) FROM t_order;\n\
         SELECT status FROM t_order WHERE order_id = 10 AND user_id = 4;\n",
    );
    assert!(ok, "{err}\nproxy log:\n{}", d.proxy.log_tail());
    assert_eq!(out, "8|16.50\ntwo\nlines\n", "{err}");
    let (counts, misplaced) = placement(&d);
    assert_eq!(misplaced, 0);
    assert_eq!(counts.iter().sum::<u64>(), 8);
    assert!(
        counts.iter().all(|c| *c > 0),
        "every node got rows: {counts:?}"
    );
    for shard in 0..2 {
        assert_eq!(
            d.shards[shard]
                .psql("select count(*) from t_region")
                .unwrap()
                .trim(),
            "2",
            "broadcast rows on shard {shard}"
        );
    }
    // Back out: every shard's rows, each once; a broadcast table's once.
    let mut rows: Vec<String> = d
        .psql_ok(
            "sharding_db",
            "COPY t_order (order_id, user_id) TO STDOUT (FORMAT csv)",
        )
        .lines()
        .map(str::to_owned)
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        ["1,1", "10,4", "11,5", "12,6", "2,1", "3,2", "4,2", "5,3"]
    );
    assert_eq!(
        d.psql_ok("sharding_db", "COPY t_region TO STDOUT"),
        "1\tnorth\n2\tsouth\n"
    );
    assert_eq!(
        d.psql_ok(
            "sharding_db",
            "COPY (SELECT order_id FROM t_order WHERE user_id = 2 AND order_id = 4) TO STDOUT"
        ),
        "4\n"
    );
    // A query whose rows need merging runs merged, in the text format.
    assert_eq!(
        d.psql_ok(
            "sharding_db",
            "COPY (SELECT order_id, status FROM t_order ORDER BY order_id) TO STDOUT"
        ),
        "1\tnew\n2\tpaid\\tx\n3\t\\N\n4\tnew\n5\tnew\n10\ttwo\\nlines\n11\ta,b\n12\t\\N\n"
    );
    assert_eq!(
        d.psql_ok(
            "sharding_db",
            "COPY (SELECT count(*) FROM t_order) TO STDOUT"
        ),
        "8\n"
    );
    // Joining the shards' outputs would be a different answer here:
    // refused by name.
    for (sql, construct) in [
        (
            "COPY (SELECT order_id FROM t_order ORDER BY order_id) TO STDOUT (FORMAT csv)",
            "ORDER BY",
        ),
        ("COPY t_order TO STDOUT (FORMAT csv, HEADER true)", "HEADER"),
        ("COPY t_order TO STDOUT (FORMAT binary)", "binary"),
    ] {
        let (ok, _, err) = d.psql("sharding_db", sql);
        assert!(!ok && err.contains(construct), "{sql}: {err}");
    }
    assert_eq!(
        d.shards[1]
            .psql("select status from t_order_0 where order_id = 2")
            .unwrap()
            .trim(),
        "paid\tx",
        "text escapes reach the shard as sent"
    );
}

#[test]
fn a_failed_copy_leaves_nothing_on_any_shard() {
    let d = start();
    d.psql_ok("sharding_db", SCHEMA);
    d.psql_ok(
        "sharding_db",
        "INSERT INTO t_order (order_id, user_id, status) VALUES (7, 1, 'old')",
    );
    let copy = |data: &str| {
        d.psql_script(
            "sharding_db",
            &format!("COPY t_order (order_id, user_id, status) FROM STDIN (FORMAT csv);\n{data}\\.\nSELECT 'after', count(*) FROM t_order;\n"),
        )
    };
    // A NULL in a sharding column cannot be routed: the line is named.
    let (_, out, err) = copy("20,2,a\n21,,b\n");
    assert!(
        err.contains("null value in sharding column \"user_id\""),
        "{err}"
    );
    assert!(err.contains("line 2"), "{err}");
    assert_eq!(out, "after|1\n", "the session goes on");
    // Order 7 of user 1 exists on ds_1: that shard refuses its COPY after
    // the other has taken its rows; neither keeps any.
    let (_, _, err) = copy("30,2,a\n31,2,b\n7,1,dup\n33,3,c\n");
    assert!(err.contains("duplicate key"), "{err}");
    assert_eq!(placement(&d).0.iter().sum::<u64>(), 1, "only order 7");
    // Inside the client's transaction, a rollback takes the rows away.
    let (ok, out, err) = d.psql_script(
        "sharding_db",
        "BEGIN;\nCOPY t_order (order_id, user_id, status) FROM STDIN (FORMAT csv);\n40,1,a\n41,2,b\n\\.\n\
         SELECT count(*) FROM t_order;\nROLLBACK;\nSELECT count(*) FROM t_order;\n",
    );
    assert!(ok, "{err}");
    assert_eq!(out, "3\n1\n");
}

#[test]
fn drivers_copy_text_binary_and_fail() {
    let d = start();
    d.psql_ok("sharding_db", SCHEMA);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = client(&d).await;
        // 20,000 rows of text in 64 KB blocks, cut mid-row.
        let mut data = String::new();
        for i in 0..20_000u64 {
            data.push_str(&format!("{i}\t{}\trow {i}\t{}.25\n", i % 7, i % 100));
        }
        let sink = c
            .copy_in("COPY t_order (order_id, user_id, status, amount) FROM STDIN")
            .await
            .unwrap();
        futures::pin_mut!(sink);
        for chunk in data.as_bytes().chunks(65_536) {
            sink.send(bytes::Bytes::copy_from_slice(chunk))
                .await
                .unwrap();
        }
        assert_eq!(sink.finish().await.unwrap(), 20_000);

        // Binary, with the proxy reading the int8 and int4 keys.
        let sink = c
            .copy_in("COPY t_order (order_id, user_id, status) FROM STDIN (FORMAT binary)")
            .await
            .unwrap();
        let writer = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::INT4, Type::VARCHAR]);
        futures::pin_mut!(writer);
        for i in 100_000i64..100_500 {
            let user = (i % 5) as i32;
            let status = format!("bin {i}");
            writer.as_mut().write(&[&i, &user, &status]).await.unwrap();
        }
        assert_eq!(writer.finish().await.unwrap(), 500);
        let row = c
            .query_one(
                "SELECT status FROM t_order WHERE order_id = 100003 AND user_id = 3",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), "bin 100003");

        // A client that gives up (its sink dropped unfinished sends
        // CopyFail): nothing from it stays, and the session goes on.
        {
            let sink = c
                .copy_in::<_, bytes::Bytes>("COPY t_order (order_id, user_id) FROM STDIN")
                .await
                .unwrap();
            futures::pin_mut!(sink);
            sink.send(bytes::Bytes::from_static(b"900000\t1\n"))
                .await
                .unwrap();
        }
        let n: i64 = c
            .query_one("SELECT count(*) FROM t_order", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 20_500);
    });
    let (counts, misplaced) = placement(&d);
    assert_eq!((counts.iter().sum::<u64>(), misplaced), (20_500, 0));
}

/// INSERT ... SELECT reading the sharded table itself: each node's rows are
/// read where they are and written where their new keys send them, none
/// read back while written, in one statement that fails as a whole.
#[test]
fn insert_select_from_a_sharded_table_moves_rows_to_their_nodes() {
    let d = start();
    d.psql_ok("sharding_db", SCHEMA);
    d.psql_ok(
        "sharding_db",
        "INSERT INTO t_order (order_id, user_id, status, amount) VALUES \
         (1, 1, 'a', 1.50), (2, 2, 'b', 2.25), (3, 3, 'a', 3.00), (4, 4, 'b', 4.75)",
    );
    // user_id + 1 moves every row to the other data source, order_id + 101
    // to the other table: nothing stays where it was read.
    let out = d.psql_ok(
        "sharding_db",
        "INSERT INTO t_order (order_id, user_id, status, amount) \
         SELECT order_id + 101, user_id + 1, status, amount * 2 FROM t_order WHERE status = 'a'",
    );
    assert_eq!(out, "", "psql -q prints nothing for INSERT 0 2");
    let (counts, misplaced) = placement(&d);
    assert_eq!(misplaced, 0, "{counts:?}");
    assert_eq!(counts.iter().sum::<u64>(), 6);
    assert_eq!(
        d.psql_ok(
            "sharding_db",
            "SELECT order_id, user_id, amount FROM t_order WHERE order_id > 100 ORDER BY order_id"
        ),
        "102|2|3.00\n104|4|6.00\n"
    );
    // Doubling the table reads it once: four more rows, not a loop.
    d.psql_ok(
        "sharding_db",
        "INSERT INTO t_order (order_id, user_id, status) SELECT order_id + 1000, user_id, 'copy' \
         FROM t_order WHERE order_id < 100",
    );
    assert_eq!(
        d.psql_ok("sharding_db", "SELECT count(*) FROM t_order"),
        "10\n"
    );
    // A duplicate key on one node fails the statement on every node: order
    // 3 of user 1 meets order 3 of user 3 on ds_1's t_order_1, while order
    // 2002 of user 2 is new on ds_0.
    let (ok, _, err) = d.psql(
        "sharding_db",
        "INSERT INTO t_order (order_id, user_id) \
         SELECT CASE WHEN order_id = 1 THEN 3 ELSE order_id + 2000 END, user_id FROM t_order \
         WHERE order_id IN (1, 2)",
    );
    assert!(!ok && err.contains("duplicate key"), "{err}");
    assert_eq!(
        d.psql_ok("sharding_db", "SELECT count(*) FROM t_order"),
        "10\n"
    );
    // Rows that would have to be merged first are refused by name.
    let (ok, _, err) = d.psql(
        "sharding_db",
        "INSERT INTO t_order (order_id, user_id) SELECT max(order_id) + 1, 1 FROM t_order",
    );
    assert!(!ok && err.contains("needs merging across shards"), "{err}");
}
