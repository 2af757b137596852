//! Running one statement for the client: the kernel plans it, the
//! executor runs its units, and the answers go back in the client's
//! protocol: forwarded as they are when one unit answers, merged when
//! several do.

use std::sync::Arc;

use bytes::Bytes;
use futures::SinkExt;
use shardwire_backend::executor::{Request, UnitEvents};
use shardwire_backend::pg::QueryEvent;
use shardwire_kernel::merge::MergePlan;
use shardwire_kernel::KernelError;
use shardwire_kernel::{
    plan_literal_statement, plan_statement, plan_with, Dialect, PlanOptions, StatementContext,
    StatementKind,
};
use shardwire_protocol::pg::{BackendMessage, DataRow};
use shardwire_rules::ShardingValue;
use sqlparser::ast::Statement;

use super::answers::{Forwarder, TagSum};
use super::portal_run::{returns_written_rows, RETURNING_BUFFER_BYTES};
use super::session::{session_to_statement, Described, Portal, Prepared, Session};
use super::values::{result_format, sharding_value};
use crate::core::units::{self, batches, ConnectionSource};
use crate::error::StatementError;

/// What the client expects to hear about the rows' shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Simple query: a RowDescription before rows, nothing otherwise.
    Simple,
    /// Extended query after a Describe of the portal: RowDescription or
    /// NoData, before anything else.
    Described,
    /// Extended query without Describe: rows only.
    Silent,
}

