//! Execute with a row limit: a portal answered in slices.
//!
//! PostgreSQL sends at most `max_rows` DataRows and then PortalSuspended;
//! the next Execute of the same portal goes on where the last one stopped,
//! until CommandComplete. A read keeps its running result between
//! Executes: the merge stream (or one unit's event stream) and the
//! executor's tasks that own the backend connections, whose bounded
//! channels stop the shards while the client is not fetching, so nothing
//! is buffered beyond them. A write is run whole at the first Execute, as
//! PostgreSQL runs it (its RETURNING rows then come from a store): its
//! RETURNING rows are kept up to [`RETURNING_BUFFER_BYTES`], and a write
//! that returns more is refused by name (and rolled back: it runs in an
//! implicit transaction).
//!
//! A run ends when its rows end, when its portal is closed (Close, a new
//! unnamed Bind), at a Sync outside a transaction block, or when the
//! transaction ends; its connections then go back to the transaction or
//! the pools.

use std::collections::VecDeque;

use futures::SinkExt;
use shardwire_backend::executor::{dispatch, dispatch_within, Dispatch, Request, UnitEvents};
use shardwire_backend::pg::{CancelToken, QueryEvent};
use shardwire_kernel::merge::MergePlan;
use shardwire_protocol::pg::{BackendMessage, DataRow};
use sqlparser::ast::Statement;

use super::answers::Forwarder;
use super::catalog::CatalogNames;
use super::catalog_rows::ColumnRole;
use super::execute::Shape;
use super::merged::MergedRows;
use super::session::{session_to_statement, Session};
use crate::core::units::ConnectionSource;
use crate::error::StatementError;
use crate::logical_names::StatementNotices;

/// The most bytes of RETURNING rows a write executed with a row limit may
/// keep for the Executes that fetch them.
pub(super) const RETURNING_BUFFER_BYTES: usize = 16 << 20;

/// Events read (and dropped) from a run closed before its end outside a
/// transaction, hoping its connections reach the end of their answers and
/// may go back to the pools; past this the connections are discarded.
const CLOSE_DRAIN_EVENTS: usize = 1024;

/// A portal's result between Executes.
pub(super) struct Suspended {
    source: Source,
    out: Forwarder,
    /// The tasks that own the connections reading the rest of the rows,
    /// and their data sources.
    running: Option<(Dispatch, Vec<String>)>,
    cancel: Vec<CancelToken>,
    /// A PortalSuspended went out: the final tag then counts the rows of
    /// the last Execute only, as PostgreSQL's does.
    suspended: bool,
    /// The tag of the completion, once it went out.
    completed: Option<String>,
}

impl std::fmt::Debug for Suspended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sources = self.running.as_ref().map(|(_, s)| s.as_slice());
        f.debug_struct("Suspended")
            .field("data_sources", &sources)
            .field("suspended", &self.suspended)
            .finish_non_exhaustive()
    }
}

impl Suspended {
    fn holds(&self, ds: &str) -> bool {
        self.running
            .as_ref()
            .is_some_and(|(_, sources)| sources.iter().any(|s| s == ds))
    }
}

enum Source {
    Merged(MergedRows),
    /// One unit's answers, as the fast path forwards them.
    Forwarded {
        unit: UnitEvents,
        catalog: Option<Box<CatalogNames>>,
        /// A catalog answer's columns' roles, and the rows it sent (some
        /// are left out), which its CommandComplete counts.
        roles: Vec<ColumnRole>,
        sent: u64,
        notices: StatementNotices,
        pending: VecDeque<DataRow>,
    },
    /// A write's RETURNING rows, kept after it ran whole, or the rest of
    /// a read parked to free its connections.
    Buffered(Captured),
    /// The rest of a parked read failed: the next Execute says so.
    Failed(Option<StatementError>),
    /// The portal ran to its end: each further Execute fetches no rows
    /// and completes with this tag (its count made 0), as PostgreSQL's.
    Done(String),
}

