//! Rewriting: per route unit, the statement with logical table names
//! replaced by actual ones (in table references, column qualifiers and
//! qualified wildcards) and, for a multi-row INSERT, only the unit's rows.
//! Identifiers keep their quotes, so the dialect's quoting survives.

use std::ops::ControlFlow;

use sqlparser::ast::{
    CopySource, Expr, ObjectName, ObjectNamePart, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, ShowCreateObject, Statement, VisitMut, VisitorMut,
};

use crate::error::KernelError;
use crate::route::{RouteResult, RouteUnit};

/// The SQL one data source runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlUnit {
    pub data_source: String,
    pub sql: String,
}

pub fn rewrite(statement: &Statement, route: &RouteResult) -> Result<Vec<SqlUnit>, KernelError> {
    rewrite_in(statement, route, None)
}

/// [`rewrite`], also dropping `logical_database` where it qualifies a
/// renamed table (`sharding_db.t_order` -> `t_order_0`): the data source's
/// own database has another name, and the connection already uses it.
pub fn rewrite_in(
    statement: &Statement,
    route: &RouteResult,
    logical_database: Option<&str>,
) -> Result<Vec<SqlUnit>, KernelError> {
    route
        .units
        .iter()
        .map(|unit| {
            Ok(SqlUnit {
                data_source: unit.data_source.clone(),
                sql: rewrite_unit_in(statement, unit, logical_database)?,
            })
        })
        .collect()
}

pub fn rewrite_unit(statement: &Statement, unit: &RouteUnit) -> Result<String, KernelError> {
    rewrite_unit_in(statement, unit, None)
}

/// [`rewrite_unit`], dropping `logical_database` as [`rewrite_in`] does.
pub fn rewrite_unit_in(
    statement: &Statement,
    unit: &RouteUnit,
    logical_database: Option<&str>,
) -> Result<String, KernelError> {
    if unit.table_map.is_empty() && unit.insert_rows.is_none() {
        return Ok(statement.to_string());
    }
    let mut statement = statement.clone();
    if let Some(rows) = &unit.insert_rows {
        keep_rows(&mut statement, rows)?;
    }
    let mut renamer = Renamer {
        map: &unit.table_map,
        owner: logical_database,
    };
    if let Statement::Drop { names, table, .. } = &mut statement {
        for name in names.iter_mut().chain(table.iter_mut()) {
            renamer.rename_object(name);
        }
    }
    if let Statement::Copy {
        source: CopySource::Table { table_name, .. },
        ..
    } = &mut statement
    {
        renamer.rename_object(table_name);
    }
    if let Statement::ShowCreate {
        obj_type: ShowCreateObject::Table,
        obj_name,
    } = &mut statement
    {
        renamer.rename_object(obj_name);
    }
    let _ = statement.visit(&mut renamer);
    Ok(statement.to_string())
}

/// `name` renamed as `unit` renames it: its actual table, without the
/// logical database as qualifier.
pub(crate) fn rename_table(
    name: &mut ObjectName,
    unit: &RouteUnit,
    logical_database: Option<&str>,
) {
    Renamer {
        map: &unit.table_map,
        owner: logical_database,
    }
    .rename_object(name);
}

fn keep_rows(statement: &mut Statement, rows: &[usize]) -> Result<(), KernelError> {
    let Statement::Insert(insert) = statement else {
        return Err(KernelError::Internal(
            "insert rows on a non-INSERT route".into(),
        ));
    };
    let Some(SetExpr::Values(values)) = insert.source.as_mut().map(|q| q.body.as_mut()) else {
        return Err(KernelError::Internal("insert rows without VALUES".into()));
    };
    let all = std::mem::take(&mut values.rows);
    values.rows = all
        .into_iter()
        .enumerate()
        .filter(|(i, _)| rows.contains(i))
        .map(|(_, row)| row)
        .collect();
    if values.rows.len() != rows.len() {
        return Err(KernelError::Internal(
            "insert row index out of range".into(),
        ));
    }
    Ok(())
}

struct Renamer<'a> {
    map: &'a [(String, String)],
    /// The logical database's name, dropped where it qualifies a renamed
    /// table.
    owner: Option<&'a str>,
}

impl Renamer<'_> {
    fn actual(&self, name: &str) -> Option<&str> {
        self.map
            .iter()
            .find(|(logical, _)| logical.eq_ignore_ascii_case(name))
            .map(|(_, actual)| actual.as_str())
    }

    fn rename_object(&self, name: &mut ObjectName) {
        let Some(ObjectNamePart::Identifier(ident)) = name.0.last_mut() else {
            return;
        };
        let Some(actual) = self.actual(&ident.value) else {
            return;
        };
        ident.value = actual.to_owned();
        if let Some(at) = name.0.len().checked_sub(2) {
            if matches!(name.0.get(at), Some(ObjectNamePart::Identifier(q)) if self.is_owner(q)) {
                name.0.remove(at);
            }
        }
    }

    fn is_owner(&self, qualifier: &sqlparser::ast::Ident) -> bool {
        self.owner
            .is_some_and(|db| qualifier.value.eq_ignore_ascii_case(db))
    }
}

impl VisitorMut for Renamer<'_> {
    type Break = ();

    fn pre_visit_relation(&mut self, relation: &mut ObjectName) -> ControlFlow<()> {
        self.rename_object(relation);
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        match expr {
            // `t_order.order_id`, `db.t_order.order_id`: the part before the
            // column is the table qualifier.
            Expr::CompoundIdentifier(idents) if idents.len() >= 2 => {
                let at = idents.len() - 2;
                if let Some(ident) = idents.get_mut(at) {
                    if let Some(actual) = self.actual(&ident.value) {
                        ident.value = actual.to_owned();
                        // `sharding_db.t_order.id`: drop the database.
                        if let Some(owner) = at.checked_sub(1) {
                            if idents.get(owner).is_some_and(|q| self.is_owner(q)) {
                                idents.remove(owner);
                            }
                        }
                    }
                }
            }
            Expr::QualifiedWildcard(name, _) => self.rename_object(name),
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        for item in &mut select.projection {
            if let SelectItem::QualifiedWildcard(
                SelectItemQualifiedWildcardKind::ObjectName(name),
                _,
            ) = item
            {
                self.rename_object(name);
            }
        }
        ControlFlow::Continue(())
    }
}
