//! The loaded metadata of one logical database's tables, and loading it.
//!
//! Nothing is loaded at start-up: a table's columns are read the first time
//! a statement needs them (the kernel says so with
//! [`KernelError::MetadataNeeded`]), so 10,000 actual tables cost nothing
//! until used, and a data source that is down at start-up stops nothing.
//! One load asks every data source holding the table's actual tables at
//! once, one catalog query per batch of tables, and checks that the actual
//! tables agree (the log names the odd ones). DDL the proxy runs and
//! `REFRESH TABLE METADATA` drop entries, so the next use reads them again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::future::join_all;
use shardwire_backend::metadata::{load_mysql, load_pg, reconcile, ColumnInfo, NodeColumns};
use shardwire_kernel::{ColumnMeta, KernelError, MetadataSource, StatementContext, TableMeta};
use shardwire_rules::snapshot::LogicalDatabase;
use sqlparser::ast::{ObjectType, Statement};

use crate::error::StatementError;
use crate::server::Database;

/// Logical tables kept loaded; past it an arbitrary entry is dropped (and
/// read again when next needed). More than any rules file names.
const MAX_TABLES: usize = 10_000;

/// How long metadata loaded while some data source could not be asked is
/// used before the load is tried again: long enough that INSERTs do not
/// each wait for a dead server, short enough that it is soon checked.
const RETRY_INCOMPLETE: Duration = Duration::from_secs(30);

/// Odd nodes named one by one in the log; the rest are counted.
const ODD_NODES_LOGGED: usize = 10;

#[derive(Debug)]
struct Entry {
    meta: Arc<TableMeta>,
    /// When it was loaded with some data source unreachable.
    incomplete_since: Option<Instant>,
}

/// Logical table (lower-cased) -> its columns.
#[derive(Debug, Default)]
pub struct MetadataCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl MetadataSource for MetadataCache {
    fn table(&self, logical: &str) -> Option<Arc<TableMeta>> {
        let entries = self.lock();
        let entry = entries.get(logical)?;
        match entry.incomplete_since {
            Some(at) if at.elapsed() > RETRY_INCOMPLETE => None,
            _ => Some(Arc::clone(&entry.meta)),
        }
    }
}

impl MetadataCache {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets `table` (lower-cased), or every table.
    pub fn invalidate(&self, table: Option<&str>) {
        match table {
            Some(t) => {
                self.lock().remove(t);
            }
            None => self.lock().clear(),
        }
    }

    /// Forgets the tables a DDL statement the proxy ran may have changed.
    /// Other statements cost one match.
    pub fn after_statement(&self, statement: &Statement) {
        let ddl = matches!(
            statement,
            Statement::CreateTable(_)
                | Statement::AlterTable(_)
                | Statement::Drop {
                    object_type: ObjectType::Table,
                    ..
                }
        );
        if ddl {
            let mut entries = self.lock();
            for table in StatementContext::new(statement).tables {
                entries.remove(&table);
            }
        }
    }

    fn insert(&self, table: &str, meta: Arc<TableMeta>, complete: bool) {
        let mut entries = self.lock();
        if entries.len() >= MAX_TABLES && !entries.contains_key(table) {
            if let Some(victim) = entries.keys().next().cloned() {
                entries.remove(&victim);
            }
        }
        entries.insert(
            table.to_owned(),
            Entry {
                meta,
                incomplete_since: (!complete).then(Instant::now),
            },
        );
    }

    /// Reads logical table `table`'s columns from its actual tables and
    /// keeps them. Fails when no actual table could be read.
    pub async fn load(&self, db: &Database, table: &str) -> Result<Arc<TableMeta>, StatementError> {
        let nodes = actual_tables(&db.rules, table);
        if nodes.is_empty() {
            return Err(StatementError::refused(
                "XX000",
                format!("no rule places the actual tables of {table}: its columns cannot be read"),
            ));
        }
        // Data source -> its actual tables, in the order first named.
        let mut by_source: Vec<(&str, Vec<String>)> = Vec::new();
        for (ds, actual) in &nodes {
            match by_source.iter_mut().find(|(d, _)| d == ds) {
                Some((_, list)) => list.push(actual.clone()),
                None => by_source.push((ds.as_str(), vec![actual.clone()])),
            }
        }
        let answers = join_all(
            by_source
                .iter()
                .map(|(ds, tables)| load_source(db, ds, tables)),
        )
        .await;
        let answers: HashMap<&str, _> = by_source.iter().map(|(ds, _)| *ds).zip(answers).collect();
        let said: Vec<(String, NodeColumns)> = nodes
            .iter()
            .map(|(ds, actual)| {
                let node = format!("{ds}.{actual}");
                let said = match answers.get(ds.as_str()) {
                    Some(Ok(columns)) => match columns.get(&actual.to_ascii_lowercase()) {
                        Some(c) => NodeColumns::Columns(c.clone()),
                        None => NodeColumns::Missing,
                    },
                    Some(Err(e)) => NodeColumns::Unreachable(e.to_string()),
                    None => NodeColumns::Unreachable("not asked".into()),
                };
                (node, said)
            })
            .collect();
        let reconciled = reconcile(&said);
        if !reconciled.odd.is_empty() {
            let shown: Vec<String> = reconciled
                .odd
                .iter()
                .take(ODD_NODES_LOGGED)
                .map(|(node, why)| format!("{node}: {why}"))
                .collect();
            tracing::warn!(
                database = %db.rules.name,
                table,
                odd = shown.join("; "),
                more = reconciled.odd.len().saturating_sub(ODD_NODES_LOGGED),
                "actual tables of one logical table disagree; using the columns most of them have"
            );
        }
        if !reconciled.unreachable.is_empty() {
            tracing::warn!(
                database = %db.rules.name,
                table,
                nodes = reconciled.unreachable.len(),
                first = %reconciled.unreachable.first().map(|(n, why)| format!("{n}: {why}")).unwrap_or_default(),
                "some actual tables could not be read; their metadata will be read again later"
            );
        }
        let Some(columns) = reconciled.columns else {
            // Nothing could be asked: the first data source's error is the
            // client's. Asked and absent: the table does not exist.
            if let Some(Err(e)) = by_source
                .iter()
                .find_map(|(ds, _)| answers.get(ds).filter(|a| a.is_err()))
            {
                return Err(StatementError::refused(
                    "58000",
                    format!("the columns of {table} cannot be read: {e}"),
                ));
            }
            return Err(StatementError::Kernel(KernelError::UnknownTable {
                database: db.rules.name.clone(),
                table: table.to_owned(),
                reason: "none of its actual tables exists in the data sources".into(),
            }));
        };
        let meta = Arc::new(TableMeta {
            columns: columns.into_iter().map(column_meta).collect(),
        });
        self.insert(table, Arc::clone(&meta), reconciled.unreachable.is_empty());
        Ok(meta)
    }
}

