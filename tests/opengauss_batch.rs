//! openGauss Batch Bind ('U') on the wire: hand-built frames over a
//! TcpStream to an openGauss listener over two PostgreSQL shards, logged in
//! with SHA256 (og1's client side of protocol::auth::opengauss).
//!
//! 1,000 rows in one Batch Bind land on the data nodes the rules name
//! (checked on each shard's actual tables); UPDATE and DELETE batches, and
//! one inside a transaction that is rolled back; rows
//! reaching several nodes are refused by name; malformed batches (count
//! mismatch, truncated value, wrong parameter count, unknown statement)
//! each get an ErrorResponse, and the session goes on. Also: a PostgreSQL
//! listener still negotiates 3.51 down, and a 3.0 client on the openGauss
//! listener is offered SASL, not SHA256.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use shardwire_protocol::auth::opengauss::{Sha256Request, PROTOCOL_VERSION_3_51};
use shardwire_protocol::pg::{BatchBind, FrontendMessage, Parse};
use shardwire_testkit::free_port;

const INSERT: &str = "INSERT INTO t_order (order_id, user_id, status) VALUES ($1, $2, $3)";

struct Client {
    stream: TcpStream,
}

/// One backend message: its type byte and body.
type Msg = (u8, Vec<u8>);

impl Client {
    fn connect(port: u16, version: u32) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut c = Client { stream };
        c.send(&FrontendMessage::Startup {
            protocol_version: version,
            params: vec![
                ("user".into(), support::USER.into()),
                ("database".into(), "sharding_db".into()),
            ],
        });
        c
    }

    /// Logs in as openGauss 3.51 with `password`; the messages up to
    /// ReadyForQuery, or the login's ErrorResponse.
    fn login(port: u16, password: &str) -> (Client, Vec<Msg>) {
        let mut c = Client::connect(port, PROTOCOL_VERSION_3_51);
        let (tag, body) = c.recv();
        assert_eq!(tag, b'R', "expected an AuthenticationRequest");
        assert_eq!(
            &body[..4],
            &10i32.to_be_bytes(),
            "expected SHA256 (code 10)"
        );
        let request = Sha256Request::decode(&body[4..], PROTOCOL_VERSION_3_51).unwrap();
        let proof = request.respond(support::USER, password).unwrap();
        c.send(&FrontendMessage::Password(proof));
        let answers = c.until_ready_or_error();
        (c, answers)
    }

    fn send(&mut self, msg: &FrontendMessage) {
        let mut buf = BytesMut::new();
        msg.encode(&mut buf).unwrap();
        self.stream.write_all(&buf).unwrap();
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    fn recv(&mut self) -> Msg {
        let mut head = [0u8; 5];
        self.stream.read_exact(&mut head).unwrap();
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut body = vec![0u8; len - 4];
        self.stream.read_exact(&mut body).unwrap();
        (head[0], body)
    }

    /// Messages up to and including ReadyForQuery.
    fn until_ready(&mut self) -> Vec<Msg> {
        let mut out = Vec::new();
        loop {
            let msg = self.recv();
            let done = msg.0 == b'Z';
            out.push(msg);
            if done {
                return out;
            }
        }
    }

    /// Like [`Client::until_ready`], but a FATAL ends it too.
    fn until_ready_or_error(&mut self) -> Vec<Msg> {
        let mut out = Vec::new();
        loop {
            let msg = self.recv();
            let done = msg.0 == b'Z' || msg.0 == b'E';
            out.push(msg);
            if done {
                return out;
            }
        }
    }

    fn prepare(&mut self, name: &str, sql: &str) {
        self.send(&FrontendMessage::Parse(Parse {
            name: name.into(),
            query: sql.into(),
            param_types: vec![],
        }));
        self.send(&FrontendMessage::Sync);
        assert_eq!(tags(&self.until_ready()), "1Z", "Parse of {sql}");
    }

    /// Sends `batch` (plus `tail` inside its frame, as openGauss JDBC puts
    /// the Execute there) and a Sync; the answers.
    fn batch(&mut self, batch: &BatchBind, tail: &[u8]) -> Vec<Msg> {
        let mut buf = BytesMut::new();
        batch.encode(&mut buf).unwrap();
        self.send_raw(&with_tail(&buf, tail));
        self.send(&FrontendMessage::Sync);
        self.until_ready()
    }

    /// Sends `batch` without an Execute inside its frame, then an Execute
    /// message of the unnamed portal and a Sync; the answers.
    fn batch_then_execute(&mut self, batch: &BatchBind) -> Vec<Msg> {
        let mut buf = BytesMut::new();
        batch.encode(&mut buf).unwrap();
        self.send_raw(&buf);
        self.send(&FrontendMessage::Execute {
            portal: String::new(),
            max_rows: 0,
        });
        self.send(&FrontendMessage::Sync);
        self.until_ready()
    }

    /// A simple query that must succeed; its DataRow cells' text.
    fn query(&mut self, sql: &str) -> Vec<String> {
        self.send(&FrontendMessage::Query(sql.into()));
        let answers = self.until_ready();
        assert!(
            !answers.iter().any(|(t, _)| *t == b'E'),
            "{sql}: {}",
            error_text(&answers)
        );
        answers
            .iter()
            .filter(|(t, _)| *t == b'D')
            .map(|(_, body)| data_row(body))
            .collect()
    }
}

