//! Rewriting: per route unit, the statement with logical table names
//! replaced by actual ones (in table references, column qualifiers and
//! qualified wildcards) and, for a multi-row INSERT, only the unit's rows.
//! Identifiers keep their quotes, so the dialect's quoting survives.

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, ObjectName, ObjectNamePart, Select, SelectItem, SelectItemQualifiedWildcardKind, SetExpr,
    Statement, VisitMut, VisitorMut,
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
    route
        .units
        .iter()
        .map(|unit| {
            Ok(SqlUnit {
                data_source: unit.data_source.clone(),
                sql: rewrite_unit(statement, unit)?,
            })
        })
        .collect()
}

pub fn rewrite_unit(statement: &Statement, unit: &RouteUnit) -> Result<String, KernelError> {
    if unit.table_map.is_empty() && unit.insert_rows.is_none() {
        return Ok(statement.to_string());
    }
    let mut statement = statement.clone();
    if let Some(rows) = &unit.insert_rows {
        keep_rows(&mut statement, rows)?;
    }
    let mut renamer = Renamer {
        map: &unit.table_map,
    };
    if let Statement::Drop { names, table, .. } = &mut statement {
        for name in names.iter_mut().chain(table.iter_mut()) {
            renamer.rename_object(name);
        }
    }
    let _ = statement.visit(&mut renamer);
    Ok(statement.to_string())
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
}

impl Renamer<'_> {
    fn actual(&self, name: &str) -> Option<&str> {
        self.map
            .iter()
            .find(|(logical, _)| logical.eq_ignore_ascii_case(name))
            .map(|(_, actual)| actual.as_str())
    }

    fn rename_object(&self, name: &mut ObjectName) {
        if let Some(ObjectNamePart::Identifier(ident)) = name.0.last_mut() {
            if let Some(actual) = self.actual(&ident.value) {
                ident.value = actual.to_owned();
            }
        }
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
