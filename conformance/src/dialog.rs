//! [`Dialog`]: one database connection of a capture, as the replayer needs
//! it: how it logged in, then its requests in captured order and batching,
//! each with the answers the captured server gave before the next request.
//! The per-protocol cutting lives in [`crate::dialog_pg`] and
//! [`crate::dialog_mysql`]; this file holds the shared timeline.

use std::net::SocketAddr;
use std::path::Path;

use serde::Serialize;

use crate::answer::Answer;
use crate::detect::{detect, Protocol};
use crate::error::{ConformanceError, Result};
use crate::frame::Frame;
use crate::reassembly::{reassemble, Dir, TcpConnection};

/// How the captured client logged in; replay logs in anew with these
/// settings but its own credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    Pg {
        /// Startup parameters as captured (user and database included).
        params: Vec<(String, String)>,
    },
    MySql {
        /// The client's capability flags.
        client_caps: u32,
        /// What client and captured server agreed on.
        negotiated_caps: u32,
        charset: u8,
        database: Option<String>,
        attributes: Vec<(String, String)>,
    },
}

/// A MySQL command inside an exchange.
#[derive(Debug, Clone)]
pub struct MyCommand {
    pub frame: Frame,
    /// The captured server finished answering it.
    pub answered: bool,
    /// For COM_STMT_PREPARE: the id the captured server gave.
    pub captured_statement_id: Option<u32>,
}

/// When replay has read enough answers to one exchange.
#[derive(Debug, Clone)]
pub enum Wait {
    /// ReadyForQuery count, then this many more messages after the last.
    Pg { ready: usize, tail: usize },
    /// One reader per command.
    MySql { commands: Vec<MyCommand> },
}

/// One client write and what the captured server answered to it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The client's messages, written at once.
    pub frames: Vec<Frame>,
    /// The SQL (or the command's name) for the report.
    pub request: String,
    /// Whether the request's SQL orders its rows.
    pub ordered: bool,
    pub expected: Vec<Answer>,
    pub wait: Wait,
    /// Capture index of the packet that completed the write's first
    /// message; `u64::MAX` when unknown.
    pub sent_at: u64,
    /// Capture index of the packet that completed its last captured
    /// answer; `u64::MAX` when it had none. Replay keeps the capture's
    /// order across connections with these (see [`crate::replay`]).
    pub answered_at: u64,
}

/// One database connection of the capture.
#[derive(Debug, Clone)]
pub struct Dialog {
    /// 1-based, in order of the connections' first packets.
    pub id: usize,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub protocol: Protocol,
    pub first_ts: u64,
    pub last_ts: u64,
    pub login: Login,
    pub exchanges: Vec<Exchange>,
    /// Things replay will not reproduce (LOCAL INFILE, stray packets...).
    pub notes: Vec<String>,
}

impl Dialog {
    /// "#2 127.0.0.1:51000 -> 127.0.0.1:5432 (postgresql)".
    pub fn label(&self) -> String {
        format!(
            "#{} {} -> {} ({})",
            self.id, self.client, self.server, self.protocol
        )
    }
}

/// A capture as replay uses it.
#[derive(Debug, Clone)]
pub struct Capture {
    pub dialogs: Vec<Dialog>,
    /// Connections left out, with the reason.
    pub skipped: Vec<SkippedConnection>,
}

/// A connection of the capture that replay leaves out.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedConnection {
    pub connection: String,
    pub reason: String,
}

/// Why one connection gives no dialog.
pub(crate) enum NoDialog {
    /// Not a login (a cancel request, a failed or unfinished login).
    NoLogin(String),
    Unusable(String),
}

/// Frames of one direction with the position (in the connection's
/// delivery list) at which each became complete.
pub(crate) struct Timeline {
    /// Per client frame: (delivery position, write group).
    pub client_at: Vec<(usize, usize)>,
    /// Per server frame: delivery position.
    pub server_at: Vec<usize>,
}

