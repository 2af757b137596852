//! Running one statement for the client: local answers first, then the
//! kernel plans it, the executor runs its units, and the answers go back:
//! forwarded as they are when one unit answers (column definitions
//! re-encoded for the client's capabilities, rows raw), merged when
//! several units answer a query, added up when several units write.

use std::sync::Arc;

use futures::future::join_all;
use futures::StreamExt;
use shardwire_backend::executor::UnitEvents;
use shardwire_backend::mysql::{MySqlEvent, MySqlQuery, MySqlRequest, MySqlRow};
use shardwire_backend::BackendError;
use shardwire_kernel::merge::{
    merge, Collation, ColumnKind, ColumnType, MergeError, MergePlan, RowStream,
};
use shardwire_kernel::{plan_statement, plan_with, Dialect, GeneratedKeys, PlanOptions};
use shardwire_protocol::mysql::constants::status::SERVER_MORE_RESULTS_EXISTS;
use shardwire_protocol::mysql::{BinaryType, ColumnDefinition, OkPacket};
use shardwire_rules::keygen::GeneratedKey;
use sqlparser::ast::{ShowCreateObject, Statement};

use super::catalog::reads_information_schema;
use super::classify::{classify, commits_implicitly, starts_no_transaction};
use super::session::{wire_error, Session};
use super::values;
use crate::core::merge::first_header;
use crate::core::units::{self, ConnectionSource};
use crate::error::StatementError;

/// The row format the client expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// COM_QUERY.
    Text,
    /// COM_STMT_EXECUTE.
    Binary,
}

/// The statement's units and how their answers combine.
#[derive(Debug)]
pub struct Units {
    pub units: Vec<(String, MySqlRequest)>,
    pub merge: Option<MergePlan>,
    pub generated_key: Option<u64>,
    /// A write to broadcast tables only: every data source holds the same
    /// rows and the client asked for one change, so one copy is counted.
    pub one_copy: bool,
}

/// Whether `ast` writes broadcast tables only (see [`Units::one_copy`]).
pub fn writes_one_copy(db: &crate::server::Database, ast: &Statement) -> bool {
    let tables = shardwire_kernel::StatementContext::new(ast).tables;
    !tables.is_empty() && tables.iter().all(|t| db.rules.is_broadcast(t))
}

/// The first key the kernel generated, as LAST_INSERT_ID reports it.
pub fn first_generated_key(keys: Option<&GeneratedKeys>) -> Option<u64> {
    keys?.keys.iter().find_map(|k| match k {
        GeneratedKey::Int(i) => u64::try_from(*i).ok(),
        GeneratedKey::Text(_) => None,
    })
}

impl Session {
    /// Runs one statement of a COM_QUERY; `more` when another follows.
    /// A statement that commits implicitly commits the session's
    /// transaction first and runs outside it.
    pub(super) async fn run_statement(
        &mut self,
        sql: &str,
        more: bool,
    ) -> Result<(), StatementError> {
        if commits_implicitly(sql) {
            self.commit_implicitly().await?;
        } else if starts_no_transaction(sql) {
            self.start_no_transaction();
        }
        let result = self.run_one(sql, more).await;
        self.statement_done();
        result
    }

