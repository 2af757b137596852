//! Routing sharding tables: the database strategy over a table's data
//! sources, then the table strategy over each chosen data source's actual
//! tables; bound tables follow by index; INSERT rows one by one.

use std::collections::{BTreeMap, BTreeSet};

use shardwire_rules::algorithm::ComplexValues;
use shardwire_rules::snapshot::{ShardingTable, Strategy};
use shardwire_rules::ShardingValue;

use super::values::{disjuncts, resolve, ColumnValues, Conjunction};
use super::{unit, RouteUnit};
use crate::context::{
    ColumnRef, Condition, InsertSource, InsertValues, Operand, StatementContext, StatementKind,
};
use crate::error::KernelError;
use crate::metadata::MetadataSource;

/// Routes the sharding tables: `primary` decides, `bound` follow by index.
pub(super) fn route_sharding(
    context: &StatementContext,
    primary: &ShardingTable,
    bound: &[&ShardingTable],
    params: &[ShardingValue],
    hints: &[ShardingValue],
    metadata: Option<&dyn MetadataSource>,
) -> Result<Vec<RouteUnit>, KernelError> {
    let names: Vec<String> = std::iter::once(primary)
        .chain(bound.iter().copied())
        .map(|t| t.logic_name.to_ascii_lowercase())
        .collect();
    let map_node = |node: usize| -> Result<RouteUnit, KernelError> {
        let n = primary
            .data_nodes
            .get(node)
            .ok_or_else(|| KernelError::Internal("data node index out of range".into()))?;
        let index = primary
            .tables_by_data_source
            .get(&n.data_source)
            .and_then(|tables| tables.iter().position(|t| *t == n.table))
            .ok_or_else(|| {
                KernelError::Internal(format!("data node {n} not in its data source"))
            })?;
        let mut table_map = vec![(names[0].clone(), n.table.clone())];
        for (table, name) in bound.iter().zip(&names[1..]) {
            let actual = table
                .tables_by_data_source
                .get(&n.data_source)
                .and_then(|tables| tables.get(index))
                .ok_or_else(|| {
                    KernelError::unsupported(
                        "binding tables with different data nodes",
                        [primary.logic_name.as_str(), table.logic_name.as_str()],
                        format!(
                            "{} has no table number {index} in {}",
                            table.logic_name, n.data_source
                        ),
                    )
                })?;
            table_map.push((name.clone(), actual.clone()));
        }
        Ok(unit(n.data_source.clone(), table_map))
    };

    if context.kind == StatementKind::Insert {
        return match &context.insert {
            Some((target, source)) if *target == names[0] => {
                route_insert(primary, source, params, hints, metadata, &map_node)
            }
            // Rows read from sharding tables and written elsewhere (or
            // into a table routed by another) would cross data nodes.
            _ => Err(KernelError::unsupported(
                "INSERT reading from sharding tables",
                names.iter().map(String::as_str),
                "the rows it reads may sit on other data nodes than where they are written",
            )),
        };
    }

    if context.kind == StatementKind::Update {
        check_assignments(
            context,
            &names,
            std::iter::once(primary).chain(bound.iter().copied()),
            params,
        )?;
    }
    let nodes: BTreeSet<usize> = if context.kind == StatementKind::Ddl {
        (0..primary.data_nodes.len()).collect()
    } else {
        // A table named twice (self join, subquery) has instances the outer
        // WHERE does not bound.
        let repeated = names
            .iter()
            .any(|n| context.table_refs.get(n).copied().unwrap_or(0) > 1);
        let condition = if repeated {
            &Condition::True
        } else {
            &context.condition
        };
        // Bound tables share their sharding columns, so a condition on any
        // of them narrows them all.
        let relevant = |c: &ColumnRef| match &c.table {
            Some(t) => names.contains(t),
            None => names.iter().any(|n| context.scope.contains(n)),
        };
        let mut nodes = BTreeSet::new();
        for conjunction in disjuncts(condition, &relevant, params)? {
            nodes.extend(route_table(primary, &conjunction, hints)?);
        }
        if nodes.is_empty() {
            // The WHERE contradicts itself (`id = 1 AND id = 2`): no row
            // matches on any node, so any one node gives the right empty answer.
            nodes.insert(0);
        }
        nodes
    };
    nodes.into_iter().map(map_node).collect()
}

