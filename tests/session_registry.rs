//! The session registry (`Frontend::sessions`), seen while real clients
//! use the proxy: PostgreSQL (tokio-postgres) and MySQL (mysql_async, and
//! a hand-made client for an abrupt close) sessions appear at login, show
//! their transaction, their running statement and the backend connections
//! they hold, and disappear when they quit cleanly or vanish.
//!
//! The proxy runs in the test's own process here (not as a child), since
//! the admin plane that will list sessions over HTTP is not built yet.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod support;
mod support_mysql;

use std::sync::Arc;
use std::time::{Duration, Instant};

use shardwire_frontend::core::registry::{Protocol, SessionInfo, SessionState};
use shardwire_frontend::Frontend;
use shardwire_testkit::{free_port, mariadb_shards, pg_shards, PgInstance};

/// Loads the conf in `dir` and serves it on this runtime.
async fn serve(dir: &std::path::Path) -> Arc<Frontend> {
    let snapshot = shardwire_rules::load_dir(dir).unwrap();
    let fe = Frontend::new(Arc::new(snapshot), dir).unwrap();
    let listeners = fe.bind().await.unwrap();
    tokio::spawn(Arc::clone(&fe).serve(listeners));
    fe
}

/// Waits (up to 20 s) until `check` holds for the listed sessions, and
/// returns that list; fails with the last list otherwise.
async fn wait_for(
    fe: &Frontend,
    what: &str,
    check: impl Fn(&[SessionInfo]) -> bool,
) -> Vec<SessionInfo> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = fe.sessions();
        if check(&list) {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn find<'a>(list: &'a [SessionInfo], marker: &str) -> Option<&'a SessionInfo> {
    list.iter().find(|s| s.statement.contains(marker))
}

