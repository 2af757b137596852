//! What the router needs to know about a statement, read off its AST once:
//! its kind, the logical tables it names, the conditions on columns in its
//! WHERE, and for INSERT the values of every row.
//!
//! The context is independent of the rules: it records conditions on every
//! column, and the router picks those on sharding columns. Anything it
//! cannot analyse becomes [`Condition::True`] (no restriction), so a route
//! may be too wide but never too narrow.

mod condition;
pub(crate) mod tables;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use sqlparser::ast::{
    AssignmentTarget, Expr, FromTable, Join, JoinConstraint, JoinOperator, ObjectType, SetExpr,
    Statement, TableFactor, TableObject, UpdateTableFromKind,
};

pub use condition::{ColumnRef, Condition, Operand};

use condition::ConditionReader;
use tables::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    Select,
    Insert,
    Update,
    Delete,
    Ddl,
    Other,
}

impl StatementKind {
    /// Statements that change data or schema: on broadcast tables they must
    /// reach every data source.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            StatementKind::Insert
                | StatementKind::Update
                | StatementKind::Delete
                | StatementKind::Ddl
        )
    }
}

/// The rows of `INSERT ... VALUES`: for each row, the value of each listed
/// column when it is a literal or a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertValues {
    /// Lower-cased column names, in the column list's order.
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<Operand>>>,
}

impl InsertValues {
    /// The operand of `column` in `row`, if the row gives it analysably.
    pub fn value(&self, row: usize, column: &str) -> Option<&Operand> {
        let index = self
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(column))?;
        self.rows.get(row)?.get(index)?.as_ref()
    }
}

