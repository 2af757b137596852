//! What MySQL clients send that drivers usually do not, over a raw socket
//! to Shardwire on two MariaDB shards: wrong passwords, unknown databases,
//! commands pipelined in one TCP write, multi-statement strings, malformed,
//! truncated and oversized packets, wrong sequence ids,
//! unknown commands, COM_CHANGE_USER; the caching_sha2_password exchanges
//! (fast path, full auth with the RSA key), whose packets must come in
//! MySQL's order; and TLS with the mariadb CLI.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[path = "support_mysql/mod.rs"]
mod support_mysql;

use std::io::Write;

use shardwire_protocol::auth::caching_sha2;
use shardwire_protocol::mysql::constants::capability::{
    CLIENT_PLUGIN_AUTH, CLIENT_PROTOCOL_41, CLIENT_SECURE_CONNECTION,
};
use shardwire_protocol::mysql::constants::status::SERVER_MORE_RESULTS_EXISTS;
use shardwire_protocol::mysql::{ChangeUser, Command};
use support_mysql::{RawClient, MAX_PACKET, PASSWORD, USER};

fn err_of(packet: &[u8]) -> (u16, String) {
    assert_eq!(packet[0], 0xff, "not an ERR: {packet:?}");
    let code = u16::from_le_bytes([packet[1], packet[2]]);
    // '#' + 5-byte SQLSTATE, then the message.
    (code, String::from_utf8_lossy(&packet[9..]).into_owned())
}

fn assert_ok(packet: &[u8]) {
    assert_eq!(
        packet[0],
        0x00,
        "not an OK: {}",
        String::from_utf8_lossy(packet)
    );
}

#[test]
fn logins_fail_with_mysql_errors_and_pass_with_both_plugins() {
    let d = support_mysql::start();

    let (_, answer) = RawClient::login(d.port, USER, "wrong", Some("sharding_db"));
    let (code, message) = err_of(&answer);
    assert_eq!(code, 1045);
    assert_eq!(
        message,
        "Access denied for user 'app'@'127.0.0.1' (using password: YES)"
    );
    let (_, answer) = RawClient::login(d.port, "nobody", PASSWORD, None);
    assert_eq!(err_of(&answer).0, 1045);

    let (_, answer) = RawClient::login(d.port, USER, PASSWORD, Some("no_such_db"));
    let (code, message) = err_of(&answer);
    assert_eq!(
        (code, message.as_str()),
        (1049, "Unknown database 'no_such_db'")
    );

    // The CLI reports the same.
    let out = d.mariadb("sharding_db", "wrong", "SELECT 1;");
    assert!(!out.ok);
    assert!(out.stderr.contains("ERROR 1045"), "{}", out.stderr);

    // caching_sha2_password, fast path: AuthMoreData 0x03, then OK.
    let (mut c, hs) = RawClient::connect(d.port);
    let scramble = caching_sha2::scramble(PASSWORD, &hs.auth_data);
    let more = c.respond(USER, caching_sha2::PLUGIN_NAME, scramble, None);
    assert_eq!(more, [0x01, caching_sha2::FAST_AUTH_SUCCESS]);
    let (seq, ok) = c.read_packet().unwrap();
    assert_ok(&ok);
    assert_eq!(seq, 3);

    // Full auth without TLS: the client asks for the public key and sends
    // the password encrypted with it.
    let (mut c, hs) = RawClient::connect(d.port);
    let wrong_scramble = caching_sha2::scramble("not-the-password", &hs.auth_data);
    let more = c.respond(
        USER,
        caching_sha2::PLUGIN_NAME,
        wrong_scramble,
        Some("sharding_db"),
    );
    assert_eq!(more, [0x01, caching_sha2::PERFORM_FULL_AUTHENTICATION]);
    // The proxy makes its RSA key at the first request for it: in an
    // unoptimized build on a loaded machine that took over 20 s.
    c.stream
        .set_read_timeout(Some(std::time::Duration::from_secs(180)))
        .unwrap();
    let asked = std::time::Instant::now();
    c.write_packet(3, &[caching_sha2::REQUEST_PUBLIC_KEY]);
    let (seq, key) = c.read_packet().unwrap();
    eprintln!("the RSA public key came after {:?}", asked.elapsed());
    assert_eq!(seq, 4);
    assert_eq!(key[0], 0x01);
    let encrypted = caching_sha2::encrypt_password(&key[1..], PASSWORD, &hs.auth_data).unwrap();
    c.write_packet(5, &encrypted);
    let (seq, ok) = c.read_packet().unwrap();
    assert_ok(&ok);
    assert_eq!(seq, 6);

    // The same exchange with the wrong password is refused.
    let (mut c, hs) = RawClient::connect(d.port);
    let more = c.respond(USER, caching_sha2::PLUGIN_NAME, vec![1; 32], None);
    assert_eq!(more, [0x01, caching_sha2::PERFORM_FULL_AUTHENTICATION]);
    c.write_packet(3, &[caching_sha2::REQUEST_PUBLIC_KEY]);
    let (_, key) = c.read_packet().unwrap();
    let encrypted = caching_sha2::encrypt_password(&key[1..], "wrong", &hs.auth_data).unwrap();
    c.write_packet(5, &encrypted);
    let (_, err) = c.read_packet().unwrap();
    assert_eq!(err_of(&err).0, 1045);

    // An unknown plugin is switched to mysql_native_password.
    let (mut c, _) = RawClient::connect(d.port);
    let switch = c.respond(USER, "client_ed25519", vec![0; 64], None);
    assert_eq!(switch[0], 0xfe, "AuthSwitchRequest");
    let plugin_end = switch.iter().position(|b| *b == 0).unwrap();
    assert_eq!(&switch[1..plugin_end], b"mysql_native_password");
    let new_scramble = &switch[plugin_end + 1..switch.len() - 1];
    let answer = shardwire_protocol::auth::mysql_native::scramble(PASSWORD, new_scramble);
    c.write_packet(3, &answer);
    let (_, ok) = c.read_packet().unwrap();
    assert_ok(&ok);
}

