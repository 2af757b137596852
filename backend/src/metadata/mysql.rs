//! Columns of actual tables from MySQL / MariaDB's information_schema, in
//! the connection's current database.

use super::{key, ColumnInfo, TableColumns, MAX_ROWS_PER_QUERY, TABLES_PER_QUERY};
use crate::error::{BackendError, Result};
use crate::mysql::{MySqlConnection, MySqlEvent};

/// Loads the columns of `tables` (actual names as the rules spell them:
/// MySQL table names may be case-sensitive). Absent tables are absent
/// from the answer; present ones are keyed lower-cased.
pub async fn load_mysql(conn: &mut MySqlConnection, tables: &[String]) -> Result<TableColumns> {
    let mut out = TableColumns::new();
    for batch in tables.chunks(TABLES_PER_QUERY) {
        let names: Vec<String> = batch.iter().map(|t| literal(t)).collect();
        let sql = format!(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY \
             FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ({}) \
             ORDER BY TABLE_NAME, ORDINAL_POSITION",
            names.join(", ")
        );
        let mut query = conn.query(&sql).await?;
        let mut rows = 0usize;
        while let Some(event) = query.next_event().await? {
            let MySqlEvent::Row(row) = event else {
                continue;
            };
            rows += 1;
            if rows > MAX_ROWS_PER_QUERY {
                return Err(super::pg::too_many());
            }
            let text = row.as_text().ok_or_else(|| unexpected("a binary row"))?;
            let cell = |i: usize| {
                text.cell(i)
                    .flatten()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
            };
            let (Some(table), Some(name), Some(data_type), Some(nullable)) =
                (cell(0), cell(1), cell(2), cell(3))
            else {
                return Err(unexpected("a catalog row with missing cells"));
            };
            out.entry(key(&table)).or_default().push(ColumnInfo {
                name,
                data_type,
                nullable: nullable.eq_ignore_ascii_case("YES"),
                primary_key: cell(4).is_some_and(|k| k == "PRI"),
            });
        }
    }
    Ok(out)
}

fn unexpected(message: &str) -> BackendError {
    BackendError::Unexpected {
        message: message.to_owned(),
        during: "loading table metadata",
    }
}

/// `value` as a MySQL string literal: quotes doubled, backslashes escaped
/// (under NO_BACKSLASH_ESCAPES a name with a backslash would then not be
/// found, and its table would read as missing: never silently another).
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}
