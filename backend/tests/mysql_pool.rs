// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! `MySqlPool` against a real MariaDB: reuse, warm-up, size limit and
//! acquire timeout, sessions left dirty are discarded, and a server
//! killed and restarted under the pool.

mod mysql_common;

use std::time::{Duration, Instant};

use mysql_common::{data_source, s, scalar};
use shardwire_backend::mysql::{MySqlPool, PooledMySqlConnection};
use shardwire_backend::BackendError;
use shardwire_testkit::MariaDbInstance;

async fn connection_id(conn: &mut PooledMySqlConnection) -> String {
    scalar(conn, "SELECT CONNECTION_ID()").await.unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn a_returned_connection_is_reused() {
    let db = MariaDbInstance::start().unwrap();
    let pool = MySqlPool::new(data_source(&db)).unwrap();
    let mut conn = pool.get().await.unwrap();
    let id = connection_id(&mut conn).await;
    assert_eq!(id, conn.connection_id().to_string());
    drop(conn);
    for _ in 0..3 {
        let mut conn = pool.get().await.unwrap();
        assert_eq!(connection_id(&mut conn).await, id);
    }
    assert_eq!(pool.status().size, 1);
    pool.health_check().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn warm_up_opens_min_pool_size_sessions() {
    let db = MariaDbInstance::start().unwrap();
    let mut ds = data_source(&db);
    ds.min_pool_size = 3;
    let pool = MySqlPool::new(ds).unwrap();
    assert_eq!(pool.status().size, 0, "nothing opened before use");
    pool.warm_up().await.unwrap();
    let status = pool.status();
    assert_eq!((status.size, status.available), (3, 3));
}

#[tokio::test(flavor = "current_thread")]
async fn the_pool_is_capped_and_acquire_times_out() {
    let db = MariaDbInstance::start().unwrap();
    let mut ds = data_source(&db);
    ds.max_pool_size = 2;
    ds.connection_timeout = Duration::from_millis(500);
    let pool = MySqlPool::new(ds).unwrap();
    let a = pool.get().await.unwrap();
    let _b = pool.get().await.unwrap();
    assert_eq!(pool.status().size, 2);

    let started = Instant::now();
    let err = pool.get().await.unwrap_err();
    assert!(matches!(err, BackendError::PoolTimeout { .. }), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(400));

    drop(a);
    let _c = pool.get().await.unwrap();

    let mut zero = data_source(&db);
    zero.max_pool_size = 0;
    assert!(matches!(
        MySqlPool::new(zero).unwrap_err(),
        BackendError::Config { .. }
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn dirty_sessions_are_discarded() {
    let db = MariaDbInstance::start().unwrap();
    let pool = MySqlPool::new(data_source(&db)).unwrap();

    // Left inside a transaction.
    let mut conn = pool.get().await.unwrap();
    let first = connection_id(&mut conn).await;
    conn.simple_query("BEGIN").await.unwrap();
    drop(conn);
    let mut conn = pool.get().await.unwrap();
    let second = connection_id(&mut conn).await;
    assert_ne!(second, first, "the in-transaction session was dropped");
    assert!(!conn.in_transaction());

    // Abandoned mid-result.
    let mut q = conn.query("SELECT seq FROM seq_1_to_10000").await.unwrap();
    q.next_row().await.unwrap();
    drop(q);
    drop(conn);
    let mut conn = pool.get().await.unwrap();
    let third = connection_id(&mut conn).await;
    assert_ne!(third, second, "the abandoned session was dropped");

    // Killed by the server while idle in the pool.
    drop(conn);
    db.mysql(&format!("KILL CONNECTION {third}")).unwrap();
    let mut conn = pool.get().await.unwrap();
    // The kill takes effect asynchronously in the server; the session
    // handed out is either a fresh one or fails its first statement and
    // is not reused after.
    match conn.simple_query("SELECT CONNECTION_ID()").await {
        Ok(sets) => assert_ne!(
            mysql_common::text(&sets[0].rows[0])[0].clone().unwrap(),
            third
        ),
        Err(_) => {
            drop(conn);
            let mut conn = pool.get().await.unwrap();
            assert_ne!(connection_id(&mut conn).await, third);
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn sessions_past_their_lifetime_are_replaced() {
    let db = MariaDbInstance::start().unwrap();
    let mut ds = data_source(&db);
    ds.max_lifetime = Duration::from_millis(200);
    let pool = MySqlPool::new(ds).unwrap();
    let mut conn = pool.get().await.unwrap();
    let first = connection_id(&mut conn).await;
    drop(conn);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut conn = pool.get().await.unwrap();
    assert_ne!(connection_id(&mut conn).await, first);
}

#[tokio::test(flavor = "current_thread")]
async fn the_pool_recovers_after_a_server_restart() {
    let mut db = MariaDbInstance::start().unwrap();
    let pool = MySqlPool::new(data_source(&db)).unwrap();
    pool.warm_up().await.unwrap();
    {
        let mut conn = pool.get().await.unwrap();
        assert_eq!(scalar(&mut conn, "SELECT 1").await, s("1"));
    }
    db.kill();
    let err = pool.health_check().await.unwrap_err();
    assert!(
        !matches!(err, BackendError::PoolTimeout { .. }),
        "a dead server fails fast: {err}"
    );
    db.restart().unwrap();
    // The broken session is discarded on return; the next get opens a new one.
    let mut conn = pool.get().await.unwrap();
    assert_eq!(scalar(&mut conn, "SELECT 2").await, s("2"));
    drop(conn);
    pool.health_check().await.unwrap();

    pool.close();
    assert!(matches!(
        pool.get().await.unwrap_err(),
        BackendError::PoolClosed(_)
    ));
}
