// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! Talks to a real MariaDB with `MySqlCodec` and the typed messages:
//! handshake, mysql_native_password (directly and through an
//! AuthSwitchRequest), queries with and without CLIENT_DEPRECATE_EOF,
//! multi-statements, prepared statements with binary rows, and packets
//! above 16 MiB in both directions. The strongest check that our layouts
//! are the server's, not just self-consistent.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use shardwire_protocol::auth::{caching_sha2, mysql_native};
use shardwire_protocol::mysql::constants::capability::*;
use shardwire_protocol::mysql::constants::column_type::*;
use shardwire_protocol::mysql::constants::status::*;
use shardwire_protocol::mysql::{
    decode_column_count, is_result_end, AuthPacket, BinaryRow, BinaryType, ColumnDefinition,
    Command, ErrPacket, HandshakeResponse41, HandshakeV10, MySqlCodec, OkPacket, Packet, ResultEnd,
    StmtExecute, StmtPrepareOk, TextRow, Value,
};
use shardwire_testkit::{MariaDbInstance, MariaDbOptions};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

struct Client {
    conn: Framed<TcpStream, MySqlCodec>,
    caps: u32,
}

impl Client {
    async fn recv(&mut self) -> Packet {
        tokio::time::timeout(Duration::from_secs(30), self.conn.next())
            .await
            .expect("server answered in time")
            .expect("connection still open")
            .expect("packet decodes")
    }

    async fn send(&mut self, payload: impl Into<Bytes>) {
        let p = self.conn.codec().packet(payload);
        self.conn.send(p).await.unwrap();
    }

    async fn command(&mut self, cmd: Command) {
        let mut buf = BytesMut::new();
        cmd.encode(self.caps, &mut buf).unwrap();
        self.conn.codec_mut().reset_seq();
        self.send(buf.freeze()).await;
    }

    async fn query(&mut self, sql: &str) {
        self.command(Command::Query(Bytes::copy_from_slice(sql.as_bytes())))
            .await;
    }

    /// Reads one result (OK, or a result set) and returns its columns,
    /// rows (raw payloads) and final status flags.
    async fn read_result(&mut self) -> Result<(Vec<ColumnDefinition>, Vec<Bytes>, u16), ErrPacket> {
        let first = self.recv().await;
        match first.header() {
            Some(0x00) => {
                let ok = OkPacket::decode(first.payload, self.caps).unwrap();
                return Ok((Vec::new(), Vec::new(), ok.status));
            }
            Some(0xff) => return Err(ErrPacket::decode(first.payload).unwrap()),
            _ => {}
        }
        let n = decode_column_count(first.payload).unwrap();
        let mut cols = Vec::new();
        for _ in 0..n {
            cols.push(ColumnDefinition::decode(self.recv().await.payload).unwrap());
        }
        if self.caps & CLIENT_DEPRECATE_EOF == 0 {
            let eof = self.recv().await;
            assert!(is_result_end(&eof.payload, self.caps), "EOF after columns");
        }
        let mut rows = Vec::new();
        loop {
            let p = self.recv().await;
            if p.header() == Some(0xff) {
                return Err(ErrPacket::decode(p.payload).unwrap());
            }
            if is_result_end(&p.payload, self.caps) {
                let end = ResultEnd::decode(p.payload, self.caps).unwrap();
                assert_eq!(end.ok.is_some(), self.caps & CLIENT_DEPRECATE_EOF != 0);
                return Ok((cols, rows, end.status));
            }
            rows.push(p.payload);
        }
    }
}

const WANT: u32 = CLIENT_LONG_PASSWORD
    | CLIENT_PROTOCOL_41
    | CLIENT_TRANSACTIONS
    | CLIENT_SECURE_CONNECTION
    | CLIENT_MULTI_STATEMENTS
    | CLIENT_MULTI_RESULTS
    | CLIENT_PS_MULTI_RESULTS
    | CLIENT_PLUGIN_AUTH
    | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
    | CLIENT_CONNECT_ATTRS
    | CLIENT_CONNECT_WITH_DB;

