//! `INSERT INTO t VALUES (...)` into a sharding table: the column list the
//! client left out, written in from the table's metadata, so that the key
//! generator and the router see named columns as usual.
//!
//! Which columns the values stand for follows ShardingSphere: when the
//! table has a key generator and each row gives one value fewer than the
//! table has columns, the rows give every column but the key, in order, and
//! the key is generated; otherwise the rows give the leading columns in
//! order (PostgreSQL lets them stop early; MySQL wants every column). A
//! wrong count is refused with the database's own words, as one database
//! would refuse it.

use std::sync::Arc;

use shardwire_rules::snapshot::LogicalDatabase;
use sqlparser::ast::{Ident, ObjectName, ObjectNamePart, SetExpr, Statement, TableObject};

use crate::context::tables::logical_name;
use crate::error::KernelError;
use crate::metadata::{MetadataSource, TableMeta};
use crate::parse::Dialect;

/// The INSERT with its column list written in, when it is an INSERT ...
/// VALUES without one into a sharding table. Broadcast and single tables
/// are left alone: their one database matches values to columns itself.
pub(crate) fn fill_insert_columns(
    statement: &Statement,
    db: &LogicalDatabase,
    dialect: Dialect,
    metadata: Option<&dyn MetadataSource>,
) -> Result<Option<Statement>, KernelError> {
    let Statement::Insert(insert) = statement else {
        return Ok(None);
    };
    if !insert.columns.is_empty() {
        return Ok(None);
    }
    let TableObject::TableName(name) = &insert.table else {
        return Ok(None);
    };
    let logical = logical_name(name);
    let Some(table) = db.sharding.tables.get(logical.as_str()) else {
        return Ok(None);
    };
    let Some(SetExpr::Values(values)) = insert.source.as_ref().map(|q| q.body.as_ref()) else {
        return Ok(None);
    };
    let widths: Vec<usize> = values.rows.iter().map(|r| r.content.len()).collect();
    // `VALUES ()` (MySQL: every column's default) names no value to route by:
    // the router refuses it as before.
    if widths.first().is_none_or(|w| *w == 0) {
        return Ok(None);
    }
    let meta: Arc<TableMeta> =
        metadata
            .and_then(|m| m.table(&logical))
            .ok_or_else(|| KernelError::MetadataNeeded {
                table: logical.clone(),
            })?;
    let key = table.key_generate.as_ref().map(|k| k.column.as_str());
    let names = target_columns(&meta, key, &widths, dialect)?;
    let mut statement = statement.clone();
    if let Statement::Insert(insert) = &mut statement {
        insert.columns = names
            .into_iter()
            .map(|n| ObjectName(vec![ObjectNamePart::Identifier(ident(n, dialect))]))
            .collect();
    }
    Ok(Some(statement))
}

/// The columns rows of `widths` values stand for.
fn target_columns<'m>(
    meta: &'m TableMeta,
    key: Option<&str>,
    widths: &[usize],
    dialect: Dialect,
) -> Result<Vec<&'m str>, KernelError> {
    let n = meta.columns.len();
    let k = widths.first().copied().unwrap_or(0);
    if let Some(row) = widths.iter().position(|w| *w != k) {
        return Err(KernelError::ColumnCount(match dialect {
            Dialect::PostgreSql => "VALUES lists must all be the same length".into(),
            Dialect::MySql => mysql_count_message(row),
        }));
    }
    let all = meta.columns.iter().map(|c| c.name.as_str());
    if let Some(at) = key.and_then(|k| meta.position(k)) {
        if k + 1 == n {
            return Ok(all
                .enumerate()
                .filter(|(i, _)| *i != at)
                .map(|(_, c)| c)
                .collect());
        }
    }
    let fits = match dialect {
        Dialect::PostgreSql => k <= n,
        Dialect::MySql => k == n,
    };
    if !fits {
        return Err(KernelError::ColumnCount(match dialect {
            Dialect::PostgreSql => "INSERT has more expressions than target columns".into(),
            Dialect::MySql => mysql_count_message(0),
        }));
    }
    Ok(all.take(k).collect())
}

fn mysql_count_message(row: usize) -> String {
    format!("Column count doesn't match value count at row {}", row + 1)
}

/// A column name as an identifier the dialect reads back as the same name:
/// bare when it is plain lower-case, quoted otherwise (PostgreSQL would
/// fold a bare `Note` to `note`).
fn ident(name: &str, dialect: Dialect) -> Ident {
    let plain = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain {
        Ident::new(name)
    } else {
        let quote = match dialect {
            Dialect::PostgreSql => '"',
            Dialect::MySql => '`',
        };
        Ident::with_quote(quote, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::ColumnMeta;

    fn meta(names: &[&str]) -> TableMeta {
        TableMeta {
            columns: names
                .iter()
                .map(|n| ColumnMeta {
                    name: (*n).to_owned(),
                    data_type: "integer".into(),
                    nullable: true,
                    primary_key: false,
                })
                .collect(),
        }
    }

    #[test]
    fn a_missing_key_is_the_generated_one_wherever_it_sits() {
        let m = meta(&["id", "user_id", "note"]);
        for dialect in [Dialect::PostgreSql, Dialect::MySql] {
            assert_eq!(
                target_columns(&m, Some("ID"), &[2, 2], dialect).unwrap(),
                ["user_id", "note"]
            );
            assert_eq!(
                target_columns(&m, Some("id"), &[3], dialect).unwrap(),
                ["id", "user_id", "note"]
            );
        }
    }

    #[test]
    fn counts_follow_each_database() {
        let m = meta(&["id", "user_id", "note"]);
        assert_eq!(
            target_columns(&m, None, &[2], Dialect::PostgreSql).unwrap(),
            ["id", "user_id"]
        );
        let e = target_columns(&m, None, &[2], Dialect::MySql).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Column count doesn't match value count at row 1"
        );
        let e = target_columns(&m, None, &[4], Dialect::PostgreSql).unwrap_err();
        assert_eq!(
            e.to_string(),
            "INSERT has more expressions than target columns"
        );
        let e = target_columns(&m, None, &[3, 2], Dialect::MySql).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Column count doesn't match value count at row 2"
        );
        let e = target_columns(&m, None, &[3, 2], Dialect::PostgreSql).unwrap_err();
        assert_eq!(e.to_string(), "VALUES lists must all be the same length");
    }

    #[test]
    fn names_keep_their_case() {
        assert_eq!(ident("note", Dialect::PostgreSql).to_string(), "note");
        assert_eq!(ident("Note", Dialect::PostgreSql).to_string(), "\"Note\"");
        assert_eq!(ident("Note", Dialect::MySql).to_string(), "`Note`");
        assert_eq!(ident("1x", Dialect::MySql).to_string(), "`1x`");
    }
}
