//! SHOW [FULL] TABLES of a sharded database: the tables that exist on the
//! data sources, in logical names. Each data source answers its own SHOW
//! FULL TABLES; an actual table of a sharding rule (`t_order_0`) stands for
//! its logical table, every other table (broadcast, single, or in no rule
//! at all) shows under its own name, as MariaDB would show it. A table of a
//! rule that no data source holds is not listed: MariaDB lists what
//! exists, not what a configuration names.
//!
//! Limits: `SHOW TABLES ... WHERE` is refused (classify), since its
//! condition names the column the client sees.

use std::collections::{BTreeMap, HashMap};

use shardwire_backend::mysql::MySqlRow;
use shardwire_protocol::mysql::ColumnDefinition;

use super::classify::like;
use super::local::LocalAnswer;
use super::session::Session;
use crate::error::StatementError;
use crate::server::Database;

impl Session {
    /// The logical database `db`'s tables, filtered by `pattern`.
    pub(super) async fn show_tables(
        &mut self,
        db: &Database,
        full: bool,
        pattern: Option<&str>,
    ) -> Result<LocalAnswer, StatementError> {
        let cluster = db
            .mysql
            .as_ref()
            .ok_or_else(|| StatementError::refused("3D000", "No database selected"))?;
        let mut found = Vec::new();
        let mut shard_columns: Option<Vec<ColumnDefinition>> = None;
        for name in cluster.names() {
            let mut conn = cluster.pool(name)?.get().await?;
            conn.replay_settings(&self.settings).await?;
            let sets = conn.simple_query("SHOW FULL TABLES").await?;
            drop(conn);
            for set in sets {
                if let (None, Some(columns)) = (&shard_columns, &set.columns) {
                    shard_columns = Some(columns.to_vec());
                }
                for row in &set.rows {
                    let MySqlRow::Text(text) = row else {
                        continue;
                    };
                    let mut cells = text
                        .cells()
                        .map(|c| c.map(|b| String::from_utf8_lossy(&b).into_owned()));
                    if let (Some(Some(table)), Some(kind)) = (cells.next(), cells.next()) {
                        found.push((table, kind.unwrap_or_default()));
                    }
                }
            }
        }
        let tables = logical_tables(&actual_to_logical(db), found, pattern);
        // The shard's own column definitions (charset, lengths, origin in
        // information_schema), renamed: MariaDB labels the column after the
        // database and, with LIKE, the pattern.
        let mut label = format!("Tables_in_{}", db.rules.name);
        if let Some(p) = pattern {
            label.push_str(&format!(" ({p})"));
        }
        let mut columns = shard_columns.unwrap_or_default();
        columns.truncate(if full { 2 } else { 1 });
        if let Some(first) = columns.first_mut() {
            first.name = label.into_bytes().into();
        }
        let rows = tables
            .into_iter()
            .map(|(name, kind)| {
                let mut row = vec![Some(name)];
                if full {
                    row.push(Some(kind));
                }
                row
            })
            .collect();
        Ok(LocalAnswer::Rows { columns, rows })
    }
}

/// Every actual table of `db`'s sharding rules -> its logical name.
pub(super) fn actual_to_logical(db: &Database) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for table in db.rules.sharding.tables.values() {
        for actual in &table.actual_tables {
            map.insert(actual.clone(), table.logic_name.clone());
        }
    }
    map
}

/// The shards' (table, type) rows as one logical list: actual tables under
/// their logical name, each name once (the first data source's type
/// wins), filtered by the LIKE pattern on the logical name, sorted by
/// bytes as MariaDB sorts its table names.
fn logical_tables(
    to_logical: &HashMap<String, String>,
    found: Vec<(String, String)>,
    pattern: Option<&str>,
) -> Vec<(String, String)> {
    let mut tables = BTreeMap::new();
    for (table, kind) in found {
        let name = to_logical.get(&table).cloned().unwrap_or(table);
        if pattern.is_none_or(|p| like(p, &name)) {
            tables.entry(name).or_insert(kind);
        }
    }
    tables.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn actual_tables_become_one_logical_table() {
        let map: HashMap<String, String> = [("t_order_0", "t_order"), ("t_order_1", "t_order")]
            .into_iter()
            .map(|(a, l)| (a.to_owned(), l.to_owned()))
            .collect();
        let found = rows(&[
            ("t_region", "BASE TABLE"),
            ("t_order_1", "BASE TABLE"),
            ("t_order_0", "BASE TABLE"),
            ("v_totals", "VIEW"),
            ("t_region", "BASE TABLE"),
            ("t_order_0", "BASE TABLE"),
        ]);
        assert_eq!(
            logical_tables(&map, found.clone(), None),
            rows(&[
                ("t_order", "BASE TABLE"),
                ("t_region", "BASE TABLE"),
                ("v_totals", "VIEW"),
            ])
        );
        // The pattern applies to the logical name, not the actual one.
        assert_eq!(
            logical_tables(&map, found.clone(), Some("t\\_order")),
            rows(&[("t_order", "BASE TABLE")])
        );
        assert!(logical_tables(&map, found, Some("t_order_0")).is_empty());
    }
}
