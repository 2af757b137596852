//! [`PgConnection::execute_batch`]: one statement run once per row of
//! parameters, the backend half of openGauss Batch Bind.
//!
//! Against an openGauss server an INSERT or UPDATE goes as Batch Bind ('U')
//! messages with the Execute inside the frame, as openGauss JDBC sends them;
//! the server answers each with BindComplete and one CommandComplete for
//! all its rows. openGauss refuses the unnamed statement there, so the
//! batch Parses a fresh named one and Closes it at the end. Other
//! statements (DELETE, which openGauss runs row by row inside a 'U', with a
//! tag per row) and every statement against PostgreSQL, which has no 'U',
//! are pipelined as Bind + Execute pairs of the unnamed statement. Either
//! way one Sync ends the batch, so it is one implicit transaction, as a 'U'
//! batch is on openGauss.
//!
//! Bounded: requests are written in chunks of about [`BATCH_CHUNK_BYTES`];
//! a chunk that is not the last ends with Flush, and its answers are read
//! before the next chunk is encoded. So neither our write buffer nor the
//! server's unread output grows with the batch, and the two sides cannot
//! deadlock with full socket buffers. A batch that fits one chunk costs one
//! round trip.

use std::sync::Arc;

use bytes::Bytes;
use shardwire_protocol::pg::{
    encode_batch_bind_execute, BackendMessage, Bind, FrontendMessage, Parse, TargetKind,
    DEFAULT_MAX_MESSAGE_LEN,
};

use super::connection::PgConnection;
use crate::error::{BackendError, Result, ServerError};

/// Request bytes written before answers are read. Far below the 16 MiB
/// message cap, so one 'U' chunk is always a legal message.
pub const BATCH_CHUNK_BYTES: usize = 256 * 1024;

const _: () = assert!(BATCH_CHUNK_BYTES < DEFAULT_MAX_MESSAGE_LEN);

/// What a batch did: the command tag summed over all runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// "INSERT 0 n", "UPDATE n", "DELETE n", ...
    pub tag: String,
    /// The summed row count `n`.
    pub rows: u64,
}

/// Sums command tags: "INSERT 0 3" + "INSERT 0 4" = "INSERT 0 7".
#[derive(Debug, Default)]
struct TagSum {
    verb: Option<String>,
    counted: bool,
    rows: u64,
}

impl TagSum {
    fn add(&mut self, tag: &str) {
        let (verb, n) = match tag.rsplit_once(' ') {
            Some((verb, n)) if n.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() => {
                (verb, n.parse::<u64>().unwrap_or(0))
            }
            // A tag without a count ("CREATE TABLE") stays as it is.
            _ => {
                self.verb.get_or_insert_with(|| tag.to_owned());
                return;
            }
        };
        self.counted = true;
        self.verb.get_or_insert_with(|| verb.to_owned());
        self.rows = self.rows.saturating_add(n);
    }

    fn outcome(self) -> BatchOutcome {
        let tag = match self.verb {
            Some(verb) if self.counted => format!("{verb} {}", self.rows),
            Some(verb) => verb,
            None => String::new(),
        };
        BatchOutcome {
            tag,
            rows: self.rows,
        }
    }
}

/// How a chunk of answers ended.
enum Answers {
    /// The expected CommandCompletes arrived.
    Done,
    /// The server reported an error; it now skips to Sync.
    Failed(ServerError),
}