/// A DataRow's text cells joined with commas (NULL as "NULL").
fn data_row(body: &[u8]) -> String {
    let n = u16::from_be_bytes([body[0], body[1]]);
    let mut at = 2;
    let mut cells = Vec::new();
    for _ in 0..n {
        let len = i32::from_be_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
        at += 4;
        match usize::try_from(len) {
            Ok(len) => {
                cells.push(String::from_utf8_lossy(&body[at..at + len]).into_owned());
                at += len;
            }
            Err(_) => cells.push("NULL".into()),
        }
    }
    cells.join(",")
}

/// A 'U' frame with `tail` appended inside it (its length grows too).
fn with_tail(frame: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut out = frame.to_vec();
    out.extend_from_slice(tail);
    let len = u32::try_from(out.len() - 1).unwrap();
    out[1..5].copy_from_slice(&len.to_be_bytes());
    out
}

fn tags(msgs: &[Msg]) -> String {
    msgs.iter().map(|(t, _)| char::from(*t)).collect()
}

/// The fields of the first ErrorResponse, as "C=... M=...".
fn error_text(msgs: &[Msg]) -> String {
    let Some((_, body)) = msgs.iter().find(|(t, _)| *t == b'E') else {
        return String::new();
    };
    body.split(|b| *b == 0)
        .filter(|f| !f.is_empty())
        .filter(|f| matches!(f[0], b'C' | b'M'))
        .map(|f| format!("{}={}", char::from(f[0]), String::from_utf8_lossy(&f[1..])))
        .collect::<Vec<_>>()
        .join(" ")
}

fn command_tag(msgs: &[Msg]) -> String {
    let (_, body) = msgs.iter().find(|(t, _)| *t == b'C').unwrap();
    String::from_utf8(body[..body.len() - 1].to_vec()).unwrap()
}

fn text(v: impl ToString) -> Option<Bytes> {
    Some(Bytes::from(v.to_string()))
}

fn batch(statement: &str, per_row: u16, rows: Vec<Vec<Option<Bytes>>>) -> BatchBind {
    BatchBind {
        statement: statement.into(),
        portal: String::new(),
        param_formats: vec![],
        result_formats: vec![],
        params_per_row: per_row,
        rows,
    }
}

fn start() -> (support::Deployment, u16) {
    let og_port = free_port().unwrap();
    let deployment = support::start_edited(|global| {
        global
            .replace("props:\n", "props:\n  opengauss-sha256-iterations: 4096\n")
            .replace(
                "listeners:\n",
                &format!("listeners:\n  - protocol: opengauss\n    address: 127.0.0.1:{og_port}\n"),
            )
    });
    deployment.psql_ok(
        "sharding_db",
        "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT NOT NULL, \
         status VARCHAR(32))",
    );
    (deployment, og_port)
}