/// The shape of an INSERT's source.
#[derive(Debug, Clone, PartialEq)]
pub enum InsertSource {
    /// `VALUES (...), (...)` with a column list.
    Values(InsertValues),
    /// `VALUES` without a column list: the values cannot be matched to
    /// columns without the table's metadata.
    NoColumnList,
    /// `INSERT ... SELECT`, `INSERT ... SET`, or another source.
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatementContext {
    pub kind: StatementKind,
    /// Lower-cased logical table names, distinct, in order of appearance,
    /// anywhere in the statement (subqueries included, CTE names excluded).
    pub tables: Vec<String>,
    /// How many times each table is referenced: a table named twice (self
    /// join, subquery) cannot use the outer WHERE for its route.
    pub table_refs: BTreeMap<String, usize>,
    /// Tables of the outermost FROM (or UPDATE / DELETE target): the ones
    /// unqualified WHERE columns belong to.
    pub scope: BTreeSet<String>,
    /// The outermost WHERE, as far as it can be analysed.
    pub condition: Condition,
    /// INSERT only: the target table and its rows.
    pub insert: Option<(String, InsertSource)>,
    /// UPDATE / DELETE: the tables written, when they can be told; `None`
    /// when a target could not be resolved (then any table may be written).
    pub write_targets: Option<Vec<String>>,
    /// UPDATE: each column SET assigns (lower-cased, without qualifier) and
    /// its new value when it is a literal or placeholder.
    pub assignments: Vec<(String, Option<Operand>)>,
}

impl StatementContext {
    pub fn new(statement: &Statement) -> Self {
        let found = tables::collect(statement);
        let placeholders = condition::placeholder_order(statement);
        let mut context = StatementContext {
            kind: StatementKind::Other,
            tables: found.tables,
            table_refs: found.refs,
            scope: BTreeSet::new(),
            condition: Condition::True,
            insert: None,
            write_targets: None,
            assignments: Vec::new(),
        };
        let mut scope = Scope::default();
        let mut selection: Option<&Expr> = None;
        // ON conditions of inner joins: they filter the joined rows exactly
        // as WHERE does, so they bound the route as WHERE does.
        let mut join_conditions: Vec<&Expr> = Vec::new();
        match statement {
            Statement::Query(query) => {
                context.kind = StatementKind::Select;
                // Only a plain SELECT's WHERE is read: a UNION's branches
                // each have their own, and none of them bounds the others.
                if let SetExpr::Select(select) = query.body.as_ref() {
                    for from in &select.from {
                        scope.add_table_with_joins(from);
                        join_conditions.extend(from.joins.iter().filter_map(inner_join_on));
                    }
                    selection = select.selection.as_ref();
                }
            }
            Statement::Insert(insert) => {
                context.kind = StatementKind::Insert;
                if let TableObject::TableName(name) = &insert.table {
                    let reader = ConditionReader::new(&scope, &placeholders);
                    let source = insert_source(insert, &reader);
                    context.insert = Some((tables::logical_name(name), source));
                }
            }
            Statement::Update(update) => {
                context.kind = StatementKind::Update;
                scope.add_table_with_joins(&update.table);
                if let TableFactor::Table { name, .. } = &update.table.relation {
                    context.write_targets = Some(vec![tables::logical_name(name)]);
                }
                if let Some(
                    UpdateTableFromKind::BeforeSet(from) | UpdateTableFromKind::AfterSet(from),
                ) = &update.from
                {
                    for t in from {
                        scope.add_table_with_joins(t);
                    }
                }
                selection = update.selection.as_ref();
                let reader = ConditionReader::new(&scope, &placeholders);
                context.assignments = update
                    .assignments
                    .iter()
                    .flat_map(|a| match &a.target {
                        AssignmentTarget::ColumnName(name) => {
                            vec![(tables::logical_name(name), reader.operand(&a.value))]
                        }
                        AssignmentTarget::Tuple(names) => names
                            .iter()
                            .map(|n| (tables::logical_name(n), None))
                            .collect(),
                    })
                    .collect();
            }
            Statement::Delete(delete) => {
                context.kind = StatementKind::Delete;
                let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) =
                    &delete.from;
                for t in from.iter().chain(delete.using.iter().flatten()) {
                    scope.add_table_with_joins(t);
                }
                selection = delete.selection.as_ref();
                // MySQL's `DELETE a, b FROM ...` names its targets, often by
                // alias; otherwise the FROM's first table is the target.
                let targets: Option<Vec<String>> = if delete.tables.is_empty() {
                    match from.first().map(|t| &t.relation) {
                        Some(TableFactor::Table { name, .. }) => {
                            Some(vec![tables::logical_name(name)])
                        }
                        _ => None,
                    }
                } else {
                    delete
                        .tables
                        .iter()
                        .map(|n| scope.resolve(&tables::logical_name(n)).map(str::to_owned))
                        .collect()
                };
                context.write_targets = targets;
            }
            Statement::CreateTable(_)
            | Statement::AlterTable(_)
            | Statement::CreateIndex(_)
            | Statement::Truncate(_) => context.kind = StatementKind::Ddl,
            Statement::Drop {
                object_type: ObjectType::Table | ObjectType::Index,
                ..
            } => context.kind = StatementKind::Ddl,
            _ => {}
        }
        if selection.is_some() || !join_conditions.is_empty() {
            let reader = ConditionReader::new(&scope, &placeholders);
            let mut parts: Vec<Condition> = join_conditions
                .into_iter()
                .chain(selection)
                .map(|e| reader.read(e))
                .collect();
            context.condition = if parts.len() == 1 {
                parts.pop().unwrap_or(Condition::True)
            } else {
                Condition::And(parts)
            };
        }
        context.scope = scope.tables();
        context
    }
}

/// The ON condition of an inner join (`JOIN`, `INNER JOIN`). An outer
/// join's ON decides which rows pair up, not which rows appear, so it does
/// not bound the route.
fn inner_join_on(join: &Join) -> Option<&Expr> {
    match &join.join_operator {
        JoinOperator::Join(JoinConstraint::On(on))
        | JoinOperator::Inner(JoinConstraint::On(on)) => Some(on),
        _ => None,
    }
}

fn insert_source(insert: &sqlparser::ast::Insert, reader: &ConditionReader<'_>) -> InsertSource {
    let Some(query) = &insert.source else {
        return InsertSource::Other;
    };
    let SetExpr::Values(values) = query.body.as_ref() else {
        return InsertSource::Other;
    };
    if insert.columns.is_empty() {
        return InsertSource::NoColumnList;
    }
    let columns = insert
        .columns
        .iter()
        .map(tables::logical_name)
        .collect::<Vec<_>>();
    let rows = values
        .rows
        .iter()
        .map(|row| row.iter().map(|e| reader.operand(e)).collect())
        .collect();
    InsertSource::Values(InsertValues { columns, rows })
}

