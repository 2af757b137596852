//! The order of a catalog answer after its names became logical. The
//! shard sorted by physical names (`orders_0_pkey` before
//! `orders_by_user_orders_0`); one database would have sorted the logical
//! ones (`orders_by_user` before `orders_pkey`). When the query's ORDER BY
//! reaches a relation-name column, the answer's rows are sorted again:
//! `name` columns compare as PostgreSQL compares them (bytewise, the "C"
//! collation of type `name`), and a key this module cannot compare (text
//! in the database's collation, numbers, OIDs) keeps the shard's order,
//! which is already right for it since only names changed. Queries with
//! LIMIT / OFFSET keep the shard's order: it picked its rows by the
//! physical names, and a sort cannot pick others.

use std::cmp::Ordering;

use shardwire_protocol::pg::{DataRow, RowDescription};
use sqlparser::ast::{Expr, OrderByKind, OrderBySort, SelectItem, SetExpr, Statement, Value};

use super::catalog_rows::ColumnRole;

const NAME_OID: u32 = 19;

/// Rows held to sort one answer; past it the rest keep the shard's order
/// (catalog answers are small: a database of 10,000 tables lists 10,000).
pub const MAX_SORTED_ROWS: usize = 50_000;

#[derive(Debug, Clone)]
enum Target {
    /// `ORDER BY 2`.
    Position(usize),
    /// `ORDER BY name`: an output column's name (folded), else an input
    /// expression.
    Name(String, String),
    /// Any other expression, printed, to find among the select list.
    Expr(String, Option<String>),
}

#[derive(Debug, Clone)]
struct Key {
    target: Target,
    desc: bool,
    nulls_first: bool,
}

/// The ORDER BY of a catalog query, as far as it can be followed.
#[derive(Debug, Clone, Default)]
pub struct OrderKeys {
    keys: Vec<Key>,
    /// The select list, printed: (alias or column name folded, expression).
    projection: Vec<(Option<String>, String)>,
    wildcard: bool,
}

/// One resolved sort key: column, direction, where NULLs go, and whether
/// the proxy can compare its values (a `name` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    column: usize,
    desc: bool,
    nulls_first: bool,
    comparable: bool,
}

impl OrderKeys {
    /// `None` when the statement has no ORDER BY the proxy can follow.
    pub fn of(statement: &Statement) -> Option<OrderKeys> {
        let Statement::Query(query) = statement else {
            return None;
        };
        if query.limit_clause.is_some() || query.fetch.is_some() {
            return None;
        }
        let SetExpr::Select(select) = query.body.as_ref() else {
            return None;
        };
        let OrderByKind::Expressions(list) = &query.order_by.as_ref()?.kind else {
            return None;
        };
        let mut keys = Vec::with_capacity(list.len());
        for item in list {
            let desc = match &item.options.sort {
                None | Some(OrderBySort::Asc) => false,
                Some(OrderBySort::Desc) => true,
                Some(OrderBySort::Using(_)) => return None,
            };
            let target = match &item.expr {
                Expr::Value(v) => match &v.value {
                    Value::Number(n, _) => {
                        Target::Position(n.parse::<usize>().ok()?.checked_sub(1)?)
                    }
                    _ => return None,
                },
                Expr::Identifier(ident) => Target::Name(fold(ident), item.expr.to_string()),
                Expr::CompoundIdentifier(parts) => {
                    Target::Expr(item.expr.to_string(), parts.last().map(fold))
                }
                other => Target::Expr(other.to_string(), None),
            };
            keys.push(Key {
                target,
                desc,
                // PostgreSQL's default: NULLs sort as larger than any value.
                nulls_first: item.options.nulls_first.unwrap_or(desc),
            });
        }
        let mut wildcard = false;
        let projection = select
            .projection
            .iter()
            .map(|item| match item {
                SelectItem::UnnamedExpr(e) => {
                    let name = match e {
                        Expr::Identifier(i) => Some(fold(i)),
                        Expr::CompoundIdentifier(p) => p.last().map(fold),
                        _ => None,
                    };
                    (name, e.to_string())
                }
                SelectItem::ExprWithAlias { expr, alias } => (Some(fold(alias)), expr.to_string()),
                _ => {
                    wildcard = true;
                    (None, String::new())
                }
            })
            .collect();
        Some(OrderKeys {
            keys,
            projection,
            wildcard,
        })
    }

