//! Replaying a capture's dialogs against a target and comparing answers.
//!
//! Each connection logs in anew, then sends its requests in captured order
//! and batching, reading after each as far as the captured server had
//! answered. Connections that overlapped in the capture run concurrently;
//! one that began after another ended waits for it. Between overlapping
//! connections the capture's causal order is kept: a request is not sent
//! before every request of another connection whose answer the captured
//! server had completed before this request was sent has been answered
//! (a second session's "not yet committed" SELECT must not overtake the
//! first session's COMMIT). Requests that were in flight together in the
//! capture (a lock wait) stay concurrent, so no wait can form a cycle:
//! each one points to a request sent strictly earlier.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use serde::Serialize;
use shardwire_protocol::mysql::constants::command as cmd;
use shardwire_protocol::mysql::write_packet;

use crate::answer::{pg_answer, Answer};
use crate::compare::{compare, CompareOptions, Mismatch};
use crate::dialog::{load_capture, Capture, Dialog, Exchange, Login, SkippedConnection, Wait};
use crate::error::{ConformanceError, Result};
use crate::login_mysql::MySqlLoginSettings;
use crate::login_pg::Credentials;
use crate::mysql_response::{expect_for, ResponseReader};
use crate::wire::Wire;

/// Connections replayed from one capture at most.
pub const MAX_REPLAYED_CONNECTIONS: usize = 1024;
/// Answer elements read for one request at most.
const MAX_ANSWERS_PER_REQUEST: usize = 1_000_000;

/// How to replay.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// `HOST:PORT`.
    pub target: String,
    pub credentials: Credentials,
    pub compare: CompareOptions,
    /// Bound on every connect, write and read.
    pub timeout: Duration,
}

/// One request whose answer differed.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    /// 1-based, in the connection's order.
    pub request_index: usize,
    pub request: String,
    #[serde(flatten)]
    pub mismatch: Mismatch,
    /// Set when reading the answer failed (timeout, closed connection).
    pub error: Option<String>,
}

/// The outcome for one connection.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionReport {
    pub connection: String,
    pub requests: usize,
    pub replayed: usize,
    pub differences: Vec<Difference>,
    /// Login failure or a stop before the end.
    pub error: Option<String>,
    pub notes: Vec<String>,
}

/// The outcome of one replay.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: String,
    pub connections: Vec<ConnectionReport>,
    pub skipped: Vec<SkippedConnection>,
    pub requests: usize,
    pub differences: usize,
    pub elapsed_ms: u128,
}

impl Report {
    /// Every answer agreed and every connection ran to its end.
    pub fn agrees(&self) -> bool {
        self.connections
            .iter()
            .all(|c| c.differences.is_empty() && c.error.is_none())
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "replay against {}: {} connection(s), {} request(s), {} difference(s), {} ms\n",
            self.target,
            self.connections.len(),
            self.requests,
            self.differences,
            self.elapsed_ms
        );
        for c in &self.connections {
            if c.differences.is_empty() && c.error.is_none() {
                continue;
            }
            s.push_str(&format!("connection {}\n", c.connection));
            for d in &c.differences {
                s.push_str(&format!("  request {}: {}\n", d.request_index, d.request));
                s.push_str(&format!("    at answer element {}\n", d.mismatch.at));
                for e in &d.mismatch.expected {
                    s.push_str(&format!("    expected: {e}\n"));
                }
                for g in &d.mismatch.got {
                    s.push_str(&format!("    got:      {g}\n"));
                }
                if let Some(e) = &d.error {
                    s.push_str(&format!("    error:    {e}\n"));
                }
            }
            if let Some(e) = &c.error {
                s.push_str(&format!("  stopped: {e}\n"));
            }
        }
        for c in self.connections.iter().filter(|c| !c.notes.is_empty()) {
            for n in &c.notes {
                s.push_str(&format!("note: connection {}: {n}\n", c.connection));
            }
        }
        for sk in &self.skipped {
            s.push_str(&format!("skipped: {}: {}\n", sk.connection, sk.reason));
        }
        s
    }
}

/// Loads and replays a capture file. Errors are about the capture
/// ([`ConformanceError::Unusable`]); the target's behaviour is in the report.
pub async fn replay_file(path: &Path, opts: &ReplayOptions) -> Result<Report> {
    let capture = load_capture(path)?;
    Ok(replay(&capture, opts).await)
}