impl Source {
    async fn next(
        &mut self,
        rules: &shardwire_rules::snapshot::LogicalDatabase,
    ) -> Result<Option<QueryEvent>, StatementError> {
        match self {
            Source::Merged(m) => m.next().await,
            Source::Forwarded {
                unit,
                catalog,
                roles,
                sent,
                notices,
                pending,
            } => loop {
                if let Some(row) = pending.pop_front() {
                    *sent += 1;
                    return Ok(Some(QueryEvent::Row(row)));
                }
                match unit.next().await {
                    Some(Ok(QueryEvent::Row(row))) => match catalog {
                        Some(c) => pending.extend(c.map_rows(row, roles)),
                        None => return Ok(Some(QueryEvent::Row(row))),
                    },
                    Some(Ok(QueryEvent::RowDescription(rd))) => {
                        if let Some(c) = catalog {
                            *roles = c.roles(&rd);
                            *sent = 0;
                        }
                        return Ok(Some(QueryEvent::RowDescription(rd)));
                    }
                    Some(Ok(QueryEvent::CommandComplete(tag)))
                        if catalog.is_some() && tag.starts_with("SELECT ") =>
                    {
                        let tag = format!("SELECT {sent}");
                        *sent = 0;
                        return Ok(Some(QueryEvent::CommandComplete(tag)));
                    }
                    Some(Ok(QueryEvent::Notice(n))) => {
                        if let Some(n) = notices.admit(rules, n) {
                            return Ok(Some(QueryEvent::Notice(n)));
                        }
                    }
                    Some(Ok(event)) => return Ok(Some(event)),
                    Some(Err(e)) => return Err(StatementError::Backend(e)),
                    None => return Ok(None),
                }
            },
            Source::Buffered(c) => Ok(c.events.pop_front()),
            Source::Done(tag) => Ok(Some(QueryEvent::CommandComplete(tag.clone()))),
            Source::Failed(e) => match e.take() {
                Some(e) => Err(e),
                None => Ok(None),
            },
        }
    }
}

/// The answers of a write run whole for an Execute with a row limit, or
/// the rest of a read whose connection another statement needs.
#[derive(Debug, Default)]
pub(super) struct Captured {
    events: VecDeque<QueryEvent>,
    bytes: usize,
    limit: usize,
}

impl Captured {
    pub(super) fn new(limit: usize) -> Self {
        Captured {
            limit,
            ..Captured::default()
        }
    }

    pub(super) fn push(&mut self, row: DataRow) -> Result<(), StatementError> {
        self.bytes = self.bytes.saturating_add(row.body().len());
        if self.bytes > self.limit {
            return Err(StatementError::refused(
                "0A000",
                format!(
                    "a portal executed with a row limit whose rows to keep pass {} bytes \
                     (the RETURNING rows of a write, or the rest of a portal suspended on a \
                     connection another statement of the transaction needs): Shardwire keeps \
                     them in memory to hand them out in slices; fetch without a row limit, \
                     or read the portal to its end first",
                    self.limit
                ),
            ));
        }
        self.events.push_back(QueryEvent::Row(row));
        Ok(())
    }

    pub(super) fn complete(&mut self, tag: String) {
        self.events.push_back(QueryEvent::CommandComplete(tag));
    }
}

/// INSERT, UPDATE or DELETE with RETURNING: a write whose rows a row limit
/// slices, after it ran whole.
pub(super) fn returns_written_rows(ast: &Statement) -> bool {
    match ast {
        Statement::Insert(i) => i.returning.is_some(),
        Statement::Update(u) => u.returning.is_some(),
        Statement::Delete(d) => d.returning.is_some(),
        _ => false,
    }
}

/// `INSERT 0 7` for the rows of the last Execute: PostgreSQL's tag for a
/// portal that was suspended counts what its final Execute fetched.
fn retag(tag: &str, rows: usize) -> String {
    match tag.rsplit_once(' ') {
        Some((verb, n)) if n.parse::<u64>().is_ok() => format!("{verb} {rows}"),
        _ => tag.to_owned(),
    }
}

impl Session {
    /// A read with a row limit whose rows are merged across units.
    pub(super) async fn start_merged_portal(
        &mut self,
        portal: &str,
        units: Vec<(String, Request)>,
        plan: &MergePlan,
        shape: Shape,
        result_formats: std::sync::Arc<[i16]>,
        limit: usize,
    ) -> Result<(), StatementError> {
        let count = units.len();
        let (jobs, sources) = self.jobs(units).await?;
        let mut running = dispatch_within(jobs, count, self.fe.unit_budget())?;
        let cancel = running.cancel_tokens.clone();
        let streams = std::mem::take(&mut running.units);
        self.cancel.set_running(cancel.clone());
        let started = self.start_merge(streams, plan, shape, result_formats).await;
        self.cancel.set_running(Vec::new());
        let rows = match started {
            Ok(rows) => rows,
            Err(e) => {
                let conns = running.finish().await?;
                for (conn, ds) in conns.into_iter().zip(sources) {
                    self.release(ds, conn);
                }
                return Err(e);
            }
        };
        let mut out = Forwarder::new(shape);
        // The description went out with the start of the merge.
        out.described = true;
        let run = Suspended {
            source: Source::Merged(rows),
            out,
            running: Some((running, sources)),
            cancel,
            suspended: false,
            completed: None,
        };
        self.serve_new(portal, run, limit).await
    }