fn route_insert(
    table: &ShardingTable,
    source: &InsertSource,
    params: &[ShardingValue],
    hints: &[ShardingValue],
    metadata: Option<&dyn MetadataSource>,
    map_node: &dyn Fn(usize) -> Result<RouteUnit, KernelError>,
) -> Result<Vec<RouteUnit>, KernelError> {
    let values: &InsertValues = match source {
        InsertSource::Values(v) => v,
        InsertSource::NoColumnList => {
            return Err(KernelError::unsupported(
                "INSERT without a column list",
                [table.logic_name.as_str()],
                "the sharding column's value cannot be found without naming the columns",
            ))
        }
        InsertSource::Other => {
            return Err(KernelError::unsupported(
                "INSERT from a query or SET",
                [table.logic_name.as_str()],
                "only INSERT ... VALUES can be routed into a sharding table",
            ))
        }
    };
    let columns: Vec<&String> = table
        .database_strategy
        .columns()
        .iter()
        .chain(table.table_strategy.columns())
        .collect();
    let mut rows_by_node: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for row in 0..values.rows.len() {
        let mut conjunction = Conjunction::new();
        for column in &columns {
            let Some(operand) = values.value(row, column) else {
                return Err(KernelError::unsupported(
                    format!(
                        "INSERT without a literal or parameter value for sharding column {column}"
                    ),
                    [table.logic_name.as_str()],
                    format!("row {} cannot be routed to one data node", row + 1),
                ));
            };
            let value = resolve(operand, params)?;
            if value == ShardingValue::Null {
                let rows = values.rows.len();
                return null_row(table, column, row, rows, metadata, map_node);
            }
            conjunction.insert(
                column.to_ascii_lowercase(),
                ColumnValues {
                    values: Some(vec![value]),
                    range: None,
                },
            );
        }
        let nodes = route_table(table, &conjunction, hints)?;
        match nodes.as_slice() {
            [node] => rows_by_node.entry(*node).or_default().push(row),
            _ => {
                return Err(KernelError::unsupported(
                    format!("INSERT row routed to {} data nodes", nodes.len()),
                    [table.logic_name.as_str()],
                    format!(
                        "row {} must go to exactly one data node; the strategies do not narrow it to one",
                        row + 1
                    ),
                ))
            }
        }
    }
    rows_by_node
        .into_iter()
        .map(|(node, rows)| {
            let mut u = map_node(node)?;
            u.insert_rows = Some(rows);
            Ok(u)
        })
        .collect()
}

/// An INSERT whose row `row` has NULL for sharding column `column`. No
/// data node holds a NULL sharding value (an INLINE expression has no
/// answer for it, and ShardingSphere refuses it too). When the column is
/// NOT NULL the database refuses the statement anyway: it goes, all rows,
/// to one data node, so the client gets the database's own not-null
/// violation and nothing is written. A nullable column is refused here.
fn null_row(
    table: &ShardingTable,
    column: &str,
    row: usize,
    rows: usize,
    metadata: Option<&dyn MetadataSource>,
    map_node: &dyn Fn(usize) -> Result<RouteUnit, KernelError>,
) -> Result<Vec<RouteUnit>, KernelError> {
    let logical = table.logic_name.to_ascii_lowercase();
    let Some(meta) = metadata.and_then(|m| m.table(&logical)) else {
        return Err(KernelError::MetadataNeeded { table: logical });
    };
    let nullable = meta
        .position(column)
        .and_then(|i| meta.columns.get(i))
        .map(|c| c.nullable);
    if nullable == Some(false) {
        let mut unit = map_node(0)?;
        unit.insert_rows = Some((0..rows).collect());
        return Ok(vec![unit]);
    }
    Err(KernelError::unsupported(
        format!("INSERT of a NULL sharding value into {column}"),
        [table.logic_name.as_str()],
        format!(
            "row {} has {column} NULL, and a NULL sharding value belongs to no data node",
            row + 1
        ),
    ))
}

