//! `information_schema` queries, as GUI tools and drivers send them to
//! list schemas, tables and columns: run on the first data source, with
//! the logical database's name swapped for the shard's, and a logical
//! table's for its first actual table there, in quoted literals on the way
//! in, and on the way out every cell naming the shard's database
//! or an actual table replaced by the logical name (rows that become equal,
//! `t_order_0` and `t_order_1` both turning into `t_order`, are sent once).
//!
//! Limits: the first data source stands for all (shards are expected to
//! hold the same tables); aggregates over information_schema count actual
//! tables; prepared statements reading information_schema are not mapped.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use shardwire_backend::mysql::MySqlRow;
use sqlparser::ast::{visit_relations, Statement};

use super::session::{wire_error, Session};
use crate::error::StatementError;
use crate::server::Database;

/// True when `sql` is a query reading information_schema. `ast` is its
/// parse; a query sqlparser cannot read is taken for a catalog query only
/// when it begins with SELECT and names the schema, as GUI tools' dialect
/// queries do. A word in a value (`INSERT ... VALUES ('information_schema')`)
/// is not a reason to run a statement unrouted.
pub fn reads_information_schema(sql: &str, ast: Option<&Statement>) -> bool {
    match ast {
        Some(statement @ Statement::Query(_)) => {
            let mut found = false;
            let _ = visit_relations(statement, |name| {
                found |= name.0.len() > 1
                    && name.0[0]
                        .as_ident()
                        .is_some_and(|i| i.value.eq_ignore_ascii_case("information_schema"));
                ControlFlow::<()>::Continue(())
            });
            found
        }
        Some(_) => false,
        None => {
            let text = sql.trim_start().to_ascii_lowercase();
            text.starts_with("select") && text.contains("information_schema")
        }
    }
}

impl Session {
    pub(super) async fn information_schema(
        &mut self,
        db: &Database,
        sql: &str,
        more: bool,
    ) -> Result<(), StatementError> {
        let cluster = self.cluster()?;
        let first = cluster.first().to_owned();
        let pool = cluster.pool(&first)?;
        let shard_db = pool.data_source().database.clone();
        let logical = db.rules.name.clone();
        let mut sql = sql
            .replace(&format!("'{logical}'"), &format!("'{shard_db}'"))
            .replace(&format!("\"{logical}\""), &format!("\"{shard_db}\""));
        // A logical table named in a literal stands for its first actual
        // table on this data source.
        for table in db.rules.sharding.tables.values() {
            if let Some(actual) = table
                .tables_by_data_source
                .get(&first)
                .and_then(|tables| tables.first())
            {
                sql = sql.replace(&format!("'{}'", table.logic_name), &format!("'{actual}'"));
            }
        }
        let mut conn = pool.get().await?;
        conn.replay_settings(&self.settings).await?;
        let sets = conn.simple_query(&sql).await?;
        drop(conn);
        let mut names: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        names.insert(shard_db.into_bytes(), logical.clone().into_bytes());
        for table in db.rules.sharding.tables.values() {
            for actual in &table.actual_tables {
                names.insert(
                    actual.clone().into_bytes(),
                    table.logic_name.clone().into_bytes(),
                );
            }
        }
        let last = sets.len().saturating_sub(1);
        for (i, set) in sets.into_iter().enumerate() {
            let status = self.status(more || i < last);
            let caps = self.conn.caps;
            let Some(columns) = set.columns else {
                self.ok(set.affected_rows, 0, more || i < last)?;
                continue;
            };
            let mut seen = HashSet::new();
            let mut rows = Vec::with_capacity(set.rows.len());
            for row in &set.rows {
                let MySqlRow::Text(text) = row else {
                    continue;
                };
                let cells: Vec<Option<Vec<u8>>> = text
                    .cells()
                    .map(|c| c.map(|b| names.get(&b[..]).cloned().unwrap_or_else(|| b.to_vec())))
                    .collect();
                if seen.insert(cells.clone()) {
                    rows.push(cells);
                }
            }
            self.conn
                .write(|w| {
                    w.columns(&columns, status, caps)?;
                    for cells in &rows {
                        w.text_row(cells.iter().map(|c| c.as_deref()))?;
                    }
                    w.result_end(status, set.warnings, caps)
                })
                .map_err(wire_error)?;
        }
        Ok(())
    }
}