    async fn run_one(&mut self, sql: &str, more: bool) -> Result<(), StatementError> {
        let local_infile = self.fe.snapshot.global.mysql_local_infile_enabled;
        if let Some(local) = classify(sql, local_infile) {
            let answer = self.run_local(local).await?;
            return self.send_local(answer, false, more);
        }
        let db = self.database()?;
        if let Some(admin) = shardwire_kernel::distsql::parse_admin(sql) {
            crate::metadata::run_admin(&db, admin).await?;
            return self.ok(0, 0, more);
        }
        let parsed = self.fe.parse_cache.parse(Dialect::MySql, sql);
        if reads_information_schema(sql, parsed.as_deref().ok()) {
            return self.information_schema(&db, sql, more).await;
        }
        // Planned from the text: the parse cache keeps where it names
        // tables, so the units' SQL is the client's text with the actual
        // names spliced in rather than the AST printed again.
        let ast = parsed?;
        let cache = &self.fe.parse_cache;
        let mut plan = crate::metadata::plan_loading(&db, |options| {
            plan_with(cache, &db.rules, Dialect::MySql, sql, &[], options)
        })
        .await?;
        if describes_a_table(&ast) {
            // Every data node has the same columns: one answers for all.
            plan.units.truncate(1);
            if let (
                Statement::ShowCreate {
                    obj_type: ShowCreateObject::Table,
                    ..
                },
                Some(unit),
            ) = (&*ast, plan.units.first())
            {
                let answer = self
                    .show_create_table(&db, &unit.data_source, &unit.sql)
                    .await?;
                return self.send_local(answer, false, more);
            }
        }
        let generated_key = first_generated_key(plan.generated_keys.as_ref());
        let one_copy = plan.units.len() > 1 && writes_one_copy(&db, &ast);
        let units = plan
            .units
            .into_iter()
            .map(|u| (u.data_source, MySqlRequest::Query(u.sql)))
            .collect();
        let result = self
            .run_units(
                Units {
                    units,
                    merge: plan.merge,
                    generated_key,
                    one_copy,
                },
                Format::Text,
                more,
            )
            .await;
        // Whether or not every shard took it, DDL may have changed columns.
        db.metadata.after_statement(&ast);
        result
    }

    /// Runs planned units and answers the client.
    pub(super) async fn run_units(
        &mut self,
        plan: Units,
        format: Format,
        more: bool,
    ) -> Result<(), StatementError> {
        let Units {
            units,
            merge,
            generated_key,
            one_copy,
        } = plan;
        if units.is_empty() {
            return Err(StatementError::refused(
                "HY000",
                "the statement routes to no data source",
            ));
        }
        let count = units.len();
        if count == 1 && merge.is_none() {
            if let Some((ds, request)) = units.into_iter().next() {
                return self.run_single(ds, request, generated_key, more).await;
            }
            return Err(StatementError::refused("HY000", "a plan without units"));
        }
        let Some(plan) = merge else {
            return self.run_write(units, generated_key, one_copy, more).await;
        };
        let (jobs, sources) = self.jobs(units).await?;
        let budget = self.fe.unit_budget();
        let (running, streams) = units::start(self, jobs, sources, count, budget)?;
        let result = self.merge_and_send(streams, &plan, format, more).await;
        units::give_back(self, running).await?;
        result
    }

    /// The fast path: one unit on one connection, run in this task, its
    /// answers forwarded as they come.
    async fn run_single(
        &mut self,
        ds: String,
        request: MySqlRequest,
        generated_key: Option<u64>,
        more: bool,
    ) -> Result<(), StatementError> {
        let mut conn = self.acquire(&ds).await?;
        let result = match &request {
            MySqlRequest::Query(sql) => match conn.query(sql).await {
                Ok(query) => self.forward(query, generated_key, more).await,
                Err(e) => Err(e.into()),
            },
            MySqlRequest::Execute { sql, params, types } => match conn.prepare_cached(sql).await {
                Ok(statement) => match conn.execute_typed(&statement, params, types).await {
                    Ok(query) => self.forward(query, generated_key, more).await,
                    Err(e) => Err(e.into()),
                },
                Err(e) => Err(e.into()),
            },
        };
        self.release(ds, conn);
        result
    }

    /// Every result set of one unit, as the shard sends it.
    async fn forward(
        &mut self,
        mut query: MySqlQuery<'_>,
        generated_key: Option<u64>,
        more: bool,
    ) -> Result<(), StatementError> {
        while let Some(event) = query.next_event().await? {
            self.forward_event(event, generated_key, more).await?;
        }
        Ok(())
    }