/// An UPDATE may not change a sharding column: the row would keep its
/// place while its new value says it belongs on another data node, and
/// point queries would no longer find it. As in ShardingSphere, setting
/// the value the WHERE already pins (`SET user_id = 1 ... WHERE user_id =
/// 1`) is allowed, since it changes nothing.
fn check_assignments<'t>(
    context: &StatementContext,
    names: &[String],
    tables: impl Iterator<Item = &'t ShardingTable>,
    params: &[ShardingValue],
) -> Result<(), KernelError> {
    let tables: Vec<&ShardingTable> = tables.collect();
    for (column, value) in &context.assignments {
        let Some(table) = tables.iter().find(|t| t.is_sharding_column(column)) else {
            continue;
        };
        let pinned = match value {
            Some(value) => {
                let new = resolve(value, params)?;
                match pinned_value(&context.condition, column, names) {
                    Some(old) => resolve(old, params)? == new,
                    None => false,
                }
            }
            None => false,
        };
        if !pinned {
            return Err(KernelError::unsupported(
                format!("UPDATE of sharding column {column}"),
                [table.logic_name.as_str()],
                "the row would stay on its data node while the new value routes elsewhere; \
                 DELETE the row and INSERT it with the new value instead",
            ));
        }
    }
    Ok(())
}

/// The value `column = v` pins among the WHERE's top-level conjuncts.
fn pinned_value<'c>(
    condition: &'c Condition,
    column: &str,
    names: &[String],
) -> Option<&'c Operand> {
    let ours =
        |c: &ColumnRef| c.column == column && c.table.as_ref().is_none_or(|t| names.contains(t));
    match condition {
        Condition::In { column: c, values } if ours(c) => match values.as_slice() {
            [one] => Some(one),
            _ => None,
        },
        Condition::And(parts) => parts.iter().find_map(|p| pinned_value(p, column, names)),
        _ => None,
    }
}

/// The data nodes (indices into `table.data_nodes`) one conjunction reaches.
pub(super) fn route_table(
    table: &ShardingTable,
    conjunction: &Conjunction,
    hints: &[ShardingValue],
) -> Result<Vec<usize>, KernelError> {
    let mut node_index = NodeIndex::new(table);
    let mut nodes = BTreeSet::new();
    if table.auto && matches!(table.database_strategy, Strategy::None) {
        // Auto tables shard once, over the whole list of actual tables;
        // each actual table lives in exactly one data source.
        for i in route_level(
            &table.table_strategy,
            &table.actual_tables,
            conjunction,
            hints,
        )? {
            let actual = table
                .actual_tables
                .get(i)
                .ok_or_else(|| KernelError::Internal("algorithm answered out of range".into()))?;
            nodes.extend(
                table
                    .data_nodes
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| n.table == *actual)
                    .map(|(i, _)| i),
            );
        }
    } else {
        for d in route_level(
            &table.database_strategy,
            &table.data_sources,
            conjunction,
            hints,
        )? {
            let ds = table
                .data_sources
                .get(d)
                .ok_or_else(|| KernelError::Internal("algorithm answered out of range".into()))?;
            let Some(tables) = table.tables_by_data_source.get(ds) else {
                continue;
            };
            for t in route_level(&table.table_strategy, tables, conjunction, hints)? {
                let actual = tables.get(t).ok_or_else(|| {
                    KernelError::Internal("algorithm answered out of range".into())
                })?;
                if let Some(i) = node_index.get(ds, actual) {
                    nodes.insert(i);
                }
            }
        }
    }
    Ok(nodes.into_iter().collect())
}

