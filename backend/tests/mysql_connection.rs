// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! `MySqlConnection` against a real MariaDB: login, streaming, errors and
//! recovery, transaction flags, prepared statements, session reset, KILL
//! QUERY, and a server killed under a running query.

mod mysql_common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use mysql_common::{data_source, s, scalar, text};
use shardwire_backend::mysql::{ConnectOptions, MySqlConnection, MySqlEvent};
use shardwire_backend::BackendError;
use shardwire_protocol::mysql::Value;
use shardwire_rules::snapshot::DatabaseProtocol;
use shardwire_testkit::MariaDbInstance;

#[tokio::test]
async fn rows_stream_one_event_at_a_time() {
    let db = MariaDbInstance::start().unwrap();
    for deprecate_eof in [true, false] {
        let opts = ConnectOptions {
            deprecate_eof,
            ..ConnectOptions::default()
        };
        let mut conn = MySqlConnection::connect_with(&data_source(&db), &opts)
            .await
            .unwrap();
        assert!(conn.server_version().contains("MariaDB"));
        assert!(conn.autocommit() && !conn.in_transaction());
        let mut q = conn
            .query("SELECT seq, CONCAT('row ', seq) FROM seq_1_to_1000")
            .await
            .unwrap();
        let Some(MySqlEvent::Columns(cols)) = q.next_event().await.unwrap() else {
            panic!("columns first");
        };
        assert_eq!(cols.len(), 2);
        assert_eq!(cols[0].name_str(), "seq");
        let mut n = 0;
        while let Some(event) = q.next_event().await.unwrap() {
            match event {
                MySqlEvent::Row(row) => {
                    n += 1;
                    assert_eq!(text(&row), [Some(n.to_string()), Some(format!("row {n}"))]);
                }
                MySqlEvent::ResultEnd(end) => {
                    assert_eq!(end.ok.is_some(), deprecate_eof);
                    assert!(!q.is_done() || n == 1000);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(n, 1000);
        assert!(q.is_done());

        // Statements without rows report affected rows and insert ids.
        conn.simple_query(
            "CREATE TABLE IF NOT EXISTS t (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)",
        )
        .await
        .unwrap();
        let sets = conn
            .simple_query("INSERT INTO t (v) VALUES ('a'), ('b'), (NULL)")
            .await
            .unwrap();
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].affected_rows, 3);
        assert!(sets[0].last_insert_id >= 1);
        assert!(sets[0].columns.is_none());
        conn.simple_query("DROP TABLE t").await.unwrap();
    }
}

#[tokio::test]
async fn multi_results_errors_and_recovery() {
    let db = MariaDbInstance::start().unwrap();
    let mut conn = MySqlConnection::connect(&data_source(&db)).await.unwrap();

    let sets = conn
        .simple_query("SELECT 1; SELECT 'two', NULL; DO 3")
        .await
        .unwrap();
    assert_eq!(sets.len(), 3);
    assert_eq!(text(&sets[0].rows[0]), [s("1")]);
    assert_eq!(text(&sets[1].rows[0]), [s("two"), None]);
    assert!(sets[2].columns.is_none());

    let err = conn
        .simple_query("SELECT * FROM missing")
        .await
        .unwrap_err();
    let e = err.mysql_server_error().unwrap();
    assert_eq!((e.code, e.sql_state.as_str()), (1146, "42S02"));
    assert!(e.message.contains("missing"), "{e}");
    assert!(!conn.is_broken());
    assert_eq!(scalar(&mut conn, "SELECT 42").await, s("42"));

    // An error in the middle of a multi-statement ends it; the result sets
    // before it were streamed, nothing after it runs.
    let mut q = conn
        .query("SELECT 1; SELECT * FROM missing; SELECT 3")
        .await
        .unwrap();
    let mut rows = 0;
    let err = loop {
        match q.next_event().await {
            Ok(Some(MySqlEvent::Row(_))) => rows += 1,
            Ok(Some(_)) => {}
            Ok(None) => panic!("the error must surface"),
            Err(e) => break e,
        }
    };
    assert_eq!(rows, 1);
    assert_eq!(err.mysql_server_error().unwrap().code, 1146);
    assert!(q.is_done());
    assert_eq!(scalar(&mut conn, "SELECT 43").await, s("43"));

    // A handle dropped mid-result: the rest is read away before the next
    // request, which then sees only its own answer.
    let mut q = conn
        .query("SELECT seq FROM seq_1_to_5000; SELECT 'after'")
        .await
        .unwrap();
    q.next_row().await.unwrap().unwrap();
    drop(q);
    assert!(conn.has_pending_results());
    assert_eq!(scalar(&mut conn, "SELECT 'next'").await, s("next"));
    assert!(!conn.has_pending_results());

    conn.ping().await.unwrap();
    conn.health_check().await.unwrap();
    conn.init_db("mysql").await.unwrap();
    assert_eq!(scalar(&mut conn, "SELECT DATABASE()").await, s("mysql"));
    let err = conn.init_db("no_such_db").await.unwrap_err();
    assert_eq!(err.mysql_server_error().unwrap().code, 1049);
    conn.close().await;
}

#[tokio::test]
async fn transaction_state_follows_the_status_flags() {
    let db = MariaDbInstance::start().unwrap();
    let mut conn = MySqlConnection::connect(&data_source(&db)).await.unwrap();
    assert!(!conn.in_transaction());
    conn.simple_query("BEGIN").await.unwrap();
    assert!(conn.in_transaction());
    conn.simple_query("SELECT 1").await.unwrap();
    assert!(conn.in_transaction());
    conn.simple_query("COMMIT").await.unwrap();
    assert!(!conn.in_transaction());

    conn.simple_query("SET autocommit = 0").await.unwrap();
    assert!(!conn.autocommit());
    conn.simple_query("SET autocommit = 1").await.unwrap();
    assert!(conn.autocommit());

    // COM_RESET_CONNECTION rolls back and clears session state.
    conn.simple_query("SET @x = 5").await.unwrap();
    conn.simple_query("START TRANSACTION").await.unwrap();
    assert!(conn.in_transaction());
    conn.reset_connection().await.unwrap();
    assert!(!conn.in_transaction());
    assert_eq!(scalar(&mut conn, "SELECT @x").await, None);
}

#[tokio::test]
async fn prepared_statements_bind_and_return_binary_rows() {
    let db = MariaDbInstance::start().unwrap();
    let mut conn = MySqlConnection::connect(&data_source(&db)).await.unwrap();
    conn.simple_query(
        "CREATE TABLE p (id BIGINT PRIMARY KEY, name VARCHAR(20), price DECIMAL(8,2), \
         ratio DOUBLE, born DATE)",
    )
    .await
    .unwrap();
    let insert = conn
        .prepare("INSERT INTO p VALUES (?, ?, ?, ?, ?)")
        .await
        .unwrap();
    assert_eq!(insert.param_count(), 5);
    assert!(insert.columns().is_empty());
    let born = Value::Date {
        year: 2001,
        month: 9,
        day: 11,
        hour: 0,
        minute: 0,
        second: 0,
        micros: 0,
    };
    for (id, name) in [(1, Some("one")), (2, None)] {
        let params = [
            Value::Int(id),
            name.map_or(Value::Null, |n| Value::Bytes(Bytes::from(n))),
            Value::Bytes(Bytes::from_static(b"9.99")),
            Value::Double(0.5),
            born.clone(),
        ];
        let sets = conn
            .execute(&insert, &params)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(sets[0].affected_rows, 1);
    }
    // A wrong parameter count fails before anything is sent.
    let err = conn.execute(&insert, &[Value::Int(1)]).await.unwrap_err();
    assert!(matches!(err, BackendError::Protocol(_)), "{err}");
    // A server-side failure (duplicate key) leaves the session usable.
    let params = [
        Value::Int(1),
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
    ];
    let err = conn
        .execute(&insert, &params)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err();
    assert_eq!(err.mysql_server_error().unwrap().code, 1062);

    let select = conn
        .prepare("SELECT id, name, price, ratio, born FROM p WHERE id >= ? ORDER BY id")
        .await
        .unwrap();
    assert_eq!(select.columns().len(), 5);
    let mut q = conn.execute(&select, &[Value::Int(0)]).await.unwrap();
    let mut rows = Vec::new();
    while let Some(row) = q.next_row().await.unwrap() {
        let cols = q.columns().unwrap().clone();
        rows.push(row.binary_values(&cols).unwrap().unwrap());
    }
    assert_eq!(
        rows,
        vec![
            vec![
                Value::Int(1),
                Value::Bytes(Bytes::from_static(b"one")),
                Value::Bytes(Bytes::from_static(b"9.99")),
                Value::Double(0.5),
                born.clone(),
            ],
            vec![
                Value::Int(2),
                Value::Null,
                Value::Bytes(Bytes::from_static(b"9.99")),
                Value::Double(0.5),
                born,
            ],
        ]
    );

    // Long data, then reset and close.
    let upd = conn
        .prepare("UPDATE p SET name = ? WHERE id = ?")
        .await
        .unwrap();
    conn.send_long_data(&upd, 0, Bytes::from_static(b"lo"))
        .await
        .unwrap();
    conn.send_long_data(&upd, 0, Bytes::from_static(b"ng"))
        .await
        .unwrap();
    conn.reset_statement(&upd).await.unwrap();
    let sets = conn
        .execute(
            &upd,
            &[Value::Bytes(Bytes::from_static(b"short")), Value::Int(2)],
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(sets[0].affected_rows, 1);
    assert_eq!(
        scalar(&mut conn, "SELECT name FROM p WHERE id = 2").await,
        s("short")
    );
    let closed = select.clone();
    conn.close_statement(select).await.unwrap();
    conn.close_statement(upd).await.unwrap();
    // The closed statement is gone on the server (unknown handler).
    let err = conn
        .execute(&closed, &[Value::Int(0)])
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err();
    assert_eq!(err.mysql_server_error().unwrap().code, 1243, "{err}");
    assert!(!conn.is_broken());
    assert_eq!(scalar(&mut conn, "SELECT COUNT(*) FROM p").await, s("2"));
}

/// The session's Com_stmt_prepare / Com_stmt_close counters.
async fn statement_counters(conn: &mut MySqlConnection) -> (u64, u64) {
    let mut counts = [0, 0];
    for (i, name) in ["Com_stmt_prepare", "Com_stmt_close"].iter().enumerate() {
        let sets = conn
            .simple_query(&format!("SHOW SESSION STATUS LIKE '{name}'"))
            .await
            .unwrap();
        counts[i] = text(&sets[0].rows[0])[1]
            .as_deref()
            .unwrap()
            .parse()
            .unwrap();
    }
    (counts[0], counts[1])
}

#[tokio::test]
async fn cached_statements_are_prepared_once_and_closed_when_displaced() {
    use shardwire_backend::mysql::CACHED_STATEMENTS;

    let db = MariaDbInstance::start().unwrap();
    let mut conn = MySqlConnection::connect(&data_source(&db)).await.unwrap();
    conn.simple_query("CREATE TABLE c (id INT PRIMARY KEY, v INT)")
        .await
        .unwrap();
    conn.simple_query("INSERT INTO c VALUES (1, 10), (2, 20)")
        .await
        .unwrap();
    let before = statement_counters(&mut conn).await;
    let sql = "SELECT v FROM c WHERE id = ?";
    for (id, v) in [(1, 10), (2, 20), (1, 10)] {
        let statement = conn.prepare_cached(sql).await.unwrap();
        let mut q = conn.execute(&statement, &[Value::Int(id)]).await.unwrap();
        let row = q.next_row().await.unwrap().unwrap();
        let cols = q.columns().unwrap().clone();
        assert_eq!(
            row.binary_values(&cols).unwrap().unwrap(),
            vec![Value::Int(v)]
        );
        while q.next_event().await.unwrap().is_some() {}
    }
    assert_eq!(conn.cached_statements(), 1);
    let after = statement_counters(&mut conn).await;
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (1, 0),
        "one prepare, no close"
    );

    // A table that changes shape under a kept statement: MariaDB
    // re-prepares it, and the result's own columns describe the rows.
    conn.simple_query("ALTER TABLE c MODIFY v VARCHAR(10)")
        .await
        .unwrap();
    let statement = conn.prepare_cached(sql).await.unwrap();
    let mut q = conn.execute(&statement, &[Value::Int(2)]).await.unwrap();
    let row = q.next_row().await.unwrap().unwrap();
    let cols = q.columns().unwrap().clone();
    assert_eq!(
        row.binary_values(&cols).unwrap().unwrap(),
        vec![Value::Bytes(Bytes::from_static(b"20"))]
    );
    while q.next_event().await.unwrap().is_some() {}

    // Past the limit, the least recently used is closed on the server.
    for i in 0..CACHED_STATEMENTS {
        conn.prepare_cached(&format!("SELECT {i} + ?"))
            .await
            .unwrap();
    }
    assert_eq!(conn.cached_statements(), CACHED_STATEMENTS);
    let end = statement_counters(&mut conn).await;
    assert_eq!(end.1 - after.1, 1, "the first statement was closed");
    // A reset drops them on the server; the cache forgets them too.
    conn.reset_connection().await.unwrap();
    assert_eq!(conn.cached_statements(), 0);
    let statement = conn.prepare_cached(sql).await.unwrap();
    let sets = conn
        .execute(&statement, &[Value::Int(1)])
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(sets[0].rows.len(), 1);
}

#[tokio::test]
async fn login_failures_are_clear() {
    let db = MariaDbInstance::start().unwrap();
    let mut ds = data_source(&db);
    ds.password = "wrong".into();
    let err = MySqlConnection::connect(&ds).await.unwrap_err();
    assert!(matches!(err, BackendError::Auth { .. }), "{err}");
    assert!(err.to_string().contains("1045"), "{err}");

    let mut ds = data_source(&db);
    ds.protocol = DatabaseProtocol::PostgreSql;
    assert!(matches!(
        MySqlConnection::connect(&ds).await.unwrap_err(),
        BackendError::Config { .. }
    ));

    let mut ds = data_source(&db);
    ds.database = "no_such_db".into();
    let err = MySqlConnection::connect(&ds).await.unwrap_err();
    assert!(err.to_string().contains("no_such_db"), "{err}");
    // Not a credentials problem: the server's own error, code and state.
    let e = err.mysql_server_error().unwrap();
    assert_eq!((e.code, e.sql_state.as_str()), (1049, "42000"));

    // A listener that accepts and never speaks: the timeout bounds the
    // whole handshake.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut ds = data_source(&db);
    ds.port = silent.local_addr().unwrap().port();
    ds.connection_timeout = Duration::from_millis(300);
    let started = Instant::now();
    let err = MySqlConnection::connect(&ds).await.unwrap_err();
    assert!(matches!(err, BackendError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn kill_query_interrupts_a_running_statement() {
    let db = MariaDbInstance::start().unwrap();
    let mut conn = MySqlConnection::connect(&data_source(&db)).await.unwrap();
    let token = conn.kill_token().unwrap();
    assert_eq!(token.connection_id(), conn.connection_id());
    assert!(
        !format!("{token:?}").contains(db.password()),
        "no password in Debug"
    );
    let killer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        token.kill_query().await
    });
    let started = Instant::now();
    let result = conn.simple_query("SELECT SLEEP(30)").await;
    killer.await.unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "interrupted early"
    );
    match result {
        // MariaDB reports the interruption as error 1317...
        Err(e) => assert_eq!(e.mysql_server_error().unwrap().code, 1317, "{e}"),
        // ...or, as MySQL does for a lone SLEEP, as SLEEP returning 1.
        Ok(sets) => assert_eq!(text(&sets[0].rows[0]), [s("1")]),
    }
    assert!(!conn.is_broken());
    assert_eq!(scalar(&mut conn, "SELECT 'alive'").await, s("alive"));
}

#[tokio::test]
async fn a_killed_server_fails_the_query_quickly() {
    let mut db = MariaDbInstance::start().unwrap();
    let mut conn = MySqlConnection::connect(&data_source(&db)).await.unwrap();
    let mut q = conn.query("SELECT SLEEP(30)").await.unwrap();
    db.kill();
    let started = Instant::now();
    let got = tokio::time::timeout(Duration::from_secs(5), q.next_event())
        .await
        .expect("the error arrives within a few seconds");
    assert!(got.is_err(), "{got:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(q);
    assert!(conn.is_broken());
    assert!(matches!(
        conn.simple_query("SELECT 1").await.unwrap_err(),
        BackendError::Broken
    ));

    db.restart().unwrap();
    let mut again = MySqlConnection::connect(&data_source(&db)).await.unwrap();
    assert_eq!(scalar(&mut again, "SELECT 1").await, s("1"));
}

#[tokio::test]
async fn large_rows_pass_with_a_raised_limit_and_fail_clearly_without() {
    let db = MariaDbInstance::start_with(&shardwire_testkit::MariaDbOptions {
        server_args: vec!["--max-allowed-packet=64M".into()],
        ..Default::default()
    })
    .unwrap();
    let mut conn = MySqlConnection::connect(&data_source(&db)).await.unwrap();
    let len = 17 * 1024 * 1024;
    let sets = conn
        .simple_query(&format!("SELECT REPEAT('q', {len})"))
        .await
        .unwrap();
    let row = sets[0].rows[0].as_text().unwrap();
    assert_eq!(row.cell(0).unwrap().unwrap().len(), len);

    let opts = ConnectOptions {
        max_packet_len: 1 << 20,
        ..ConnectOptions::default()
    };
    let mut small = MySqlConnection::connect_with(&data_source(&db), &opts)
        .await
        .unwrap();
    let err = small
        .simple_query(&format!("SELECT REPEAT('q', {})", 2 << 20))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("exceeds the maximum"), "{err}");
    assert!(small.is_broken());
}

#[tokio::test]
async fn an_idle_session_hands_over_its_socket() {
    use futures::{SinkExt, StreamExt};
    use shardwire_protocol::mysql::{Command, MySqlCodec, OkPacket};

    let db = MariaDbInstance::start().unwrap();
    let mut conn = MySqlConnection::connect(&data_source(&db)).await.unwrap();
    let caps = conn.capabilities();
    let mut q = conn.query("SELECT seq FROM seq_1_to_100").await.unwrap();
    q.next_row().await.unwrap();
    drop(q);
    // Mid-result: refused, the session would be out of step.
    let conn = match conn.into_socket() {
        Err(BackendError::Broken) => MySqlConnection::connect(&data_source(&db)).await.unwrap(),
        other => panic!("{other:?}"),
    };
    let (socket, leftover) = conn.into_socket().unwrap();
    assert!(leftover.is_empty());
    // The raw socket still speaks to the same logged-in session.
    let mut framed = tokio_util::codec::Framed::new(socket, MySqlCodec::new());
    let mut buf = bytes::BytesMut::new();
    Command::Ping.encode(caps, &mut buf).unwrap();
    framed
        .send(shardwire_protocol::mysql::Packet::new(0, buf.freeze()))
        .await
        .unwrap();
    let reply = framed.next().await.unwrap().unwrap();
    OkPacket::decode(reply.payload, caps).unwrap();
}
