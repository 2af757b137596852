//! Columns of actual tables from PostgreSQL's catalog, as the connection's
//! search_path finds them (the same tables its statements reach).

use super::{key, ColumnInfo, TableColumns, MAX_ROWS_PER_QUERY, TABLES_PER_QUERY};
use crate::error::{BackendError, Result};
use crate::pg::{quote_literal, PgConnection};

/// Loads the columns of `tables` (actual names; PostgreSQL folds the
/// unquoted names the rewrite sends to lower case, so they are looked up
/// lower-cased). Absent tables are absent from the answer.
pub async fn load_pg(conn: &mut PgConnection, tables: &[String]) -> Result<TableColumns> {
    let mut out = TableColumns::new();
    for batch in tables.chunks(TABLES_PER_QUERY) {
        let names: Vec<String> = batch.iter().map(|t| quote_literal(&key(t))).collect();
        let sql = format!(
            "SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), \
             a.attnotnull, COALESCE(i.indisprimary, false) \
             FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 \
             AND NOT a.attisdropped \
             LEFT JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND i.indisprimary \
             AND a.attnum = ANY (i.indkey) \
             WHERE c.relkind IN ('r', 'p', 'v', 'f', 'm') \
             AND pg_catalog.pg_table_is_visible(c.oid) AND c.relname IN ({}) \
             ORDER BY c.relname, a.attnum",
            names.join(", ")
        );
        let mut query = conn.query(&sql).await?;
        let mut rows = 0usize;
        while let Some(row) = query.next_row().await? {
            rows += 1;
            if rows > MAX_ROWS_PER_QUERY {
                return Err(too_many());
            }
            let mut cells = row
                .columns()
                .map(|c| c.map(|b| String::from_utf8_lossy(&b).into_owned()));
            let mut next = || cells.next().flatten();
            let (Some(table), Some(name), Some(data_type), Some(not_null), Some(primary)) =
                (next(), next(), next(), next(), next())
            else {
                return Err(BackendError::Unexpected {
                    message: "a catalog row with missing cells".into(),
                    during: "loading table metadata",
                });
            };
            out.entry(key(&table)).or_default().push(ColumnInfo {
                name,
                data_type,
                nullable: not_null != "t",
                primary_key: primary == "t",
            });
        }
    }
    Ok(out)
}

pub(super) fn too_many() -> BackendError {
    BackendError::Unexpected {
        message: format!("more than {MAX_ROWS_PER_QUERY} catalog rows"),
        during: "loading table metadata",
    }
}
