//! Batch Bind ('U'): one prepared INSERT, UPDATE or DELETE with many rows
//! of parameters, answered once.
//!
//! Each row is planned by the kernel as a Bind + Execute of the statement
//! with that row's values would be, and must reach exactly one data node;
//! rows are grouped by data node (data source and actual table, i.e. the
//! rewritten SQL), and each node's rows run as one batch on that data
//! source's connection (`execute_batch`: one round trip). The client gets
//! what openGauss sends for a 'U' and its Execute: BindComplete, then one
//! CommandComplete with the total.
//!
//! A batch reaching more than one node runs in an implicit transaction, as
//! a multi-node write does, so it takes effect everywhere or nowhere; it
//! ends at Sync. INSERT batches run their data sources in parallel; UPDATE
//! and DELETE, which lock rows other transactions may hold, run one data
//! source at a time in name order, as every multi-shard write here does, so
//! two such batches cannot wait on each other across shards.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::SinkExt;
use shardwire_backend::pool::PooledConnection;
use shardwire_kernel::{plan_with, Dialect};
use shardwire_protocol::pg::{BackendMessage, BatchBind, TargetKind};
use shardwire_rules::ShardingValue;
use sqlparser::ast::Statement;

use crate::core::units::ConnectionSource;
use crate::error::StatementError;
use crate::pg::session::{session_to_statement, Session};
use crate::pg::values::{result_format, sharding_value};

/// The verb of a statement Batch Bind may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Insert,
    Update,
    Delete,
}

impl Verb {
    fn of(ast: &Statement) -> Option<(Verb, bool)> {
        match ast {
            Statement::Insert(i) => Some((Verb::Insert, i.returning.is_some())),
            Statement::Update(u) => Some((Verb::Update, u.returning.is_some())),
            Statement::Delete(d) => Some((Verb::Delete, d.returning.is_some())),
            _ => None,
        }
    }

    /// The CommandComplete openGauss sends for the whole batch.
    fn tag(self, rows: u64) -> String {
        match self {
            Verb::Insert => format!("INSERT 0 {rows}"),
            Verb::Update => format!("UPDATE {rows}"),
            Verb::Delete => format!("DELETE {rows}"),
        }
    }
}

/// The rows of one data node: its data source, its SQL, the rows' values.
#[derive(Debug)]
struct NodeRows {
    data_source: String,
    sql: String,
    rows: Vec<Arc<[Option<Bytes>]>>,
}

/// What a 'U' frame carries after its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// Nothing: the Execute comes as a message of its own.
    Nothing,
    /// The Execute, as openGauss JDBC sends it.
    Execute,
    /// A Describe, then the Execute.
    DescribeExecute(TargetKind),
}

/// Decodes a 'U' body. openGauss JDBC ends the body with the Execute it
/// means (and, before it, maybe a Describe): 'D' + kind + name, then 'E' +
/// portal + int32 row limit, inside the same frame, where the openGauss
/// server reads them. The protocol decoder takes the rows alone, so a body
/// it refuses is tried again without such a tail; the tail's Describe kind
/// comes back with the batch.
fn decode(body: Bytes) -> Result<(BatchBind, Tail), StatementError> {
    let first = match BatchBind::decode(body.clone()) {
        Ok(batch) => return Ok((batch, Tail::Nothing)),
        Err(e) => e,
    };
    for (rows_end, tail) in tails(&body) {
        if let Ok(batch) = BatchBind::decode(body.slice(..rows_end)) {
            return Ok((batch, tail));
        }
    }
    Err(StatementError::refused(
        "08P01",
        format!("malformed Batch Bind: {first}"),
    ))
}