    /// A one-unit read with a row limit: the unit runs on an executor
    /// task, so its connection can wait between Executes.
    pub(super) async fn start_forwarded_portal(
        &mut self,
        portal: &str,
        unit: (String, Request),
        shape: Shape,
        catalog: Option<CatalogNames>,
        limit: usize,
    ) -> Result<(), StatementError> {
        let (jobs, sources) = self.jobs(vec![unit]).await?;
        let mut running = dispatch(jobs, 1)?;
        let cancel = running.cancel_tokens.clone();
        let Some(unit) = running.units.pop() else {
            return Err(StatementError::refused(
                "XX000",
                "a dispatch without its unit",
            ));
        };
        let run = Suspended {
            source: Source::Forwarded {
                unit,
                catalog: catalog.map(Box::new),
                roles: Vec::new(),
                sent: 0,
                notices: StatementNotices::default(),
                pending: VecDeque::new(),
            },
            out: Forwarder::new(shape),
            running: Some((running, sources)),
            cancel,
            suspended: false,
            completed: None,
        };
        self.serve_new(portal, run, limit).await
    }

    /// The rows of a write that ran whole, served with a row limit.
    pub(super) async fn start_buffered_portal(
        &mut self,
        portal: &str,
        mut out: Forwarder,
        limit: usize,
    ) -> Result<(), StatementError> {
        let captured = out.capture.take().unwrap_or_default();
        let run = Suspended {
            source: Source::Buffered(captured),
            out,
            running: None,
            cancel: Vec::new(),
            suspended: false,
            completed: None,
        };
        self.serve_new(portal, run, limit).await
    }

    async fn serve_new(
        &mut self,
        portal: &str,
        mut run: Suspended,
        limit: usize,
    ) -> Result<(), StatementError> {
        match self.serve(&mut run, limit).await {
            Ok(true) => {
                let tag = run.completed.take();
                self.end_run(run).await;
                if let Some(tag) = tag {
                    let done = Suspended {
                        source: Source::Done(tag),
                        // A later Execute describes nothing.
                        out: Forwarder::new(Shape::Silent),
                        running: None,
                        cancel: Vec::new(),
                        suspended: true,
                        completed: None,
                    };
                    self.runs.insert(portal.to_owned(), done);
                }
                Ok(())
            }
            Ok(false) => {
                self.runs.insert(portal.to_owned(), run);
                Ok(())
            }
            Err(e) => {
                self.end_run(run).await;
                Err(e)
            }
        }
    }

    /// An Execute of a portal whose run is suspended: the next slice.
    /// `None` when the portal has no suspended run.
    pub(super) async fn resume_portal(
        &mut self,
        portal: &str,
        limit: usize,
    ) -> Option<Result<(), StatementError>> {
        let run = self.runs.remove(portal)?;
        Some(self.serve_new(portal, run, limit).await)
    }

    /// Sends rows until `limit` (0: no limit) or the end; true at the end.
    async fn serve(&mut self, run: &mut Suspended, limit: usize) -> Result<bool, StatementError> {
        self.cancel.set_running(run.cancel.clone());
        let result = async {
            let mut sent = 0usize;
            loop {
                if limit > 0 && sent == limit {
                    run.suspended = true;
                    self.conn
                        .feed(BackendMessage::PortalSuspended)
                        .await
                        .map_err(session_to_statement)?;
                    return Ok(false);
                }
                match run.source.next(&self.db.rules).await? {
                    Some(QueryEvent::Row(row)) => {
                        run.out.event(&mut self.conn, QueryEvent::Row(row)).await?;
                        sent += 1;
                    }
                    Some(QueryEvent::CommandComplete(tag)) => {
                        let tag = if run.suspended {
                            retag(&tag, sent)
                        } else {
                            tag
                        };
                        run.completed = Some(tag.clone());
                        run.out
                            .event(&mut self.conn, QueryEvent::CommandComplete(tag))
                            .await?;
                        return Ok(true);
                    }
                    Some(QueryEvent::EmptyQuery) => {
                        run.out
                            .event(&mut self.conn, QueryEvent::EmptyQuery)
                            .await?;
                        return Ok(true);
                    }
                    Some(event) => run.out.event(&mut self.conn, event).await?,
                    None => {
                        return Err(StatementError::refused(
                            "XX000",
                            "a portal's answers ended without a completion",
                        ))
                    }
                }
            }
        }
        .await;
        self.cancel.set_running(Vec::new());
        result
    }