/// Logs in answering with `plugin` first; returns the client or the ERR.
async fn login(
    db: &MariaDbInstance,
    password: &str,
    extra: u32,
    plugin: &str,
) -> Result<(Client, HandshakeV10, bool), ErrPacket> {
    let stream = TcpStream::connect(("127.0.0.1", db.port())).await.unwrap();
    let mut c = Client {
        conn: Framed::new(stream, MySqlCodec::new()),
        caps: 0,
    };
    let hs = HandshakeV10::decode(c.recv().await.payload).unwrap();
    c.caps = (WANT | extra) & hs.capabilities;
    let answer = |plugin: &str, scramble: &[u8]| match plugin {
        mysql_native::PLUGIN_NAME => mysql_native::scramble(password, scramble),
        caching_sha2::PLUGIN_NAME => caching_sha2::scramble(password, scramble),
        other => panic!("unexpected plugin {other}"),
    };
    let resp = HandshakeResponse41 {
        capabilities: c.caps,
        max_packet_size: 1 << 30,
        charset: 45,
        username: db.user().into(),
        auth_response: Bytes::from(answer(plugin, &hs.auth_data)),
        database: Some(db.database().into()),
        auth_plugin: Some(plugin.into()),
        attributes: vec![("_client_name".into(), "shardwire-protocol-test".into())],
        zstd_level: None,
    };
    let mut buf = BytesMut::new();
    resp.encode(&mut buf).unwrap();
    c.send(buf.freeze()).await;
    let mut switched = false;
    loop {
        match AuthPacket::decode(c.recv().await.payload, c.caps).unwrap() {
            AuthPacket::Ok(_) => return Ok((c, hs, switched)),
            AuthPacket::Err(e) => return Err(e),
            AuthPacket::Switch(sw) => {
                switched = true;
                assert_eq!(sw.data.len(), 20);
                let a = answer(&sw.plugin, &sw.data);
                c.send(a).await;
            }
            AuthPacket::MoreData(d) => panic!("unexpected AuthMoreData {d:?}"),
        }
    }
}

fn cells(row: &Bytes, n: usize) -> Vec<Option<String>> {
    TextRow::decode(row.clone(), n)
        .unwrap()
        .cells()
        .map(|c| c.map(|b| String::from_utf8(b.to_vec()).unwrap()))
        .collect()
}

#[tokio::test]
async fn handshake_login_and_queries_with_and_without_deprecate_eof() {
    let db = MariaDbInstance::start().unwrap();
    for extra in [0, CLIENT_DEPRECATE_EOF] {
        let (mut c, hs, switched) = login(&db, db.password(), extra, mysql_native::PLUGIN_NAME)
            .await
            .unwrap();
        assert!(!switched);
        assert_eq!(hs.auth_data.len(), 20);
        assert!(
            hs.server_version.contains("MariaDB"),
            "{}",
            hs.server_version
        );
        assert_eq!(hs.auth_plugin.as_deref(), Some("mysql_native_password"));
        assert_eq!(
            c.caps & CLIENT_DEPRECATE_EOF,
            extra,
            "server offers DEPRECATE_EOF"
        );

        c.query("SELECT 1 AS a, NULL AS b, 'x' AS c, DATABASE() AS d, PASSWORD('shardwire-secret') AS p")
            .await;
        let (cols, rows, status) = c.read_result().await.unwrap();
        let names: Vec<_> = cols.iter().map(|c| c.name_str().into_owned()).collect();
        assert_eq!(names, ["a", "b", "c", "d", "p"]);
        assert_eq!(cols[0].column_type, MYSQL_TYPE_LONG);
        assert_eq!(cols[1].column_type, MYSQL_TYPE_NULL);
        assert_eq!(
            cells(&rows[0], 5),
            [
                Some("1".into()),
                None,
                Some("x".into()),
                Some("shardwire".into()),
                Some(mysql_native::password_hash_string("shardwire-secret")),
            ]
        );
        assert_eq!(status & SERVER_STATUS_AUTOCOMMIT, SERVER_STATUS_AUTOCOMMIT);

        // Errors carry the code and SQLSTATE; the session continues.
        c.query("SELECT * FROM no_such_table").await;
        let e = c.read_result().await.unwrap_err();
        assert_eq!((e.code, e.sql_state.as_str()), (1146, "42S02"));
        c.command(Command::Ping).await;
        assert_eq!(c.read_result().await.unwrap().0.len(), 0);

        // Transaction status flags.
        c.query("BEGIN").await;
        let (_, _, status) = c.read_result().await.unwrap();
        assert_ne!(status & SERVER_STATUS_IN_TRANS, 0);
        c.query("ROLLBACK").await;
        let (_, _, status) = c.read_result().await.unwrap();
        assert_eq!(status & SERVER_STATUS_IN_TRANS, 0);

        c.command(Command::InitDb("mysql".into())).await;
        c.read_result().await.unwrap();
        c.command(Command::ResetConnection).await;
        c.read_result().await.unwrap();
        c.command(Command::Quit).await;
        assert!(
            c.conn.next().await.is_none(),
            "server closes after COM_QUIT"
        );
    }
}

