//! `DROP TABLE a, b, c` and `TRUNCATE a, b` over tables of different rules
//! (what `pgbench -i` sends): each table routes on its own, and each data
//! source then runs one statement naming every actual table it holds, so the
//! client's one statement stays one statement per database (foreign keys
//! between the tables still allow the drop; notices come once per table).
//! Taken together by the router they would look like a join of non-binding
//! tables, which they are not: nothing is read across them.

use sqlparser::ast::{ObjectName, Statement};

use crate::context::StatementContext;
use crate::error::KernelError;
use crate::rewrite::{rename_table, SqlUnit};
use crate::route::route_with_hints;
use crate::PlanOptions;
use shardwire_rules::snapshot::LogicalDatabase;
use shardwire_rules::ShardingValue;

/// The units of a DROP TABLE or TRUNCATE naming several tables, or `None`
/// for any other statement.
pub(crate) fn plan(
    statement: &Statement,
    db: &LogicalDatabase,
    params: &[ShardingValue],
    options: &PlanOptions<'_>,
) -> Result<Option<Vec<SqlUnit>>, KernelError> {
    let Some(names) = table_names(statement) else {
        return Ok(None);
    };
    if names.len() < 2 {
        return Ok(None);
    }
    // Data source -> the actual names it drops, in the order first reached.
    let mut by_source: Vec<(String, Vec<(usize, ObjectName)>)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let one = with_names(statement, |all| all.retain_index(i));
        let context = StatementContext::new(&one);
        let route = route_with_hints(db, &context, params, options.hints)?;
        for unit in &route.units {
            let mut actual = (*name).clone();
            rename_table(&mut actual, unit, Some(&db.name));
            match by_source.iter_mut().find(|(ds, _)| *ds == unit.data_source) {
                Some((_, list)) => {
                    if !list.iter().any(|(_, a)| *a == actual) {
                        list.push((i, actual));
                    }
                }
                None => by_source.push((unit.data_source.clone(), vec![(i, actual)])),
            }
        }
    }
    Ok(Some(
        by_source
            .into_iter()
            .map(|(data_source, actual)| SqlUnit {
                data_source,
                sql: with_names(statement, |all| all.replace(actual)).to_string(),
            })
            .collect(),
    ))
}

fn table_names(statement: &Statement) -> Option<Vec<&ObjectName>> {
    match statement {
        Statement::Drop {
            object_type: sqlparser::ast::ObjectType::Table,
            names,
            ..
        } => Some(names.iter().collect()),
        Statement::Truncate(t) => Some(t.table_names.iter().map(|t| &t.name).collect()),
        _ => None,
    }
}

/// The name list of a DROP TABLE or TRUNCATE, to edit in place.
enum Names<'a> {
    Drop(&'a mut Vec<ObjectName>),
    Truncate(&'a mut Vec<sqlparser::ast::TruncateTableTarget>),
}

impl Names<'_> {
    fn retain_index(self, keep: usize) {
        match self {
            Names::Drop(v) => keep_only(v, keep),
            Names::Truncate(v) => keep_only(v, keep),
        }
    }

    /// The names replaced by `actual`: each the actual name of the
    /// statement's name number `.0`, whose TRUNCATE options (ONLY, `*`) it
    /// keeps.
    fn replace(self, actual: Vec<(usize, ObjectName)>) {
        match self {
            Names::Drop(v) => *v = actual.into_iter().map(|(_, name)| name).collect(),
            Names::Truncate(v) => {
                let original = std::mem::take(v);
                *v = actual
                    .into_iter()
                    .filter_map(|(i, name)| {
                        original
                            .get(i)
                            .map(|t| sqlparser::ast::TruncateTableTarget { name, ..t.clone() })
                    })
                    .collect();
            }
        }
    }
}

fn keep_only<T>(v: &mut Vec<T>, keep: usize) {
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        i - 1 == keep
    });
}

fn with_names(statement: &Statement, edit: impl FnOnce(Names<'_>)) -> Statement {
    let mut copy = statement.clone();
    match &mut copy {
        Statement::Drop { names, .. } => edit(Names::Drop(names)),
        Statement::Truncate(t) => edit(Names::Truncate(&mut t.table_names)),
        _ => {}
    }
    copy
}
