//! Captures that cannot be replayed: exit code 2 with the reason, never a
//! panic and never a connection attempt.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

use shardwire_conformance::cli::{replay_command, ReplayArgs, EXIT_UNUSABLE};
use shardwire_conformance::pcap_write::{PcapWriter, TcpFlow};

/// Writes a pcap of one connection: `(from_client, bytes)` in order.
fn synthesise(exchanges: &[(bool, &[u8])], server_port: u16) -> Vec<u8> {
    let client: SocketAddr = "127.0.0.1:45000".parse().expect("addr");
    let server: SocketAddr = SocketAddr::from(([127, 0, 0, 1], server_port));
    let mut buf = Vec::new();
    let mut w = PcapWriter::new(&mut buf).expect("header");
    let mut flow = TcpFlow::new(client, server);
    let now = SystemTime::now();
    let mut frames = flow.handshake();
    for (from_client, bytes) in exchanges {
        frames.extend(flow.data(*from_client, bytes));
    }
    frames.push(flow.fin(true));
    frames.push(flow.fin(false));
    for f in frames {
        w.packet(now, &f).expect("packet");
    }
    buf
}

fn pg_startup() -> Vec<u8> {
    let body = b"\0\x03\0\0user\0alice\0database\0app\0\0";
    let mut v = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

fn pg_msg(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// A PostgreSQL session that logs in and runs one query.
fn pg_session() -> Vec<u8> {
    let mut server = pg_msg(b'R', &[0, 0, 0, 0]);
    server.extend(pg_msg(b'Z', b"I"));
    let query = pg_msg(b'Q', b"SELECT 1\0");
    let mut answer = pg_msg(b'C', b"SELECT 1\0");
    answer.extend(pg_msg(b'Z', b"I"));
    synthesise(
        &[
            (true, &pg_startup()),
            (false, &server),
            (true, &query),
            (false, &answer),
        ],
        6543,
    )
}

fn replay(path: &Path) -> shardwire_conformance::cli::CommandOutput {
    replay_command(&ReplayArgs {
        capture: path.to_path_buf(),
        // Nothing listens there: an unusable capture must fail first.
        target: "127.0.0.1:9".into(),
        user: "u".into(),
        password: "p".into(),
        database: None,
        json: false,
        unordered_rows: false,
        generated_keys: false,
        timeout: Duration::from_secs(2),
    })
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("writes");
    p
}

#[test]
fn a_whole_session_reads_but_a_truncated_one_is_unusable() {
    let dir = tempfile::tempdir().expect("tmp");
    let whole = pg_session();
    let cap = shardwire_conformance::load_capture(&write(dir.path(), "whole.pcap", &whole))
        .expect("the whole capture reads");
    assert_eq!(cap.dialogs.len(), 1);
    assert_eq!(cap.dialogs[0].exchanges.len(), 1);
    assert_eq!(cap.dialogs[0].exchanges[0].request, "SELECT 1");

    // Cut inside the last packet's data.
    let cut = write(dir.path(), "cut.pcap", &whole[..whole.len() - 30]);
    let out = replay(&cut);
    assert_eq!(out.code, EXIT_UNUSABLE, "{out:?}");
    assert!(out.stderr.contains("truncated"), "{}", out.stderr);

    let header_only = write(dir.path(), "header.pcap", &whole[..10]);
    let out = replay(&header_only);
    assert_eq!(out.code, EXIT_UNUSABLE);
    assert!(out.stderr.contains("truncated"), "{}", out.stderr);

    let empty = write(dir.path(), "empty.pcap", b"");
    let out = replay(&empty);
    assert_eq!(out.code, EXIT_UNUSABLE);
    assert!(
        out.stderr.contains("shorter than a capture header"),
        "{}",
        out.stderr
    );

    let missing = replay(&dir.path().join("absent.pcap"));
    assert_eq!(missing.code, EXIT_UNUSABLE);
}

#[test]
fn a_capture_without_login_is_unusable() {
    let dir = tempfile::tempdir().expect("tmp");
    // The server refuses the password.
    let mut refusal = pg_msg(b'R', &[0, 0, 0, 3]);
    refusal.extend(pg_msg(
        b'E',
        b"SFATAL\0C28P01\0Mpassword authentication failed\0\0",
    ));
    let refused = synthesise(
        &[
            (true, &pg_startup()),
            (false, &refusal),
            (true, &pg_msg(b'p', b"wrong\0")),
        ],
        6543,
    );
    let out = replay(&write(dir.path(), "refused.pcap", &refused));
    assert_eq!(out.code, EXIT_UNUSABLE, "{out:?}");
    assert!(
        out.stderr.contains("no login in the capture"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("28P01"), "{}", out.stderr);

    // Mid-session capture: queries, but the login was never captured.
    let query = pg_msg(b'Q', b"SELECT 1\0");
    let answer = pg_msg(b'Z', b"I");
    let mid = synthesise(&[(true, &query), (false, &answer)], 6543);
    let out = replay(&write(dir.path(), "mid.pcap", &mid));
    assert_eq!(out.code, EXIT_UNUSABLE, "{out:?}");
}

#[test]
fn a_non_database_capture_is_unusable() {
    let dir = tempfile::tempdir().expect("tmp");
    let http = synthesise(
        &[
            (true, b"GET / HTTP/1.1\r\nHost: example\r\n\r\n"),
            (false, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
        ],
        // The PostgreSQL port: detection must not trust it.
        5432,
    );
    let out = replay(&write(dir.path(), "http.pcap", &http));
    assert_eq!(out.code, EXIT_UNUSABLE, "{out:?}");
    assert!(
        out.stderr.contains("not a database capture"),
        "{}",
        out.stderr
    );

    let text = write(dir.path(), "notes.txt", b"these are not packets at all");
    let out = replay(&text);
    assert_eq!(out.code, EXIT_UNUSABLE);
    assert!(
        out.stderr.contains("not a pcap or pcapng file"),
        "{}",
        out.stderr
    );
}

/// Corrupted copies of the corpus captures: whatever the damage, reading
/// ends in a capture or an error, never a panic.
#[test]
fn damaged_captures_never_panic() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut seed: u64 = 0x5eed_cafe;
    let mut next = move || {
        // xorshift: deterministic, so a failure reproduces.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut read = 0usize;
    for entry in std::fs::read_dir(&corpus).expect("the corpus") {
        let path = entry.expect("an entry").path();
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng")
        ) {
            continue;
        }
        let original = std::fs::read(&path).expect("reads");
        for _ in 0..300 {
            let mut bytes = original.clone();
            for _ in 0..(1 + next() % 8) {
                let at = (next() as usize) % bytes.len();
                bytes[at] = next() as u8;
            }
            if next() % 4 == 0 {
                let keep = (next() as usize) % bytes.len();
                bytes.truncate(keep);
            }
            if let Ok(segments) = shardwire_conformance::pcap_read::parse_capture(&bytes) {
                let _ = shardwire_conformance::dialog::capture_from_segments(&segments);
            }
            read += 1;
        }
    }
    assert!(
        read >= 1200,
        "the corpus has at least four captures ({read})"
    );
}
