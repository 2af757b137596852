//! Catalog queries on a sharded database. Drivers and GUI tools read
//! pg_catalog and information_schema to list tables and columns; the
//! shards know only actual tables (`t_order_0`, `t_order_1`), the client
//! only logical ones (`t_order`). Such a query runs on one data source
//! (every catalog query of a session on the same one, so the OIDs psql
//! reads in one query and sends back as literals in the next name that
//! data source's tables) with logical names in its string literals turned
//! into that data source's first actual table, and the answer's
//! relation-name cells turned back, rows of the other actual tables of a
//! logical table left out (`catalog_rows`).
use std::ops::ControlFlow;

use super::catalog_order::{OrderKeys, SortKey};
use super::catalog_rows::{ActualNames, ColumnRole, RowFate};

use bytes::Bytes;
use shardwire_protocol::pg::{DataRow, RowDescription};
use shardwire_rules::snapshot::LogicalDatabase;
use sqlparser::ast::{
    visit_expressions_mut, visit_relations, Expr, ObjectName, SetExpr, Statement, TableFactor,
    Value, VisitMut, VisitorMut,
};

/// Logical and actual table names of one data source.
#[derive(Debug, Default)]
pub struct CatalogNames {
    /// Logical name -> the data source's first actual table; and the
    /// logical primary key name -> that table's (`t_order_pkey` ->
    /// `t_order_0_pkey`).
    to_actual: Vec<(String, String)>,
    /// Every actual table on the data source -> its logical name.
    actual: ActualNames,
    /// The data source's physical database, and the logical databases
    /// (sorted) its pg_database row stands for.
    databases: Option<(Bytes, Vec<String>)>,
    /// The query's ORDER BY, to sort the answer again by logical names.
    order: Option<OrderKeys>,
}

impl CatalogNames {
    /// `visible`: the logical databases the session's user may use, for
    /// pg_database, when `statement` reads it (only then: a cell of
    /// another query that happens to equal the physical database's name,
    /// such as an owner named like it, is no database name).
    pub fn new(
        db: &LogicalDatabase,
        data_source: &str,
        visible: Vec<String>,
        statement: &Statement,
    ) -> CatalogNames {
        let mut names = CatalogNames {
            order: OrderKeys::of(statement),
            ..CatalogNames::default()
        };
        if let Some(source) = db
            .data_sources
            .get(data_source)
            .filter(|_| reads_pg_database(statement))
        {
            let mut visible = visible;
            visible.sort();
            names.databases = Some((Bytes::from(source.database.clone().into_bytes()), visible));
        }
        for table in db.sharding.tables.values() {
            let Some(actual) = table.tables_by_data_source.get(data_source) else {
                continue;
            };
            if let Some(first) = actual.first() {
                names
                    .to_actual
                    .push((table.logic_name.clone(), first.clone()));
                names.to_actual.push((
                    format!("{}_pkey", table.logic_name),
                    format!("{first}_pkey"),
                ));
            }
            for (i, a) in actual.iter().enumerate() {
                names.actual.add(a, &table.logic_name, i == 0);
            }
        }
        names
    }

    /// Nothing to rewrite in `statement`: no logical table names, and no
    /// pg_database read.
    pub fn is_empty_for(&self, statement: &Statement) -> bool {
        self.to_actual.is_empty() && !reads_pg_database(statement)
    }

    /// pg_database restricted to the data source's own database, which
    /// [`CatalogNames::map_rows`] answers as each logical database.
    pub fn rewrite_databases(&self, statement: &mut Statement) {
        struct Restrict;
        impl VisitorMut for Restrict {
            type Break = ();
            // Post-visit: the subquery put in place is not visited again.
            fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
                let TableFactor::Table { name, alias, .. } = factor else {
                    return ControlFlow::Continue(());
                };
                if !is_pg_database(name) {
                    return ControlFlow::Continue(());
                }
                // Unaliased, the subquery is called pg_database, so
                // `pg_database.datname` still resolves.
                let alias = alias.clone();
                if let Some(mut derived) = own_database_factor() {
                    if let (TableFactor::Derived { alias: a, .. }, Some(alias)) =
                        (&mut derived, alias)
                    {
                        *a = Some(alias);
                    }
                    *factor = derived;
                }
                ControlFlow::Continue(())
            }
        }
        let _ = statement.visit(&mut Restrict);
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

    /// The parameters the shard gets for `statement`: a logical name bound
    /// where the statement compares it with a relation-name column (or
    /// reads it as a regclass) becomes the representative actual table,
    /// the one the answer maps back (`catalog_lookup`). `None` when no
    /// parameter changes. A text or varchar parameter's binary format is
    /// its UTF-8 text too, so either format is read the same way.
    pub fn map_params(
        &self,
        statement: &Statement,
        params: &[Option<Bytes>],
    ) -> Option<Vec<Option<Bytes>>> {
        let mut mapped: Option<Vec<Option<Bytes>>> = None;
        for n in super::catalog_lookup::relation_name_params(statement) {
            let Some(Some(value)) = n.checked_sub(1).and_then(|i| params.get(i)) else {
                continue;
            };
            let Some(actual) = std::str::from_utf8(value)
                .ok()
                .and_then(|v| super::catalog_lookup::map_name(v, &self.to_actual))
            else {
                continue;
            };
            let out = mapped.get_or_insert_with(|| params.to_vec());
            out[n - 1] = Some(Bytes::from(actual.into_bytes()));
        }
        mapped
    }

