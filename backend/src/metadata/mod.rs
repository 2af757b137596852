//! Table metadata read from the data sources' catalogs: the columns of
//! actual tables (name, type, order, nullability, primary key), one catalog
//! query per batch of tables on one connection, and the check that the
//! actual tables of one logical table agree.
//!
//! # Layout
//! - `pg`: the PostgreSQL loader (pg_catalog).
//! - `mysql`: the MySQL / MariaDB loader (information_schema).
//! - `pg_indexes`: which index names exist in a PostgreSQL data source.
//! - [`reconcile`]: one column list out of many actual tables', naming
//!   the ones that differ.

mod mysql;
mod pg;
mod pg_indexes;

use std::collections::HashMap;

pub use mysql::load_mysql;
pub use pg::load_pg;
pub use pg_indexes::existing_pg_indexes;

/// Actual tables named in one catalog query: keeps each query's text and
/// answer small however many tables a data source holds (10,000 actual
/// tables take 20 queries per data source of 5,000).
pub const TABLES_PER_QUERY: usize = 250;

/// Rows one catalog answer may have: a batch of tables with PostgreSQL's
/// maximum of 1,600 columns each would be 400,000 rows; past this the load
/// fails instead of holding them.
pub const MAX_ROWS_PER_QUERY: usize = 100_000;

/// One column of an actual table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    /// The catalog's type name: PostgreSQL's `format_type`, MySQL's
    /// `COLUMN_TYPE`.
    pub data_type: String,
    pub nullable: bool,
    pub primary_key: bool,
}

/// Actual table (lower-cased) -> its columns in order. A table the
/// catalog does not have is absent.
pub type TableColumns = HashMap<String, Vec<ColumnInfo>>;

/// What one data node said about its actual table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeColumns {
    Columns(Vec<ColumnInfo>),
    /// The data source answered and has no such table.
    Missing,
    /// The data source could not be asked (down, refused): why.
    Unreachable(String),
}

/// The outcome of comparing the actual tables of one logical table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciled {
    /// The columns most actual tables have (on a tie, those of the first
    /// node that has them); `None` when no node has the table.
    pub columns: Option<Vec<ColumnInfo>>,
    /// Nodes (`data_source.table`) that have other columns or lack the
    /// table, with what is odd about them.
    pub odd: Vec<(String, String)>,
    /// Nodes that could not be asked.
    pub unreachable: Vec<(String, String)>,
}

/// Compares the nodes' columns. `nodes`: (`data_source.table`, what it
/// said), in data node order.
pub fn reconcile(nodes: &[(String, NodeColumns)]) -> Reconciled {
    // Distinct column lists, each with its count and first node; a handful
    // at most, so a linear search beats hashing the lists.
    let mut variants: Vec<(&Vec<ColumnInfo>, usize)> = Vec::new();
    for (_, said) in nodes {
        if let NodeColumns::Columns(columns) = said {
            match variants.iter_mut().find(|(v, _)| *v == columns) {
                Some((_, count)) => *count += 1,
                None => variants.push((columns, 1)),
            }
        }
    }
    let best = variants
        .iter()
        .enumerate()
        // max_by_key keeps the last of equals: reverse the index to keep the first.
        .max_by_key(|(i, (_, count))| (*count, usize::MAX - i))
        .map(|(_, (columns, _))| *columns);
    let mut odd = Vec::new();
    let mut unreachable = Vec::new();
    for (node, said) in nodes {
        match said {
            NodeColumns::Columns(columns) if Some(columns) == best => {}
            NodeColumns::Columns(columns) => {
                odd.push((node.clone(), describe_difference(best, columns)))
            }
            NodeColumns::Missing => odd.push((node.clone(), "the table does not exist".to_owned())),
            NodeColumns::Unreachable(why) => unreachable.push((node.clone(), why.clone())),
        }
    }
    Reconciled {
        columns: best.cloned(),
        odd,
        unreachable,
    }
}

fn describe_difference(expected: Option<&Vec<ColumnInfo>>, found: &[ColumnInfo]) -> String {
    let names = |c: &[ColumnInfo]| {
        c.iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match expected {
        Some(e) if e.len() != found.len() || e.iter().zip(found).any(|(a, b)| a.name != b.name) => {
            format!(
                "columns ({}) where the others have ({})",
                names(found),
                names(e)
            )
        }
        _ => "the same column names with other types, nullability or primary key".to_owned(),
    }
}

/// `name` lower-cased, as catalog answers are keyed.
pub(crate) fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, ty: &str) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            data_type: ty.into(),
            nullable: true,
            primary_key: false,
        }
    }

    #[test]
    fn the_majority_wins_and_the_odd_node_is_named() {
        let good = vec![col("id", "integer"), col("note", "text")];
        let nodes = vec![
            (
                "ds_0.t_0".to_owned(),
                NodeColumns::Columns(vec![col("id", "integer")]),
            ),
            ("ds_0.t_1".to_owned(), NodeColumns::Columns(good.clone())),
            ("ds_1.t_0".to_owned(), NodeColumns::Columns(good.clone())),
            ("ds_1.t_1".to_owned(), NodeColumns::Missing),
            (
                "ds_2.t_0".to_owned(),
                NodeColumns::Unreachable("refused".into()),
            ),
        ];
        let r = reconcile(&nodes);
        assert_eq!(r.columns, Some(good));
        assert_eq!(
            r.odd,
            vec![
                (
                    "ds_0.t_0".to_owned(),
                    "columns (id) where the others have (id, note)".to_owned()
                ),
                ("ds_1.t_1".to_owned(), "the table does not exist".to_owned()),
            ]
        );
        assert_eq!(
            r.unreachable,
            vec![("ds_2.t_0".to_owned(), "refused".to_owned())]
        );
    }

    #[test]
    fn a_tie_keeps_the_first_and_types_count() {
        let a = vec![col("id", "integer")];
        let b = vec![col("id", "bigint")];
        let r = reconcile(&[
            ("x".to_owned(), NodeColumns::Columns(a.clone())),
            ("y".to_owned(), NodeColumns::Columns(b)),
        ]);
        assert_eq!(r.columns, Some(a));
        assert_eq!(r.odd.len(), 1);
        assert!(r.odd[0].1.contains("other types"), "{:?}", r.odd);
    }

    #[test]
    fn nothing_loaded_is_no_columns() {
        let r = reconcile(&[("x".to_owned(), NodeColumns::Missing)]);
        assert_eq!(r.columns, None);
        assert_eq!(r.odd.len(), 1);
    }
}
