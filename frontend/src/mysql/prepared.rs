//! Prepared statements: COM_STMT_PREPARE, EXECUTE, SEND_LONG_DATA, RESET
//! (CLOSE is a map removal in the session loop).
//!
//! PREPARE describes the statement on one shard (routed with placeholder
//! values and rewritten without cross-shard derivations, so the shape is
//! the client's own) and keeps the AST under a proxy statement id.
//! EXECUTE routes with the client's values; each unit runs on its shard as
//! a statement the backend connection keeps prepared for the unit's SQL,
//! executed with the values its placeholders need, so binary rows come
//! back from the shard itself.
//!
//! The client's `?` are numbered `$1..$n` in a copy of the AST before
//! planning: a multi-row INSERT split over shards keeps only some rows per
//! unit, and the numbers say which values each unit's placeholders take.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use shardwire_backend::mysql::{MySqlRequest, MySqlServerError};
use shardwire_backend::BackendError;
use shardwire_kernel::rewrite::rewrite_unit;
use shardwire_kernel::{plan_statement, plan_with, route, Dialect, PlanOptions, StatementContext};
use shardwire_protocol::mysql::constants::column_type::MYSQL_TYPE_VAR_STRING;
use shardwire_protocol::mysql::{
    BinaryType, ColumnDefinition, StmtExecute, StmtPrepareOk, Value as Wire,
};
use shardwire_rules::ShardingValue;
use sqlparser::ast::{Statement, Value, ValueWithSpan, Visit, VisitMut, Visitor, VisitorMut};

use super::classify::{classify, commits_implicitly, starts_no_transaction, Local};
use super::query::{first_generated_key, Format, Units};
use super::session::{wire_error, Session};
use super::split::{count_question_marks, dollars_to_question_marks};
use super::values::sharding_value;
use crate::error::StatementError;
use crate::pagination::bind_pagination;
use crate::server::Database;

/// A statement made by COM_STMT_PREPARE.
#[derive(Debug)]
pub struct Prepared {
    /// The statement with its `?` numbered `$1..$n` (see the module doc),
    /// done once here rather than on every execution; `None` for
    /// statements the proxy answers itself.
    ast: Option<Arc<Statement>>,
    /// The client's text, planned through the parse cache on the fast
    /// path (see [`Session::plan_as_written`]).
    sql: Arc<str>,
    /// Neither an INSERT (whose rows may split over shards) nor a LIMIT /
    /// OFFSET with parameters (which each execution writes in), nor a
    /// statement the fast path already turned away: the client's text may
    /// be planned as it is.
    as_written: bool,
    /// The LIMIT / OFFSET take parameters, which each execution writes in.
    binds_pagination: bool,
    local: Option<Local>,
    params: usize,
    /// Types sent with the last execution that bound them.
    bound_types: Option<Vec<BinaryType>>,
    /// Values sent with COM_STMT_SEND_LONG_DATA, by parameter.
    long_data: HashMap<u16, BytesMut>,
    /// The long data outgrew the packet limit: what was sent is dropped,
    /// and the next execution fails, as on the server.
    long_data_overflow: bool,
}

impl Prepared {
    /// The client's text, as it prepared it.
    pub fn sql(&self) -> &str {
        &self.sql
    }
}