impl Timeline {
    /// Places frames on the connection's deliveries. A client write ends
    /// at a PSH or when the server speaks; writes are what replay batches.
    pub fn new(conn: &TcpConnection, client: &[Frame], server: &[Frame]) -> Timeline {
        let mut group_of = Vec::with_capacity(conn.deliveries.len());
        let mut group = 0usize;
        let mut open = false;
        for d in &conn.deliveries {
            match d.dir {
                Dir::ClientToServer => {
                    if !open {
                        group += 1;
                        open = true;
                    }
                    group_of.push(group);
                    if d.psh {
                        open = false;
                    }
                }
                Dir::ServerToClient => {
                    open = false;
                    group_of.push(group);
                }
            }
        }
        let place = |dir: Dir, frames: &[Frame]| -> Vec<usize> {
            let mut out = Vec::with_capacity(frames.len());
            let mut pos = 0usize;
            for f in frames {
                while let Some(d) = conn.deliveries.get(pos) {
                    if d.dir == dir && d.end >= f.end {
                        break;
                    }
                    pos += 1;
                }
                out.push(pos);
            }
            out
        };
        let client_at = place(Dir::ClientToServer, client)
            .into_iter()
            .map(|p| (p, group_of.get(p).copied().unwrap_or(usize::MAX)))
            .collect();
        Timeline {
            client_at,
            server_at: place(Dir::ServerToClient, server),
        }
    }
}

/// The capture index of delivery `pos` of `conn`; `u64::MAX` when out of
/// range (a frame that never completed).
pub(crate) fn capture_index(conn: &TcpConnection, pos: usize) -> u64 {
    conn.deliveries
        .get(pos)
        .map_or(u64::MAX, |d| u64::try_from(d.index).unwrap_or(u64::MAX))
}

/// Reads a capture file into dialogs. Fails with
/// [`ConformanceError::Unusable`] when nothing in it can be replayed.
pub fn load_capture(path: &Path) -> Result<Capture> {
    let segments = crate::pcap_read::read_capture_file(path)?;
    capture_from_segments(&segments)
}

/// [`load_capture`] for segments already read.
pub fn capture_from_segments(segments: &[crate::pcap_read::TcpSegment]) -> Result<Capture> {
    if segments.is_empty() {
        return Err(ConformanceError::unusable(
            "the capture holds no TCP traffic",
        ));
    }
    let mut conns = reassemble(segments)?;
    conns.sort_by_key(|c| c.first_ts);
    let mut dialogs = Vec::new();
    let mut skipped = Vec::new();
    let mut database_conns = 0usize;
    let mut unusable = Vec::new();
    for conn in &conns {
        let label = format!("{} -> {}", conn.client, conn.server);
        let Some(protocol) = detect(conn) else {
            skipped.push(SkippedConnection {
                connection: label,
                reason: "neither PostgreSQL nor MySQL".into(),
            });
            continue;
        };
        database_conns += 1;
        let built = match protocol {
            Protocol::Postgres => crate::dialog_pg::build(conn),
            Protocol::MySql => crate::dialog_mysql::build(conn),
        };
        match built {
            Ok(mut d) => {
                d.id = dialogs.len() + 1;
                if !conn.holes.is_empty() {
                    d.notes.extend(conn.holes.iter().cloned());
                }
                dialogs.push(d);
            }
            Err(NoDialog::NoLogin(reason)) => skipped.push(SkippedConnection {
                connection: format!("{label} ({protocol})"),
                reason,
            }),
            Err(NoDialog::Unusable(reason)) => {
                unusable.push(format!("{label}: {reason}"));
                skipped.push(SkippedConnection {
                    connection: format!("{label} ({protocol})"),
                    reason,
                });
            }
        }
    }
    if database_conns == 0 {
        return Err(ConformanceError::unusable(format!(
            "not a database capture: {} TCP connection(s), none speaks PostgreSQL or MySQL",
            conns.len()
        )));
    }
    if dialogs.is_empty() {
        if !unusable.is_empty() {
            return Err(ConformanceError::unusable(format!(
                "no usable connection in the capture ({})",
                unusable.join("; ")
            )));
        }
        let why = skipped
            .iter()
            .map(|s| format!("{}: {}", s.connection, s.reason))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(ConformanceError::unusable(format!(
            "no login in the capture ({why})"
        )));
    }
    Ok(Capture { dialogs, skipped })
}

/// Groups client frames (already past login) into exchanges by write
/// group: `(group, frames)` in order.
pub(crate) fn group_writes<'a>(
    frames: impl Iterator<Item = (&'a Frame, usize)>,
) -> Vec<Vec<Frame>> {
    let mut out: Vec<Vec<Frame>> = Vec::new();
    let mut last = None;
    for (f, group) in frames {
        if last != Some(group) {
            out.push(Vec::new());
            last = Some(group);
        }
        if let Some(cur) = out.last_mut() {
            cur.push(f.clone());
        }
    }
    out
}

/// Whether SQL text orders its result rows. Crude on purpose: a false
/// "ordered" only makes the comparison stricter.
pub fn sql_orders_rows(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    words.windows(2).any(|w| w[0] == "order" && w[1] == "by")
}