#[test]
fn pipelined_commands_are_answered_in_order_and_bad_packets_end_only_their_session() {
    let d = support_mysql::start();
    let (mut c, answer) = RawClient::login(d.port, USER, PASSWORD, Some("sharding_db"));
    assert_ok(&answer);

    // Three commands in one TCP write: each answered, in order, each
    // answer numbered from 1.
    let mut batch = RawClient::frame(0, b"\x03SELECT 1 AS one");
    batch.extend(RawClient::frame(0, b"\x03SELECT DATABASE()"));
    batch.extend(RawClient::frame(0, b"\x0e"));
    c.stream.write_all(&batch).unwrap();
    assert_eq!(c.read_result_set(), vec![vec![Some("1".to_owned())]]);
    assert_eq!(
        c.read_result_set(),
        vec![vec![Some("sharding_db".to_owned())]]
    );
    let (seq, pong) = c.read_packet().unwrap();
    assert_eq!(seq, 1);
    assert_ok(&pong);

    // A statement a shard answers (with an error: the table was never
    // created) between two the proxy answers, in one write: still in order.
    let mut batch = RawClient::frame(0, b"\x03SELECT 'before'");
    batch.extend(RawClient::frame(
        0,
        b"\x03SELECT * FROM t_order WHERE user_id = 1 AND order_id = 1",
    ));
    batch.extend(RawClient::frame(0, b"\x03SELECT 'after'"));
    c.stream.write_all(&batch).unwrap();
    assert_eq!(c.read_result_set(), vec![vec![Some("before".to_owned())]]);
    let (seq, err) = c.read_packet().unwrap();
    assert_eq!((seq, err_of(&err).0), (1, 1146));
    assert_eq!(c.read_result_set(), vec![vec![Some("after".to_owned())]]);

    // A table no rule places is to the client a table that does not
    // exist: MySQL's 1146 / 42S02 (drivers raise ProgrammingError from
    // it), not the proxy's "unsupported" 1235.
    c.write_packet(0, b"\x03SELECT * FROM t_nowhere");
    let (seq, err) = c.read_packet().unwrap();
    assert_eq!(seq, 1);
    assert_eq!(&err[3..9], b"#42S02");
    assert_eq!(
        err_of(&err),
        (
            1146,
            "Table 'sharding_db.t_nowhere' doesn't exist".to_owned()
        )
    );

    // A query and COM_QUIT in one write: the answer still comes.
    let (mut quitter, answer) = RawClient::login(d.port, USER, PASSWORD, None);
    assert_ok(&answer);
    let mut batch = RawClient::frame(0, b"\x03SELECT 'bye'");
    batch.extend(RawClient::frame(0, b"\x01"));
    quitter.stream.write_all(&batch).unwrap();
    assert_eq!(
        quitter.read_result_set(),
        vec![vec![Some("bye".to_owned())]]
    );
    assert!(quitter.read_packet().is_none());

    // A multi-statement string: every result flagged but the last, both
    // when the proxy answers and when a shard does.
    c.write_packet(0, b"\x03SELECT 1; SELECT 2; SELECT 3");
    for (want, more) in [("1", true), ("2", true), ("3", false)] {
        let (rows, status) = c.read_result_set_with_status();
        assert_eq!(rows, vec![vec![Some(want.to_owned())]]);
        assert_eq!(status & SERVER_MORE_RESULTS_EXISTS != 0, more, "{want}");
    }
    c.write_packet(
        0,
        b"\x03SELECT 'local'; SELECT COUNT(*) FROM t_region; SELECT 'end'",
    );
    let (rows, status) = c.read_result_set_with_status();
    assert_eq!(rows, vec![vec![Some("local".to_owned())]]);
    assert_ne!(status & SERVER_MORE_RESULTS_EXISTS, 0);
    // The numbering runs on through the string: the first result took
    // ids 1 to 5 (count, definition, EOF, row, EOF).
    let (seq, err) = c.read_packet().unwrap();
    assert_eq!(
        (seq, err_of(&err).0),
        (6, 1146),
        "t_region was never created"
    );
    // An error ends a multi-statement string, as in MySQL: the next
    // command is answered, not the rest of the string.
    c.write_packet(0, b"\x0e");
    assert_ok(&c.read_packet().unwrap().1);

    // COM_RESET_CONNECTION answers OK numbered 1, as MySQL does.
    c.write_packet(0, b"\x1f");
    let (seq, ok) = c.read_packet().unwrap();
    assert_eq!(seq, 1);
    assert_ok(&ok);

    // COM_CHANGE_USER re-authenticates: AuthSwitchRequest, then OK.
    let change = |password: &str, c: &mut RawClient| {
        let mut payload = bytes::BytesMut::new();
        Command::ChangeUser(ChangeUser {
            username: USER.into(),
            auth_response: vec![0; 20].into(),
            database: "sharding_db".into(),
            charset: Some(45),
            auth_plugin: Some("mysql_native_password".into()),
            attributes: Vec::new(),
        })
        .encode(
            CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH,
            &mut payload,
        )
        .unwrap();
        c.write_packet(0, &payload);
        let (seq, switch) = c.read_packet().unwrap();
        assert_eq!((seq, switch[0]), (1, 0xfe), "AuthSwitchRequest");
        let plugin_end = switch.iter().position(|b| *b == 0).unwrap();
        let scramble = &switch[plugin_end + 1..switch.len() - 1];
        let answer = shardwire_protocol::auth::mysql_native::scramble(password, scramble);
        c.write_packet(2, &answer);
        c.read_packet()
    };
    let (seq, ok) = change(PASSWORD, &mut c).unwrap();
    assert_eq!(seq, 3);
    assert_ok(&ok);
    c.write_packet(0, b"\x03SELECT DATABASE()");
    assert_eq!(
        c.read_result_set(),
        vec![vec![Some("sharding_db".to_owned())]]
    );
    let (mut other, answer) = RawClient::login(d.port, USER, PASSWORD, None);
    assert_ok(&answer);
    let (_, err) = change("wrong", &mut other).unwrap();
    assert_eq!(err_of(&err).0, 1045);
    assert!(
        other.read_packet().is_none(),
        "a failed change of user ends the session"
    );

    // An unknown command gets an ERR, and the session goes on.
    c.write_packet(0, b"\x99");
    let (_, err) = c.read_packet().unwrap();
    assert_eq!(err_of(&err).0, 1047);
    c.write_packet(0, b"\x0e");
    assert_ok(&c.read_packet().unwrap().1);

    // A truncated COM_STMT_EXECUTE ends this session with an ERR.
    c.write_packet(0, b"\x17\x01\x00");
    let (_, err) = c.read_packet().unwrap();
    assert_eq!(err_of(&err).0, 1835);
    assert!(c.read_packet().is_none(), "the session ends");

    // A packet over the limit is refused from its header.
    let (mut big, answer) = RawClient::login(d.port, USER, PASSWORD, Some("sharding_db"));
    assert_ok(&answer);
    let len = MAX_PACKET + 1;
    big.stream
        .write_all(&[len as u8, (len >> 8) as u8, (len >> 16) as u8, 0, 0x03])
        .unwrap();
    let (_, err) = big.read_packet().unwrap();
    assert_eq!(err_of(&err).0, 1153);
    assert!(big.read_packet().is_none(), "the session ends");

    // A command whose sequence id is not 0: MySQL's "out of order" error,
    // and the session ends.
    let (mut skipped, answer) = RawClient::login(d.port, USER, PASSWORD, Some("sharding_db"));
    assert_ok(&answer);
    skipped.write_packet(5, b"\x03SELECT 1");
    let (seq, err) = skipped.read_packet().unwrap();
    assert_eq!(
        (seq, err_of(&err)),
        (1, (1156, "Got packets out of order".into()))
    );
    assert!(skipped.read_packet().is_none(), "the session ends");

    // A packet cut short: its header promises 100 bytes, 10 come, then the
    // client closes its side. The session ends without an answer.
    let (mut cut, answer) = RawClient::login(d.port, USER, PASSWORD, Some("sharding_db"));
    assert_ok(&answer);
    let mut short = RawClient::frame(0, &[b'x'; 100]);
    short[4] = 0x03;
    short.truncate(4 + 10);
    cut.stream.write_all(&short).unwrap();
    cut.stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(cut.read_packet().is_none(), "the session ends");
    // So does a handshake response cut short.
    let (mut cut, _) = RawClient::connect(d.port);
    cut.stream.write_all(&[40, 0, 0, 1, 0x8d, 0xa6]).unwrap();
    cut.stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(cut.read_packet().is_none(), "the login ends");

    // Garbage instead of a handshake response.
    let (mut junk, _) = RawClient::connect(d.port);
    junk.write_packet(1, b"\x01\x02\x03");
    assert!(junk.read_packet().is_none_or(|(_, p)| p[0] == 0xff));

    // Other sessions are untouched.
    let (mut again, answer) = RawClient::login(d.port, USER, PASSWORD, Some("sharding_db"));
    assert_ok(&answer);
    again.write_packet(0, b"\x0e");
    assert_ok(&again.read_packet().unwrap().1);
    assert_eq!(
        d.mariadb_ok("SELECT @@max_allowed_packet;").trim(),
        MAX_PACKET.to_string()
    );
}