impl Session {
    /// COM_STMT_PREPARE: answers the statement id and its parameter and
    /// column definitions.
    pub(super) async fn prepare(&mut self, sql: &[u8]) -> Result<(), StatementError> {
        let sql = std::str::from_utf8(sql)
            .map_err(|_| StatementError::refused("HY000", "the statement is not valid UTF-8"))?;
        let opened = self.open_comments(sql).await?;
        let sql = opened.trim().trim_end_matches(';');
        let local_infile = self.fe.snapshot.global.mysql_local_infile_enabled;
        let params = count_question_marks(sql);
        let (prepared, param_defs, columns) = match classify(sql, local_infile) {
            Some(local) if params == 0 => {
                let columns = self.local_columns(&local);
                let prepared = Prepared {
                    ast: None,
                    sql: Arc::from(sql),
                    as_written: false,
                    binds_pagination: false,
                    local: Some(local),
                    params: 0,
                    bound_types: None,
                    long_data: HashMap::new(),
                    long_data_overflow: false,
                };
                (prepared, Vec::new(), columns)
            }
            _ => {
                let db = self.database()?;
                let ast = self.fe.parse_cache.parse(Dialect::MySql, sql)?;
                let (described_params, columns) = self.describe(&db, &ast, params).await?;
                let columns = self.logical_columns(&columns);
                let param_defs = if described_params.len() == params {
                    described_params
                } else {
                    vec![ColumnDefinition::new("?", MYSQL_TYPE_VAR_STRING); params]
                };
                let numbered = number_placeholders(&ast);
                let binds_pagination =
                    bind_pagination(numbered.clone(), &vec![ShardingValue::Int(0); params])
                        .map_or(true, |bound| bound != numbered);
                let as_written = !binds_pagination && !matches!(&*ast, Statement::Insert(_));
                let prepared = Prepared {
                    ast: Some(Arc::new(numbered)),
                    sql: Arc::from(sql),
                    as_written,
                    binds_pagination,
                    local: None,
                    params,
                    bound_types: None,
                    long_data: HashMap::new(),
                    long_data_overflow: false,
                };
                (prepared, param_defs, columns)
            }
        };
        let id = self.next_statement;
        self.next_statement = self.next_statement.wrapping_add(1).max(1);
        let ok = StmtPrepareOk {
            statement_id: id,
            num_columns: u16::try_from(columns.len()).unwrap_or(u16::MAX),
            num_params: u16::try_from(param_defs.len())
                .map_err(|_| StatementError::refused("HY000", "too many placeholders"))?,
            warnings: 0,
        };
        let deprecate_eof = self.conn.deprecate_eof();
        let (status, caps) = (self.status(false), self.conn.caps);
        self.conn
            .write(|w| {
                w.packet(|b| {
                    ok.encode(b);
                    Ok(())
                })?;
                for defs in [&param_defs, &columns] {
                    for def in defs.iter() {
                        w.packet(|b| {
                            def.encode(b);
                            Ok(())
                        })?;
                    }
                    if !defs.is_empty() && !deprecate_eof {
                        w.result_end(status, 0, caps)?;
                    }
                }
                Ok(())
            })
            .map_err(wire_error)?;
        self.statements.insert(id, prepared);
        Ok(())
    }

    /// Parameter and column definitions of `ast` as one shard prepares it.
    async fn describe(
        &mut self,
        db: &Database,
        ast: &Statement,
        params: usize,
    ) -> Result<(Vec<ColumnDefinition>, Vec<ColumnDefinition>), StatementError> {
        let context = StatementContext::new(ast);
        let routed = [ShardingValue::Int(0), ShardingValue::Int(1)]
            .into_iter()
            .map(|v| route(&db.rules, &context, &vec![v; params]))
            .find_map(Result::ok);
        let (ds, sql) = match routed.as_ref().and_then(|r| r.units.first()) {
            Some(unit) => (unit.data_source.clone(), rewrite_unit(ast, unit)?),
            // An INSERT that leaves its generated key out routes only once
            // the key is added: plan it whole, then take one unit.
            None => {
                let zeros = vec![ShardingValue::Int(0); params];
                let plan = crate::metadata::plan_loading(db, |options| {
                    plan_statement(ast, &db.rules, Dialect::MySql, &zeros, options)
                })
                .await?;
                let unit = plan.units.into_iter().next().ok_or_else(|| {
                    StatementError::refused("HY000", "no route to describe the statement")
                })?;
                (unit.data_source, unit.sql)
            }
        };
        // A fresh pooled connection: describing must not join the client's
        // transaction.
        let mut conn = self.cluster()?.pool(&ds)?.get().await?;
        conn.replay_settings(&self.settings).await?;
        let statement = conn.prepare(&sql).await?;
        let described = (statement.params().to_vec(), statement.columns().to_vec());
        conn.close_statement(statement).await?;
        Ok(described)
    }

    /// COM_STMT_EXECUTE; a statement that commits implicitly commits the
    /// session's transaction first and runs outside it.
    pub(super) async fn execute(&mut self, exec: &StmtExecute) -> Result<(), StatementError> {
        let sql = self
            .statements
            .get(&exec.statement_id)
            .map(|s| Arc::clone(&s.sql));
        if let Some(sql) = sql {
            if commits_implicitly(&sql) {
                self.commit_implicitly().await?;
            } else if starts_no_transaction(&sql) {
                self.start_no_transaction();
            }
        }
        let result = self.execute_one(exec).await;
        self.statement_done();
        result
    }

