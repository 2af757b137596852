// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! `PgPool` against a real PostgreSQL: reuse, size limit and acquire
//! timeout, dirty sessions, and a server killed and restarted under it.

mod common;

use std::time::{Duration, Instant};

use common::{data_source, text};
use shardwire_backend::pool::{PgPool, PooledConnection};
use shardwire_backend::BackendError;
use shardwire_protocol::pg::TransactionStatus;
use shardwire_testkit::PgInstance;

async fn backend_pid(conn: &mut PooledConnection) -> String {
    let sets = conn.simple_query("SELECT pg_backend_pid()").await.unwrap();
    text(&sets[0].rows[0])[0].clone().unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn a_returned_connection_is_reused() {
    let pg = PgInstance::start().unwrap();
    let pool = PgPool::new(data_source(&pg)).unwrap();
    let mut conn = pool.get().await.unwrap();
    let pid = backend_pid(&mut conn).await;
    drop(conn);
    for _ in 0..3 {
        let mut conn = pool.get().await.unwrap();
        assert_eq!(backend_pid(&mut conn).await, pid);
    }
    assert_eq!(pool.status().size, 1);
    pool.health_check().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn warm_up_opens_min_pool_size_sessions() {
    let pg = PgInstance::start().unwrap();
    let mut ds = data_source(&pg);
    ds.min_pool_size = 3;
    let pool = PgPool::new(ds).unwrap();
    assert_eq!(pool.status().size, 0, "nothing opened before use");
    pool.warm_up().await.unwrap();
    let status = pool.status();
    assert_eq!((status.size, status.available), (3, 3));
}

#[tokio::test(flavor = "current_thread")]
async fn the_pool_is_capped_and_acquire_times_out() {
    let pg = PgInstance::start().unwrap();
    let mut ds = data_source(&pg);
    ds.max_pool_size = 2;
    // Also bounds each login (SCRAM), which takes a while on a loaded
    // 2-core machine: not too short.
    ds.connection_timeout = Duration::from_secs(2);
    let pool = PgPool::new(ds).unwrap();
    let a = pool.get().await.unwrap();
    let _b = pool.get().await.unwrap();
    assert_eq!(pool.status().size, 2);

    let started = Instant::now();
    let err = pool.get().await.unwrap_err();
    assert!(
        matches!(err, BackendError::PoolTimeout { after, .. } if after == Duration::from_secs(2)),
        "{err:?}"
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(6),
        "{waited:?}"
    );

    // Returning one frees the slot for the next caller.
    drop(a);
    let mut c = pool.get().await.unwrap();
    c.health_check().await.unwrap();
    assert_eq!(pool.status().size, 2);

    let mut ds = data_source(&pg);
    ds.max_pool_size = 0;
    assert!(matches!(PgPool::new(ds), Err(BackendError::Config { .. })));
}

#[tokio::test(flavor = "current_thread")]
async fn a_connection_left_dirty_is_not_reused() {
    let pg = PgInstance::start().unwrap();
    let pool = PgPool::new(data_source(&pg)).unwrap();

    // Left inside a transaction block.
    let mut conn = pool.get().await.unwrap();
    let pid = backend_pid(&mut conn).await;
    conn.simple_query("BEGIN; CREATE TEMP TABLE leak (x int)")
        .await
        .unwrap();
    assert_eq!(conn.transaction_status(), TransactionStatus::InTransaction);
    drop(conn);
    let mut conn = pool.get().await.unwrap();
    assert_ne!(backend_pid(&mut conn).await, pid);
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);
    let err = conn.simple_query("SELECT * FROM leak").await.unwrap_err();
    assert_eq!(err.server_error().unwrap().code, "42P01");

    // Left in a failed transaction block.
    let pid = backend_pid(&mut conn).await;
    conn.simple_query("BEGIN").await.unwrap();
    conn.simple_query("SELECT 1/0").await.unwrap_err();
    assert_eq!(conn.transaction_status(), TransactionStatus::Failed);
    drop(conn);
    let mut conn = pool.get().await.unwrap();
    assert_ne!(backend_pid(&mut conn).await, pid);

    // Abandoned in the middle of a result.
    let pid = backend_pid(&mut conn).await;
    let mut q = conn
        .query("SELECT generate_series(1, 100000)")
        .await
        .unwrap();
    q.next_row().await.unwrap().unwrap();
    drop(q);
    drop(conn);
    let mut conn = pool.get().await.unwrap();
    assert_ne!(backend_pid(&mut conn).await, pid);
    assert_eq!(pool.status().size, 1, "the dirty ones were closed");
}

#[tokio::test(flavor = "current_thread")]
async fn idle_and_old_connections_are_retired() {
    let pg = PgInstance::start().unwrap();
    let mut ds = data_source(&pg);
    ds.idle_timeout = Duration::from_millis(200);
    let pool = PgPool::new(ds).unwrap();
    let mut conn = pool.get().await.unwrap();
    let pid = backend_pid(&mut conn).await;
    drop(conn);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut conn = pool.get().await.unwrap();
    assert_ne!(backend_pid(&mut conn).await, pid, "idle too long");
    drop(conn);

    let mut ds = data_source(&pg);
    ds.max_lifetime = Duration::from_millis(200);
    let pool = PgPool::new(ds).unwrap();
    let mut conn = pool.get().await.unwrap();
    let pid = backend_pid(&mut conn).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(conn);
    let mut conn = pool.get().await.unwrap();
    assert_ne!(backend_pid(&mut conn).await, pid, "too old");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_fails_the_query_and_the_pool_recovers_after_restart() {
    let pg = PgInstance::start().unwrap();
    let mut ds = data_source(&pg);
    ds.connection_timeout = Duration::from_secs(3);
    let pool = PgPool::new(ds).unwrap();
    let mut conn = pool.get().await.unwrap();
    let mut idle = pool.get().await.unwrap();
    idle.health_check().await.unwrap();
    drop(idle);

    let killer = tokio::task::spawn_blocking(move || {
        let mut pg = pg;
        std::thread::sleep(Duration::from_millis(500));
        pg.kill();
        pg
    });
    let started = Instant::now();
    let res = tokio::time::timeout(
        Duration::from_secs(5),
        conn.simple_query("SELECT pg_sleep(30)"),
    )
    .await
    .expect("the query ends within 5 s of the kill");
    let err = res.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(6));
    assert!(conn.is_broken(), "{err:?}");
    assert!(matches!(
        conn.simple_query("SELECT 1").await,
        Err(BackendError::Broken)
    ));
    drop(conn);
    let mut pg = killer.await.unwrap();

    // While the server is down, acquiring fails instead of hanging.
    let started = Instant::now();
    assert!(pool.get().await.is_err());
    assert!(started.elapsed() < Duration::from_secs(5));

    let pg = tokio::task::spawn_blocking(move || {
        pg.restart().unwrap();
        pg
    })
    .await
    .unwrap();
    let mut conn = pool.get().await.unwrap();
    conn.health_check().await.unwrap();
    pool.health_check().await.unwrap();
    drop(conn);
    drop(pg);
}