#[test]
fn tls_sessions_with_the_mariadb_cli() {
    let d = support_mysql::start_with_tls();
    let out = d.mariadb_with(
        &["--ssl", "--skip-ssl-verify-server-cert"],
        "status;\nSELECT DATABASE();",
    );
    assert!(out.ok, "{}\n{}", out.stderr, d.proxy.log_tail());
    assert!(
        out.stdout.contains("Cipher in use is TLS"),
        "the session is not encrypted:\n{}",
        out.stdout
    );
    assert!(out.stdout.contains("sharding_db"));
}

/// COM_STMT_PREPARE; returns the statement id after reading its
/// parameter (and column) definitions, each run ended by an EOF.
fn prepare(c: &mut RawClient, sql: &str) -> u32 {
    let mut payload = vec![0x16];
    payload.extend_from_slice(sql.as_bytes());
    c.write_packet(0, &payload);
    let (_, ok) = c.read_packet().unwrap();
    assert_ok(&ok);
    let id = u32::from_le_bytes([ok[1], ok[2], ok[3], ok[4]]);
    let columns = u16::from_le_bytes([ok[5], ok[6]]);
    let params = u16::from_le_bytes([ok[7], ok[8]]);
    for n in [params, columns] {
        if n > 0 {
            for _ in 0..=n {
                c.read_packet().unwrap();
            }
        }
    }
    id
}