/// Rows per actual table, per shard: "t_order_0=n,t_order_1=m".
fn shard_counts(deployment: &support::Deployment) -> Vec<String> {
    deployment
        .shards
        .iter()
        .map(|s| {
            s.psql(
                "SELECT 't_order_0=' || (SELECT count(*) FROM t_order_0) || \
                 ',t_order_1=' || (SELECT count(*) FROM t_order_1)",
            )
            .unwrap()
            .trim()
            .to_owned()
        })
        .collect()
}

#[test]
fn a_thousand_rows_in_one_batch_land_on_their_shards() {
    let (deployment, port) = start();
    let (mut c, login) = Client::login(port, support::PASSWORD);
    assert_eq!(login.last().unwrap().0, b'Z', "{}", error_text(&login));
    c.prepare("ins", INSERT);
    let rows: Vec<Vec<Option<Bytes>>> = (1..=1000u32)
        .map(|i| vec![text(i), text(i * 7 % 13), text("new")])
        .collect();
    // Expected: ds_${user_id % 2}.t_order_${order_id % 2}.
    let mut expected = [[0u32; 2]; 2];
    for i in 1..=1000u32 {
        expected[(i * 7 % 13 % 2) as usize][(i % 2) as usize] += 1;
    }
    // As openGauss JDBC sends it: the Execute inside the 'U' frame.
    let answers = c.batch(&batch("ins", 3, rows), b"E\0\0\0\0\0");
    assert_eq!(tags(&answers), "2CZ", "{}", error_text(&answers));
    assert_eq!(command_tag(&answers), "INSERT 0 1000");
    let want: Vec<String> = expected
        .iter()
        .map(|[a, b]| format!("t_order_0={a},t_order_1={b}"))
        .collect();
    assert_eq!(shard_counts(&deployment), want);
    assert_eq!(
        c.query("SELECT count(*), sum(order_id) FROM t_order"),
        ["1000,500500"]
    );

    // UPDATE by full key: one node per row; its Execute as a message of
    // its own, which belongs to the batch (answered once).
    c.prepare(
        "upd",
        "UPDATE t_order SET status = $1 WHERE user_id = $2 AND order_id = $3",
    );
    let rows = (1..=10u32)
        .map(|i| vec![text("paid"), text(i * 7 % 13), text(i)])
        .collect();
    let answers = c.batch_then_execute(&batch("upd", 3, rows));
    assert_eq!(tags(&answers), "2CZ", "{}", error_text(&answers));
    assert_eq!(command_tag(&answers), "UPDATE 10");
    assert_eq!(
        c.query("SELECT count(*) FROM t_order WHERE status = 'paid'"),
        ["10"]
    );

    // A row without its database sharding value reaches both data sources:
    // refused by name, nothing changed.
    c.prepare(
        "upd_any",
        "UPDATE t_order SET status = $1 WHERE order_id = $2",
    );
    let answers = c.batch(&batch("upd_any", 2, vec![vec![text("x"), text(1)]]), b"");
    assert_eq!(tags(&answers), "EZ");
    let e = error_text(&answers);
    assert!(e.contains("C=0A000") && e.contains("data nodes"), "{e}");

    // DELETE, with a Describe of the statement in the tail.
    c.prepare(
        "del",
        "DELETE FROM t_order WHERE user_id = $1 AND order_id = $2",
    );
    let rows = (1..=5u32)
        .map(|i| vec![text(i * 7 % 13), text(i)])
        .collect();
    let answers = c.batch(&batch("del", 2, rows), b"DSdel\0E\0\0\0\0\0");
    assert_eq!(tags(&answers), "2tnCZ", "{}", error_text(&answers));
    assert_eq!(command_tag(&answers), "DELETE 5");
    assert_eq!(c.query("SELECT count(*) FROM t_order"), ["995"]);

    // Inside a transaction the batch runs on the transaction's connections:
    // seen inside, gone after ROLLBACK.
    c.query("BEGIN");
    let rows = vec![
        vec![text(2001), text(1), text("tx")],
        vec![text(2002), text(2), text("tx")],
    ];
    let answers = c.batch(&batch("ins", 3, rows), b"E\0\0\0\0\0");
    assert_eq!(tags(&answers), "2CZ", "{}", error_text(&answers));
    assert_eq!(answers.last().unwrap().1, b"T", "still in the transaction");
    assert_eq!(c.query("SELECT count(*) FROM t_order"), ["997"]);
    c.query("ROLLBACK");
    assert_eq!(c.query("SELECT count(*) FROM t_order"), ["995"]);
}