/// Replays every dialog of `capture`.
pub async fn replay(capture: &Capture, opts: &ReplayOptions) -> Report {
    let started = Instant::now();
    let mut skipped = capture.skipped.clone();
    let dialogs: Vec<Arc<Dialog>> = capture
        .dialogs
        .iter()
        .take(MAX_REPLAYED_CONNECTIONS)
        .cloned()
        .map(Arc::new)
        .collect();
    for d in capture.dialogs.iter().skip(MAX_REPLAYED_CONNECTIONS) {
        skipped.push(SkippedConnection {
            connection: d.label(),
            reason: format!("more than {MAX_REPLAYED_CONNECTIONS} connections"),
        });
    }
    let opts = Arc::new(opts.clone());
    let mut done_tx = Vec::with_capacity(dialogs.len());
    let mut done_rx = Vec::with_capacity(dialogs.len());
    for _ in &dialogs {
        let (tx, rx) = tokio::sync::watch::channel(false);
        done_tx.push(tx);
        done_rx.push(rx);
    }
    let spans: Vec<(u64, u64)> = dialogs.iter().map(|d| (d.first_ts, d.last_ts)).collect();
    let waits_for = predecessors(&spans);
    let timelines: Vec<Vec<(u64, u64)>> = dialogs
        .iter()
        .map(|d| {
            d.exchanges
                .iter()
                .map(|e| (e.sent_at, e.answered_at))
                .collect()
        })
        .collect();
    let causal = causal_waits(&timelines, &waits_for);
    // Per dialog: how many of its exchanges have been answered (usize::MAX
    // once it has stopped, however it stopped).
    let (progress_tx, progress_rx): (Vec<_>, Vec<_>) = dialogs
        .iter()
        .map(|_| tokio::sync::watch::channel(0usize))
        .unzip();
    let mut tasks = Vec::with_capacity(dialogs.len());
    for ((((d, tx), before), progress), waits) in dialogs
        .iter()
        .zip(done_tx)
        .zip(waits_for)
        .zip(progress_tx)
        .zip(causal)
    {
        let deps: Vec<_> = before.into_iter().map(|i| done_rx[i].clone()).collect();
        let others = progress_rx.clone();
        let d = Arc::clone(d);
        let opts = Arc::clone(&opts);
        tasks.push(tokio::spawn(async move {
            for mut rx in deps {
                // A dropped sender means that task ended too.
                let _ = rx.wait_for(|done| *done).await;
            }
            let order = Order {
                waits,
                others,
                progress: &progress,
            };
            let report = run_dialog(&d, &opts, &order).await;
            let _ = progress.send(usize::MAX);
            let _ = tx.send(true);
            report
        }));
    }
    let mut connections = Vec::with_capacity(tasks.len());
    for (t, d) in tasks.into_iter().zip(&dialogs) {
        connections.push(t.await.unwrap_or_else(|e| ConnectionReport {
            connection: d.label(),
            requests: d.exchanges.len(),
            replayed: 0,
            differences: Vec::new(),
            error: Some(format!("the replay task failed: {e}")),
            notes: Vec::new(),
        }));
    }
    let requests = connections.iter().map(|c| c.requests).sum();
    let differences = connections.iter().map(|c| c.differences.len()).sum();
    Report {
        target: opts.target.clone(),
        connections,
        skipped,
        requests,
        differences,
        elapsed_ms: started.elapsed().as_millis(),
    }
}

/// For each connection (first and last capture time), the connections
/// that had ended before it began: it starts after those. Connections that
/// overlapped in the capture have no such link and run concurrently.
pub fn predecessors(spans: &[(u64, u64)]) -> Vec<Vec<usize>> {
    spans
        .iter()
        .enumerate()
        .map(|(j, &(first, _))| {
            spans
                .iter()
                .enumerate()
                .filter(|&(i, &(f, l))| i != j && l <= first && f < first)
                .map(|(i, _)| i)
                .collect()
        })
        .collect()
}