/// COM_STMT_SEND_LONG_DATA: no answer.
fn send_long_data(c: &mut RawClient, id: u32, param: u16, data: &[u8]) {
    let mut payload = vec![0x18];
    payload.extend_from_slice(&id.to_le_bytes());
    payload.extend_from_slice(&param.to_le_bytes());
    payload.extend_from_slice(data);
    c.write_packet(0, &payload);
}

/// COM_STMT_EXECUTE of a two-parameter statement whose values all came
/// as long data (types bound: two VAR_STRINGs).
fn execute_long(c: &mut RawClient, id: u32) -> Vec<u8> {
    let mut payload = vec![0x17];
    payload.extend_from_slice(&id.to_le_bytes());
    payload.push(0); // no cursor
    payload.extend_from_slice(&1u32.to_le_bytes());
    payload.push(0); // NULL bitmap for two parameters
    payload.push(1); // new params bound
    payload.extend_from_slice(&[0xfd, 0, 0xfd, 0]);
    c.write_packet(0, &payload);
    c.read_packet().unwrap().1
}

/// Long data is held per statement up to the packet limit; past it the
/// execution fails with the server's error (1153) and nothing held stays,
/// and the statement works again after COM_STMT_RESET.
#[test]
fn long_data_past_the_packet_limit_fails_the_execution_and_is_dropped() {
    let d = support_mysql::start();
    d.mariadb_ok("CREATE TABLE t_region (id VARCHAR(10) NOT NULL PRIMARY KEY, name LONGTEXT)");
    let (mut c, answer) = RawClient::login(d.port, USER, PASSWORD, Some("sharding_db"));
    assert_ok(&answer);
    let id = prepare(&mut c, "INSERT INTO t_region (id, name) VALUES (?, ?)");
    send_long_data(&mut c, id, 0, b"7");
    let chunk = vec![b'x'; MAX_PACKET / 4];
    for _ in 0..5 {
        send_long_data(&mut c, id, 1, &chunk);
    }
    let (code, message) = err_of(&execute_long(&mut c, id));
    assert_eq!(code, 1153, "{message}");
    assert!(message.contains("max_allowed_packet"), "{message}");
    // COM_STMT_RESET (answered with OK), then values within the limit.
    let mut reset = vec![0x1a];
    reset.extend_from_slice(&id.to_le_bytes());
    c.write_packet(0, &reset);
    assert_ok(&c.read_packet().unwrap().1);
    send_long_data(&mut c, id, 0, b"8");
    send_long_data(&mut c, id, 1, &chunk);
    assert_ok(&execute_long(&mut c, id));
    let stored = d.mariadb_ok("SELECT id, LENGTH(name) FROM t_region");
    assert_eq!(stored.trim(), format!("8\t{}", MAX_PACKET / 4));
}