#[tokio::test]
async fn wrong_password_and_auth_switch() {
    let db = MariaDbInstance::start().unwrap();
    let e = login(&db, "wrong", 0, mysql_native::PLUGIN_NAME)
        .await
        .err()
        .unwrap();
    assert_eq!((e.code, e.sql_state.as_str()), (1045, "28000"));

    // Answering as caching_sha2_password, which MariaDB does not have:
    // it switches us to the account's plugin with a fresh scramble.
    let (mut c, _, switched) = login(&db, db.password(), 0, caching_sha2::PLUGIN_NAME)
        .await
        .unwrap();
    assert!(switched, "an AuthSwitchRequest came");
    c.query("SELECT CURRENT_USER()").await;
    let (_, rows, _) = c.read_result().await.unwrap();
    assert_eq!(cells(&rows[0], 1)[0].as_deref(), Some("root@localhost"));
}

#[tokio::test]
async fn multi_statements_set_more_results_on_all_but_the_last() {
    let db = MariaDbInstance::start().unwrap();
    for extra in [0, CLIENT_DEPRECATE_EOF] {
        let (mut c, _, _) = login(&db, db.password(), extra, mysql_native::PLUGIN_NAME)
            .await
            .unwrap();
        c.query("SELECT 1; SELECT 2, 3; DO 1").await;
        let (cols, rows, status) = c.read_result().await.unwrap();
        assert_eq!(
            (cols.len(), cells(&rows[0], 1)),
            (1, vec![Some("1".into())])
        );
        assert_ne!(status & SERVER_MORE_RESULTS_EXISTS, 0);
        let (cols, rows, status) = c.read_result().await.unwrap();
        assert_eq!(
            cells(&rows[0], cols.len()),
            [Some("2".into()), Some("3".into())]
        );
        assert_ne!(status & SERVER_MORE_RESULTS_EXISTS, 0);
        let (cols, _, status) = c.read_result().await.unwrap();
        assert!(cols.is_empty(), "DO answers OK");
        assert_eq!(status & SERVER_MORE_RESULTS_EXISTS, 0);

        // An error stops the chain: no MORE_RESULTS after it.
        c.query("SELECT 1; SELECT * FROM nope; SELECT 3").await;
        let (_, _, status) = c.read_result().await.unwrap();
        assert_ne!(status & SERVER_MORE_RESULTS_EXISTS, 0);
        assert_eq!(c.read_result().await.unwrap_err().code, 1146);
        c.command(Command::Ping).await;
        c.read_result().await.unwrap();
    }
}

