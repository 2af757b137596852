//! Which of some index names exist in a PostgreSQL data source: how the
//! proxy finds the sharding table a DROP INDEX / ALTER INDEX of a logical
//! index name is about (the statement names no table).

use std::collections::HashSet;

use super::pg::too_many;
use super::{MAX_ROWS_PER_QUERY, TABLES_PER_QUERY};
use crate::error::Result;
use crate::pg::{quote_literal, PgConnection};

/// The names among `names` (as stored: already folded) that are indexes,
/// each with the table it is on (a broadcast table's index is told from
/// another table's index of that name by it), in `schema`, or, without one, in the schemas the connection's
/// search_path makes visible (where an unqualified DROP INDEX looks).
pub async fn existing_pg_indexes(
    conn: &mut PgConnection,
    names: &[String],
    schema: Option<&str>,
) -> Result<HashSet<(String, String)>> {
    let mut found = HashSet::new();
    let place = match schema {
        Some(s) => format!("n.nspname = {}", quote_literal(s)),
        None => "pg_catalog.pg_table_is_visible(c.oid)".to_owned(),
    };
    for batch in names.chunks(TABLES_PER_QUERY) {
        let listed: Vec<String> = batch.iter().map(|n| quote_literal(n)).collect();
        let sql = format!(
            "SELECT c.relname, t.relname FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_catalog.pg_index x ON x.indexrelid = c.oid \
             JOIN pg_catalog.pg_class t ON t.oid = x.indrelid \
             WHERE c.relkind IN ('i', 'I') AND {place} AND c.relname IN ({})",
            listed.join(", ")
        );
        let mut query = conn.query(&sql).await?;
        while let Some(row) = query.next_row().await? {
            if found.len() > MAX_ROWS_PER_QUERY {
                return Err(too_many());
            }
            let mut cells = row.columns();
            if let (Some(Some(index)), Some(Some(table))) = (cells.next(), cells.next()) {
                found.insert((
                    String::from_utf8_lossy(&index).into_owned(),
                    String::from_utf8_lossy(&table).into_owned(),
                ));
            }
        }
    }
    Ok(found)
}