fn column_meta(c: ColumnInfo) -> ColumnMeta {
    ColumnMeta {
        name: c.name,
        data_type: c.data_type,
        nullable: c.nullable,
        primary_key: c.primary_key,
    }
}

/// The (data source, actual table) pairs of logical table `table`: a
/// sharding table's data nodes, or a broadcast table's copy in every data
/// source. Other tables live in one database, which matches columns
/// itself: nothing is loaded for them.
fn actual_tables(rules: &LogicalDatabase, table: &str) -> Vec<(String, String)> {
    if let Some(t) = rules.sharding.tables.get(table) {
        return t
            .data_nodes
            .iter()
            .map(|n| (n.data_source.clone(), n.table.clone()))
            .collect();
    }
    if rules.is_broadcast(table) {
        return rules
            .data_sources
            .keys()
            .map(|ds| (ds.clone(), table.to_owned()))
            .collect();
    }
    Vec::new()
}

/// The columns of `tables` in data source `ds`, on a pooled connection.
async fn load_source(
    db: &Database,
    ds: &str,
    tables: &[String],
) -> Result<shardwire_backend::metadata::TableColumns, shardwire_backend::BackendError> {
    if let Some(cluster) = &db.pg {
        let mut conn = cluster.pool(ds)?.get().await?;
        // A pooled connection may carry another session's search_path.
        conn.replay_settings(&[], None).await?;
        load_pg(&mut conn, tables).await
    } else if let Some(cluster) = &db.mysql {
        let mut conn = cluster.pool(ds)?.get().await?;
        load_mysql(&mut conn, tables).await
    } else {
        Err(shardwire_backend::BackendError::Config {
            name: ds.to_owned(),
            reason: "the data source has no pool".into(),
        })
    }
}

/// Plans with `db`'s metadata; when the kernel needs a table not loaded
/// yet, loads it and plans once more. PostgreSQL DROP / ALTER INDEX may
/// first need the owners of index names, looked up the same way.
pub(crate) async fn plan_loading<T>(
    db: &Database,
    mut plan: impl FnMut(&shardwire_kernel::PlanOptions<'_>) -> Result<T, KernelError>,
) -> Result<T, StatementError> {
    let mut owners = crate::index_owners::Owners::new();
    // Each round answers one kind of question; a kernel asking the same
    // one again would be a bug, which the last round then reports.
    for _ in 0..2 {
        let options = shardwire_kernel::PlanOptions {
            metadata: Some(&db.metadata),
            index_owners: Some(&owners),
            ..Default::default()
        };
        match plan(&options) {
            Err(KernelError::MetadataNeeded { table }) => {
                db.metadata.load(db, &table).await?;
            }
            Err(KernelError::IndexOwnersNeeded { lookups }) => {
                crate::index_owners::look_up(db, &lookups, &mut owners).await?;
            }
            other => return Ok(other?),
        }
    }
    let options = shardwire_kernel::PlanOptions {
        metadata: Some(&db.metadata),
        index_owners: Some(&owners),
        ..Default::default()
    };
    Ok(plan(&options)?)
}

/// Answers a DistSQL statement: `REFRESH TABLE METADATA` forgets the
/// table (or all) and reads a named sharding or broadcast table again at
/// once, so that its disagreements are logged and a missing table is
/// reported now.
pub(crate) async fn run_admin(
    db: &Database,
    admin: shardwire_kernel::distsql::AdminStatement,
) -> Result<(), StatementError> {
    use shardwire_kernel::distsql::AdminStatement;
    match admin {
        AdminStatement::RefreshTableMetadata { table } => {
            db.metadata.invalidate(table.as_deref());
            if let Some(table) = table {
                if !actual_tables(&db.rules, &table).is_empty() {
                    db.metadata.load(db, &table).await?;
                }
            }
            Ok(())
        }
    }
}
