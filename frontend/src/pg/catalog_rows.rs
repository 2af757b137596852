//! The rows of a catalog answer in logical names. A catalog query runs on
//! one data source, where a logical table is several actual tables
//! (`orders_0`, `orders_1`) with their derived names (`orders_0_pkey`,
//! the proxy's `orders_by_user_orders_0`). The client sees each logical
//! table once: a row naming the data source's first actual table of a
//! logical table (its representative, the one logical names in the
//! query's literals were turned into) gets the logical names, and a row
//! naming any other actual table of it is dropped.
//!
//! Only cells that are relation names change, so no other value does:
//! `name` columns read from `pg_class.relname` or `pg_constraint.conname`
//! (the RowDescription says where a column comes from, through subqueries
//! too), `name` columns of views and expressions whose column name says
//! they hold a table, index or constraint name (information_schema,
//! pg_indexes), `regclass` text, and the definitions psql and IDEs show
//! (`pg_get_indexdef`, `pg_get_constraintdef`), word by word. Attribute,
//! schema, type and role names are never touched.

use std::collections::HashMap;

use bytes::Bytes;
use shardwire_kernel::index_names::logical_index_name;
use shardwire_protocol::pg::{DataRow, RowDescription};

const NAME_OID: u32 = 19;
const TEXT_OID: u32 = 25;
const REGCLASS_OID: u32 = 2205;
const PG_CLASS_OID: u32 = 1259;
const PG_CONSTRAINT_OID: u32 = 2606;
/// Attribute number of `relname` in pg_class and of `conname` in
/// pg_constraint (both second, after `oid`).
const NAME_ATTNUM: i16 = 2;
/// Objects below it were made by initdb's bootstrap: the system catalog
/// tables, whose other name columns are never relation names. Views
/// (information_schema, pg_indexes) come after it.
const FIRST_NON_BOOTSTRAP_OID: u32 = 10_000;

/// Column names of views and expressions that hold relation names.
const NAME_COLUMNS: &[&str] = &[
    "table_name",
    "index_name",
    "constraint_name",
    "sequence_name",
    "relname",
    "tablename",
    "indexname",
    "conname",
    "pk_name",
    "fk_name",
    "pktable_name",
    "fktable_name",
    "name",
    "table",
];

/// Text columns holding SQL definitions that name tables and indexes.
const DEFINITION_COLUMNS: &[&str] = &["pg_get_indexdef", "pg_get_constraintdef", "indexdef"];

/// The endings PostgreSQL gives the names it derives from a table's
/// (`orders_0_pkey`, `orders_0_user_id_idx`, `orders_0_order_id_seq`).
const DERIVED_ENDINGS: &[&str] = &["_pkey", "_key", "_idx", "_seq", "_fkey", "_check", "_excl"];

/// What a column of a catalog answer holds, for the mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnRole {
    Other,
    /// A relation name, whole.
    Name,
    /// `regclass` text: a relation name, maybe schema-qualified.
    Regclass,
    /// SQL text naming relations among other words.
    Definition,
}

/// The role of each column of `description`.
pub fn roles(description: &RowDescription) -> Vec<ColumnRole> {
    description
        .fields
        .iter()
        .map(|f| {
            let column = f.name.to_ascii_lowercase();
            match f.type_oid {
                NAME_OID => {
                    let from_catalog_name = matches!(f.table_oid, PG_CLASS_OID | PG_CONSTRAINT_OID)
                        && f.column_attr == NAME_ATTNUM;
                    let named = (f.table_oid == 0 || f.table_oid >= FIRST_NON_BOOTSTRAP_OID)
                        && NAME_COLUMNS.contains(&column.as_str());
                    if from_catalog_name || named {
                        ColumnRole::Name
                    } else {
                        ColumnRole::Other
                    }
                }
                // Binary regclass is an OID, which stays what it is.
                REGCLASS_OID if f.format == 0 => ColumnRole::Regclass,
                TEXT_OID if f.format == 0 && DEFINITION_COLUMNS.contains(&column.as_str()) => {
                    ColumnRole::Definition
                }
                _ => ColumnRole::Other,
            }
        })
        .collect()
}