/// Where the rows of a 'U' body may end if it carries an Execute of the
/// unnamed portal without a row limit ('E', "", 0), with a Describe of the
/// statement or of the unnamed portal before it or none; longest tail
/// first. Empty when the body does not end with such an Execute.
fn tails(body: &[u8]) -> Vec<(usize, Tail)> {
    const EXECUTE: [u8; 6] = [b'E', 0, 0, 0, 0, 0];
    let Some(rows_end) = body.len().checked_sub(EXECUTE.len()) else {
        return Vec::new();
    };
    if body[rows_end..] != EXECUTE {
        return Vec::new();
    }
    let head = &body[..rows_end];
    let mut found = Vec::new();
    // The statement's name follows the batch count and the portal's name.
    let statement = body
        .get(4..)
        .and_then(|rest| {
            let portal_end = rest.iter().position(|&b| b == 0)?;
            let rest = &rest[portal_end + 1..];
            Some(&rest[..rest.iter().position(|&b| b == 0)?])
        })
        .unwrap_or_default();
    let mut describe_statement = vec![b'D', b'S'];
    describe_statement.extend_from_slice(statement);
    describe_statement.push(0);
    if head.ends_with(&describe_statement) {
        found.push((
            rows_end - describe_statement.len(),
            Tail::DescribeExecute(TargetKind::Statement),
        ));
    }
    if head.ends_with(&[b'D', b'P', 0]) {
        found.push((rows_end - 3, Tail::DescribeExecute(TargetKind::Portal)));
    }
    found.push((rows_end, Tail::Execute));
    found
}

impl Session {
    /// Answers one Batch Bind; an error is answered as any extended
    /// protocol error (then everything up to Sync is skipped).
    pub(crate) async fn batch_bind(&mut self, body: Bytes) -> Result<(), StatementError> {
        let (batch, tail) = decode(body)?;
        let describe = match tail {
            Tail::DescribeExecute(kind) => Some(kind),
            Tail::Nothing | Tail::Execute => None,
        };
        if !batch.portal.is_empty() {
            return Err(StatementError::refused(
                "0A000",
                format!(
                    "Batch Bind into the named portal \"{}\" is not supported (openGauss \
                     takes the unnamed portal only)",
                    batch.portal
                ),
            ));
        }
        let Some(statement) = self.prepared(&batch.statement) else {
            return Err(StatementError::refused(
                "26000",
                format!("prepared statement \"{}\" does not exist", batch.statement),
            ));
        };
        self.registered.statement_started(&statement.sql);
        let (verb, returning) = match statement.ast.as_deref().and_then(Verb::of) {
            Some(v) => v,
            None => {
                return Err(StatementError::refused(
                    "0A000",
                    format!(
                        "Batch Bind runs INSERT, UPDATE or DELETE; prepared statement \"{}\" \
                         is not one",
                        batch.statement
                    ),
                ))
            }
        };
        if returning {
            return Err(StatementError::refused(
                "0A000",
                "Batch Bind of a statement with RETURNING is not supported: its rows would \
                 have no place in the answer",
            ));
        }
        if batch.rows.is_empty() {
            return Err(StatementError::refused("08P01", "Batch Bind with no rows"));
        }
        self.txn.refuse_if_failed()?;
        let types = self.described(&statement).await?.params;
        batch
            .check_params(types.len())
            .map_err(|e| StatementError::refused("08P01", e.to_string()))?;
        let width = usize::from(batch.params_per_row);
        let formats = batch.param_formats.clone();
        if formats.len() > 1 && formats.len() != width {
            return Err(StatementError::refused(
                "08P01",
                format!(
                    "Batch Bind has {} parameter formats but {width} parameters",
                    formats.len()
                ),
            ));
        }
        let rows = batch.rows.into_iter().map(Arc::from).collect();
        let nodes = self
            .group_rows(&statement.sql, &types, &formats, rows)
            .await?;
        let types: Arc<[u32]> = types.into();
        let formats: Arc<[i16]> = formats.into();
        let total = self.run_nodes(nodes, verb, &types, &formats).await?;
        self.conn
            .feed(BackendMessage::BindComplete)
            .await
            .map_err(session_to_statement)?;
        if describe == Some(TargetKind::Statement) {
            self.conn
                .feed(BackendMessage::ParameterDescription(types.to_vec()))
                .await
                .map_err(session_to_statement)?;
        }
        if describe.is_some() {
            // INSERT, UPDATE and DELETE without RETURNING: no rows.
            self.conn
                .feed(BackendMessage::NoData)
                .await
                .map_err(session_to_statement)?;
        }
        self.conn
            .feed(BackendMessage::CommandComplete(verb.tag(total)))
            .await
            .map_err(session_to_statement)?;
        if let (Some(og), Tail::Nothing) = (self.opengauss.as_mut(), tail) {
            // Answered whole already: the Execute sent after it is the
            // batch's own (see `take_batch_execute`).
            og.batch_execute_pending = true;
        }
        Ok(())
    }