    async fn forward_event(
        &mut self,
        event: MySqlEvent,
        generated_key: Option<u64>,
        more: bool,
    ) -> Result<(), StatementError> {
        match event {
            MySqlEvent::Columns(columns) => {
                let columns = self.logical_columns(&columns);
                let status = self.status(more);
                let caps = self.conn.caps;
                self.conn
                    .write(|w| w.columns(&columns, status, caps))
                    .map_err(wire_error)
            }
            MySqlEvent::Row(row) => {
                self.conn.write_payload(row.raw()).map_err(wire_error)?;
                self.flush_rows().await
            }
            MySqlEvent::ResultEnd(end) => {
                let backend_more = end.status & SERVER_MORE_RESULTS_EXISTS != 0;
                let status = self.status(more || backend_more);
                let caps = self.conn.caps;
                self.conn
                    .write(|w| w.result_end(status, end.warnings, caps))
                    .map_err(wire_error)
            }
            MySqlEvent::Ok(ok) => {
                let backend_more = ok.status & SERVER_MORE_RESULTS_EXISTS != 0;
                let last_insert_id = generated_key.unwrap_or(ok.last_insert_id);
                if last_insert_id != 0 {
                    self.last_insert_id = last_insert_id;
                }
                let answer = OkPacket {
                    affected_rows: ok.affected_rows,
                    last_insert_id,
                    status: self.status(more || backend_more),
                    warnings: ok.warnings,
                    info: ok.info,
                    session_state: None,
                };
                self.conn.write_ok(&answer).map_err(wire_error)
            }
        }
    }

    /// Several units answering one query: rows decoded into merge values,
    /// merged by the plan, re-encoded (or passed raw when unchanged).
    async fn merge_and_send(
        &mut self,
        mut units: Vec<UnitEvents<MySqlEvent>>,
        plan: &MergePlan,
        format: Format,
        more: bool,
    ) -> Result<(), StatementError> {
        let columns = first_header(join_all(units.iter_mut().map(first_columns)).await, || {
            StatementError::refused("HY000", "the shards answered a query without a result set")
        })?;
        let width = columns.len();
        let kinds: Arc<[ColumnKind]> = columns.iter().map(values::column_kind).collect();
        let types: Arc<[BinaryType]> = columns.iter().map(BinaryType::from).collect();
        let visible = match &plan.wildcard {
            Some(w) => width.saturating_sub(w.derived),
            None => plan.output_columns.min(width),
        };
        let collations = columns.iter().enumerate().filter_map(|(i, c)| {
            let text = matches!(kinds.get(i), Some(ColumnKind::Text));
            Collation::from_mysql_id(c.charset)
                .filter(|_| text)
                .map(|collation| (i, collation))
        });
        // A NULL DECIMAL's decimals still show in COALESCE's answer.
        let column_types = columns
            .iter()
            .zip(kinds.iter())
            .map(|(c, kind)| ColumnType {
                int_bits: None,
                decimals: (*kind == ColumnKind::Decimal).then_some(u32::from(c.decimals)),
            })
            .collect();
        let plan = plan
            .clone()
            .with_column_collations(collations)
            .with_column_types(column_types);
        let shown: Vec<ColumnDefinition> = self.logical_columns(&columns[..visible]);
        let streams: Vec<RowStream> = units
            .into_iter()
            .map(|unit| -> RowStream {
                let kinds = Arc::clone(&kinds);
                let types = Arc::clone(&types);
                Box::pin(unit.into_stream().filter_map(move |event| {
                    let item = match event {
                        Ok(MySqlEvent::Row(MySqlRow::Text(row))) => {
                            Some(values::text_row(&row, &kinds))
                        }
                        Ok(MySqlEvent::Row(MySqlRow::Binary(row))) => {
                            Some(values::binary_row(&row, &types, &kinds))
                        }
                        Ok(_) => None,
                        Err(e) => Some(Err(MergeError::Source(Box::new(e)))),
                    };
                    std::future::ready(item)
                }))
            })
            .collect();
        let mut merged = merge(&plan, streams);
        let status = self.status(more);
        let caps = self.conn.caps;
        self.conn
            .write(|w| w.columns(&shown, status, caps))
            .map_err(wire_error)?;
        let shown_types: Vec<BinaryType> = types.iter().take(visible).copied().collect();
        while let Some(row) = merged.next().await {
            let row = row?;
            let unchanged = visible == width && row.values().len() == width;
            match (row.raw(), format) {
                (Some(raw), _) if unchanged => {
                    self.conn.write_payload(raw).map_err(wire_error)?;
                }
                (_, Format::Text) => {
                    let cells: Vec<Option<Vec<u8>>> = row
                        .values()
                        .iter()
                        .take(visible)
                        .map(values::to_text)
                        .collect();
                    self.conn
                        .write(|w| w.text_row(cells.iter().map(|c| c.as_deref())))
                        .map_err(wire_error)?;
                }
                (_, Format::Binary) => {
                    let trimmed = shardwire_kernel::merge::Row::new(
                        row.values().iter().take(visible).cloned().collect(),
                    );
                    let payload = values::encode_binary(&trimmed, &shown_types)
                        .map_err(|e| StatementError::refused("HY000", e))?;
                    self.conn.write_payload(&payload).map_err(wire_error)?;
                }
            }
            self.flush_rows().await?;
        }
        self.conn
            .write(|w| w.result_end(status, 0, caps))
            .map_err(wire_error)
    }