/// What becomes of one row.
#[derive(Debug, PartialEq, Eq)]
pub enum RowFate {
    Keep,
    Replace(DataRow),
    /// It names another actual table of a logical table already shown.
    Drop,
}

/// The actual tables of one data source and their logical tables.
#[derive(Debug, Default)]
pub struct ActualNames {
    /// Actual table -> (logical table, whether it is the representative).
    tables: HashMap<String, (String, bool)>,
}

impl ActualNames {
    pub fn add(&mut self, actual: &str, logical: &str, representative: bool) {
        self.tables
            .insert(actual.to_owned(), (logical.to_owned(), representative));
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// `name` in logical words, and whether it belongs to a
    /// representative; `None` when it is no actual table's name.
    fn map_name(&self, name: &str) -> Option<(String, bool)> {
        if let Some((logical, rep)) = self.tables.get(name) {
            return Some((logical.clone(), *rep));
        }
        // `<actual>_<rest>` with an ending PostgreSQL derives, the longest
        // actual table first (`t_order_item_0_pkey` is not `t_order`'s);
        // else the proxy's `<index>_<actual>`. Looked up at each `_`, so a
        // data source of 10,000 actual tables costs no more per cell.
        let derived = DERIVED_ENDINGS.iter().any(|e| name.ends_with(e));
        let cuts: Vec<usize> = name.match_indices('_').map(|(i, _)| i).collect();
        if derived {
            for &at in cuts.iter().rev() {
                if let Some((logical, rep)) = self.tables.get(&name[..at]) {
                    return Some((format!("{logical}{}", &name[at..]), *rep));
                }
            }
        }
        for &at in &cuts {
            let actual = &name[at + 1..];
            if let Some((_, rep)) = self.tables.get(actual) {
                let index = logical_index_name(name, actual)?;
                return Some((index.to_owned(), *rep));
            }
        }
        None
    }

    /// The fate of `row`, whose columns play `roles`.
    pub fn map_row(&self, row: &DataRow, roles: &[ColumnRole]) -> RowFate {
        if self.tables.is_empty() || roles.iter().all(|r| *r == ColumnRole::Other) {
            return RowFate::Keep;
        }
        let mut changed = false;
        let mut cells: Vec<Option<Bytes>> = Vec::with_capacity(roles.len());
        for (i, cell) in row.columns().enumerate() {
            let role = roles.get(i).copied().unwrap_or(ColumnRole::Other);
            let Some(bytes) = cell else {
                cells.push(None);
                continue;
            };
            let Ok(text) = std::str::from_utf8(&bytes) else {
                cells.push(Some(bytes));
                continue;
            };
            let mapped = match role {
                ColumnRole::Other => None,
                ColumnRole::Name => match self.map_name(text) {
                    Some((_, false)) => return RowFate::Drop,
                    Some((name, true)) => Some(name),
                    None => None,
                },
                ColumnRole::Regclass => {
                    let (schema, relation) = match text.rsplit_once('.') {
                        Some((s, r)) => (Some(s), r),
                        None => (None, text),
                    };
                    match self.map_name(relation) {
                        Some((_, false)) => return RowFate::Drop,
                        Some((name, true)) => Some(match schema {
                            Some(s) => format!("{s}.{name}"),
                            None => name,
                        }),
                        None => None,
                    }
                }
                ColumnRole::Definition => {
                    let words = map_words(text, |w| self.map_name(w).map(|(n, _)| n));
                    (words != text).then_some(words)
                }
            };
            match mapped {
                Some(m) => {
                    changed = true;
                    cells.push(Some(Bytes::from(m.into_bytes())));
                }
                None => cells.push(Some(bytes)),
            }
        }
        if !changed {
            return RowFate::Keep;
        }
        match DataRow::from_values(cells.iter().map(|c| c.as_deref())) {
            Ok(row) => RowFate::Replace(row),
            Err(_) => RowFate::Keep,
        }
    }
}

/// `text` with each word (letters, digits, `_`) that `map` knows replaced.
fn map_words(text: &str, map: impl Fn(&str) -> Option<String>) -> String {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut start = None;
    let flush = |out: &mut String, word: &str| match map(word) {
        Some(m) => out.push_str(&m),
        None => out.push_str(word),
    };
    for (i, c) in text.char_indices() {
        match (is_word(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                flush(&mut out, &text[s..i]);
                start = None;
                out.push(c);
            }
            (false, None) => out.push(c),
            (true, Some(_)) => {}
        }
    }
    if let Some(s) = start {
        flush(&mut out, &text[s..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use shardwire_protocol::pg::FieldDescription;

    fn names() -> ActualNames {
        let mut n = ActualNames::default();
        n.add("orders_0", "orders", true);
        n.add("orders_1", "orders", false);
        n.add("orders_item_0", "orders_item", true);
        n
    }

    fn field(name: &str, type_oid: u32, table_oid: u32, column_attr: i16) -> FieldDescription {
        FieldDescription {
            name: name.into(),
            table_oid,
            column_attr,
            type_oid,
            type_size: -1,
            type_modifier: -1,
            format: 0,
        }
    }

    fn row(cells: &[&str]) -> DataRow {
        DataRow::from_values(cells.iter().map(|c| Some(c.as_bytes()))).unwrap()
    }

    #[test]
    fn names_map_to_logical_ones() {
        let n = names();
        let m = |s: &str| n.map_name(s);
        assert_eq!(m("orders_0"), Some(("orders".into(), true)));
        assert_eq!(m("orders_1"), Some(("orders".into(), false)));
        assert_eq!(m("orders_0_pkey"), Some(("orders_pkey".into(), true)));
        assert_eq!(
            m("orders_0_user_id_idx"),
            Some(("orders_user_id_idx".into(), true))
        );
        assert_eq!(
            m("orders_by_user_orders_0"),
            Some(("orders_by_user".into(), true))
        );
        assert_eq!(
            m("orders_item_0_pkey"),
            Some(("orders_item_pkey".into(), true))
        );
        assert_eq!(m("orders_10"), None);
        assert_eq!(m("orders_0_archive"), None);
        assert_eq!(m("customers"), None);
    }

    #[test]
    fn only_relation_name_columns_change_and_other_actual_tables_go() {
        let description = RowDescription {
            fields: vec![
                field("table_name", NAME_OID, PG_CLASS_OID, 2),
                field("attname", NAME_OID, 1249, 2),
                field("pk_name", NAME_OID, PG_CLASS_OID, 2),
                field("note", TEXT_OID, 0, 0),
                field("pg_get_indexdef", TEXT_OID, 0, 0),
            ],
        };
        let roles = roles(&description);
        let n = names();
        let fate = n.map_row(
            &row(&[
                "orders_0",
                "orders_0",
                "orders_0_pkey",
                "orders_0",
                "CREATE UNIQUE INDEX orders_0_pkey ON public.orders_0 USING btree (order_id)",
            ]),
            &roles,
        );
        assert_eq!(
            fate,
            RowFate::Replace(row(&[
                "orders",
                "orders_0",
                "orders_pkey",
                "orders_0",
                "CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (order_id)",
            ]))
        );
        assert_eq!(
            n.map_row(&row(&["orders_1", "a", "orders_1_pkey", "", ""]), &roles),
            RowFate::Drop
        );
        assert_eq!(
            n.map_row(&row(&["customers", "orders_0", "x", "", ""]), &roles),
            RowFate::Keep
        );
    }

    #[test]
    fn view_columns_by_name_and_regclass() {
        let description = RowDescription {
            fields: vec![
                field("table_schema", NAME_OID, 13_000, 2),
                field("table_name", NAME_OID, 13_000, 3),
                field("regclass", REGCLASS_OID, 0, 0),
                field("typname", NAME_OID, 1247, 2),
            ],
        };
        let roles = roles(&description);
        assert_eq!(
            roles,
            vec![
                ColumnRole::Other,
                ColumnRole::Name,
                ColumnRole::Regclass,
                ColumnRole::Other
            ]
        );
        assert_eq!(
            names().map_row(
                &row(&["orders_0", "orders_0", "public.orders_0", "orders_0"]),
                &roles
            ),
            RowFate::Replace(row(&["orders_0", "orders", "public.orders", "orders_0"]))
        );
    }
}