    /// Whether an Execute of the unnamed portal right now is the one of a
    /// Batch Bind that came without it inside its frame: the batch already
    /// ran and was answered, so that Execute has nothing left to say. Any
    /// message ends the wait.
    pub(crate) fn take_batch_execute(&mut self) -> bool {
        self.opengauss
            .as_mut()
            .is_some_and(|og| std::mem::take(&mut og.batch_execute_pending))
    }

    /// Plans each row and groups the rows by the data node they reach.
    async fn group_rows(
        &mut self,
        sql: &str,
        types: &[u32],
        formats: &[i16],
        rows: Vec<Arc<[Option<Bytes>]>>,
    ) -> Result<Vec<NodeRows>, StatementError> {
        let mut nodes: Vec<NodeRows> = Vec::new();
        let mut index: HashMap<(String, String), usize> = HashMap::new();
        let db = Arc::clone(&self.db);
        for (i, row) in rows.into_iter().enumerate() {
            let values: Vec<ShardingValue> = row
                .iter()
                .enumerate()
                .map(|(j, v)| {
                    sharding_value(
                        v.as_ref(),
                        result_format(formats, j),
                        types.get(j).copied().unwrap_or(0),
                    )
                })
                .collect();
            let cache = &self.fe.parse_cache;
            let plan = crate::metadata::plan_loading(&db, |options| {
                plan_with(cache, &db.rules, Dialect::PostgreSql, sql, &values, options)
            })
            .await?;
            let [unit] = plan.units.as_slice() else {
                return Err(StatementError::refused(
                    "0A000",
                    format!(
                        "Batch Bind row {} reaches {} data nodes; Shardwire runs a Batch Bind \
                         only where each row has exactly one (bind the rows one by one instead)",
                        i + 1,
                        plan.units.len()
                    ),
                ));
            };
            if plan.merge.is_some() {
                return Err(StatementError::refused(
                    "0A000",
                    format!("Batch Bind row {} needs its answers merged", i + 1),
                ));
            }
            let key = (unit.data_source.clone(), unit.sql.clone());
            match index.get(&key) {
                Some(&n) => nodes[n].rows.push(row),
                None => {
                    index.insert(key, nodes.len());
                    nodes.push(NodeRows {
                        data_source: unit.data_source.clone(),
                        sql: unit.sql.clone(),
                        rows: vec![row],
                    });
                }
            }
        }
        Ok(nodes)
    }

