// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! The server side of the MySQL codec against sqlx's MySQL driver, which
//! (unlike libmariadb) negotiates CLIENT_DEPRECATE_EOF: it reads result
//! sets ended by our 0xfe-OK packets, and our NULLs and integers typed by
//! our column definitions.

mod mysql_mini_server;

use std::time::Duration;

use mysql_mini_server::{serve, Variant, PASSWORD};
use shardwire_protocol::mysql::constants::capability::CLIENT_DEPRECATE_EOF;
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::{Connection, Row};
use tokio::net::TcpListener;

#[tokio::test]
async fn sqlx_reads_our_result_sets_in_both_eof_modes() {
    for deprecate_eof in [true, false] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let v = Variant {
            deprecate_eof,
            auth_switch: deprecate_eof,
        };
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            serve(stream, v).await
        });
        let opts = MySqlConnectOptions::new()
            .host("127.0.0.1")
            .port(port)
            .username("app")
            .password(PASSWORD)
            .database("appdb")
            .ssl_mode(MySqlSslMode::Disabled);
        let client = async {
            let mut conn = sqlx::MySqlConnection::connect_with(&opts).await.unwrap();
            let rows = sqlx::raw_sql("SELECT greeting, n FROM anywhere")
                .fetch_all(&mut conn)
                .await
                .unwrap();
            let got: Vec<(String, Option<i64>)> = rows
                .iter()
                .map(|r| (r.get::<String, _>(0), r.get::<Option<i64>, _>(1)))
                .collect();
            assert_eq!(
                got,
                [
                    ("hello from shardwire".to_owned(), Some(1)),
                    ("second row".to_owned(), None)
                ]
            );
            let err = sqlx::raw_sql("SELECT boom")
                .execute(&mut conn)
                .await
                .unwrap_err();
            let db = err.as_database_error().unwrap();
            assert_eq!(db.code().as_deref(), Some("HY000"));
            assert!(db.message().contains("boom from shardwire"), "{db}");
            conn.ping().await.unwrap();
            conn.close().await.unwrap();
        };
        tokio::time::timeout(Duration::from_secs(30), client)
            .await
            .expect("the client finished in time");
        let seen = server.await.unwrap();
        assert!(seen.authenticated && seen.quit);
        let resp = seen.response.unwrap();
        assert_eq!(resp.username, "app");
        assert_eq!(resp.database.as_deref(), Some("appdb"));
        // sqlx takes DEPRECATE_EOF when offered, so the offering run used
        // 0xfe-OK packets, and the other the classic EOF packets.
        assert_eq!(resp.capabilities & CLIENT_DEPRECATE_EOF != 0, deprecate_eof);
        assert!(seen
            .queries
            .iter()
            .any(|q| q == "SELECT greeting, n FROM anywhere"));
    }
}