    async fn execute_one(&mut self, exec: &StmtExecute) -> Result<(), StatementError> {
        let unknown = || {
            StatementError::refused(
                "HY000",
                format!(
                    "Unknown prepared statement handler ({}) given to mysqld_stmt_execute",
                    exec.statement_id
                ),
            )
        };
        let statement = self
            .statements
            .get_mut(&exec.statement_id)
            .ok_or_else(unknown)?;
        if std::mem::take(&mut statement.long_data_overflow) {
            statement.long_data.clear();
            // The server's own error for it, number and all.
            return Err(StatementError::Backend(BackendError::MySqlServer(
                Box::new(MySqlServerError {
                    code: 1153,
                    sql_state: "08S01".into(),
                    message: "Parameter of prepared statement which is set through \
                              mysql_send_long_data() is longer than 'max_allowed_packet' bytes"
                        .into(),
                }),
            )));
        }
        let long: Vec<bool> = (0..statement.params)
            .map(|i| u16::try_from(i).is_ok_and(|i| statement.long_data.contains_key(&i)))
            .collect();
        let decoded = exec
            .params(statement.params, statement.bound_types.as_deref(), &long)
            .map_err(|e| {
                StatementError::refused("HY000", format!("malformed COM_STMT_EXECUTE: {e}"))
            })?;
        if decoded.new_params_bound {
            statement.bound_types = Some(decoded.types.clone());
        }
        let mut long_data = std::mem::take(&mut statement.long_data);
        let values: Vec<Wire> = decoded
            .values
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                v.unwrap_or_else(|| {
                    let data = u16::try_from(i)
                        .ok()
                        .and_then(|i| long_data.remove(&i))
                        .unwrap_or_default();
                    Wire::Bytes(data.freeze())
                })
            })
            .collect();
        let types = decoded.types;
        if let Some(local) = statement.local.clone() {
            let answer = self.run_local(local).await?;
            return self.send_local(answer, true, false);
        }
        let Some(numbered) = statement.ast.clone() else {
            return Err(unknown());
        };
        let (binds_pagination, as_written) = (statement.binds_pagination, statement.as_written);
        let sql = Arc::clone(&statement.sql);
        let params = statement.params;
        let db = self.database()?;
        let routing: Vec<ShardingValue> = values.iter().map(sharding_value).collect();
        if as_written {
            if let Some(units) =
                self.plan_as_written(&db, &sql, params, &routing, &values, &types)?
            {
                return self.run_units(units, Format::Binary, false).await;
            }
            // A statement that needed the general way once (a scatter
            // query to merge) most likely will again: planning it twice
            // on every execution would cost more than the fast path saves.
            if let Some(statement) = self.statements.get_mut(&exec.statement_id) {
                statement.as_written = false;
            }
        }
        let plan = if binds_pagination {
            let bound = bind_pagination(Statement::clone(&numbered), &routing)?;
            plan_statement(
                &bound,
                &db.rules,
                Dialect::MySql,
                &routing,
                &PlanOptions::default(),
            )?
        } else {
            crate::metadata::plan_loading(&db, |options| {
                plan_statement(&numbered, &db.rules, Dialect::MySql, &routing, options)
            })
            .await?
        };
        let generated_key = first_generated_key(plan.generated_keys.as_ref());
        let mut units = Vec::with_capacity(plan.units.len());
        for unit in plan.units {
            let (sql, order) = dollars_to_question_marks(&unit.sql);
            let mut unit_values = Vec::with_capacity(order.len());
            let mut unit_types = Vec::with_capacity(order.len());
            for i in order {
                let (Some(v), Some(t)) = (values.get(i), types.get(i)) else {
                    return Err(StatementError::refused(
                        "HY000",
                        format!("placeholder ${} has no value", i + 1),
                    ));
                };
                unit_values.push(v.clone());
                unit_types.push(*t);
            }
            units.push((
                unit.data_source,
                MySqlRequest::Execute {
                    sql,
                    params: unit_values,
                    types: unit_types,
                },
            ));
        }
        let one_copy = units.len() > 1 && super::query::writes_one_copy(&db, &numbered);
        self.run_units(
            Units {
                units,
                merge: plan.merge,
                generated_key,
                one_copy,
            },
            Format::Binary,
            false,
        )
        .await
    }

    /// The fast path of an execution: the client's own text planned
    /// through the parse cache, whose splice template renames the tables
    /// in the text (no AST clone, walk or print per execution). It applies
    /// when every unit keeps all the client's `?` (the kernel numbers them
    /// by position, as MySQL does), so each unit takes every value in
    /// order: no merge rewrite, no generated key, no INSERT rows split.
    /// `None` sends the execution the general way.
    fn plan_as_written(
        &self,
        db: &Database,
        sql: &str,
        params: usize,
        routing: &[ShardingValue],
        values: &[Wire],
        types: &[BinaryType],
    ) -> Result<Option<Units>, StatementError> {
        let options = PlanOptions {
            metadata: Some(&db.metadata),
            ..PlanOptions::default()
        };
        let plan = match plan_with(
            &self.fe.parse_cache,
            &db.rules,
            Dialect::MySql,
            sql,
            routing,
            &options,
        ) {
            // The general way loads it.
            Err(shardwire_kernel::KernelError::MetadataNeeded { .. }) => return Ok(None),
            other => other?,
        };
        let keeps_every_value = plan.merge.is_none()
            && plan.generated_keys.is_none()
            && plan
                .units
                .iter()
                .all(|u| count_question_marks(&u.sql) == params);
        if !keeps_every_value || values.len() != params || types.len() != params {
            return Ok(None);
        }
        let units: Vec<(String, MySqlRequest)> = plan
            .units
            .into_iter()
            .map(|unit| {
                let request = MySqlRequest::Execute {
                    sql: unit.sql,
                    params: values.to_vec(),
                    types: types.to_vec(),
                };
                (unit.data_source, request)
            })
            .collect();
        // Several units without a merge: a write to broadcast tables (the
        // statement is in the parse cache: a hash lookup).
        let one_copy = units.len() > 1
            && self
                .fe
                .parse_cache
                .parse(Dialect::MySql, sql)
                .is_ok_and(|ast| super::query::writes_one_copy(db, &ast));
        Ok(Some(Units {
            units,
            merge: None,
            generated_key: None,
            one_copy,
        }))
    }

    /// COM_STMT_SEND_LONG_DATA: appended to the parameter's value; errors
    /// wait for the execution, as the server has no answer here.
    /// All of a statement's long data together may not exceed the packet
    /// limit (MySQL's max_allowed_packet per parameter; here per statement,
    /// so one client cannot hold more than that per statement).
    pub(super) fn send_long_data(&mut self, statement_id: u32, param: u16, data: Bytes) {
        let limit = self.fe.max_message_len;
        if let Some(statement) = self.statements.get_mut(&statement_id) {
            if usize::from(param) >= statement.params || statement.long_data_overflow {
                return;
            }
            let held: usize = statement.long_data.values().map(BytesMut::len).sum();
            if held + data.len() > limit {
                statement.long_data.clear();
                statement.long_data_overflow = true;
                return;
            }
            statement
                .long_data
                .entry(param)
                .or_default()
                .extend_from_slice(&data);
        }
    }

    /// COM_STMT_RESET: drops the long data sent so far.
    pub(super) fn reset_statement(&mut self, statement_id: u32) -> Result<(), StatementError> {
        let statement = self.statements.get_mut(&statement_id).ok_or_else(|| {
            StatementError::refused(
                "HY000",
                format!("Unknown prepared statement handler ({statement_id}) given to mysqld_stmt_reset"),
            )
        })?;
        statement.long_data.clear();
        statement.long_data_overflow = false;
        Ok(())
    }
}

