#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! A real PostgreSQL session carried by the splice: sqlx connects to a tiny
//! accept-and-splice proxy in front of a throwaway server. The proxy reads
//! the client's first 8 bytes (sqlx's SSLRequest) itself and hands them over
//! as pending bytes, as the frontend does with what it read during
//! authentication; login (SCRAM), queries and a large result cross the
//! splice.
mod common;

use std::sync::Arc;

use common::{fast_path, proxy, within, ProxyOptions, Want};
use shardwire_fastpath::{FastPath, MapEntries, Path};
use shardwire_testkit::PgInstance;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Row};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_session_through_kernel_splice() {
    if let Some(fast) = fast_path(Want::Kernel) {
        session(fast, Path::Kernel).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_session_through_user_space_copy() {
    session(fast_path(Want::UserSpace).unwrap(), Path::UserSpace).await;
}

async fn session(fast: Arc<FastPath>, path: Path) {
    let pg = tokio::task::spawn_blocking(PgInstance::start)
        .await
        .unwrap()
        .unwrap();
    let backend = format!("127.0.0.1:{}", pg.port()).parse().unwrap();
    let opts = ProxyOptions {
        read_ahead: 8,
        ..Default::default()
    };
    let mut proxy = proxy(fast.clone(), backend, opts).await;

    let url: PgConnectOptions = pg.url().parse().unwrap();
    let mut conn = within(
        "login through the splice",
        url.port(proxy.addr.port()).connect(),
    )
    .await
    .unwrap();

    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(one, 1);
    sqlx::query("CREATE TABLE spliced (id int PRIMARY KEY, note text)")
        .execute(&mut conn)
        .await
        .unwrap();
    for id in 0..200 {
        sqlx::query("INSERT INTO spliced VALUES ($1, $2)")
            .bind(id)
            .bind(format!("row {id}"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let row = sqlx::query("SELECT count(*), sum(id) FROM spliced")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(row.get::<i64, _>(0), 200);
    assert_eq!(row.get::<i64, _>(1), (0..200).sum::<i64>());
    // About 4 MB of DataRows: backpressure through the splice.
    let rows = sqlx::query("SELECT g, repeat('x', 32) FROM generate_series(1, 100000) g")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 100_000);
    assert_eq!(rows[99_999].get::<i32, _>(0), 100_000);

    if path == Path::Kernel {
        let live = fast.live_pairs();
        assert_eq!(live.len(), 1);
        assert!(live[0].backend_to_client > 4_000_000, "{live:?}");
    }
    // sqlx sends Terminate and closes; PostgreSQL closes too, so either
    // side may be seen first.
    conn.close().await.unwrap();
    let outcome = within("outcome", proxy.outcomes.recv()).await.unwrap();
    assert_eq!(outcome.path, path, "{:?}", outcome.user_space_reason);
    assert!(
        outcome.client_to_backend > 8 && outcome.backend_to_client > 4_000_000,
        "{outcome:?}"
    );
    if let Some(entries) = fast.map_entries() {
        assert_eq!(entries, MapEntries::default());
    }
}