    /// COM_FIELD_LIST: the table's column definitions as one shard
    /// describes them, under the logical table name, then EOF.
    pub(super) async fn field_list(&mut self, table: &str) -> Result<(), StatementError> {
        let db = self.database()?;
        let sql = format!("SELECT * FROM `{}` LIMIT 0", table.replace('`', "``"));
        let ast = self.fe.parse_cache.parse(Dialect::MySql, &sql)?;
        let plan = plan_statement(
            &ast,
            &db.rules,
            Dialect::MySql,
            &[],
            &PlanOptions::default(),
        )?;
        let unit = plan.units.into_iter().next().ok_or_else(|| {
            StatementError::refused("HY000", "the table routes to no data source")
        })?;
        let mut conn = self.cluster()?.pool(&unit.data_source)?.get().await?;
        conn.replay_settings(&self.settings).await?;
        let sets = conn.simple_query(&unit.sql).await?;
        let columns = sets.into_iter().next().and_then(|s| s.columns);
        let (status, caps) = (self.status(false), self.conn.caps);
        let logical = bytes::Bytes::copy_from_slice(table.as_bytes());
        self.conn
            .write(|w| {
                for c in columns.iter().flat_map(|c| c.iter()) {
                    let mut c = c.clone();
                    c.table = logical.clone();
                    c.org_table = logical.clone();
                    c.default_values = Some(bytes::Bytes::new());
                    w.packet(|b| {
                        c.encode(b);
                        Ok(())
                    })?;
                }
                w.result_end(status, 0, caps)
            })
            .map_err(wire_error)
    }

    /// Sends a long answer in pieces; a client gone mid-answer ends the
    /// statement.
    pub(super) async fn flush_rows(&mut self) -> Result<(), StatementError> {
        self.conn
            .flush_if_full()
            .await
            .map_err(|e| StatementError::refused("08S01", format!("client: {e}")))
    }
}

/// DESCRIBE / SHOW COLUMNS / SHOW CREATE: about the table's shape, the
/// same on every data node.
fn describes_a_table(ast: &Statement) -> bool {
    matches!(
        ast,
        Statement::ExplainTable { .. }
            | Statement::ShowColumns { .. }
            | Statement::ShowCreate { .. }
    )
}

/// Reads a unit's events up to its column definitions.
async fn first_columns(
    unit: &mut UnitEvents<MySqlEvent>,
) -> Result<Option<Arc<[ColumnDefinition]>>, BackendError> {
    while let Some(event) = unit.next().await {
        match event? {
            MySqlEvent::Columns(c) => return Ok(Some(c)),
            MySqlEvent::Ok(_) | MySqlEvent::ResultEnd(_) => return Ok(None),
            MySqlEvent::Row(_) => {}
        }
    }
    Ok(None)
}
