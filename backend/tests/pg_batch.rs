// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! `PgConnection::execute_batch` against a real PostgreSQL: the pipelined
//! Bind/Execute path, its chunking, the first error stopping the batch, and
//! an openGauss data source whose server turns out to be PostgreSQL.

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::{data_source, s, text};
use shardwire_backend::pg::{PgConnection, BATCH_CHUNK_BYTES};
use shardwire_backend::BackendError;
use shardwire_rules::snapshot::DatabaseProtocol;
use shardwire_testkit::PgInstance;

const INSERT: &str = "INSERT INTO t (id, v) VALUES ($1, $2)";

fn rows(n: usize, value_len: usize) -> Vec<Arc<[Option<Bytes>]>> {
    (0..n)
        .map(|i| {
            let v = (i % 7 != 0).then(|| Bytes::from("x".repeat(value_len)));
            Arc::from(vec![Some(Bytes::from(i.to_string())), v])
        })
        .collect()
}

async fn setup(pg: &PgInstance) -> PgConnection {
    let mut conn = PgConnection::connect(&data_source(pg)).await.unwrap();
    conn.simple_query("CREATE TABLE t (id int PRIMARY KEY, v text)")
        .await
        .unwrap();
    conn
}

async fn count(conn: &mut PgConnection) -> Option<String> {
    let sets = conn.simple_query("SELECT count(*) FROM t").await.unwrap();
    text(&sets[0].rows[0]).remove(0)
}

#[tokio::test(flavor = "current_thread")]
async fn thousand_rows_then_an_error_in_row_500() {
    let pg = PgInstance::start().unwrap();
    let mut conn = setup(&pg).await;

    let out = conn
        .execute_batch(INSERT, &[23, 25], &[], &rows(1000, 10))
        .await
        .unwrap();
    assert_eq!((out.tag.as_str(), out.rows), ("INSERT 0 1000", 1000));
    assert_eq!(count(&mut conn).await, s("1000"));
    let sets = conn
        .simple_query("SELECT count(*) FROM t WHERE v IS NULL")
        .await
        .unwrap();
    assert_eq!(text(&sets[0].rows[0]), vec![s("143")]);

    conn.simple_query("TRUNCATE t").await.unwrap();
    let mut bad = rows(1000, 10);
    bad[500] = Arc::from(vec![Some(Bytes::from_static(b"not a number")), None]);
    let err = conn
        .execute_batch(INSERT, &[23, 25], &[], &bad)
        .await
        .unwrap_err();
    let BackendError::Server(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.code, "22P02", "{e}");
    // One implicit transaction: rows 0..500 were rolled back with it.
    assert!(!conn.is_broken());
    assert_eq!(count(&mut conn).await, s("0"));
    conn.health_check().await.unwrap();
    // And the next batch runs.
    let out = conn
        .execute_batch("UPDATE t SET v = $1", &[25], &[], &[Arc::from(vec![None])])
        .await
        .unwrap();
    assert_eq!(out.tag, "UPDATE 0");
}

#[tokio::test(flavor = "current_thread")]
async fn large_batches_go_in_chunks() {
    let pg = PgInstance::start().unwrap();
    let mut conn = setup(&pg).await;
    // 10,000 rows of ~200 bytes: several chunks, each ended by Flush.
    let big = rows(10_000, 200);
    const { assert!(10_000 * 200 > 4 * BATCH_CHUNK_BYTES) };
    let out = conn
        .execute_batch(INSERT, &[23, 25], &[], &big)
        .await
        .unwrap();
    assert_eq!(out.rows, 10_000);
    assert_eq!(count(&mut conn).await, s("10000"));

    // A duplicate key in a late chunk stops the batch; nothing is kept.
    conn.simple_query("TRUNCATE t").await.unwrap();
    let mut dup = big.clone();
    dup[9000] = dup[3].clone();
    let err = conn
        .execute_batch(INSERT, &[23, 25], &[], &dup)
        .await
        .unwrap_err();
    let BackendError::Server(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.code, "23505", "{e}");
    assert_eq!(count(&mut conn).await, s("0"));

    // DELETE sums too.
    conn.execute_batch(INSERT, &[23, 25], &[], &big[..100])
        .await
        .unwrap();
    let ids: Vec<_> = (0..100)
        .map(|i| Arc::from(vec![Some(Bytes::from(i.to_string()))]))
        .collect();
    let out = conn
        .execute_batch("DELETE FROM t WHERE id = $1", &[23], &[], &ids)
        .await
        .unwrap();
    assert_eq!(out.tag, "DELETE 100");
}