    /// The keys over `description`'s columns, when every key is found and
    /// one of them is a relation name the mapping may have changed.
    pub fn resolve(
        &self,
        description: &RowDescription,
        roles: &[ColumnRole],
    ) -> Option<Vec<SortKey>> {
        let fields = &description.fields;
        let by_output = |name: &str| {
            let mut found = fields.iter().enumerate().filter(|(_, f)| f.name == name);
            match (found.next(), found.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        };
        let by_expr = |text: &str| {
            if self.wildcard {
                return None;
            }
            let mut found = self
                .projection
                .iter()
                .enumerate()
                .filter(|(_, (_, e))| e == text);
            match (found.next(), found.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        };
        let mut out = Vec::with_capacity(self.keys.len());
        for key in &self.keys {
            let column = match &key.target {
                Target::Position(p) => Some(*p),
                Target::Name(name, text) => by_output(name).or_else(|| by_expr(text)),
                // `c.relname` under `SELECT *` is the output column of
                // that name, when only one has it.
                Target::Expr(text, last) => by_expr(text).or_else(|| {
                    last.as_deref()
                        .filter(|_| self.wildcard)
                        .and_then(by_output)
                }),
            }
            .filter(|c| *c < fields.len())?;
            out.push(SortKey {
                column,
                desc: key.desc,
                nulls_first: key.nulls_first,
                // A binary `name` is its text's bytes too.
                comparable: fields.get(column).is_some_and(|f| f.type_oid == NAME_OID),
            });
        }
        let touches_names = out
            .iter()
            .any(|k| k.comparable && roles.get(k.column) == Some(&ColumnRole::Name));
        touches_names.then_some(out)
    }
}

/// Sorts `rows` (each with its place in the shard's answer) by `keys`.
pub fn sort(rows: &mut [(usize, DataRow)], keys: &[SortKey]) {
    let cells: Vec<Vec<Option<bytes::Bytes>>> = rows
        .iter()
        .map(|(_, row)| {
            let all: Vec<Option<bytes::Bytes>> = row.columns().collect();
            keys.iter()
                .map(|k| all.get(k.column).cloned().flatten())
                .collect()
        })
        .collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| compare(&cells[a], &cells[b], rows[a].0, rows[b].0, keys));
    let sorted: Vec<(usize, DataRow)> = order.iter().map(|&i| rows[i].clone()).collect();
    for (slot, row) in rows.iter_mut().zip(sorted) {
        *slot = row;
    }
}

/// Lexicographic over the keys; a key the proxy cannot compare decides by
/// the shard's order, which the shard made by that key (given the earlier
/// keys equal), so the whole stays a total order.
fn compare(
    a: &[Option<bytes::Bytes>],
    b: &[Option<bytes::Bytes>],
    place_a: usize,
    place_b: usize,
    keys: &[SortKey],
) -> Ordering {
    for (i, key) in keys.iter().enumerate() {
        let (x, y) = (a.get(i).cloned().flatten(), b.get(i).cloned().flatten());
        if x == y {
            continue;
        }
        if !key.comparable {
            return place_a.cmp(&place_b);
        }
        let ordering = match (&x, &y) {
            (None, _) => {
                return if key.nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (_, None) => {
                return if key.nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (Some(x), Some(y)) => x.as_ref().cmp(y.as_ref()),
        };
        return if key.desc {
            ordering.reverse()
        } else {
            ordering
        };
    }
    place_a.cmp(&place_b)
}

fn fold(ident: &sqlparser::ast::Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shardwire_protocol::pg::FieldDescription;

    fn field(name: &str, type_oid: u32) -> FieldDescription {
        FieldDescription {
            name: name.into(),
            table_oid: 0,
            column_attr: 0,
            type_oid,
            type_size: -1,
            type_modifier: -1,
            format: 0,
        }
    }

    fn parse(sql: &str) -> Statement {
        shardwire_kernel::parse_one(shardwire_kernel::Dialect::PostgreSql, sql).unwrap()
    }

    fn row(cells: &[&str]) -> DataRow {
        DataRow::from_values(cells.iter().map(|c| Some(c.as_bytes()))).unwrap()
    }

    #[test]
    fn di_sorts_by_logical_index_names() {
        let description = RowDescription {
            fields: vec![
                field("Schema", NAME_OID),
                field("Name", NAME_OID),
                field("Type", 25),
            ],
        };
        let roles = [ColumnRole::Other, ColumnRole::Name, ColumnRole::Other];
        let keys = OrderKeys::of(&parse(
            "SELECT n.nspname AS \"Schema\", c.relname AS \"Name\", 'x' AS \"Type\" \
             FROM pg_class c, pg_namespace n ORDER BY 1, 2",
        ))
        .unwrap()
        .resolve(&description, &roles)
        .unwrap();
        let mut rows = vec![
            (0, row(&["public", "orders_pkey", "index"])),
            (1, row(&["public", "orders_by_user", "index"])),
        ];
        sort(&mut rows, &keys);
        assert_eq!(rows[0].1, row(&["public", "orders_by_user", "index"]));
        // By output name and DESC; an expression of the select list.
        let keys = OrderKeys::of(&parse(
            "SELECT n.nspname AS \"Schema\", c.relname AS \"Name\", 'x' AS \"Type\" \
             FROM pg_class c, pg_namespace n ORDER BY \"Name\" DESC",
        ))
        .unwrap()
        .resolve(&description, &roles)
        .unwrap();
        sort(&mut rows, &keys);
        assert_eq!(rows[0].1, row(&["public", "orders_pkey", "index"]));
        let keys = OrderKeys::of(&parse(
            "SELECT n.nspname, c.relname, 'x' FROM pg_class c, pg_namespace n ORDER BY c.relname",
        ))
        .unwrap();
        assert!(keys.resolve(&description, &roles).is_some());
    }

    #[test]
    fn keys_it_cannot_compare_keep_the_shards_order() {
        let description = RowDescription {
            fields: vec![field("kind", 25), field("name", NAME_OID)],
        };
        let roles = [ColumnRole::Other, ColumnRole::Name];
        let keys = OrderKeys::of(&parse("SELECT a, b FROM pg_class ORDER BY 1, 2"))
            .unwrap()
            .resolve(&description, &roles)
            .unwrap();
        // The shard put "Z" before "a" (its collation): kept.
        let mut rows = vec![
            (0, row(&["Z", "t_b"])),
            (1, row(&["a", "t_a"])),
            (2, row(&["a", "t_0"])),
        ];
        sort(&mut rows, &keys);
        let order: Vec<usize> = rows.iter().map(|(i, _)| *i).collect();
        assert_eq!(order, vec![0, 2, 1]);
        // No ORDER BY over a name column, or a LIMIT: nothing to sort.
        assert!(
            OrderKeys::of(&parse("SELECT a, b FROM pg_class ORDER BY 1"))
                .unwrap()
                .resolve(&description, &roles)
                .is_none()
        );
        assert!(OrderKeys::of(&parse("SELECT a, b FROM pg_class ORDER BY 2 LIMIT 1")).is_none());
    }
}