impl PgConnection {
    /// Runs `sql` once per row of `rows`, in one round trip when the batch
    /// fits one chunk; returns the summed command tag ("INSERT 0 n" /
    /// "UPDATE n" / "DELETE n") of all runs. The first error stops the batch
    /// and is returned as the server's error (its SQLSTATE kept); the
    /// implicit transaction is rolled back and the session stays usable.
    /// Statements that return rows are refused by name after the batch, as
    /// their rows would be lost. An empty `rows` sends nothing and returns
    /// an empty tag.
    pub async fn execute_batch(
        &mut self,
        sql: &str,
        param_types: &[u32],
        param_formats: &[i16],
        rows: &[Arc<[Option<Bytes>]>],
    ) -> Result<BatchOutcome> {
        let per_row = rows.first().map_or(param_types.len(), |r| r.len());
        if let Some(i) = rows.iter().position(|r| r.len() != per_row) {
            return Err(BackendError::Unexpected {
                message: format!("row {i} has {} values, row 0 has {per_row}", rows[i].len()),
                during: "encoding a batch",
            });
        }
        let per_row = u16::try_from(per_row).map_err(|_| BackendError::Unexpected {
            message: format!("{per_row} parameters per row"),
            during: "encoding a batch",
        })?;
        // Nothing to run: no round trip, and no tag to invent.
        if rows.is_empty() {
            return Ok(TagSum::default().outcome());
        }
        self.begin_request().await?;
        // Batch Bind, or pipelined Bind/Execute of the unnamed statement.
        let batch_statement = (self.opengauss && batchable_verb(sql))
            .then(|| self.fresh_statement_name("shardwire_batch_"));
        let statement = batch_statement.clone().unwrap_or_default();
        let request_start = self.framed.write_buffer_mut().len();
        self.encode_request(&[FrontendMessage::Parse(Parse {
            name: statement.clone(),
            query: sql.to_owned(),
            param_types: param_types.to_vec(),
        })])?;
        let mut sum = TagSum::default();
        let mut returned_rows = false;
        let mut expect_parse = true;
        let mut error = None;
        let mut next = 0;
        loop {
            let (end, completions) =
                match self.encode_chunk(rows, next, param_formats, per_row, &statement) {
                    Ok(chunk) => chunk,
                    Err(e) => {
                        if next == 0 {
                            // Nothing was sent: drop the half-encoded request
                            // and the session stays usable.
                            self.framed.write_buffer_mut().truncate(request_start);
                        } else {
                            // The server holds part of a batch that no Sync
                            // ends: only closing the session ends it.
                            self.broken = true;
                        }
                        return Err(e);
                    }
                };
            next = end;
            if next == rows.len() {
                break;
            }
            self.encode_request(&[FrontendMessage::Flush])?;
            self.flush().await?;
            // Until the Sync is out, the server holds an unfinished batch:
            // if this future is dropped, the session must not be reused
            // (the next request's Sync would commit part of this batch).
            self.broken = true;
            let answers = self
                .read_answers(completions, &mut expect_parse, &mut sum, &mut returned_rows)
                .await?;
            if let Answers::Failed(e) = answers {
                error = Some(e);
                break;
            }
        }
        if let Some(name) = batch_statement {
            // Skipped by the server after an error; the name is never
            // reused, and the pool's reset (DISCARD ALL) drops it then.
            self.encode_request(&[FrontendMessage::Close {
                kind: TargetKind::Statement,
                name,
            }])?;
        }
        self.encode_request(&[FrontendMessage::Sync])?;
        // Clears the mark above once the Sync is written; from then on the
        // ReadyForQuery owed is counted in `pending` like any request's.
        self.flush().await?;
        // Everything still owed, through ReadyForQuery.
        loop {
            match self.recv().await? {
                BackendMessage::ReadyForQuery(_) => break,
                BackendMessage::CommandComplete(tag) => sum.add(&tag),
                BackendMessage::DataRow(_) => returned_rows = true,
                BackendMessage::ErrorResponse(fields) => {
                    let e = ServerError::from(fields);
                    if e.is_fatal() {
                        return Err(e.into());
                    }
                    error.get_or_insert(e);
                }
                other => self.expected_in_batch(&other)?,
            }
        }
        if let Some(e) = error {
            return Err(e.into());
        }
        if returned_rows {
            return Err(BackendError::Unexpected {
                message: "rows from a batched statement".into(),
                during: "running a batch (only statements without results can be batched)",
            });
        }
        Ok(sum.outcome())
    }