#[tokio::test(flavor = "current_thread")]
async fn refuses_ragged_rows_and_statements_with_results() {
    let pg = PgInstance::start().unwrap();
    let mut conn = setup(&pg).await;
    let ragged = vec![
        Arc::from(vec![Some(Bytes::from_static(b"1")), None]),
        Arc::from(vec![Some(Bytes::from_static(b"2"))]),
    ];
    let err = conn
        .execute_batch(INSERT, &[23, 25], &[], &ragged)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("row 1 has 1 values"), "{err}");
    let err = conn
        .execute_batch(
            "INSERT INTO t (id) VALUES ($1) RETURNING id",
            &[23],
            &[],
            &[Arc::from(vec![Some(Bytes::from_static(b"1"))])],
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("only statements without results"),
        "{err}"
    );
    // An encoding error (more formats than the wire's int16) sends nothing.
    let formats = vec![0i16; 40_000];
    let err = conn
        .execute_batch(INSERT, &[23, 25], &formats, &ragged[..1])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("exceed i16::MAX"), "{err}");
    assert!(!conn.is_broken());
    let empty = conn
        .execute_batch(INSERT, &[23, 25], &[], &[])
        .await
        .unwrap();
    assert_eq!((empty.tag.as_str(), empty.rows), ("", 0));
    conn.health_check().await.unwrap();
}

/// An openGauss URL in front of a real PostgreSQL: the 3.51 startup is
/// negotiated down, code 10 is read as SASL again, and batches are
/// pipelined as Bind/Execute since PostgreSQL has no Batch Bind.
#[tokio::test(flavor = "current_thread")]
async fn opengauss_source_on_a_postgresql_server_falls_back() {
    let pg = PgInstance::start().unwrap();
    let mut ds = data_source(&pg);
    ds.protocol = DatabaseProtocol::OpenGauss;
    let mut conn = PgConnection::connect(&ds).await.unwrap();
    assert!(!conn.is_opengauss());
    conn.simple_query("CREATE TABLE t (id int PRIMARY KEY, v text)")
        .await
        .unwrap();
    let out = conn
        .execute_batch(INSERT, &[23, 25], &[], &rows(50, 5))
        .await
        .unwrap();
    assert_eq!(out.tag, "INSERT 0 50");

    ds.password = "wrong".into();
    let err = PgConnection::connect(&ds).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("data source \"ds_test\"") && msg.contains("password authentication failed"),
        "{msg}"
    );
}

/// A batch abandoned half-way (its client vanished) must not leave a
/// session whose next Sync would commit part of it.
#[tokio::test(flavor = "current_thread")]
async fn an_abandoned_batch_leaves_nothing_behind() {
    let pg = PgInstance::start().unwrap();
    let mut conn = setup(&pg).await;
    let big = rows(20_000, 200);
    let abandoned = tokio::time::timeout(
        std::time::Duration::from_millis(2),
        conn.execute_batch(INSERT, &[23, 25], &[], &big),
    )
    .await;
    assert!(abandoned.is_err(), "the batch finished within 2 ms");
    assert!(conn.is_broken() || conn.has_pending_results());
    if !conn.is_broken() {
        // Only the final answers were in flight: they are read away.
        conn.health_check().await.unwrap();
    }
    drop(conn);
    let mut other = PgConnection::connect(&data_source(&pg)).await.unwrap();
    let n = count(&mut other).await;
    assert!(n == s("0") || n == s("20000"), "{n:?}");
}