impl Session {
    /// Runs one statement; `portal` carries the extended protocol's values.
    /// `from_text`: `ast` is the parse cache's answer for `sql`, so the
    /// kernel may plan from the cache entry (its statement context and
    /// splice template are worked out once per text, not per execution).
    pub(super) async fn execute(
        &mut self,
        sql: &str,
        ast: &Statement,
        portal: Option<&Portal>,
        describe: bool,
        from_text: bool,
    ) -> Result<(), StatementError> {
        let shape = match (portal, describe) {
            (None, _) => Shape::Simple,
            (Some(_), true) => Shape::Described,
            (Some(_), false) => Shape::Silent,
        };
        if let Some(result) = self.local(sql, ast, shape).await {
            return result;
        }
        self.txn.refuse_if_failed()?;
        if let Some(query) = super::copy_out::text_copy_query(ast) {
            if let Some(result) = Box::pin(self.copy_out_merged(&query)).await {
                return result;
            }
        }
        // The simple protocol only: COPY (query) TO STDOUT takes no
        // parameters.
        if portal.is_none() {
            if let Some(plan) = shardwire_kernel::copy::plan_insert_select(&self.db.rules, ast) {
                return self.insert_select(plan?).await;
            }
        }
        let params: Vec<ShardingValue> = match portal {
            None => Vec::new(),
            Some(p) => {
                let types = self.param_types(&p.statement);
                p.params
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        sharding_value(
                            v.as_ref(),
                            result_format(&p.param_formats, i),
                            types.get(i).copied().unwrap_or(0),
                        )
                    })
                    .collect()
            }
        };
        let catalog = if super::catalog::is_catalog_query(ast) {
            let cluster = self.cluster()?;
            let names = super::catalog::CatalogNames::new(
                &self.db.rules,
                cluster.first(),
                self.visible_databases(),
                ast,
            );
            (!names.is_empty_for(ast)).then_some(names)
        } else {
            None
        };
        // Logical names bound as parameters, mapped as the literals are.
        let catalog_params: Option<Arc<[Option<Bytes>]>> = catalog
            .as_ref()
            .zip(portal)
            .and_then(|(names, p)| names.map_params(ast, &p.params))
            .map(Arc::from);
        let rewritten;
        let ast = match &catalog {
            Some(names) => {
                let mut copy = ast.clone();
                names.rewrite_literals(&mut copy);
                names.rewrite_databases(&mut copy);
                rewritten = copy;
                &rewritten
            }
            None => ast,
        };
        let db = &self.db;
        let cache = &self.fe.parse_cache;
        let planned = crate::metadata::plan_loading(db, |options| {
            if from_text && catalog.is_none() {
                plan_with(cache, &db.rules, Dialect::PostgreSql, sql, &params, options)
            } else {
                plan_statement(ast, &db.rules, Dialect::PostgreSql, &params, options)
            }
        })
        .await;
        let plan = match planned {
            // Drivers bind LIMIT and OFFSET too; across shards the kernel
            // must write OFFSET + LIMIT into each shard's SQL, so the bound
            // integers are put into the statement first.
            Err(StatementError::Kernel(KernelError::Unsupported { construct, .. }))
                if construct.starts_with("LIMIT with a parameter") && portal.is_some() =>
            {
                let bound = crate::pagination::bind_pagination(ast.clone(), &params)?;
                plan_statement(
                    &bound,
                    &self.db.rules,
                    Dialect::PostgreSql,
                    &params,
                    &PlanOptions::default(),
                )?
            }
            other => other?,
        };
        let merged = plan.merge.is_some();
        // Several units may not all use every `$n`; the server must then be
        // told the types, or it cannot infer the unused ones.
        let param_types: Arc<[u32]> = match portal {
            Some(p) if plan.units.len() > 1 => self.described(&p.statement).await?.params.into(),
            Some(p) => p.statement.param_types.clone().into(),
            None => Arc::from([]),
        };
        let units: Vec<(String, Request)> = plan
            .units
            .into_iter()
            .map(|u| {
                let request = match portal {
                    None => Request::Simple(u.sql),
                    Some(p) => Request::Extended {
                        sql: u.sql,
                        param_types: Arc::clone(&param_types),
                        params: Arc::clone(catalog_params.as_ref().unwrap_or(&p.params)),
                        param_formats: Arc::clone(&p.param_formats),
                        // The merge reads text; it writes the client's
                        // formats itself.
                        result_formats: if merged {
                            Arc::from([])
                        } else {
                            Arc::clone(&p.result_formats)
                        },
                    },
                };
                (u.data_source, request)
            })
            .collect();
        let result_formats: Arc<[i16]> =
            portal.map_or_else(|| Arc::from([]), |p| Arc::clone(&p.result_formats));
        // An Execute with a row limit (`portal_run`): a read keeps its
        // running result for the next Execute; a write with RETURNING
        // runs whole first, as PostgreSQL runs it.
        let limited = portal.filter(|p| p.row_limit > 0);
        let returning_write = limited.is_some() && returns_written_rows(ast);
        let result = match plan.merge {
            Some(merge_plan) => match limited {
                Some(p) => {
                    self.start_merged_portal(
                        &p.name,
                        units,
                        &merge_plan,
                        shape,
                        Arc::clone(&result_formats),
                        p.row_limit,
                    )
                    .await
                }
                None => {
                    self.run_merged(units, &merge_plan, shape, &result_formats)
                        .await
                }
            },
            None if units.len() == 1 => {
                let Some((ds, request)) = units.into_iter().next() else {
                    return Err(StatementError::refused("XX000", "a plan without units"));
                };
                match limited {
                    Some(p) if returning_write => {
                        // In a transaction, so a refusal past the buffer's
                        // limit takes the write back.
                        self.begin_implicit();
                        let mut out = Forwarder::capturing(shape, RETURNING_BUFFER_BYTES);
                        self.run_single_with(ds, request, &mut out, catalog.as_ref())
                            .await?;
                        self.start_buffered_portal(&p.name, out, p.row_limit).await
                    }
                    Some(p) => {
                        self.start_forwarded_portal(
                            &p.name,
                            (ds, request),
                            shape,
                            catalog,
                            p.row_limit,
                        )
                        .await
                    }
                    None => self.run_single(ds, request, shape, catalog.as_ref()).await,
                }
            }
            None => {
                // A write to broadcast tables runs once per data source,
                // but the client asked for one change: count one copy.
                let context = StatementContext::new(ast);
                let tables = &context.tables;
                let one_copy =
                    !tables.is_empty() && tables.iter().all(|t| self.db.rules.is_broadcast(t));
                // A write reaching several data nodes takes effect on all
                // of them or none, as one statement does: outside a
                // transaction it runs in an implicit one, ended with the
                // query string or at Sync like a pipelined batch.
                if context.kind.is_write() && context.kind != StatementKind::Ddl {
                    self.begin_implicit();
                }
                match limited {
                    Some(p) if returning_write => {
                        let mut out = Forwarder::capturing(shape, RETURNING_BUFFER_BYTES);
                        self.run_concatenated_with(units, &mut out, one_copy)
                            .await?;
                        self.start_buffered_portal(&p.name, out, p.row_limit).await
                    }
                    _ => self.run_concatenated(units, shape, one_copy).await,
                }
            }
        };
        // Whether or not every shard took it, DDL may have changed columns.
        self.db.metadata.after_statement(ast);
        result
    }

    /// A simple-protocol statement planned from its normalized text (see
    /// [`plan_literal_statement`]): one unit, forwarded as it answers.
    /// `None` when the full path must run it: not a plain one-unit query
    /// or write, a catalog query (its names are rewritten), or a failed
    /// transaction (the full path says so).
    pub(super) async fn execute_literal(
        &mut self,
        sql: &str,
    ) -> Option<Result<(), StatementError>> {
        // set_config is a SET for the session (`set_config.rs`), not a
        // query for one shard.
        if self.txn.state.is_failed() || super::set_config::mentions_set_config(sql) {
            return None;
        }
        let plan = plan_literal_statement(
            &self.fe.parse_cache,
            &self.db.rules,
            Dialect::PostgreSql,
            sql,
        )?;
        if super::catalog::is_catalog_query(&plan.shape) {
            return None;
        }
        let unit = plan.unit;
        Some(
            self.run_single(
                unit.data_source,
                Request::Simple(unit.sql),
                Shape::Simple,
                None,
            )
            .await,
        )
    }

    /// The logical databases this session's user may use over PostgreSQL:
    /// what pg_database lists.
    fn visible_databases(&self) -> Vec<String> {
        let account = self
            .fe
            .snapshot
            .global
            .users
            .iter()
            .find(|u| u.name == self.user);
        self.fe
            .databases
            .iter()
            .filter(|(name, db)| db.pg.is_some() && account.is_some_and(|a| a.may_use(name)))
            .map(|(name, _)| name.clone())
            .collect()
    }

    fn param_types(&self, statement: &Prepared) -> Vec<u32> {
        match statement.described.get() {
            Some(d) => d.params.clone(),
            None => statement.param_types.clone(),
        }
    }

    /// The fast path: one unit, its answers forwarded as they come.
    async fn run_single(
        &mut self,
        ds: String,
        request: Request,
        shape: Shape,
        catalog: Option<&super::catalog::CatalogNames>,
    ) -> Result<(), StatementError> {
        let mut out = Forwarder::new(shape);
        self.run_single_with(ds, request, &mut out, catalog).await
    }

    async fn run_single_with(
        &mut self,
        ds: String,
        request: Request,
        out: &mut Forwarder,
        catalog: Option<&super::catalog::CatalogNames>,
    ) -> Result<(), StatementError> {
        let mut conn = self.acquire(&ds).await?;
        self.cancel
            .set_running(conn.cancel_token().into_iter().collect());
        let result = async {
            let mut query = request.start(&mut conn).await?;
            let mut notices = crate::logical_names::StatementNotices::default();
            // A catalog answer: its columns' roles, and the rows sent
            // (some are left out, some shown once per logical database),
            // which its CommandComplete must count.
            let mut roles = Vec::new();
            let mut sent = 0u64;
            // Rows held to be sorted again by logical names (with their
            // place in the shard's answer), and the keys.
            let mut held: Vec<(usize, DataRow)> = Vec::new();
            let mut sort_keys: Option<Vec<super::catalog_order::SortKey>> = None;
            loop {
                match query.next_event().await {
                    Ok(Some(QueryEvent::Notice(n))) => {
                        if let Some(n) = notices.admit(&self.db.rules, n) {
                            out.event(&mut self.conn, QueryEvent::Notice(n)).await?;
                        }
                    }
                    Ok(Some(QueryEvent::RowDescription(rd))) if catalog.is_some() => {
                        roles = catalog.map(|c| c.roles(&rd)).unwrap_or_default();
                        sort_keys = catalog.and_then(|c| c.sort_keys(&rd, &roles));
                        sent = 0;
                        out.event(&mut self.conn, QueryEvent::RowDescription(rd))
                            .await?;
                    }
                    Ok(Some(QueryEvent::Row(row))) if catalog.is_some() => {
                        let rows = match catalog {
                            Some(c) => c.map_rows(row, &roles),
                            None => vec![row],
                        };
                        for row in rows {
                            sent += 1;
                            if sort_keys.is_some() {
                                held.push((held.len(), row));
                                if held.len() < super::catalog_order::MAX_SORTED_ROWS {
                                    continue;
                                }
                                // Too many to hold: the shard's order.
                                sort_keys = None;
                                for (_, row) in held.drain(..) {
                                    out.event(&mut self.conn, QueryEvent::Row(row)).await?;
                                }
                                continue;
                            }
                            out.event(&mut self.conn, QueryEvent::Row(row)).await?;
                        }
                    }
                    Ok(Some(QueryEvent::CommandComplete(tag)))
                        if catalog.is_some() && tag.starts_with("SELECT ") =>
                    {
                        if let Some(keys) = sort_keys.take() {
                            super::catalog_order::sort(&mut held, &keys);
                        }
                        for (_, row) in held.drain(..) {
                            out.event(&mut self.conn, QueryEvent::Row(row)).await?;
                        }
                        let tag = format!("SELECT {sent}");
                        sent = 0;
                        out.event(&mut self.conn, QueryEvent::CommandComplete(tag))
                            .await?;
                    }
                    Ok(Some(event)) => out.event(&mut self.conn, event).await?,
                    Ok(None) => return Ok(()),
                    Err(e) => return Err(StatementError::Backend(e)),
                }
            }
        }
        .await;
        self.cancel.set_running(Vec::new());
        self.release(ds, conn);
        result
    }

    /// Several units whose answers are simply added up: writes, DDL, and
    /// their RETURNING rows.
    pub(super) async fn run_concatenated(
        &mut self,
        units: Vec<(String, Request)>,
        shape: Shape,
        one_copy: bool,
    ) -> Result<(), StatementError> {
        let mut out = Forwarder::new(shape);
        self.run_concatenated_with(units, &mut out, one_copy).await
    }

    async fn run_concatenated_with(
        &mut self,
        units: Vec<(String, Request)>,
        out: &mut Forwarder,
        one_copy: bool,
    ) -> Result<(), StatementError> {
        let count = units.len();
        let (jobs, sources) = self.jobs(units).await?;
        let mut tags = TagSum::default();
        let mut notices = crate::logical_names::StatementNotices::default();
        let mut first_error = None;
        let mut copying = false;
        let mut seen = 0usize;
        for (jobs, count, sources) in batches(jobs, sources, count, self.txn.in_block()) {
            if first_error.is_some() {
                // An earlier data source failed the statement: the rest
                // are not asked.
                units::give_back_unstarted(self, jobs, sources);
                continue;
            }
            let budget = self.fe.unit_budget();
            let (running, streams) = units::start(self, jobs, sources, count, budget)?;
            for mut unit in streams {
                let counted = seen == 0 || !one_copy;
                seen += 1;
                while let Some(event) = unit.next().await {
                    match event {
                        Ok(QueryEvent::RowDescription(rd)) => {
                            if !out.described {
                                out.event(&mut self.conn, QueryEvent::RowDescription(rd))
                                    .await?;
                            }
                        }
                        Ok(QueryEvent::CommandComplete(tag)) if counted => tags.add(&tag),
                        Ok(QueryEvent::Row(row)) if first_error.is_none() && counted => {
                            out.event(&mut self.conn, QueryEvent::Row(row)).await?
                        }
                        Ok(QueryEvent::Notice(n)) => {
                            if let Some(n) = notices.admit(&self.db.rules, n) {
                                out.event(&mut self.conn, QueryEvent::Notice(n)).await?
                            }
                        }
                        // COPY TO STDOUT over several units (the kernel
                        // checked their outputs may be joined): one
                        // CopyOutResponse, every unit's data, one CopyDone.
                        Ok(QueryEvent::CopyOut(response)) if !copying => {
                            copying = true;
                            out.event(&mut self.conn, QueryEvent::CopyOut(response))
                                .await?
                        }
                        Ok(QueryEvent::CopyData(data)) if first_error.is_none() && counted => {
                            out.event(&mut self.conn, QueryEvent::CopyData(data))
                                .await?
                        }
                        Ok(_) => {}
                        Err(e) => {
                            first_error.get_or_insert(StatementError::Backend(e));
                        }
                    }
                }
            }
            units::give_back(self, running).await?;
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        if copying {
            out.event(&mut self.conn, QueryEvent::CopyDone).await?;
        }
        let tag = tags.finish();
        out.event(&mut self.conn, QueryEvent::CommandComplete(tag))
            .await
    }

    /// Several units answering one query: their rows merged by the plan.
    async fn run_merged(
        &mut self,
        units: Vec<(String, Request)>,
        plan: &MergePlan,
        shape: Shape,
        result_formats: &[i16],
    ) -> Result<(), StatementError> {
        let count = units.len();
        let (jobs, sources) = self.jobs(units).await?;
        let budget = self.fe.unit_budget();
        let (running, streams) = units::start(self, jobs, sources, count, budget)?;
        let result = self
            .merge_and_send(streams, plan, shape, result_formats.into())
            .await;
        units::give_back(self, running).await?;
        result
    }

    async fn merge_and_send(
        &mut self,
        units: Vec<UnitEvents>,
        plan: &MergePlan,
        shape: Shape,
        result_formats: Arc<[i16]>,
    ) -> Result<(), StatementError> {
        let mut merged = self.start_merge(units, plan, shape, result_formats).await?;
        while let Some(event) = merged.next().await? {
            let msg = match event {
                QueryEvent::Row(data) => BackendMessage::DataRow(data),
                QueryEvent::CommandComplete(tag) => BackendMessage::CommandComplete(tag),
                _ => continue,
            };
            self.conn.feed(msg).await.map_err(session_to_statement)?;
        }
        Ok(())
    }

    /// Describes a prepared statement on one backend: the statement routed
    /// with placeholder values and rewritten for one data node, without
    /// the cross-shard derivations, so the shape is the client's own.
    pub(super) async fn describe_on_backend(
        &mut self,
        statement: &Prepared,
    ) -> Result<Described, StatementError> {
        let Some(ast) = &statement.ast else {
            // COPY FROM STDIN takes no parameters and returns no rows.
            return Ok(Described {
                params: Vec::new(),
                row: None,
            });
        };
        let context = StatementContext::new(ast);
        let n = max_placeholder(&statement.sql).max(statement.param_types.len());
        let route = [ShardingValue::Int(0), ShardingValue::Int(1)]
            .into_iter()
            .map(|v| shardwire_kernel::route(&self.db.rules, &context, &vec![v; n]))
            .find_map(Result::ok);
        let (ds, sql) = match route.as_ref().and_then(|r| r.units.first()) {
            Some(unit) => (
                unit.data_source.clone(),
                shardwire_kernel::rewrite::rewrite_unit(ast, unit)?,
            ),
            // An INSERT that leaves its generated key out routes only once
            // the key is added: plan it whole, then take one unit (the
            // derivations of a cross-shard SELECT never get here, since a
            // SELECT routes without them).
            None => {
                let db = Arc::clone(&self.db);
                let zeros = vec![ShardingValue::Int(0); n];
                let plan = crate::metadata::plan_loading(&db, |options| {
                    plan_statement(ast, &db.rules, Dialect::PostgreSql, &zeros, options)
                })
                .await?;
                let unit = plan.units.into_iter().next().ok_or_else(|| {
                    StatementError::refused("XX000", "no route to describe the statement")
                })?;
                (unit.data_source, unit.sql)
            }
        };
        let mut conn = self.acquire(&ds).await?;
        let result = conn.prepare("", &sql, &statement.param_types).await;
        self.release(ds, conn);
        let prepared = result?;
        Ok(Described {
            params: prepared.param_types().to_vec(),
            row: prepared.columns().cloned(),
        })
    }
}

/// The highest `$n` in `sql` (outside nothing: a `$n` in a string literal
/// only makes the count too high, which the server then reports).
fn max_placeholder(sql: &str) -> usize {
    let bytes = sql.as_bytes();
    let mut max = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let digits = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits > 0 {
                let n = sql[i + 1..i + 1 + digits].parse::<usize>().unwrap_or(0);
                max = max.max(n.min(u16::MAX as usize));
            }
            i += 1 + digits;
        } else {
            i += 1;
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_highest_placeholder() {
        assert_eq!(max_placeholder("select $1, $12 from t where a = $3"), 12);
        assert_eq!(max_placeholder("select 1"), 0);
        assert_eq!(max_placeholder("select $$x$$"), 0);
    }
}