/// A range's bound mapped over its value.
pub(crate) fn map_bound<T, U, E>(
    bound: &Bound<T>,
    f: impl FnOnce(&T) -> Result<U, E>,
) -> Result<Bound<U>, E> {
    Ok(match bound {
        Bound::Included(v) => Bound::Included(f(v)?),
        Bound::Excluded(v) => Bound::Excluded(f(v)?),
        Bound::Unbounded => Bound::Unbounded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_one, Dialect};
    use shardwire_rules::ShardingValue;

    fn context(dialect: Dialect, sql: &str) -> StatementContext {
        StatementContext::new(&parse_one(dialect, sql).unwrap())
    }

    fn col(table: Option<&str>, column: &str) -> ColumnRef {
        ColumnRef {
            table: table.map(str::to_owned),
            column: column.into(),
        }
    }

    #[test]
    fn kinds() {
        let kind = |sql| context(Dialect::MySql, sql).kind;
        assert_eq!(kind("SELECT 1"), StatementKind::Select);
        assert_eq!(kind("INSERT INTO t (a) VALUES (1)"), StatementKind::Insert);
        assert_eq!(kind("UPDATE t SET a = 1"), StatementKind::Update);
        assert_eq!(kind("DELETE FROM t"), StatementKind::Delete);
        assert_eq!(kind("CREATE TABLE t (a INT)"), StatementKind::Ddl);
        assert_eq!(kind("DROP TABLE t"), StatementKind::Ddl);
        assert_eq!(kind("TRUNCATE TABLE t"), StatementKind::Ddl);
        assert_eq!(kind("SET autocommit = 1"), StatementKind::Other);
    }

    #[test]
    fn tables_aliases_and_ctes() {
        let c = context(
            Dialect::MySql,
            "WITH w AS (SELECT * FROM T_Item) SELECT * FROM db.t_order o JOIN w ON o.id = w.id \
             WHERE o.user_id = 1 AND t_order.order_id IN (SELECT order_id FROM t_order)",
        );
        assert_eq!(c.tables, vec!["t_item".to_owned(), "t_order".to_owned()]);
        assert_eq!(c.table_refs["t_order"], 2);
        assert!(c.scope.contains("t_order"));
        // The join's ON (column = column) bounds nothing; the WHERE follows.
        assert_eq!(
            c.condition,
            Condition::And(vec![
                Condition::True,
                Condition::And(vec![
                    Condition::In {
                        column: col(Some("t_order"), "user_id"),
                        values: vec![Operand::Value(ShardingValue::Int(1))],
                    },
                    Condition::True,
                ]),
            ])
        );
    }

    #[test]
    fn mysql_placeholders_count_by_position_in_the_text() {
        let c = context(
            Dialect::MySql,
            "SELECT ? FROM t WHERE b BETWEEN ? AND ? OR a = ?",
        );
        assert_eq!(
            c.condition,
            Condition::Or(vec![
                Condition::Range {
                    column: col(None, "b"),
                    lower: Bound::Included(Operand::Param(1)),
                    upper: Bound::Included(Operand::Param(2)),
                },
                Condition::In {
                    column: col(None, "a"),
                    values: vec![Operand::Param(3)],
                },
            ])
        );
    }

    #[test]
    fn postgresql_placeholders_and_flipped_comparisons() {
        let c = context(
            Dialect::PostgreSql,
            "SELECT * FROM t WHERE $2 > a AND a >= 'x'",
        );
        assert_eq!(
            c.condition,
            Condition::And(vec![
                Condition::Range {
                    column: col(None, "a"),
                    lower: Bound::Unbounded,
                    upper: Bound::Excluded(Operand::Param(1)),
                },
                Condition::Range {
                    column: col(None, "a"),
                    lower: Bound::Included(Operand::Value(ShardingValue::Text("x".into()))),
                    upper: Bound::Unbounded,
                },
            ])
        );
    }

    #[test]
    fn insert_rows() {
        let c = context(
            Dialect::MySql,
            "INSERT INTO T_Order (Order_Id, note) VALUES (1, NOW()), (?, 'a')",
        );
        let Some((table, InsertSource::Values(values))) = &c.insert else {
            panic!("{c:?}");
        };
        assert_eq!(table, "t_order");
        assert_eq!(
            values.value(0, "order_id"),
            Some(&Operand::Value(ShardingValue::Int(1)))
        );
        assert_eq!(values.value(0, "note"), None);
        assert_eq!(values.value(1, "ORDER_ID"), Some(&Operand::Param(0)));
        assert_eq!(values.value(2, "order_id"), None);
    }
}
