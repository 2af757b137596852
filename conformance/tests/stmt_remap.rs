//! MySQL statement ids are remapped from the capture's to the target's.
//! A server numbers statements per connection, so replaying on a fresh
//! connection gives the captured ids again; to prove the remap, the
//! captured ids are shifted before replay. With the PREPARE_OK ids shifted
//! too, replay must agree; with only the EXECUTEs shifted, the target
//! refuses the unknown ids and replay must report it.

mod common;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use common::*;
use shardwire_conformance::compare::CompareOptions;
use shardwire_conformance::dialog::{Capture, Wait};
use shardwire_conformance::login_pg::Credentials;
use shardwire_conformance::mysql_response::{expect_for, Expect};
use shardwire_conformance::{load_capture, replay, ReplayOptions};
use shardwire_protocol::mysql::write_packet;

const SHIFT: u32 = 1000;

/// Adds SHIFT to the statement ids the client's commands name; with
/// `prepares`, to the ids the captured server handed out as well.
fn shift_ids(capture: &mut Capture, prepares: bool) -> usize {
    let mut shifted = 0;
    for d in &mut capture.dialogs {
        for ex in &mut d.exchanges {
            let Wait::MySql { commands } = &mut ex.wait else {
                continue;
            };
            for c in commands {
                if prepares {
                    if let Some(id) = c.captured_statement_id.as_mut() {
                        *id += SHIFT;
                    }
                }
                let p = c.frame.payload.to_vec();
                let names_statement = p.len() >= 5
                    && matches!(p[0], 0x17 | 0x18 | 0x19 | 0x1a | 0x1c)
                    && expect_for(p[0]) != Expect::Prepare;
                if !names_statement {
                    continue;
                }
                let mut v = p;
                let id = u32::from_le_bytes([v[1], v[2], v[3], v[4]]) + SHIFT;
                v[1..5].copy_from_slice(&id.to_le_bytes());
                let mut raw = BytesMut::new();
                write_packet(&mut raw, c.frame.seq, &v);
                c.frame.payload = Bytes::from(v);
                c.frame.raw = raw.freeze();
                shifted += 1;
            }
        }
    }
    shifted
}

fn run(
    capture: &Capture,
    db: &shardwire_testkit::MariaDbInstance,
) -> shardwire_conformance::Report {
    runtime().block_on(replay(
        capture,
        &ReplayOptions {
            target: format!("{}:{}", db.host(), db.port()),
            credentials: Credentials {
                user: db.user().into(),
                password: db.password().into(),
                database: None,
            },
            compare: CompareOptions::default(),
            timeout: Duration::from_secs(10),
        },
    ))
}

#[test]
fn statement_ids_are_remapped() {
    let db = shardwire_testkit::MariaDbInstance::start().expect("MariaDB starts");
    let path = corpus_dir().join("mysqlconnector-prepared.pcap");
    let original = load_capture(&path).expect("the capture reads");

    let mut remapped = original.clone();
    let n = shift_ids(&mut remapped, true);
    assert!(n >= 4, "the capture executes and closes statements ({n})");
    let report = run(&remapped, &db);
    assert!(report.agrees(), "{}", report.to_text());

    let mut unmapped = original;
    shift_ids(&mut unmapped, false);
    let report = run(&unmapped, &db);
    assert!(!report.agrees());
    let text = report.to_text();
    // ER_UNKNOWN_STMT_HANDLER.
    assert!(text.contains("error 1243"), "{text}");
    assert!(text.contains("EXECUTE INSERT INTO conf_ps"), "{text}");
}