    /// Ends a run and gives its connections back. Inside a transaction
    /// the connections are the transaction's, so the rest of the answers
    /// is read to the end first (the next statement needs them free);
    /// outside one a long rest is cut short and its connections dropped
    /// (the pool discards a connection with answers in flight).
    async fn end_run(&mut self, run: Suspended) {
        let Suspended {
            mut source,
            running,
            ..
        } = run;
        let Some((running, sources)) = running else {
            return;
        };
        let mut budget = if self.txn.in_block() {
            usize::MAX
        } else {
            CLOSE_DRAIN_EVENTS
        };
        while budget > 0 {
            match source.next(&self.db.rules).await {
                Ok(Some(_)) => budget -= 1,
                Ok(None) | Err(_) => break,
            }
        }
        drop(source);
        match running.finish().await {
            Ok(conns) => {
                for (conn, ds) in conns.into_iter().zip(sources) {
                    self.release(ds, conn);
                }
            }
            Err(e) => tracing::warn!("a portal's connections were lost: {e}"),
        }
    }

    /// Close of a portal, or the Bind that replaces the unnamed one.
    pub(super) async fn close_run(&mut self, portal: &str) {
        if let Some(run) = self.runs.remove(portal) {
            self.end_run(run).await;
        }
    }

    /// The end of every suspended run (a Sync outside a transaction block,
    /// or the end of the transaction); their portals go with them.
    pub(super) async fn close_runs(&mut self) {
        let names: Vec<String> = self.runs.keys().cloned().collect();
        for name in names {
            self.close_run(&name).await;
            self.forget_portal(&name);
        }
    }

    /// Inside a transaction each data source has one connection, and a
    /// suspended portal's reads may hold the one to `ds`: before another
    /// statement runs on it, the rest of that portal's answers is read
    /// into memory (up to [`RETURNING_BUFFER_BYTES`], else that statement
    /// is refused by name) and the connections go back to the
    /// transaction. The portal then goes on from memory, as PostgreSQL
    /// goes on from where it stopped.
    pub(super) async fn park_runs_on(&mut self, ds: &str) -> Result<(), StatementError> {
        if !self.txn.in_block() {
            return Ok(());
        }
        let holding: Vec<String> = self
            .runs
            .iter()
            .filter(|(_, run)| run.holds(ds))
            .map(|(name, _)| name.clone())
            .collect();
        for name in holding {
            let Some(mut run) = self.runs.remove(&name) else {
                continue;
            };
            let mut rest = Captured::new(RETURNING_BUFFER_BYTES);
            let parked = loop {
                match run.source.next(&self.db.rules).await {
                    Ok(Some(QueryEvent::Row(row))) => {
                        if let Err(e) = rest.push(row) {
                            break Err(e);
                        }
                    }
                    Ok(Some(event)) => rest.events.push_back(event),
                    Ok(None) => break Ok(()),
                    Err(e) => {
                        // The portal's next Execute reports it.
                        break Err(e);
                    }
                }
            };
            let failed = match parked {
                Ok(()) => None,
                Err(e @ StatementError::Refused { .. }) => Some(e),
                Err(e) => {
                    rest.events.clear();
                    run.source = Source::Failed(Some(e));
                    None
                }
            };
            if !matches!(run.source, Source::Failed(_)) {
                run.source = Source::Buffered(rest);
            }
            if let Some((running, sources)) = run.running.take() {
                match running.finish().await {
                    Ok(conns) => {
                        for (conn, ds) in conns.into_iter().zip(sources) {
                            self.release(ds, conn);
                        }
                    }
                    Err(e) => tracing::warn!("a portal's connections were lost: {e}"),
                }
            }
            match failed {
                Some(e) => {
                    self.forget_portal(&name);
                    return Err(e);
                }
                None => {
                    self.runs.insert(name, run);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(len: usize) -> DataRow {
        DataRow::from_values([Some(vec![b'x'; len].as_slice())]).expect("a row")
    }

    #[test]
    fn the_returning_buffer_takes_rows_up_to_its_limit_and_refuses_past_it() {
        let one = row(10).body().len();
        let mut c = Captured::new(one * 3);
        for _ in 0..3 {
            c.push(row(10)).expect("within the limit");
        }
        let e = c.push(row(10)).expect_err("one byte past the limit");
        assert!(
            matches!(&e, StatementError::Refused { code, .. } if *code == "0A000"),
            "{e:?}"
        );
        let mut c = Captured::new(one * 3 - 1);
        c.push(row(10)).expect("first row");
        c.push(row(10)).expect("second row");
        assert!(c.push(row(10)).is_err(), "one byte short of three rows");
    }

    #[test]
    fn the_final_tag_counts_the_last_slice() {
        assert_eq!(retag("SELECT 7", 1), "SELECT 1");
        assert_eq!(retag("INSERT 0 3", 1), "INSERT 0 1");
        assert_eq!(retag("SELECT", 2), "SELECT");
    }
}