#[test]
fn bad_batches_get_an_error_and_the_session_goes_on() {
    let (_deployment, port) = start();
    let (mut c, _) = Client::login(port, support::PASSWORD);
    c.prepare("ins", INSERT);
    let good_row = |i: u32| vec![text(i), text(i), text("x")];

    // Count mismatch: 5 announced, 4 sent.
    let mut frame = BytesMut::new();
    batch("ins", 3, (1..=4).map(good_row).collect())
        .encode(&mut frame)
        .unwrap();
    frame[5..9].copy_from_slice(&5i32.to_be_bytes());
    // Truncated value: the last value claims 9 bytes, 1 follows.
    let mut truncated = BytesMut::new();
    batch("ins", 3, vec![good_row(1), good_row(2)])
        .encode(&mut truncated)
        .unwrap();
    let at = truncated.len() - 5;
    truncated[at..at + 4].copy_from_slice(&9i32.to_be_bytes());
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        ("count mismatch", frame.to_vec(), "08P01", "count mismatch"),
        ("truncated value", truncated.to_vec(), "08P01", "Batch Bind"),
        (
            "wrong parameter count",
            {
                let mut f = BytesMut::new();
                batch("ins", 2, vec![vec![text(1), text(1)]])
                    .encode(&mut f)
                    .unwrap();
                f.to_vec()
            },
            "08P01",
            "parameters",
        ),
        (
            "unknown statement",
            {
                let mut f = BytesMut::new();
                batch("nope", 3, vec![good_row(1)]).encode(&mut f).unwrap();
                f.to_vec()
            },
            "26000",
            "\"nope\" does not exist",
        ),
    ];
    for (what, bytes, code, fragment) in cases {
        c.send_raw(&bytes);
        // Everything up to Sync is skipped after the error, as for any
        // extended-protocol error.
        c.send(&FrontendMessage::Sync);
        let answers = c.until_ready();
        assert_eq!(tags(&answers), "EZ", "{what}: {}", error_text(&answers));
        let e = error_text(&answers);
        assert!(
            e.contains(&format!("C={code}")) && e.contains(fragment),
            "{what}: {e}"
        );
        assert_eq!(c.query("SELECT count(*) FROM t_order"), ["0"], "{what}");
    }
    // The simple protocol sees openGauss's version() too.
    let version = c.query("SELECT version()");
    assert!(version[0].starts_with("(openGauss "), "{version:?}");
    // And a good batch still runs after them.
    let answers = c.batch(&batch("ins", 3, (1..=3).map(good_row).collect()), b"");
    assert_eq!(tags(&answers), "2CZ", "{}", error_text(&answers));
    assert_eq!(c.query("SELECT count(*) FROM t_order"), ["3"]);
}

#[test]
fn login_and_versions_by_listener() {
    let (deployment, port) = start();
    let (_, refused) = Client::login(port, "wrong-secret");
    let e = error_text(&refused);
    assert!(e.contains("C=28P01"), "{e}");

    // A PostgreSQL listener negotiates 3.51 down, as PostgreSQL does.
    let mut pg = Client::connect(deployment.port, PROTOCOL_VERSION_3_51);
    assert_eq!(pg.recv().0, b'v', "NegotiateProtocolVersion");
    // A 3.0 client on the openGauss listener is served as PostgreSQL:
    // code 10 is SASL there.
    let mut plain = Client::connect(port, 0x0003_0000);
    let (tag, body) = plain.recv();
    assert_eq!(tag, b'R');
    assert_eq!(&body[..4], &10i32.to_be_bytes());
    assert!(
        String::from_utf8_lossy(&body).contains("SCRAM-SHA-256"),
        "{body:?}"
    );
}