    /// How the columns of an answer described by `description` map.
    pub fn roles(&self, description: &RowDescription) -> Vec<ColumnRole> {
        if self.actual.is_empty() {
            return Vec::new();
        }
        super::catalog_rows::roles(description)
    }

    /// The keys to sort the answer by again, when its ORDER BY reaches a
    /// relation-name column (see `catalog_order`).
    pub fn sort_keys(
        &self,
        description: &RowDescription,
        roles: &[ColumnRole],
    ) -> Option<Vec<SortKey>> {
        self.order.as_ref()?.resolve(description, roles)
    }

    /// The rows the client sees for `row`, whose columns play `roles`:
    /// none when it names another actual table of a logical table; else
    /// with relation names in logical words, and a row naming the data
    /// source's database once per logical database, with its name in
    /// place of the physical one. Only the first such cell is the
    /// database's name: pg_database's name column comes before its owner
    /// (psql's `\l` shows both, and an owner may be named like the
    /// database).
    pub fn map_rows(&self, row: DataRow, roles: &[ColumnRole]) -> Vec<DataRow> {
        let row = match self.actual.map_row(&row, roles) {
            RowFate::Keep => row,
            RowFate::Replace(mapped) => mapped,
            RowFate::Drop => return Vec::new(),
        };
        let Some((physical, logical)) = &self.databases else {
            return vec![row];
        };
        if !row.columns().any(|c| c.as_ref() == Some(physical)) {
            return vec![row];
        }
        logical
            .iter()
            .filter_map(|name| {
                let mut replaced = false;
                let cells: Vec<Option<Bytes>> = row
                    .columns()
                    .map(|c| match c {
                        Some(c) if !replaced && c == physical => {
                            replaced = true;
                            Some(Bytes::from(name.clone().into_bytes()))
                        }
                        other => other,
                    })
                    .collect();
                DataRow::from_values(cells.iter().map(|c| c.as_deref())).ok()
            })
            .collect()
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

fn is_pg_database(name: &ObjectName) -> bool {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| p.to_string().to_ascii_lowercase())
        .collect();
    matches!(parts.as_slice(), [t] | [_, t] if t == "pg_database")
        && !matches!(parts.as_slice(), [s, _] if s != "pg_catalog")
}

fn reads_pg_database(statement: &Statement) -> bool {
    let mut found = false;
    let _ = visit_relations(statement, |name| {
        found |= is_pg_database(name);
        ControlFlow::<()>::Continue(())
    });
    found
}

/// `(SELECT * FROM pg_catalog.pg_database WHERE datname = current_database())`
/// as a FROM item.
fn own_database_factor() -> Option<TableFactor> {
    let sql = "SELECT * FROM (SELECT * FROM pg_catalog.pg_database \
               WHERE datname = pg_catalog.current_database()) AS pg_database";
    let Ok(Statement::Query(query)) =
        shardwire_kernel::parse_one(shardwire_kernel::Dialect::PostgreSql, sql)
    else {
        return None;
    };
    let SetExpr::Select(select) = *query.body else {
        return None;
    };
    select.from.into_iter().next().map(|t| t.relation)
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
    fn pg_database_is_the_logical_databases() {
        let parse =
            |sql| shardwire_kernel::parse_one(shardwire_kernel::Dialect::PostgreSql, sql).unwrap();
        let names = CatalogNames {
            databases: Some((
                Bytes::from_static(b"shard_0"),
                vec!["a_db".into(), "b_db".into()],
            )),
            ..CatalogNames::default()
        };
        let mut q = parse("SELECT d.datname FROM pg_catalog.pg_database d ORDER BY 1");
        assert!(!names.is_empty_for(&q));
        names.rewrite_databases(&mut q);
        assert_eq!(
            q.to_string(),
            "SELECT d.datname FROM (SELECT * FROM pg_catalog.pg_database WHERE datname = \
             pg_catalog.current_database()) d ORDER BY 1"
        );
        let mut q = parse("SELECT datname FROM pg_database");
        names.rewrite_databases(&mut q);
        assert!(q.to_string().ends_with(") AS pg_database"), "{q}");
        let row = |cells: &[Option<&[u8]>]| DataRow::from_values(cells.iter().copied()).unwrap();
        let out = names.map_rows(row(&[Some(b"shard_0"), Some(b"UTF8")]), &[]);
        let firsts: Vec<_> = out
            .iter()
            .map(|r| r.columns().next().unwrap().unwrap())
            .collect();
        assert_eq!(firsts, vec![Bytes::from("a_db"), Bytes::from("b_db")]);
        // A row that names no database (a count) is answered once.
        assert_eq!(names.map_rows(row(&[Some(b"1")]), &[]).len(), 1);
        // An owner named like the database keeps its name.
        let out = names.map_rows(row(&[Some(b"shard_0"), Some(b"shard_0")]), &[]);
        let owners: Vec<_> = out
            .iter()
            .map(|r| r.columns().nth(1).unwrap().unwrap())
            .collect();
        assert_eq!(owners, vec![Bytes::from("shard_0"), Bytes::from("shard_0")]);
        assert!(CatalogNames::default().is_empty_for(&parse("SELECT 1 FROM pg_class")));
        assert!(!CatalogNames::default().is_empty_for(&parse("SELECT 1 FROM pg_database")));
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
