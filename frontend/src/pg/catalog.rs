//! Catalog queries on a sharded database. Drivers and GUI tools read
//! pg_catalog and information_schema to list tables and columns; the
//! shards know only actual tables (`t_order_0`, `t_order_1`), the client
//! only logical ones (`t_order`). Such a query runs on one data source
//! with logical names in its string literals turned into that data
//! source's first actual table, and the answer's cells turned back, rows
//! that became identical shown once.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use bytes::Bytes;
use shardwire_protocol::pg::DataRow;
use shardwire_rules::snapshot::LogicalDatabase;
use sqlparser::ast::{visit_expressions_mut, visit_relations, Expr, Statement, Value};

/// Logical and actual table names of one data source.
#[derive(Debug, Default)]
pub struct CatalogNames {
    /// Logical name -> the data source's first actual table.
    to_actual: Vec<(String, String)>,
    /// Every actual table on the data source -> its logical name.
    to_logical: HashMap<Vec<u8>, String>,
}

impl CatalogNames {
    pub fn new(db: &LogicalDatabase, data_source: &str) -> CatalogNames {
        let mut names = CatalogNames::default();
        for table in db.sharding.tables.values() {
            let Some(actual) = table.tables_by_data_source.get(data_source) else {
                continue;
            };
            if let Some(first) = actual.first() {
                names
                    .to_actual
                    .push((table.logic_name.clone(), first.clone()));
            }
            for a in actual {
                names
                    .to_logical
                    .insert(a.as_bytes().to_vec(), table.logic_name.clone());
            }
        }
        names
    }

    pub fn is_empty(&self) -> bool {
        self.to_actual.is_empty()
    }

    /// Turns logical table names in string literals (whole words, so
    /// `'^(t_order)$'` regexes work too) into actual ones.
    pub fn rewrite_literals(&self, statement: &mut Statement) {
        let _ = visit_expressions_mut(statement, |expr| {
            if let Expr::Value(v) = expr {
                if let Value::SingleQuotedString(s) = &mut v.value {
                    for (logical, actual) in &self.to_actual {
                        *s = replace_word(s, logical, actual);
                    }
                }
            }
            ControlFlow::<()>::Continue(())
        });
    }

    /// A result row with actual table names turned into logical ones;
    /// `None` when nothing changed.
    pub fn map_row(&self, row: &DataRow) -> Option<DataRow> {
        let mut changed = false;
        let cells: Vec<Option<Bytes>> = row
            .columns()
            .map(|cell| match cell {
                Some(c) => match self.to_logical.get(c.as_ref()) {
                    Some(logical) => {
                        changed = true;
                        Some(Bytes::from(logical.clone().into_bytes()))
                    }
                    None => Some(c),
                },
                None => None,
            })
            .collect();
        if !changed {
            return None;
        }
        DataRow::from_values(cells.iter().map(|c| c.as_deref())).ok()
    }
}

/// Rows already sent, so a logical table listed once per actual table
/// is listed once.
#[derive(Debug, Default)]
pub struct Dedup {
    seen: HashSet<Bytes>,
}

impl Dedup {
    /// True the first time a row body is seen.
    pub fn first(&mut self, row: &DataRow) -> bool {
        self.seen.insert(row.body().clone())
    }
}

/// True when every relation the statement reads is a catalog relation
/// (and it reads at least one).
pub fn is_catalog_query(statement: &Statement) -> bool {
    let mut any = false;
    let mut all = true;
    let _ = visit_relations(statement, |name| {
        any = true;
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|p| p.to_string().to_ascii_lowercase())
            .collect();
        let catalog = match parts.as_slice() {
            [schema, _] => schema == "pg_catalog" || schema == "information_schema",
            [table] => table.starts_with("pg_"),
            _ => false,
        };
        all &= catalog;
        ControlFlow::<()>::Continue(())
    });
    any && all
}

fn replace_word(text: &str, word: &str, with: &str) -> String {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(word) {
        let before_ok = rest[..pos].chars().next_back().is_none_or(|c| !is_word(c));
        let after = &rest[pos + word.len()..];
        let after_ok = after.chars().next().is_none_or(|c| !is_word(c));
        out.push_str(&rest[..pos]);
        out.push_str(if before_ok && after_ok { with } else { word });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_words_only() {
        assert_eq!(
            replace_word("^(t_order)$", "t_order", "t_order_0"),
            "^(t_order_0)$"
        );
        assert_eq!(
            replace_word("t_order_item", "t_order", "t_order_0"),
            "t_order_item"
        );
        assert_eq!(replace_word("t_order", "t_order", "t_order_0"), "t_order_0");
    }

    #[test]
    fn recognises_catalog_queries() {
        let parse =
            |sql| shardwire_kernel::parse_one(shardwire_kernel::Dialect::PostgreSql, sql).unwrap();
        assert!(is_catalog_query(&parse(
            "SELECT relname FROM pg_catalog.pg_class"
        )));
        assert!(is_catalog_query(&parse(
            "SELECT * FROM information_schema.tables t JOIN pg_namespace n ON true"
        )));
        assert!(!is_catalog_query(&parse(
            "SELECT * FROM t_order JOIN pg_class ON true"
        )));
        assert!(!is_catalog_query(&parse("SELECT 1")));
    }
}