#[tokio::test]
async fn prepared_statements_return_binary_rows() {
    let db = MariaDbInstance::start().unwrap();
    db.mysql(
        "CREATE TABLE t (id INT PRIMARY KEY, tiny TINYINT, big BIGINT UNSIGNED, \
         d DOUBLE, f FLOAT, dec_v DECIMAL(10,2), s VARCHAR(20), b BLOB, dt DATETIME(6), \
         day DATE, tm TIME, n INT); \
         INSERT INTO t VALUES (1, -5, 18446744073709551615, 2.5, 1.5, 12.34, 'héllo', \
         x'00ff', '2024-02-29 13:14:15.123456', '2024-02-29', '-25:03:04', NULL), \
         (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 7);",
    )
    .unwrap();
    for extra in [0, CLIENT_DEPRECATE_EOF] {
        let (mut c, _, _) = login(&db, db.password(), extra, mysql_native::PLUGIN_NAME)
            .await
            .unwrap();
        c.command(Command::StmtPrepare(Bytes::from_static(
            b"SELECT * FROM t WHERE id >= ? AND s IS NOT NULL OR id = ? ORDER BY id",
        )))
        .await;
        let ok = StmtPrepareOk::decode(c.recv().await.payload).unwrap();
        assert_eq!((ok.num_params, ok.num_columns), (2, 12));
        for _ in 0..2 {
            ColumnDefinition::decode(c.recv().await.payload).unwrap();
        }
        if extra == 0 {
            assert!(is_result_end(&c.recv().await.payload, c.caps));
        }
        for _ in 0..12 {
            ColumnDefinition::decode(c.recv().await.payload).unwrap();
        }
        if extra == 0 {
            assert!(is_result_end(&c.recv().await.payload, c.caps));
        }

        let exec = StmtExecute::new(ok.statement_id, &[Value::Int(1), Value::UInt(2)]).unwrap();
        c.command(Command::StmtExecute(exec)).await;
        let (cols, rows, _) = c.read_result().await.unwrap();
        let types: Vec<BinaryType> = cols.iter().map(BinaryType::from).collect();
        assert_eq!(rows.len(), 2);
        let r1 = BinaryRow::decode(rows[0].clone(), &types)
            .unwrap()
            .values(&types)
            .unwrap();
        assert_eq!(
            r1,
            vec![
                Value::Int(1),
                Value::Int(-5),
                Value::UInt(u64::MAX),
                Value::Double(2.5),
                Value::Float(1.5),
                Value::Bytes(Bytes::from_static(b"12.34")),
                Value::Bytes(Bytes::from("héllo")),
                Value::Bytes(Bytes::from_static(&[0x00, 0xff])),
                Value::Date {
                    year: 2024,
                    month: 2,
                    day: 29,
                    hour: 13,
                    minute: 14,
                    second: 15,
                    micros: 123_456
                },
                Value::Date {
                    year: 2024,
                    month: 2,
                    day: 29,
                    hour: 0,
                    minute: 0,
                    second: 0,
                    micros: 0
                },
                Value::Time {
                    negative: true,
                    days: 1,
                    hours: 1,
                    minutes: 3,
                    seconds: 4,
                    micros: 0
                },
                Value::Null,
            ]
        );
        let r2 = BinaryRow::decode(rows[1].clone(), &types)
            .unwrap()
            .values(&types)
            .unwrap();
        assert_eq!(r2[0], Value::Int(2));
        assert!(r2[1..11].iter().all(|v| *v == Value::Null), "{r2:?}");
        assert_eq!(r2[11], Value::Int(7));
        // Our encoder writes the rows the server sent byte for byte.
        let mut again = BytesMut::new();
        BinaryRow::encode(&r1, &types, &mut again).unwrap();
        assert_eq!(again.freeze(), rows[0]);

        // Parameters of several types, NULL among them, round-trip
        // through the server.
        c.command(Command::StmtPrepare(Bytes::from_static(
            b"SELECT ?, ?, ?, ?, CAST(? AS DATETIME(6))",
        )))
        .await;
        let ok2 = StmtPrepareOk::decode(c.recv().await.payload).unwrap();
        let defs = usize::from(ok2.num_params) + usize::from(ok2.num_columns);
        let eofs = if extra == 0 { 2 } else { 0 };
        for _ in 0..defs + eofs {
            c.recv().await;
        }
        let when = Value::Date {
            year: 1999,
            month: 12,
            day: 31,
            hour: 23,
            minute: 59,
            second: 58,
            micros: 7,
        };
        let params = [
            Value::Int(-42),
            Value::Null,
            Value::Bytes(Bytes::from_static(b"text")),
            Value::Double(0.25),
            when.clone(),
        ];
        let exec = StmtExecute::new(ok2.statement_id, &params).unwrap();
        c.command(Command::StmtExecute(exec)).await;
        let (cols, rows, _) = c.read_result().await.unwrap();
        let types: Vec<BinaryType> = cols.iter().map(BinaryType::from).collect();
        let v = BinaryRow::decode(rows[0].clone(), &types)
            .unwrap()
            .values(&types)
            .unwrap();
        assert_eq!(v[0], Value::Int(-42));
        assert_eq!(v[1], Value::Null);
        assert_eq!(v[2], Value::Bytes(Bytes::from_static(b"text")));
        assert_eq!(v[3], Value::Double(0.25));
        assert_eq!(v[4], when);

        c.command(Command::StmtReset(ok.statement_id)).await;
        c.read_result().await.unwrap();
        // COM_STMT_CLOSE has no answer; the next command proves the
        // session is still in step.
        c.command(Command::StmtClose(ok.statement_id)).await;
        c.command(Command::Ping).await;
        c.read_result().await.unwrap();
    }
}