/// Per dialog, per exchange: (other dialog, how many of its exchanges
/// must have been answered first). `timelines` holds per dialog, per
/// exchange, its (sent_at, answered_at) capture indices; `before` is
/// [`predecessors`]. Only dialogs that overlapped this one are looked at;
/// the others are ordered whole by [`predecessors`].
pub fn causal_waits(
    timelines: &[Vec<(u64, u64)>],
    before: &[Vec<usize>],
) -> Vec<Vec<Vec<(usize, usize)>>> {
    timelines
        .iter()
        .enumerate()
        .map(|(j, exchanges)| {
            exchanges
                .iter()
                .map(|&(sent_at, _)| {
                    if sent_at == u64::MAX {
                        return Vec::new();
                    }
                    timelines
                        .iter()
                        .enumerate()
                        .filter(|&(i, _)| {
                            i != j
                                && !before.get(j).is_some_and(|b| b.contains(&i))
                                && !before.get(i).is_some_and(|b| b.contains(&j))
                        })
                        .filter_map(|(i, other)| {
                            other
                                .iter()
                                .rposition(|&(_, answered_at)| answered_at < sent_at)
                                .map(|k| (i, k + 1))
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// What one dialog's task needs to keep the capture's order.
struct Order<'a> {
    /// Per exchange: see [`causal_waits`].
    waits: Vec<Vec<(usize, usize)>>,
    /// Every dialog's progress.
    others: Vec<tokio::sync::watch::Receiver<usize>>,
    /// This dialog's.
    progress: &'a tokio::sync::watch::Sender<usize>,
}

enum Session {
    Pg,
    MySql {
        caps: u32,
        /// Captured statement id -> the target's.
        ids: HashMap<u32, u32>,
    },
}

async fn run_dialog(d: &Dialog, opts: &ReplayOptions, order: &Order<'_>) -> ConnectionReport {
    let mut report = ConnectionReport {
        connection: d.label(),
        requests: d.exchanges.len(),
        replayed: 0,
        differences: Vec::new(),
        error: None,
        notes: d.notes.clone(),
    };
    let mut wire = match Wire::connect(&opts.target, opts.timeout).await {
        Ok(w) => w,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    let session = match &d.login {
        Login::Pg { params } => crate::login_pg::login(&mut wire, params, &opts.credentials)
            .await
            .map(|()| Session::Pg),
        Login::MySql {
            client_caps,
            charset,
            database,
            attributes,
            ..
        } => crate::login_mysql::login(
            &mut wire,
            MySqlLoginSettings {
                client_caps: *client_caps,
                charset: *charset,
                database: database.clone(),
                attributes,
            },
            &opts.credentials,
        )
        .await
        .map(|s| Session::MySql {
            caps: s.caps,
            ids: HashMap::new(),
        }),
    };
    let mut session = match session {
        Ok(s) => s,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    for (k, ex) in d.exchanges.iter().enumerate() {
        for &(i, need) in order.waits.get(k).map_or(&[][..], Vec::as_slice) {
            if let Some(rx) = order.others.get(i) {
                let mut rx = rx.clone();
                // A dropped sender means that dialog has stopped.
                let _ = rx.wait_for(|&n| n >= need).await;
            }
        }
        let mut got = Vec::new();
        let outcome = match &mut session {
            Session::Pg => exchange_pg(&mut wire, ex, &mut got).await,
            Session::MySql { caps, ids } => {
                exchange_mysql(&mut wire, ex, *caps, ids, &mut got).await
            }
        };
        report.replayed += 1;
        order.progress.send_replace(k + 1);
        let failed = outcome.as_ref().err().map(|e| e.to_string());
        let mismatch = compare(&ex.expected, &got, ex.ordered, opts.compare);
        if mismatch.is_some() || failed.is_some() {
            report.differences.push(Difference {
                request_index: k + 1,
                request: ex.request.clone(),
                mismatch: mismatch.unwrap_or(Mismatch {
                    at: got.len(),
                    expected: vec!["(every expected answer had arrived)".into()],
                    got: vec!["(the error below)".into()],
                }),
                error: failed.clone(),
            });
        }
        if let Some(e) = failed {
            // The stream is out of step with the capture; stop here.
            report.error = Some(format!("stopped after request {}: {e}", k + 1));
            break;
        }
    }
    report
}

async fn exchange_pg(wire: &mut Wire, ex: &Exchange, got: &mut Vec<Answer>) -> Result<()> {
    let Wait::Pg { ready, tail } = ex.wait else {
        return Err(ConformanceError::Internal(
            "a MySQL wait on a PostgreSQL dialog".into(),
        ));
    };
    let mut out = BytesMut::new();
    for f in &ex.frames {
        out.extend_from_slice(&f.raw);
    }
    wire.write(&out).await?;
    let (mut seen_ready, mut since) = (0usize, 0usize);
    let mut read = 0usize;
    while seen_ready < ready || since < tail {
        let (tag, body) = wire.read_pg("reading the answer").await?;
        read += 1;
        if read > MAX_ANSWERS_PER_REQUEST {
            return Err(ConformanceError::BadAnswer(format!(
                "more than {MAX_ANSWERS_PER_REQUEST} messages to one request"
            )));
        }
        if tag == b'Z' {
            seen_ready += 1;
            since = 0;
        } else {
            since += 1;
        }
        if let Some(a) = pg_answer(tag, body)? {
            got.push(a);
        }
    }
    Ok(())
}

const STATEMENT_COMMANDS: [u8; 5] = [
    cmd::COM_STMT_EXECUTE,
    cmd::COM_STMT_SEND_LONG_DATA,
    cmd::COM_STMT_CLOSE,
    cmd::COM_STMT_RESET,
    cmd::COM_STMT_FETCH,
];

async fn exchange_mysql(
    wire: &mut Wire,
    ex: &Exchange,
    caps: u32,
    ids: &mut HashMap<u32, u32>,
    got: &mut Vec<Answer>,
) -> Result<()> {
    let Wait::MySql { commands } = &ex.wait else {
        return Err(ConformanceError::Internal(
            "a PostgreSQL wait on a MySQL dialog".into(),
        ));
    };
    let mut out = BytesMut::new();
    for c in commands {
        let p = &c.frame.payload;
        let code = p.first().copied().unwrap_or_default();
        let mapped = if STATEMENT_COMMANDS.contains(&code) && p.len() >= 5 {
            let old = u32::from_le_bytes([p[1], p[2], p[3], p[4]]);
            ids.get(&old).map(|new| {
                let mut v = p.to_vec();
                v[1..5].copy_from_slice(&new.to_le_bytes());
                v
            })
        } else {
            None
        };
        match mapped {
            Some(v) => {
                write_packet(&mut out, c.frame.seq, &v);
            }
            None => out.extend_from_slice(&c.frame.raw),
        }
    }
    wire.write(&out).await?;
    for c in commands.iter().filter(|c| c.answered) {
        let code = c.frame.payload.first().copied().unwrap_or_default();
        let mut reader = ResponseReader::new(caps, expect_for(code));
        let mut read = 0usize;
        while !reader.is_done() {
            let (_, payload) = wire.read_mysql("reading the answer").await?;
            read += 1;
            if read > MAX_ANSWERS_PER_REQUEST {
                return Err(ConformanceError::BadAnswer(format!(
                    "more than {MAX_ANSWERS_PER_REQUEST} packets to one command"
                )));
            }
            let fed = reader.feed(payload);
            got.append(&mut reader.answers);
            fed?;
        }
        got.append(&mut reader.answers);
        if let (Some(old), Some(new)) = (c.captured_statement_id, reader.prepared.as_ref()) {
            ids.insert(old, new.statement_id);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{causal_waits, predecessors};

    #[test]
    fn overlapping_connections_keep_the_captured_causal_order() {
        const NONE: u64 = u64::MAX;
        // Session 0: UPDATE (sent 10, answered 11), COMMIT (sent 20,
        // answered 21). Session 1: UPDATE blocked on the lock (sent 12,
        // answered 19 after a lock timeout), SELECT (sent 22, answered
        // 23), Terminate (sent 24, no answer).
        let timelines = vec![
            vec![(10, 11), (20, 21)],
            vec![(12, 19), (22, 23), (24, NONE)],
        ];
        let before = predecessors(&[(1, 30), (2, 31)]);
        let waits = causal_waits(&timelines, &before);
        // Session 1's blocked UPDATE waits for session 0's UPDATE only:
        // waiting for the COMMIT, which came after it, would deadlock.
        assert_eq!(waits[1][0], vec![(0, 1)]);
        // Its SELECT waits for the COMMIT, so it sees what was committed.
        assert_eq!(waits[1][1], vec![(0, 2)]);
        // The COMMIT waits for the blocked UPDATE's answer (the lock
        // timeout), as in the capture.
        assert_eq!(waits[0][1], vec![(1, 1)]);
        // The first request waits for nothing.
        assert!(waits[0][0].is_empty());
        // Connections one after the other are ordered by `predecessors`,
        // not request by request.
        let sequential = causal_waits(&timelines, &predecessors(&[(1, 21), (22, 31)]));
        assert!(sequential[1].iter().all(Vec::is_empty));
    }

    #[test]
    fn overlapping_connections_have_no_order_and_later_ones_wait() {
        // 0 and 1 overlap; 2 begins after both ended; 3 overlaps 2 only.
        let spans = [(0, 10), (5, 20), (30, 40), (35, 50)];
        assert_eq!(
            predecessors(&spans),
            vec![vec![], vec![], vec![0, 1], vec![0, 1]]
        );
    }

    #[test]
    fn identical_spans_run_together() {
        assert_eq!(
            predecessors(&[(7, 7), (7, 7)]),
            vec![vec![], vec![]] as Vec<Vec<usize>>
        );
    }
}
