// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! `PgConnection` against a real PostgreSQL: login, simple and extended
//! queries, streaming, errors and transaction status, cancel.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{data_source, s, text};
use futures::StreamExt;
use shardwire_backend::pg::{Formats, PgConnection, QueryEvent};
use shardwire_backend::BackendError;
use shardwire_protocol::pg::TransactionStatus;
use shardwire_testkit::PgInstance;

async fn connect(pg: &PgInstance) -> PgConnection {
    PgConnection::connect(&data_source(pg)).await.unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn connects_with_scram_and_reports_session_state() {
    let pg = PgInstance::start().unwrap();
    let mut conn = connect(&pg).await;
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);
    assert!(!conn.is_broken());
    assert!(conn.parameter("server_version").is_some());
    assert_eq!(conn.parameter("client_encoding"), Some("UTF8"));
    assert_eq!(conn.parameter("application_name"), Some("shardwire"));
    let pid = conn.backend_pid().unwrap();

    let sets = conn.simple_query("SELECT pg_backend_pid()").await.unwrap();
    assert_eq!(text(&sets[0].rows[0]), vec![Some(pid.to_string())]);
    // The server really used SCRAM (the testkit requires it over TCP).
    let sets = conn
        .simple_query(
            "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = current_user",
        )
        .await;
    // Reading pg_authid needs superuser; when allowed, check the method.
    if let Ok(sets) = sets {
        assert_eq!(text(&sets[0].rows[0]), vec![s("t")]);
    }
    conn.health_check().await.unwrap();
    conn.close().await;
}

#[tokio::test(flavor = "current_thread")]
async fn wrong_password_is_an_auth_error_with_the_servers_message() {
    let pg = PgInstance::start().unwrap();
    let mut ds = data_source(&pg);
    ds.password = "definitely-wrong".into();
    let err = PgConnection::connect(&ds).await.unwrap_err();
    let BackendError::Auth { reason, .. } = &err else {
        panic!("expected Auth, got {err:?}");
    };
    assert!(
        reason.contains("password authentication failed"),
        "{reason}"
    );
    assert_eq!(err.server_error().unwrap().code, "28P01");
}