#[tokio::test]
async fn packets_over_16_mib_round_trip() {
    let db = MariaDbInstance::start_with(&MariaDbOptions {
        server_args: vec!["--max-allowed-packet=128M".into()],
        ..MariaDbOptions::default()
    })
    .unwrap();
    let (mut c, _, _) = login(
        &db,
        db.password(),
        CLIENT_DEPRECATE_EOF,
        mysql_native::PLUGIN_NAME,
    )
    .await
    .unwrap();
    // Client to server: a 17 MiB statement, split by our encoder.
    let len = 17 * 1024 * 1024 + 3;
    let sql = format!(
        "SELECT LENGTH('{}'), MD5('{}')",
        "a".repeat(len),
        "b".repeat(10)
    );
    assert!(sql.len() > 0xff_ffff);
    c.query(&sql).await;
    let (_, rows, _) = c.read_result().await.unwrap();
    assert_eq!(
        cells(&rows[0], 2)[0].as_deref(),
        Some(len.to_string().as_str())
    );

    // Server to client: a 17 MiB cell, joined by our decoder.
    c.query(&format!("SELECT REPEAT('z', {len}), 'tail'")).await;
    let (_, rows, _) = c.read_result().await.unwrap();
    assert!(rows[0].len() > 0xff_ffff);
    let row = TextRow::decode(rows[0].clone(), 2).unwrap();
    let big = row.cell(0).unwrap().unwrap();
    assert_eq!(big.len(), len);
    assert!(big.iter().all(|&b| b == b'z'));
    assert_eq!(row.cell(1).unwrap().unwrap(), &b"tail"[..]);

    // And the session is still in step after both.
    c.command(Command::Ping).await;
    c.read_result().await.unwrap();
}

#[tokio::test]
async fn the_packet_limit_stops_an_oversized_answer() {
    let db = MariaDbInstance::start().unwrap();
    let (mut c, _, _) = login(
        &db,
        db.password(),
        CLIENT_DEPRECATE_EOF,
        mysql_native::PLUGIN_NAME,
    )
    .await
    .unwrap();
    c.conn.codec_mut().set_max_packet_len(1024);
    c.query("SELECT REPEAT('z', 5000)").await;
    // Column count and definition pass; the row does not.
    c.recv().await;
    c.recv().await;
    let err = c.conn.next().await.unwrap().unwrap_err();
    assert!(
        err.to_string().contains("exceeds the maximum of 1024"),
        "{err}"
    );
}