    /// Encodes rows from `start` until the chunk is full; returns where it
    /// stopped and how many CommandCompletes the chunk will earn.
    fn encode_chunk(
        &mut self,
        rows: &[Arc<[Option<Bytes>]>],
        start: usize,
        param_formats: &[i16],
        per_row: u16,
        statement: &str,
    ) -> Result<(usize, usize)> {
        let mark = self.framed.write_buffer_mut().len();
        let full =
            |conn: &mut Self| conn.framed.write_buffer_mut().len() - mark >= BATCH_CHUNK_BYTES;
        // A named statement is a Batch Bind one (see `execute_batch`).
        if !statement.is_empty() {
            // One 'U' per chunk: size it by the values before encoding.
            let mut end = start;
            let mut bytes = 0;
            while end < rows.len() && (end == start || bytes < BATCH_CHUNK_BYTES) {
                bytes += rows[end]
                    .iter()
                    .map(|v| 4 + v.as_ref().map_or(0, Bytes::len))
                    .sum::<usize>();
                end += 1;
            }
            let buf = self.framed.write_buffer_mut();
            let at = buf.len();
            let encoded = encode_batch_bind_execute(
                buf,
                statement,
                param_formats,
                per_row,
                rows[start..end].iter().map(|r| &r[..]),
            );
            if let Err(e) = encoded {
                buf.truncate(at);
                return Err(e.into());
            }
            return Ok((end, 1));
        }
        let mut end = start;
        while end < rows.len() && (end == start || !full(self)) {
            self.encode_request(&[
                FrontendMessage::Bind(Bind {
                    portal: String::new(),
                    statement: String::new(),
                    param_formats: param_formats.to_vec(),
                    params: rows[end].to_vec(),
                    result_formats: Vec::new(),
                }),
                FrontendMessage::Execute {
                    portal: String::new(),
                    max_rows: 0,
                },
            ])?;
            end += 1;
        }
        Ok((end, end - start))
    }

    /// Reads a flushed chunk's answers up to its `completions`-th
    /// CommandComplete, or to the first error.
    async fn read_answers(
        &mut self,
        completions: usize,
        expect_parse: &mut bool,
        sum: &mut TagSum,
        returned_rows: &mut bool,
    ) -> Result<Answers> {
        let mut seen = 0;
        while seen < completions {
            match self.recv().await? {
                BackendMessage::ParseComplete if *expect_parse => *expect_parse = false,
                BackendMessage::CommandComplete(tag) => {
                    sum.add(&tag);
                    seen += 1;
                }
                // An empty statement's answer instead of CommandComplete.
                BackendMessage::EmptyQueryResponse => seen += 1,
                BackendMessage::DataRow(_) => *returned_rows = true,
                BackendMessage::ErrorResponse(fields) => {
                    let e = ServerError::from(fields);
                    if e.is_fatal() {
                        return Err(e.into());
                    }
                    return Ok(Answers::Failed(e));
                }
                other => self.expected_in_batch(&other)?,
            }
        }
        Ok(Answers::Done)
    }

    /// The answers a batch may see besides tags, rows and errors.
    fn expected_in_batch(&mut self, msg: &BackendMessage) -> Result<()> {
        match msg {
            BackendMessage::ParseComplete
            | BackendMessage::BindComplete
            | BackendMessage::CloseComplete
            | BackendMessage::NoticeResponse(_)
            | BackendMessage::EmptyQueryResponse
            | BackendMessage::PortalSuspended => Ok(()),
            other => Err(self.unexpected(other, "running a batch")),
        }
    }
}

/// INSERT and UPDATE: what an openGauss server runs as one batch with one
/// tag. Anything else (a WITH before them included) is pipelined instead,
/// which is correct everywhere, only slower.
fn batchable_verb(sql: &str) -> bool {
    let word: String = sql
        .trim_start()
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect();
    word.eq_ignore_ascii_case("insert") || word.eq_ignore_ascii_case("update")
}

#[cfg(test)]
mod tests {
    use super::{batchable_verb, TagSum};

    #[test]
    fn batchable_verbs() {
        assert!(batchable_verb("INSERT INTO t VALUES ($1)"));
        assert!(batchable_verb("  update t set v = $1"));
        assert!(!batchable_verb("DELETE FROM t WHERE id = $1"));
        assert!(!batchable_verb(
            "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x"
        ));
        assert!(!batchable_verb("INSERTX"));
    }

    #[test]
    fn tags_sum() {
        let mut s = TagSum::default();
        s.add("INSERT 0 3");
        s.add("INSERT 0 4");
        let o = s.outcome();
        assert_eq!((o.tag.as_str(), o.rows), ("INSERT 0 7", 7));
        let mut s = TagSum::default();
        s.add("UPDATE 1");
        s.add("UPDATE 0");
        assert_eq!(s.outcome().tag, "UPDATE 1");
        let mut s = TagSum::default();
        s.add("CREATE TABLE");
        assert_eq!(s.outcome().tag, "CREATE TABLE");
        assert_eq!(TagSum::default().outcome().tag, "");
    }
}
