// Tests unwrap: a panic is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]
//! The server side of the MySQL codec against the `mariadb` command-line
//! client: our encoders (handshake, auth switch, OK, ERR, column
//! definitions, text rows, EOF) serve it through [`mysql_mini_server`], and
//! we check both what arrived (the client's HandshakeResponse41, its
//! scramble, its commands) and what the client made of our answers.

mod mysql_mini_server;

use std::process::Output;
use std::time::Duration;

use mysql_mini_server::{serve, Seen, Variant, PASSWORD};
use shardwire_protocol::mysql::constants::capability::*;
use tokio::net::TcpListener;

async fn run_cli(v: Variant, password: &str, sql: &str) -> (Output, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        serve(stream, v).await
    });
    let out = tokio::process::Command::new("mariadb")
        .args([
            "--no-defaults",
            "--protocol=TCP",
            "--host=127.0.0.1",
            &format!("--port={port}"),
            "--user=app",
            &format!("--password={password}"),
            "--database=appdb",
            "--skip-ssl",
            "--batch",
            "--connect-timeout=10",
            "-e",
            sql,
        ])
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .expect("client finished in time")
        .expect("mariadb client runs");
    let seen = server.await.unwrap();
    (out, seen)
}

#[tokio::test]
async fn the_mariadb_client_reads_our_answers() {
    for v in [
        Variant {
            deprecate_eof: false,
            auth_switch: false,
        },
        Variant {
            deprecate_eof: true,
            auth_switch: false,
        },
        Variant {
            deprecate_eof: true,
            auth_switch: true,
        },
    ] {
        let (out, seen) = run_cli(v, PASSWORD, "SELECT greeting FROM anywhere").await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{v:?}: {stderr}");
        assert_eq!(
            stdout, "greeting\tn\nhello from shardwire\t1\nsecond row\tNULL\n",
            "{v:?}"
        );

        let resp = seen.response.unwrap();
        assert_eq!(resp.username, "app");
        assert_eq!(resp.database.as_deref(), Some("appdb"));
        assert_eq!(resp.auth_plugin.as_deref(), Some("mysql_native_password"));
        assert_ne!(resp.capabilities & CLIENT_PROTOCOL_41, 0);
        // libmariadb (10.11) does not take DEPRECATE_EOF even when offered:
        // the offering variants check that the server falls back to EOF
        // packets by the negotiated (not the offered) capabilities.
        assert_eq!(resp.capabilities & CLIENT_DEPRECATE_EOF, 0, "{v:?}");
        assert!(
            resp.attributes.iter().any(|(k, _)| k == "_client_name"),
            "{:?}",
            resp.attributes
        );
        assert!(seen.authenticated);
        assert!(seen
            .queries
            .iter()
            .any(|q| q == "SELECT greeting FROM anywhere"));
        assert!(seen.quit, "the client said goodbye with COM_QUIT");
    }
}

#[tokio::test]
async fn errors_reach_the_client_with_code_and_state() {
    let v = Variant {
        deprecate_eof: true,
        auth_switch: false,
    };
    let (out, seen) = run_cli(v, "wrong", "SELECT 1").await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ERROR 1045 (28000)"), "{stderr}");
    assert!(!seen.authenticated);

    let (out, _) = run_cli(v, PASSWORD, "SELECT boom").await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ERROR 1105 (HY000)") && stderr.contains("boom from shardwire"),
        "{stderr}"
    );
}