#[tokio::test(flavor = "current_thread")]
async fn refuses_unreachable_servers_and_other_protocols() {
    let pg = PgInstance::start().unwrap();
    let mut ds = data_source(&pg);
    ds.protocol = shardwire_rules::snapshot::DatabaseProtocol::MySql;
    assert!(matches!(
        PgConnection::connect(&ds).await,
        Err(BackendError::Config { .. })
    ));
    let mut ds = data_source(&pg);
    ds.port = shardwire_testkit::free_port().unwrap();
    assert!(matches!(
        PgConnection::connect(&ds).await,
        Err(BackendError::Connect { .. })
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn simple_query_returns_every_result_set() {
    let pg = PgInstance::start().unwrap();
    let mut conn = connect(&pg).await;
    let sets = conn
        .simple_query(
            "SELECT 1 AS a, NULL::text AS b; \
             CREATE TEMP TABLE t (x int, y text); \
             INSERT INTO t VALUES (1, 'one'), (2, NULL); \
             SELECT x, y FROM t ORDER BY x",
        )
        .await
        .unwrap();
    assert_eq!(sets.len(), 4);
    let d = sets[0].description.as_ref().unwrap();
    assert_eq!(d.fields[0].name, "a");
    assert_eq!(d.fields[1].name, "b");
    assert_eq!(text(&sets[0].rows[0]), vec![s("1"), None]);
    assert_eq!(sets[0].tag.as_deref(), Some("SELECT 1"));
    assert!(sets[1].description.is_none());
    assert_eq!(sets[1].tag.as_deref(), Some("CREATE TABLE"));
    assert_eq!(sets[2].tag.as_deref(), Some("INSERT 0 2"));
    assert_eq!(
        sets[3].rows.iter().map(text).collect::<Vec<_>>(),
        vec![vec![s("1"), s("one")], vec![s("2"), None]]
    );
    assert_eq!(sets[3].tag.as_deref(), Some("SELECT 2"));

    // An empty query answers EmptyQueryResponse: one set without a tag.
    let sets = conn.simple_query("").await.unwrap();
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].tag, None);

    // Errors are typed, and the connection stays usable after them.
    let err = conn
        .simple_query("SELECT * FROM no_such_table")
        .await
        .unwrap_err();
    let e = err.server_error().unwrap();
    assert_eq!(e.code, "42P01");
    assert_eq!(e.severity, "ERROR");
    assert_eq!(e.position, Some(15));
    assert!(e.message.contains("no_such_table"), "{e}");
    let err = conn
        .simple_query("CREATE TABLE t2 (x int CHECK (x > 0)); INSERT INTO t2 VALUES (-1)")
        .await
        .unwrap_err();
    assert_eq!(err.server_error().unwrap().code, "23514");
    assert!(err.server_error().unwrap().detail.is_some());
    let err = conn.simple_query("SELEC 1").await.unwrap_err();
    assert_eq!(err.server_error().unwrap().code, "42601");
    assert!(!conn.is_broken());
    conn.health_check().await.unwrap();

    // Notices arrive as events, in order.
    let mut q = conn
        .query("DO $$ BEGIN RAISE NOTICE 'hi there'; END $$")
        .await
        .unwrap();
    let first = q.next_event().await.unwrap().unwrap();
    assert!(
        matches!(&first, QueryEvent::Notice(n) if n.message() == Some("hi there")),
        "{first:?}"
    );
    assert_eq!(
        q.next_event().await.unwrap(),
        Some(QueryEvent::CommandComplete("DO".into()))
    );
    assert_eq!(q.next_event().await.unwrap(), None);

    // COPY FROM STDIN through the query API fails cleanly instead of hanging.
    let err = conn
        .simple_query("CREATE TEMP TABLE c (x int); COPY c FROM STDIN")
        .await
        .unwrap_err();
    assert_eq!(err.server_error().unwrap().code, "57014");
    conn.health_check().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn streams_100k_rows_one_at_a_time() {
    let pg = PgInstance::start().unwrap();
    let mut conn = connect(&pg).await;
    let mut q = conn
        .query("SELECT g, repeat('x', 20) FROM generate_series(1, 100000) g")
        .await
        .unwrap();
    let mut n = 0u64;
    let mut sum = 0u64;
    while let Some(row) = q.next_row().await.unwrap() {
        n += 1;
        let v = text(&row);
        sum += v[0].as_deref().unwrap().parse::<u64>().unwrap();
        assert_eq!(v[1].as_deref().map(str::len), Some(20));
        if n == 1 {
            assert_eq!(q.description().unwrap().fields.len(), 2);
        }
    }
    assert_eq!(n, 100_000);
    assert_eq!(sum, 100_000 * 100_001 / 2);
    assert_eq!(q.command_tags(), ["SELECT 100000"]);
    assert!(q.is_done());

    // A query abandoned half-way is read away before the next request.
    let mut q = conn
        .query("SELECT generate_series(1, 50000)")
        .await
        .unwrap();
    assert_eq!(text(&q.next_row().await.unwrap().unwrap()), vec![s("1")]);
    drop(q);
    assert!(conn.has_pending_results());
    let sets = conn.simple_query("SELECT 'after'").await.unwrap();
    assert_eq!(text(&sets[0].rows[0]), vec![s("after")]);
    assert!(!conn.has_pending_results());

    // The same answers as a `futures::Stream`.
    let events: Vec<_> = conn
        .query("SELECT generate_series(1, 3); SELECT 1/0")
        .await
        .unwrap()
        .into_events()
        .collect()
        .await;
    let rows = events
        .iter()
        .filter(|e| matches!(e, Ok(QueryEvent::Row(_))))
        .count();
    assert_eq!(rows, 3);
    let last = events.last().unwrap().as_ref().unwrap_err();
    assert_eq!(last.server_error().unwrap().code, "22012");
    conn.health_check().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn extended_query_with_parameters_and_nulls() {
    let pg = PgInstance::start().unwrap();
    let mut conn = connect(&pg).await;

    let stmt = conn
        .prepare("s1", "SELECT $1::int4 + 1, $2::text IS NULL, $3::text", &[])
        .await
        .unwrap();
    assert_eq!(stmt.name(), "s1");
    assert_eq!(stmt.param_types(), [23, 25, 25]);
    assert_eq!(stmt.columns().unwrap().fields.len(), 3);

    for (a, c) in [("41", "hi"), ("1", "there")] {
        let params = [Some(Bytes::from(a)), None, Some(Bytes::from(c))];
        let sets = conn
            .execute(&stmt, &params, Formats::TEXT)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let expected = (a.parse::<i32>().unwrap() + 1).to_string();
        assert_eq!(text(&sets[0].rows[0]), vec![Some(expected), s("t"), s(c)]);
        assert_eq!(sets[0].tag.as_deref(), Some("SELECT 1"));
    }

    // Binary results: int4 as four big-endian bytes.
    let params = [Some(Bytes::from("41")), Some(Bytes::from("x")), None];
    let mut q = conn
        .execute(
            &stmt,
            &params,
            Formats {
                params: &[],
                results: &[1],
            },
        )
        .await
        .unwrap();
    let row = q.next_row().await.unwrap().unwrap();
    let cols: Vec<_> = row.columns().collect();
    assert_eq!(cols[0].as_deref(), Some(&42i32.to_be_bytes()[..]));
    assert_eq!(cols[1].as_deref(), Some(&[0u8][..]));
    assert_eq!(cols[2], None);
    assert_eq!(q.next_row().await.unwrap(), None);
    conn.close_statement(stmt).await.unwrap();

    // The unnamed statement: Parse/Bind/Describe/Execute/Sync in one write.
    let sets = conn
        .query_params(
            "SELECT $1::int8 * 2 UNION ALL SELECT $2",
            &[20, 20],
            &[Some(Bytes::from("21")), None],
            Formats::TEXT,
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(
        sets[0].rows.iter().map(text).collect::<Vec<_>>(),
        vec![vec![s("42")], vec![None]]
    );

    // Errors in a pipeline: the server skips to Sync; the session recovers.
    let err = match conn
        .query_params("SELEC broken", &[], &[], Formats::TEXT)
        .await
    {
        Ok(q) => q.collect().await.unwrap_err(),
        Err(e) => e,
    };
    assert_eq!(err.server_error().unwrap().code, "42601");
    let err = conn.prepare("bad", "SELECT nope", &[]).await.unwrap_err();
    assert_eq!(err.server_error().unwrap().code, "42703");
    let err = conn
        .query_params(
            "SELECT $1::int4",
            &[],
            &[Some(Bytes::from("x"))],
            Formats::TEXT,
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err();
    assert_eq!(err.server_error().unwrap().code, "22P02");
    // A statement with a NUL cannot be encoded; nothing is sent.
    assert!(matches!(
        conn.query("SELECT '\0'").await,
        Err(BackendError::Protocol(_))
    ));
    assert!(!conn.is_broken());
    conn.health_check().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn an_error_in_a_transaction_fails_it_until_rollback() {
    let pg = PgInstance::start().unwrap();
    let mut conn = connect(&pg).await;
    conn.simple_query("BEGIN").await.unwrap();
    assert_eq!(conn.transaction_status(), TransactionStatus::InTransaction);
    let err = conn.simple_query("SELECT 1/0").await.unwrap_err();
    assert_eq!(err.server_error().unwrap().code, "22012");
    assert_eq!(conn.transaction_status(), TransactionStatus::Failed);
    let err = conn.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(err.server_error().unwrap().code, "25P02");
    assert_eq!(conn.transaction_status(), TransactionStatus::Failed);
    let sets = conn.simple_query("ROLLBACK").await.unwrap();
    assert_eq!(sets[0].tag.as_deref(), Some("ROLLBACK"));
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);
    conn.health_check().await.unwrap();

    // The extended protocol reports the same states.
    conn.query_params("BEGIN", &[], &[], Formats::TEXT)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(conn.transaction_status(), TransactionStatus::InTransaction);
    conn.simple_query("COMMIT").await.unwrap();
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_long_query() {
    let pg = PgInstance::start().unwrap();
    let mut conn = connect(&pg).await;
    let token = conn.cancel_token().unwrap();
    assert_eq!(Some(token.pid()), conn.backend_pid());
    // A cancel that arrives before the query starts is a no-op on the
    // server, so repeat it until the query ends.
    let canceller = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            token.cancel().await.unwrap();
        }
    });
    let started = Instant::now();
    let res = tokio::time::timeout(
        Duration::from_secs(5),
        conn.simple_query("SELECT pg_sleep(30)"),
    )
    .await
    .expect("cancelled within 5 s");
    canceller.abort();
    let err = res.unwrap_err();
    assert_eq!(err.server_error().unwrap().code, "57014", "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!conn.is_broken());
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);
    conn.health_check().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn logs_in_with_md5_and_cleartext_when_the_server_asks() {
    let pg = PgInstance::start().unwrap();
    pg.psql(
        "SET password_encryption = 'md5'; \
         CREATE ROLE md5_user LOGIN PASSWORD 'md5-secret'; \
         CREATE ROLE clear_user LOGIN PASSWORD 'clear-secret';",
    )
    .unwrap();
    // Specific lines first: pg_hba.conf is matched top down. Rewriting the
    // file in place keeps initdb's owner and mode.
    let hba = pg.data_dir().join("pg_hba.conf");
    let old = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(
        &hba,
        format!(
            "host all md5_user 127.0.0.1/32 md5\n\
             host all clear_user 127.0.0.1/32 password\n{old}"
        ),
    )
    .unwrap();
    pg.psql("SELECT pg_reload_conf();").unwrap();

    for (user, password) in [("md5_user", "md5-secret"), ("clear_user", "clear-secret")] {
        let mut ds = data_source(&pg);
        ds.username = user.into();
        ds.password = password.into();
        // The postmaster rereads pg_hba.conf asynchronously after the reload
        // signal; until then the old rule (SCRAM) answers, and roles whose
        // passwords are stored as MD5 cannot pass SCRAM, so a success proves
        // the MD5 / cleartext exchange ran. Retry briefly.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut conn = loop {
            match PgConnection::connect(&ds).await {
                Ok(c) => break c,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("{user}: {e:?}"),
            }
        };
        let sets = conn.simple_query("SELECT current_user").await.unwrap();
        assert_eq!(text(&sets[0].rows[0]), vec![s(user)]);

        ds.password = "wrong".into();
        let err = PgConnection::connect(&ds).await.unwrap_err();
        assert!(matches!(err, BackendError::Auth { .. }), "{err:?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_server_that_never_answers_times_out() {
    // Accepts the TCP connection (the kernel does, from the backlog) but
    // never answers the startup packet.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut ds = common::data_source_at(port);
    ds.connection_timeout = Duration::from_millis(300);
    let started = Instant::now();
    let err = PgConnection::connect(&ds).await.unwrap_err();
    assert!(
        matches!(err, BackendError::Timeout { after, .. } if after == Duration::from_millis(300)),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    drop(listener);
}

#[tokio::test(flavor = "current_thread")]
async fn cached_statements_are_prepared_once_and_dropped_on_error() {
    let pg = PgInstance::start().unwrap();
    let mut conn = PgConnection::connect(&data_source(&pg)).await.unwrap();
    let sql = "SELECT $1::int + 1";
    for n in [1i32, 41] {
        let text = n.to_string();
        let rows = conn
            .query_cached(sql, &[], &[Some(Bytes::from(text))], Formats::TEXT)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let cell = rows[0].rows[0].columns().next().unwrap().unwrap();
        assert_eq!(cell.as_ref(), (n + 1).to_string().as_bytes());
    }
    // Prepared once, on the server, under our name.
    let sets = conn
        .simple_query("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'shardwire_%'")
        .await
        .unwrap();
    let count = sets[0].rows[0].columns().next().unwrap().unwrap();
    assert_eq!(count.as_ref(), b"1");
    // A statement that fails to parse is not kept: the next run reports the
    // same error, not a missing statement.
    for _ in 0..2 {
        let err = conn
            .query_cached("SELEC 1", &[], &[], Formats::TEXT)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap_err();
        assert_eq!(err.server_error().unwrap().code, "42601", "{err}");
    }
}