async fn pg_client(
    fe_port: u16,
    database: &str,
) -> (tokio_postgres::Client, tokio::task::JoinHandle<()>) {
    let url = format!(
        "postgres://{}:{}@127.0.0.1:{fe_port}/{database}",
        support::USER,
        support::PASSWORD
    );
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let task = tokio::spawn(async move {
        let _ = conn.await;
    });
    (client, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_sessions_are_listed_while_they_live() {
    let shards = pg_shards(2).unwrap();
    let ports: Vec<u16> = shards.iter().map(PgInstance::port).collect();
    let conf = tempfile::tempdir().unwrap();
    let port = free_port().unwrap();
    support::write_conf(conf.path(), &ports, port);
    // An openGauss listener too: its clients run PostgreSQL's session
    // code, and only the listener tells the registry which they are.
    let og_port = free_port().unwrap();
    let global = conf.path().join("global.yaml");
    let text = std::fs::read_to_string(&global).unwrap();
    std::fs::write(
        &global,
        format!("{text}  - protocol: opengauss\n    address: 127.0.0.1:{og_port}\n"),
    )
    .unwrap();
    let fe = serve(conf.path()).await;
    assert!(fe.sessions().is_empty());

    let (setup, setup_task) = pg_client(port, "sharding_db").await;
    setup
        .batch_execute(
            "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT NOT NULL, \
             status VARCHAR(16)); \
             INSERT INTO t_order (order_id, user_id, status) VALUES (1, 1, 'a'), (2, 1, 'b'), \
             (3, 2, 'c')",
        )
        .await
        .unwrap();
    let list = wait_for(&fe, "the setup session", |l| l.len() == 1).await;
    assert_eq!(list[0].protocol, Protocol::PostgreSql);
    assert_eq!(list[0].user, support::USER);
    assert_eq!(list[0].database.as_deref(), Some("sharding_db"));
    assert_eq!(list[0].state, SessionState::Idle);
    assert!(list[0].client.ip().is_loopback());
    assert!(list[0].id > 0);

    let (og, og_task) = pg_client(og_port, "sharding_db").await;
    og.batch_execute("SELECT 1").await.unwrap();
    let list = wait_for(&fe, "the openGauss session", |l| l.len() == 2).await;
    assert_eq!(
        list.iter().map(|s| s.protocol).collect::<Vec<_>>(),
        [Protocol::PostgreSql, Protocol::OpenGauss]
    );
    drop(og);
    og_task.await.unwrap();
    wait_for(&fe, "the openGauss quit", |l| l.len() == 1).await;

    // A transaction holding one shard's connection.
    let (txn, txn_task) = pg_client(port, "sharding_db").await;
    txn.batch_execute("BEGIN").await.unwrap();
    txn.batch_execute("UPDATE t_order SET status = 'txn-marker' WHERE user_id = 1")
        .await
        .unwrap();
    let list = wait_for(&fe, "the open transaction", |l| {
        find(l, "txn-marker").is_some_and(|s| s.state == SessionState::IdleInTransaction)
    })
    .await;
    let open = find(&list, "txn-marker").unwrap();
    assert_eq!(open.backends, vec!["ds_1".to_owned()]);
    assert_eq!(open.backend_count, 1);
    // A failed statement dooms the transaction, and the registry says so.
    assert!(txn
        .batch_execute("SELECT no_such_column FROM t_order")
        .await
        .is_err());
    wait_for(&fe, "the failed transaction", |l| {
        l.iter().any(|s| s.state == SessionState::FailedTransaction)
    })
    .await;

    // A statement while it runs.
    let (sleeper, sleeper_task) = pg_client(port, "sharding_db").await;
    let running = tokio::spawn(async move {
        let rows = sleeper
            .query(
                "SELECT pg_sleep(1.5), order_id FROM t_order WHERE user_id = 2 /* sleep-marker */",
                &[],
            )
            .await
            .unwrap();
        (sleeper, rows.len())
    });
    let list = wait_for(&fe, "the running statement", |l| {
        find(l, "sleep-marker").is_some_and(|s| s.state == SessionState::Active)
    })
    .await;
    assert!(find(&list, "sleep-marker")
        .unwrap()
        .statement
        .starts_with("SELECT pg_sleep(1.5)"));
    let (sleeper, rows) = running.await.unwrap();
    assert_eq!(rows, 1);
    wait_for(&fe, "the statement's end", |l| {
        find(l, "sleep-marker").is_some_and(|s| s.state == SessionState::Idle)
    })
    .await;

    // A passthrough session is listed as spliced.
    let (direct, direct_task) = pg_client(port, "direct").await;
    direct.batch_execute("SELECT 1").await.unwrap();
    let list = wait_for(&fe, "the passthrough session", |l| l.len() == 4).await;
    let spliced: Vec<_> = list
        .iter()
        .filter(|s| s.state == SessionState::Passthrough)
        .collect();
    assert_eq!(spliced.len(), 1);
    assert_eq!(spliced[0].database.as_deref(), Some("direct"));
    assert_eq!(spliced[0].backends, vec!["ds".to_owned()]);

    // A clean quit (Terminate) removes the entry; so does the transaction
    // session's.
    drop(txn);
    txn_task.await.unwrap();
    wait_for(&fe, "the clean quit", |l| {
        l.len() == 3 && find(l, "txn-marker").is_none()
    })
    .await;
    drop(direct);
    direct_task.await.unwrap();
    wait_for(&fe, "the passthrough quit", |l| {
        l.len() == 2 && l.iter().all(|s| s.state != SessionState::Passthrough)
    })
    .await;

    // A client that vanishes without a goodbye: its socket is closed under
    // it.
    sleeper_task.abort();
    let _ = sleeper_task.await;
    drop(sleeper);
    wait_for(&fe, "the abrupt close", |l| {
        l.len() == 1 && find(l, "sleep-marker").is_none()
    })
    .await;

    drop(setup);
    setup_task.await.unwrap();
    wait_for(&fe, "no session", |l| l.is_empty()).await;
    // Nothing the transaction held was left locked on the shard.
    assert_eq!(
        shards[1]
            .psql("SELECT count(*) FROM t_order_1 WHERE status = 'txn-marker'")
            .unwrap()
            .trim(),
        "0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_sessions_are_listed_while_they_live() {
    use mysql_async::prelude::Queryable;

    let shards = mariadb_shards(2).unwrap();
    let conf = tempfile::tempdir().unwrap();
    let port = free_port().unwrap();
    support_mysql::write_conf(conf.path(), &shards, port, support_mysql::T_ORDER_RULES);
    support_mysql::write_passthrough(conf.path(), &shards[0]);
    let fe = serve(conf.path()).await;
    let opts = |db: &str| {
        mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(port)
            .user(Some(support_mysql::USER))
            .pass(Some(support_mysql::PASSWORD))
            .db_name(Some(db))
            .prefer_socket(false)
    };

    let mut setup = mysql_async::Conn::new(opts("sharding_db")).await.unwrap();
    setup
        .query_drop(
            "CREATE TABLE t_order (order_id BIGINT NOT NULL PRIMARY KEY, user_id INT NOT NULL, \
             status VARCHAR(20))",
        )
        .await
        .unwrap();
    setup
        .query_drop(
            "INSERT INTO t_order (order_id, user_id, status) VALUES (1, 1, 'a'), (2, 1, 'b'), \
             (3, 2, 'c')",
        )
        .await
        .unwrap();
    let setup_id = setup.id();
    let list = wait_for(&fe, "the setup session", |l| l.len() == 1).await;
    assert_eq!(list[0].id, setup_id);
    assert_eq!(list[0].protocol, Protocol::MySql);
    assert_eq!(list[0].user, support_mysql::USER);
    assert_eq!(list[0].database.as_deref(), Some("sharding_db"));
    assert_eq!(list[0].state, SessionState::Idle);

    // A transaction holding one shard's connection.
    let mut txn = mysql_async::Conn::new(opts("sharding_db")).await.unwrap();
    let txn_id = txn.id();
    txn.query_drop("START TRANSACTION").await.unwrap();
    txn.query_drop("UPDATE t_order SET status = 'txn' WHERE user_id = 1")
        .await
        .unwrap();
    let by_id = |l: &[SessionInfo], id: u32| l.iter().find(|s| s.id == id).cloned();
    let list = wait_for(&fe, "the open transaction", |l| {
        by_id(l, txn_id).is_some_and(|s| s.state == SessionState::IdleInTransaction)
    })
    .await;
    let open = by_id(&list, txn_id).unwrap();
    assert_eq!(open.backends, vec!["ds_1".to_owned()]);
    assert!(open.statement.starts_with("UPDATE t_order SET status"));
    txn.query_drop("COMMIT").await.unwrap();
    let list = wait_for(&fe, "the committed transaction", |l| {
        by_id(l, txn_id).is_some_and(|s| s.state == SessionState::Idle)
    })
    .await;
    assert!(by_id(&list, txn_id).unwrap().backends.is_empty());

    // A statement while it runs.
    let mut sleeper = mysql_async::Conn::new(opts("sharding_db")).await.unwrap();
    let sleeper_id = sleeper.id();
    let running = tokio::spawn(async move {
        let rows: Vec<(i64, i64)> = sleeper
            .query("SELECT SLEEP(1.5), order_id FROM t_order WHERE user_id = 2")
            .await
            .unwrap();
        (sleeper, rows.len())
    });
    let list = wait_for(&fe, "the running statement", |l| {
        by_id(l, sleeper_id).is_some_and(|s| s.state == SessionState::Active)
    })
    .await;
    assert!(by_id(&list, sleeper_id)
        .unwrap()
        .statement
        .starts_with("SELECT SLEEP(1.5)"));
    let (sleeper, rows) = running.await.unwrap();
    assert_eq!(rows, 1);
    wait_for(&fe, "the statement's end", |l| {
        by_id(l, sleeper_id).is_some_and(|s| s.state == SessionState::Idle)
    })
    .await;

    // USE moves the session to another database in the list.
    let mut mover = mysql_async::Conn::new(opts("sharding_db")).await.unwrap();
    let mover_id = mover.id();
    mover.query_drop("USE direct").await.unwrap();
    wait_for(&fe, "the USE", |l| {
        by_id(l, mover_id).is_some_and(|s| s.database.as_deref() == Some("direct"))
    })
    .await;
    mover.disconnect().await.unwrap();

    // A passthrough session is listed as spliced.
    let mut direct = mysql_async::Conn::new(opts("direct")).await.unwrap();
    direct.query_drop("SELECT 1").await.unwrap();
    let list = wait_for(&fe, "the passthrough session", |l| {
        l.iter().any(|s| s.state == SessionState::Passthrough)
    })
    .await;
    assert_eq!(list.len(), 4, "{list:#?}");
    let spliced = list
        .iter()
        .find(|s| s.state == SessionState::Passthrough)
        .unwrap();
    assert_eq!(spliced.database.as_deref(), Some("direct"));
    assert_eq!(spliced.backends, vec!["ds".to_owned()]);

    // Clean quits (COM_QUIT) remove the entries.
    txn.disconnect().await.unwrap();
    sleeper.disconnect().await.unwrap();
    direct.disconnect().await.unwrap();
    let list = wait_for(&fe, "the clean quits", |l| l.len() == 1).await;
    assert_eq!(list[0].id, setup_id);

    // A client that vanishes mid-session: its socket closes without
    // COM_QUIT.
    let (raw, answer) = tokio::task::spawn_blocking(move || {
        support_mysql::RawClient::login(
            port,
            support_mysql::USER,
            support_mysql::PASSWORD,
            Some("sharding_db"),
        )
    })
    .await
    .unwrap();
    assert_eq!(answer.first(), Some(&0x00), "login answered {answer:?}");
    wait_for(&fe, "the raw session", |l| l.len() == 2).await;
    drop(raw);
    let list = wait_for(&fe, "the abrupt close", |l| l.len() == 1).await;
    assert_eq!(list[0].id, setup_id);

    setup.disconnect().await.unwrap();
    wait_for(&fe, "no session", |l| l.is_empty()).await;
}