/// A copy of `ast` whose `?` placeholders read `$1..$n` in text order.
fn number_placeholders(ast: &Statement) -> Statement {
    struct Spans(Vec<(u64, u64)>);
    impl Visitor for Spans {
        type Break = ();
        fn pre_visit_value(&mut self, value: &ValueWithSpan) -> ControlFlow<()> {
            if matches!(&value.value, Value::Placeholder(p) if p == "?") {
                self.0
                    .push((value.span.start.line, value.span.start.column));
            }
            ControlFlow::Continue(())
        }
    }
    struct Number(HashMap<(u64, u64), usize>);
    impl VisitorMut for Number {
        type Break = ();
        fn pre_visit_value(&mut self, value: &mut ValueWithSpan) -> ControlFlow<()> {
            if matches!(&value.value, Value::Placeholder(p) if p == "?") {
                let at = (value.span.start.line, value.span.start.column);
                if let Some(i) = self.0.get(&at) {
                    value.value = Value::Placeholder(format!("${}", i + 1));
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut spans = Spans(Vec::new());
    let _ = ast.visit(&mut spans);
    spans.0.sort_unstable();
    let order = spans
        .0
        .into_iter()
        .enumerate()
        .map(|(i, at)| (at, i))
        .collect();
    let mut numbered = ast.clone();
    let _ = VisitMut::visit(&mut numbered, &mut Number(order));
    numbered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_parameters_become_numbers() {
        let ast = shardwire_kernel::parse_one(
            Dialect::MySql,
            "SELECT a FROM t WHERE b = ? ORDER BY a LIMIT ? OFFSET ?",
        )
        .unwrap();
        let params = [
            ShardingValue::Int(1),
            ShardingValue::Int(10),
            ShardingValue::Int(5),
        ];
        let bound = bind_pagination(number_placeholders(&ast), &params).unwrap();
        assert_eq!(
            bound.to_string(),
            "SELECT a FROM t WHERE b = $1 ORDER BY a LIMIT 10 OFFSET 5"
        );
        let negative = [
            ShardingValue::Int(1),
            ShardingValue::Int(-1),
            ShardingValue::Int(0),
        ];
        assert!(bind_pagination(number_placeholders(&ast), &negative).is_err());
    }

    #[test]
    fn placeholders_are_numbered_in_text_order() {
        let ast = shardwire_kernel::parse_one(
            Dialect::MySql,
            "UPDATE t SET a = ?, b = ? WHERE id = ? AND k IN (?, ?)",
        )
        .unwrap();
        let sql = number_placeholders(&ast).to_string();
        assert_eq!(
            sql,
            "UPDATE t SET a = $1, b = $2 WHERE id = $3 AND k IN ($4, $5)"
        );
    }
}
