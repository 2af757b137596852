//! `COPY ... FROM STDIN` into a sharded database: the client's rows are
//! split into rows as they arrive, each row goes to the COPY of the data
//! node its sharding columns pick (every node's, for a broadcast table),
//! and the client hears one CommandComplete with the total, as from one
//! database.
//!
//! Each data source runs one COPY at a time on one connection: the first
//! of its targets streams live; rows for its other actual tables wait in a
//! [`Held`] store (memory, then a temporary file) and are copied after it.
//! A COPY reaching more than one target runs in an implicit transaction,
//! so the rows land on every shard or on none (LOCAL: each shard commits
//! on its own at the end). Memory stays bounded: a batch per live target,
//! the held stores' budget, and the longest row accepted.

use bytes::{Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use shardwire_backend::pg::{quote_literal, QueryEvent};
use shardwire_backend::pool::PooledConnection;
use shardwire_kernel::copy::{
    plan_copy_in, quote_ident, ColumnType, CopyFromStdin, CopyPlan, CopyRouting, FormatKind,
    InsertSelect, Piece, RowRouter, RowSplitter, BINARY_TRAILER,
};
use shardwire_protocol::pg::{BackendMessage, CopyResponse, FrontendMessage};

use super::session::{session_to_statement, Session};
use crate::copy_spill::Held;
use crate::core::units::ConnectionSource;
use crate::error::StatementError;

/// The longest row accepted: PostgreSQL's own limit is 1 GB per field,
/// far past what a proxy should hold for one row.
const MAX_ROW: usize = 64 * 1024 * 1024;

/// Rows for a live target are sent once this many bytes are waiting.
const BATCH: usize = 64 * 1024;

/// Where a COPY's rows come from.
enum Input {
    /// The client's CopyData, after a CopyInResponse.
    Client,
    /// Rows read already, in COPY text format: INSERT ... SELECT's query.
    Held(Held),
}

/// One COPY on a shard.
struct Target {
    /// Index into the statement's connections.
    conn: usize,
    /// Rows waiting for the next CopyData, while this target is live.
    batch: BytesMut,
    /// Rows for a target whose data source is busy with another COPY.
    held: Option<Held>,
}

impl Session {
    /// Runs one `COPY ... FROM STDIN` statement.
    pub(super) async fn copy_in(&mut self, statement: CopyFromStdin) -> Result<(), StatementError> {
        let rows = self.load(statement, Input::Client).await?;
        self.conn
            .feed(BackendMessage::CommandComplete(format!("COPY {rows}")))
            .await
            .map_err(session_to_statement)
    }

    /// Runs an INSERT ... SELECT: its rows read from each source with COPY
    /// TO STDOUT (held, so the sources' connections are free again and no
    /// row written is read back), then loaded as a COPY FROM STDIN of them.
    pub(super) async fn insert_select(&mut self, plan: InsertSelect) -> Result<(), StatementError> {
        self.txn.refuse_if_failed()?;
        let mut held = Held::default();
        for (ds, sql) in plan.sources {
            let mut conn = self.acquire(&ds).await?;
            let read = read_copy_out(&mut conn, &sql, &mut held).await;
            self.release(ds, conn);
            read?;
        }
        let rows = self.load(plan.copy, Input::Held(held)).await?;
        self.conn
            .feed(BackendMessage::CommandComplete(format!("INSERT 0 {rows}")))
            .await
            .map_err(session_to_statement)
    }

    /// Loads rows from `input` into the targets of `statement`: the
    /// number of rows.
    async fn load(
        &mut self,
        statement: CopyFromStdin,
        mut input: Input,
    ) -> Result<u64, StatementError> {
        self.txn.refuse_if_failed()?;
        let plan = plan_copy_in(&self.db.rules, statement)?;
        let mut sources: Vec<String> = plan.targets.iter().map(|t| t.data_source.clone()).collect();
        sources.sort();
        sources.dedup();
        if plan.targets.len() > 1 {
            self.begin_implicit();
        }
        let mut conns: Vec<(String, PooledConnection)> = Vec::with_capacity(sources.len());
        for ds in sources {
            match self.acquire(&ds).await {
                Ok(c) => conns.push((ds, c)),
                Err(e) => {
                    self.release_all(conns);
                    return Err(e);
                }
            }
        }
        self.cancel
            .set_running(conns.iter().filter_map(|(_, c)| c.cancel_token()).collect());
        let result = self.copy_rows(&plan, &mut conns, &mut input).await;
        self.cancel.set_running(Vec::new());
        self.release_all(conns);
        result
    }

    fn release_all(&mut self, conns: Vec<(String, PooledConnection)>) {
        for (ds, c) in conns {
            self.release(ds, c);
        }
    }

    /// The copy itself, on connections already taken: the number of rows
    /// the client sent.
    async fn copy_rows(
        &mut self,
        plan: &CopyPlan,
        conns: &mut [(String, PooledConnection)],
        input: &mut Input,
    ) -> Result<u64, StatementError> {
        let conn_of = |ds: &str| conns.iter().position(|(name, _)| name == ds);
        let mut targets = Vec::with_capacity(plan.targets.len());
        let mut live = vec![false; conns.len()];
        for t in &plan.targets {
            let conn = conn_of(&t.data_source).ok_or_else(|| {
                StatementError::refused("XX000", "a COPY target without its connection")
            })?;
            let held = if live[conn] {
                Some(Held::default())
            } else {
                live[conn] = true;
                None
            };
            targets.push(Target {
                conn,
                batch: BytesMut::new(),
                held,
            });
        }
        let router = match &plan.routing {
            CopyRouting::ByRow { .. } => {
                let first = targets.first().map_or(0, |t| t.conn);
                let columns = row_columns(plan, &mut conns[first].1).await?;
                RowRouter::new(plan, &columns)?
            }
            _ => None,
        };
        // Start the live COPYs; the first one's answer tells the client
        // the format and column count, as one database would.
        let mut response: Option<CopyResponse> = None;
        let mut started = Vec::new();
        for (i, t) in targets.iter().enumerate() {
            if t.held.is_some() {
                continue;
            }
            match conns[t.conn].1.copy_in_start(&plan.targets[i].sql).await {
                Ok(r) => {
                    response.get_or_insert(r);
                    started.push(i);
                }
                Err(e) => {
                    abort(conns, &targets, &started).await;
                    return Err(e.into());
                }
            }
        }
        if let Input::Client = input {
            self.conn
                .send(BackendMessage::CopyInResponse(response.unwrap_or_default()))
                .await
                .map_err(session_to_statement)?;
        }
        let fed = self
            .feed(plan, router.as_ref(), conns, &mut targets, input)
            .await;
        let rows = match fed {
            Ok(rows) => rows,
            Err(e) => {
                abort(conns, &targets, &started).await;
                return Err(e);
            }
        };
        self.finish(plan, conns, targets).await?;
        Ok(rows)
    }

    /// Reads the input to its end (the client's CopyDone), routing each
    /// row.
    async fn feed(
        &mut self,
        plan: &CopyPlan,
        router: Option<&RowRouter>,
        conns: &mut [(String, PooledConnection)],
        targets: &mut [Target],
        input: &mut Input,
    ) -> Result<u64, StatementError> {
        let mut splitter = RowSplitter::new(plan.statement.format.clone(), MAX_ROW);
        let mut rows = 0u64;
        loop {
            let done = match input {
                Input::Client => self.client_data(&mut splitter).await?,
                Input::Held(held) => match held.next_chunk().await.map_err(spill_error)? {
                    Some(chunk) => {
                        splitter.push(&chunk);
                        false
                    }
                    None => true,
                },
            };
            loop {
                let piece = if done {
                    match splitter.next_piece().map_err(split_error)? {
                        Some(p) => Some(p),
                        None => splitter.finish().map_err(split_error)?,
                    }
                } else {
                    splitter.next_piece().map_err(split_error)?
                };
                let Some(piece) = piece else { break };
                match piece {
                    Piece::Header(h) => {
                        for t in targets.iter_mut() {
                            put(conns, t, &h).await?;
                        }
                    }
                    Piece::Row { data, line } => {
                        rows += 1;
                        match (&plan.routing, router) {
                            (CopyRouting::Everywhere, _) => {
                                for t in targets.iter_mut() {
                                    put(conns, t, &data).await?;
                                }
                            }
                            (_, Some(router)) => {
                                let i = router
                                    .target(plan, &data, line)
                                    .map_err(|e| StatementError::refused(e.code, e.message))?;
                                let t = targets.get_mut(i).ok_or_else(|| {
                                    StatementError::refused(
                                        "XX000",
                                        "a row routed past the targets",
                                    )
                                })?;
                                put(conns, t, &data).await?;
                            }
                            (_, None) => {
                                if let Some(t) = targets.first_mut() {
                                    put(conns, t, &data).await?;
                                }
                            }
                        }
                    }
                    Piece::End => {}
                }
            }
            if done {
                return Ok(rows);
            }
        }
    }

    /// One message of the client's COPY data into `splitter`; `true` at
    /// its CopyDone.
    async fn client_data(&mut self, splitter: &mut RowSplitter) -> Result<bool, StatementError> {
        let msg = match self.conn.next().await {
            Some(Ok(m)) => m,
            Some(Err(e)) => return Err(StatementError::refused("08P01", e.to_string())),
            None => {
                return Err(StatementError::refused(
                    "08006",
                    "the client closed the connection during COPY from stdin",
                ))
            }
        };
        Ok(match msg {
            FrontendMessage::CopyData(data) => {
                splitter.push(&data);
                false
            }
            FrontendMessage::CopyDone => true,
            FrontendMessage::CopyFail(why) => {
                return Err(StatementError::refused(
                    "57014",
                    format!("COPY from stdin failed: {why}"),
                ))
            }
            // The protocol lets a client send these during COPY; the
            // server ignores them.
            FrontendMessage::Flush | FrontendMessage::Sync => false,
            other => {
                return Err(StatementError::refused(
                    "08P01",
                    format!("unexpected message during COPY from stdin: {other:?}"),
                ))
            }
        })
    }

    /// Ends every COPY: the live ones, then each data source's held ones
    /// in turn. The first error fails the statement; every other COPY
    /// still ends, so each connection is ready for its rollback.
    async fn finish(
        &mut self,
        plan: &CopyPlan,
        conns: &mut [(String, PooledConnection)],
        targets: Vec<Target>,
    ) -> Result<(), StatementError> {
        let binary = plan.statement.format.kind == FormatKind::Binary;
        let mut first_error: Option<StatementError> = None;
        let mut held = Vec::new();
        for (i, mut t) in targets.into_iter().enumerate() {
            if let Some(h) = t.held.take() {
                held.push((i, t.conn, h));
                continue;
            }
            let conn = &mut conns[t.conn].1;
            if first_error.is_some() {
                let _ = conn.copy_in_fail("another shard's COPY failed").await;
                continue;
            }
            if binary {
                t.batch.extend_from_slice(BINARY_TRAILER);
            }
            let ended = async {
                if !t.batch.is_empty() {
                    conn.copy_in_send(t.batch.split().freeze()).await?;
                }
                conn.copy_in_finish().await
            }
            .await;
            if let Err(e) = ended {
                first_error = Some(e.into());
            }
        }
        for (i, conn, mut h) in held {
            if first_error.is_some() {
                break;
            }
            if binary {
                h.push(BINARY_TRAILER).await.map_err(spill_error)?;
            }
            let conn = &mut conns[conn].1;
            let copied: Result<u64, StatementError> = async {
                conn.copy_in_start(&plan.targets[i].sql).await?;
                loop {
                    let chunk = match h.next_chunk().await {
                        Ok(Some(chunk)) => chunk,
                        Ok(None) => break,
                        Err(e) => {
                            let _ = conn
                                .copy_in_fail("the proxy could not read back the rows")
                                .await;
                            return Err(spill_error(e));
                        }
                    };
                    conn.copy_in_send(chunk).await?;
                }
                Ok(conn.copy_in_finish().await?)
            }
            .await;
            if let Err(e) = copied {
                first_error = Some(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Adds `data` to a target: to its batch (sent once large enough) while
/// it is live, to its held store otherwise.
async fn put(
    conns: &mut [(String, PooledConnection)],
    t: &mut Target,
    data: &[u8],
) -> Result<(), StatementError> {
    if let Some(h) = &mut t.held {
        return h.push(data).await.map_err(spill_error);
    }
    t.batch.extend_from_slice(data);
    if t.batch.len() >= BATCH {
        let chunk: Bytes = t.batch.split().freeze();
        conns[t.conn].1.copy_in_send(chunk).await?;
    }
    Ok(())
}

/// Ends the started COPYs with CopyFail, so their connections are usable
/// (for the transaction's rollback, or back in the pool).
async fn abort(conns: &mut [(String, PooledConnection)], targets: &[Target], started: &[usize]) {
    for &i in started {
        if let Some(t) = targets.get(i) {
            let _ = conns[t.conn].1.copy_in_fail("COPY abandoned").await;
        }
    }
}

/// The columns of the rows, lower-cased, with their types: the COPY's
/// column list, or the table's columns, read from the first target's
/// catalog (the shards hold one schema).
async fn row_columns(
    plan: &CopyPlan,
    conn: &mut PooledConnection,
) -> Result<Vec<(String, ColumnType)>, StatementError> {
    let Some(target) = plan.targets.first() else {
        return Ok(Vec::new());
    };
    let mut name = String::new();
    if let Some(schema) = &plan.statement.schema {
        name.push_str(schema);
        name.push('.');
    }
    name.push_str(&quote_ident(&target.table));
    let sql = format!(
        "SELECT a.attname, a.atttypid FROM pg_catalog.pg_attribute a \
         WHERE a.attrelid = {}::regclass AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attnum",
        quote_literal(&name)
    );
    let sets = conn.simple_query(&sql).await?;
    let mut table: Vec<(String, ColumnType)> = Vec::new();
    for row in sets.iter().flat_map(|s| s.rows.iter()) {
        let mut cells = row.columns();
        let (Some(Some(attname)), Some(Some(oid))) = (cells.next(), cells.next()) else {
            continue;
        };
        let oid = std::str::from_utf8(&oid)
            .ok()
            .and_then(|o| o.parse().ok())
            .unwrap_or(0);
        table.push((
            String::from_utf8_lossy(&attname).into_owned(),
            ColumnType::of_pg_oid(oid),
        ));
    }
    if table.is_empty() {
        return Err(StatementError::refused(
            "XX000",
            format!(
                "the columns of {} were not found on its shard",
                target.table
            ),
        ));
    }
    Ok(match &plan.statement.columns {
        None => table
            .into_iter()
            .map(|(name, kind)| (name.to_ascii_lowercase(), kind))
            .collect(),
        Some(listed) => listed
            .iter()
            .map(|c| {
                let kind = table
                    .iter()
                    .find(|(name, _)| name == c)
                    .map_or(ColumnType::Text, |(_, k)| *k);
                (c.to_ascii_lowercase(), kind)
            })
            .collect(),
    })
}

/// The output of `sql` (a COPY TO STDOUT), held.
async fn read_copy_out(
    conn: &mut PooledConnection,
    sql: &str,
    held: &mut Held,
) -> Result<(), StatementError> {
    let mut query = conn.query(sql).await?;
    while let Some(event) = query.next_event().await? {
        if let QueryEvent::CopyData(data) = event {
            held.push(&data).await.map_err(spill_error)?;
        }
    }
    Ok(())
}

fn split_error(e: shardwire_kernel::copy::SplitError) -> StatementError {
    StatementError::refused("22P04", e.to_string())
}

fn spill_error(e: std::io::Error) -> StatementError {
    StatementError::refused(
        "53100",
        format!("could not hold COPY rows in a temporary file: {e}"),
    )
}