    /// Runs each node's rows as one batch; the rows changed, in total.
    async fn run_nodes(
        &mut self,
        nodes: Vec<NodeRows>,
        verb: Verb,
        types: &Arc<[u32]>,
        formats: &Arc<[i16]>,
    ) -> Result<u64, StatementError> {
        if nodes.len() > 1 {
            self.begin_implicit();
        }
        // One connection per data source, taken in name order so that two
        // sessions never wait on each other's pools in a cycle.
        let mut by_source: Vec<(String, Vec<NodeRows>)> = Vec::new();
        for node in nodes {
            match by_source.iter_mut().find(|(ds, _)| *ds == node.data_source) {
                Some((_, list)) => list.push(node),
                None => by_source.push((node.data_source.clone(), vec![node])),
            }
        }
        by_source.sort_by(|a, b| a.0.cmp(&b.0));
        let parallel = verb == Verb::Insert;
        let mut total = 0u64;
        let mut first_error = None;
        if parallel {
            let mut conns: Vec<(String, PooledConnection, Vec<NodeRows>)> = Vec::new();
            for (ds, list) in by_source {
                match self.acquire(&ds).await {
                    Ok(conn) => conns.push((ds, conn, list)),
                    Err(e) => {
                        first_error = Some(e);
                        break;
                    }
                }
            }
            if first_error.is_none() {
                // A CancelRequest reaches every data source in the batch.
                let tokens = conns
                    .iter()
                    .filter_map(|(_, c, _)| c.cancel_token())
                    .collect();
                self.cancel.set_running(tokens);
                let runs = conns
                    .iter_mut()
                    .map(|(_, conn, list)| run_source(conn, list, types, formats));
                for result in futures::future::join_all(runs).await {
                    match result {
                        Ok(n) => total += n,
                        Err(e) => {
                            first_error.get_or_insert(e);
                        }
                    }
                }
                self.cancel.set_running(Vec::new());
            }
            for (ds, conn, _) in conns {
                self.release(ds, conn);
            }
        } else {
            for (ds, list) in by_source {
                let mut conn = match self.acquire(&ds).await {
                    Ok(conn) => conn,
                    Err(e) => {
                        first_error = Some(e);
                        break;
                    }
                };
                self.cancel
                    .set_running(conn.cancel_token().into_iter().collect());
                let result = run_source(&mut conn, &list, types, formats).await;
                self.cancel.set_running(Vec::new());
                self.release(ds, conn);
                match result {
                    Ok(n) => total += n,
                    Err(e) => {
                        first_error = Some(e);
                        break;
                    }
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(total),
        }
    }
}

/// One data source's nodes, one batch each, on its one connection.
async fn run_source(
    conn: &mut PooledConnection,
    nodes: &[NodeRows],
    types: &Arc<[u32]>,
    formats: &Arc<[i16]>,
) -> Result<u64, StatementError> {
    let mut total = 0u64;
    for node in nodes {
        let outcome = conn
            .execute_batch(&node.sql, types, formats, &node.rows)
            .await
            .map_err(StatementError::Backend)?;
        total += outcome.rows;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(tail: &[u8]) -> Bytes {
        let batch = BatchBind {
            statement: "s1".into(),
            portal: String::new(),
            param_formats: vec![],
            result_formats: vec![],
            params_per_row: 2,
            rows: vec![
                vec![Some(Bytes::from_static(b"1")), None],
                vec![
                    Some(Bytes::from_static(b"2")),
                    Some(Bytes::from_static(b"E")),
                ],
            ],
        };
        let mut buf = bytes::BytesMut::new();
        batch.encode(&mut buf).unwrap();
        let mut body = buf.split_off(5).to_vec();
        body.extend_from_slice(tail);
        Bytes::from(body)
    }

    #[test]
    fn a_body_may_end_with_the_execute_and_describe_jdbc_sends() {
        let (b, t) = decode(body(b"")).unwrap();
        assert_eq!((b.rows.len(), t), (2, Tail::Nothing));
        let (b, t) = decode(body(b"E\0\0\0\0\0")).unwrap();
        assert_eq!((b.rows.len(), t), (2, Tail::Execute));
        let (b, t) = decode(body(b"DSs1\0E\0\0\0\0\0")).unwrap();
        let statement = Tail::DescribeExecute(TargetKind::Statement);
        assert_eq!((b.rows.len(), t), (2, statement));
        let (b, t) = decode(body(b"DP\0E\0\0\0\0\0")).unwrap();
        let portal = Tail::DescribeExecute(TargetKind::Portal);
        assert_eq!((b.rows.len(), t), (2, portal));
        // A row limit, another portal, or anything else stays malformed.
        for bad in [
            &b"E\0\0\0\0\x05"[..],
            b"Ep\0\0\0\0\0",
            b"DSs2\0E\0\0\0\0\0",
            b"x",
        ] {
            let e = decode(body(bad)).unwrap_err();
            assert!(e.to_string().contains("malformed Batch Bind"), "{e}");
        }
    }

    #[test]
    fn the_answer_is_tagged_as_opengauss_tags_it() {
        assert_eq!(Verb::Insert.tag(1000), "INSERT 0 1000");
        assert_eq!(Verb::Update.tag(3), "UPDATE 3");
        assert_eq!(Verb::Delete.tag(0), "DELETE 0");
    }
}
