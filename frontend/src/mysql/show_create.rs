//! SHOW CREATE TABLE of a sharded table: one actual table answers (every
//! data node has the same shape), and the client sees its logical name in
//! the Table column and in the `CREATE TABLE` header of the DDL. The rest
//! of the DDL is left as the shard wrote it (constraint and index names
//! are per table in MariaDB, so they need no mapping).
//!
//! Limit: the answer comes from a pooled connection of the data source,
//! so a TEMPORARY sharded table of the session's own connection is not
//! seen.

use shardwire_backend::mysql::MySqlRow;

use super::local::LocalAnswer;
use super::session::Session;
use super::show_tables::actual_to_logical;
use crate::error::StatementError;
use crate::server::Database;

impl Session {
    /// Runs `sql` (the unit's SHOW CREATE TABLE of an actual table) on
    /// `data_source` and answers it in logical names.
    pub(super) async fn show_create_table(
        &mut self,
        db: &Database,
        data_source: &str,
        sql: &str,
    ) -> Result<LocalAnswer, StatementError> {
        let cluster = self.cluster()?;
        let mut conn = cluster.pool(data_source)?.get().await?;
        conn.replay_settings(&self.settings).await?;
        let sets = conn.simple_query(sql).await?;
        drop(conn);
        let to_logical = actual_to_logical(db);
        let Some(set) = sets.into_iter().next() else {
            return Err(StatementError::refused(
                "HY000",
                "SHOW CREATE TABLE: the data source answered nothing",
            ));
        };
        let columns = self.logical_columns(set.columns.as_deref().unwrap_or_default());
        let mut rows = Vec::with_capacity(set.rows.len());
        for row in &set.rows {
            let MySqlRow::Text(text) = row else {
                continue;
            };
            let mut cells: Vec<Option<String>> = text
                .cells()
                .map(|c| c.map(|b| String::from_utf8_lossy(&b).into_owned()))
                .collect();
            let logical = cells
                .first()
                .and_then(|c| c.as_ref())
                .and_then(|actual| Some((actual.clone(), to_logical.get(actual)?.clone())));
            if let Some((actual, logical)) = logical {
                cells[0] = Some(logical.clone());
                if let Some(Some(ddl)) = cells.get_mut(1) {
                    *ddl = logical_header(ddl, &actual, &logical);
                }
            }
            rows.push(cells);
        }
        Ok(LocalAnswer::Rows { columns, rows })
    }
}

/// `ddl` with the table's own name in its header (before the first `(`)
/// replaced: quoted (`` `t_order_0` ``, SQL_QUOTE_SHOW_CREATE on, the
/// default) or bare.
fn logical_header(ddl: &str, actual: &str, logical: &str) -> String {
    let header_end = ddl.find('(').unwrap_or(ddl.len());
    let (header, body) = ddl.split_at(header_end);
    let quoted = format!("`{actual}`");
    let header = if header.contains(&quoted) {
        header.replacen(&quoted, &format!("`{logical}`"), 1)
    } else {
        header
            .split(' ')
            .map(|w| if w == actual { logical } else { w })
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!("{header}{body}")
}

#[cfg(test)]
mod tests {
    use super::logical_header;

    #[test]
    fn only_the_header_names_the_logical_table() {
        let ddl = "CREATE TABLE `t_order_0` (\n  `t_order_0` int,\n  KEY `by_user` (`user_id`)\n)";
        assert_eq!(
            logical_header(ddl, "t_order_0", "t_order"),
            "CREATE TABLE `t_order` (\n  `t_order_0` int,\n  KEY `by_user` (`user_id`)\n)"
        );
        assert_eq!(
            logical_header(
                "CREATE TABLE t_order_0 (\n  id int\n)",
                "t_order_0",
                "t_order"
            ),
            "CREATE TABLE t_order (\n  id int\n)"
        );
        assert_eq!(
            logical_header("CREATE TABLE `t_order_01` (x int)", "t_order_0", "t_order"),
            "CREATE TABLE `t_order_01` (x int)"
        );
    }
}