/// Data node numbers by (data source, actual table). A point query looks up
/// one or two nodes: a scan of the list costs less than building a map, which
/// is built only once a statement looks up many.
struct NodeIndex<'a> {
    table: &'a ShardingTable,
    lookups: usize,
    map: Option<BTreeMap<(&'a str, &'a str), usize>>,
}

impl<'a> NodeIndex<'a> {
    const SCANS: usize = 4;

    fn new(table: &'a ShardingTable) -> Self {
        Self {
            table,
            lookups: 0,
            map: None,
        }
    }

    fn get(&mut self, data_source: &str, actual: &str) -> Option<usize> {
        self.lookups += 1;
        if self.map.is_none() && self.lookups <= Self::SCANS {
            return self
                .table
                .data_nodes
                .iter()
                .position(|n| n.data_source == data_source && n.table == actual);
        }
        let table = self.table;
        self.map
            .get_or_insert_with(|| {
                table
                    .data_nodes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| ((n.data_source.as_str(), n.table.as_str()), i))
                    .collect()
            })
            .get(&(data_source, actual))
            .copied()
    }
}

/// `column`'s entry in a conjunction, whose keys are lower-cased.
fn column_values<'c>(conjunction: &'c Conjunction, column: &str) -> Option<&'c ColumnValues> {
    if column.bytes().any(|b| b.is_ascii_uppercase()) {
        conjunction.get(&column.to_ascii_lowercase())
    } else {
        conjunction.get(column)
    }
}

/// One strategy over its targets: indices of the targets to reach.
fn route_level(
    strategy: &Strategy,
    targets: &[String],
    conjunction: &Conjunction,
    hints: &[ShardingValue],
) -> Result<Vec<usize>, KernelError> {
    let all = || (0..targets.len()).collect::<Vec<_>>();
    let mut chosen = match strategy {
        Strategy::None => all(),
        Strategy::Standard {
            column, algorithm, ..
        } => match column_values(conjunction, column) {
            Some(ColumnValues {
                values: Some(values),
                ..
            }) => values
                .iter()
                // `= NULL` matches no row: it needs no target.
                .filter(|v| **v != ShardingValue::Null)
                .map(|v| algorithm.precise(targets, column, v))
                .collect::<Result<Vec<_>, _>>()?,
            Some(ColumnValues {
                range: Some(range), ..
            }) if range_has_null(range) => Vec::new(),
            Some(ColumnValues {
                range: Some(range), ..
            }) => algorithm.range(targets, column, range)?,
            _ => all(),
        },
        Strategy::Complex {
            columns, algorithm, ..
        } => {
            let mut complex = ComplexValues::default();
            for column in columns {
                if let Some(cv) = column_values(conjunction, column) {
                    if let Some(values) = &cv.values {
                        let values: Vec<ShardingValue> = values
                            .iter()
                            .filter(|v| **v != ShardingValue::Null)
                            .cloned()
                            .collect();
                        if values.is_empty() {
                            // Only NULLs: the conjunction matches no row.
                            return Ok(Vec::new());
                        }
                        complex.values.insert(column.clone(), values);
                    } else if let Some(range) = &cv.range {
                        if range_has_null(range) {
                            return Ok(Vec::new());
                        }
                        complex.ranges.insert(column.clone(), range.clone());
                    }
                }
            }
            if complex.values.is_empty() && complex.ranges.is_empty() {
                all()
            } else {
                algorithm.complex(targets, &complex)?
            }
        }
        Strategy::Hint { algorithm, .. } => {
            if hints.is_empty() {
                all()
            } else {
                algorithm.hint(targets, hints)?
            }
        }
    };
    chosen.sort_unstable();
    chosen.dedup();
    Ok(chosen)
}

/// A comparison with NULL (`col > NULL`) is never true: no row matches.
fn range_has_null(range: &shardwire_rules::ValueRange) -> bool {
    let null = |b: &std::ops::Bound<ShardingValue>| match b {
        std::ops::Bound::Included(v) | std::ops::Bound::Excluded(v) => *v == ShardingValue::Null,
        std::ops::Bound::Unbounded => false,
    };
    null(&range.lower) || null(&range.upper)
}
