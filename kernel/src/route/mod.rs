//! Routing: which data sources and actual tables a statement must reach.
//!
//! Sharding tables route through their database strategy (over the table's
//! data sources) and then their table strategy (over the actual tables of
//! each chosen data source). Bound tables follow the first sharding table
//! the statement names, by index within the data source. Broadcast tables
//! are read from one data source and written everywhere; other tables live
//! in one data source (the single rule, the default, or the only one).

mod sharding;
mod values;

use std::collections::BTreeSet;

use shardwire_rules::snapshot::{LogicalDatabase, ShardingTable};
use shardwire_rules::ShardingValue;

use crate::context::{StatementContext, StatementKind};
use crate::error::KernelError;
use crate::metadata::MetadataSource;

use sharding::route_sharding;

/// One statement to run on one data source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteUnit {
    /// A storage unit, or a read/write splitting group's name.
    pub data_source: String,
    /// Lower-cased logical table -> actual table, for the tables this unit
    /// renames. Broadcast and single tables keep their names.
    pub table_map: Vec<(String, String)>,
    /// Multi-row INSERT into a sharding table: the rows (0-based) this unit
    /// takes. `None`: every row, or not an INSERT.
    pub insert_rows: Option<Vec<usize>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteResult {
    /// Never empty.
    pub units: Vec<RouteUnit>,
}

/// Routes with no hint values (hint strategies then reach every target).
pub fn route(
    db: &LogicalDatabase,
    context: &StatementContext,
    params: &[ShardingValue],
) -> Result<RouteResult, KernelError> {
    route_with_hints(db, context, params, &[])
}

pub fn route_with_hints(
    db: &LogicalDatabase,
    context: &StatementContext,
    params: &[ShardingValue],
    hints: &[ShardingValue],
) -> Result<RouteResult, KernelError> {
    route_with_metadata(db, context, params, hints, None)
}

/// [`route_with_hints`] with the tables' metadata, which decides where an
/// INSERT with a NULL sharding value goes (see `sharding::null_row`):
/// without it such an INSERT asks for it ([`KernelError::MetadataNeeded`]).
pub fn route_with_metadata(
    db: &LogicalDatabase,
    context: &StatementContext,
    params: &[ShardingValue],
    hints: &[ShardingValue],
    metadata: Option<&dyn MetadataSource>,
) -> Result<RouteResult, KernelError> {
    let mut sharding: Vec<&ShardingTable> = Vec::new();
    let mut broadcast = Vec::new();
    let mut single = Vec::new();
    for name in &context.tables {
        // The context's names are lower-cased already, as the rules' keys
        // are: look them up without lower-casing them again.
        if let Some(table) = db.sharding.tables.get(name.as_str()) {
            sharding.push(table);
        } else if db.is_broadcast(name) {
            broadcast.push(name.as_str());
        } else if name.starts_with("pg_") {
            // PostgreSQL's catalog is searched first, so an unqualified
            // `pg_type` no rule claims is the catalog's: any data source has it.
        } else {
            single.push(name.as_str());
        }
    }
    let units = if let Some((primary, bound)) = sharding.split_first() {
        for other in bound {
            if !db
                .sharding
                .are_bound(&primary.logic_name, &other.logic_name)
            {
                return Err(KernelError::unsupported(
                    "join of non-binding sharding tables",
                    [primary.logic_name.as_str(), other.logic_name.as_str()],
                    "their rows may sit in different data nodes; declare them in bindingTables \
                     or query them separately",
                ));
            }
        }
        if matches!(context.kind, StatementKind::Update | StatementKind::Delete)
            && !broadcast.is_empty()
        {
            // Written only where the sharding tables route, a broadcast
            // table's copies would drift apart.
            let writes_broadcast = match &context.write_targets {
                Some(targets) => targets.iter().any(|t| db.is_broadcast(t)),
                None => true,
            };
            if writes_broadcast {
                return Err(KernelError::unsupported(
                    "write to a broadcast table together with sharding tables",
                    broadcast
                        .iter()
                        .copied()
                        .chain(sharding.iter().map(|t| t.logic_name.as_str())),
                    "every copy of a broadcast table must change alike",
                ));
            }
        }
        if !single.is_empty() {
            let tables = sharding
                .iter()
                .map(|t| t.logic_name.as_str())
                .chain(single.iter().copied());
            return Err(KernelError::unsupported(
                "statement over sharding and single tables",
                tables,
                "a single table lives in one data source, the sharding table's rows in many",
            ));
        }
        route_sharding(context, primary, bound, params, hints, metadata)?
    } else if !single.is_empty() {
        route_single(db, context, &single, &broadcast)?
    } else if !broadcast.is_empty() && context.kind.is_write() {
        routing_data_sources(db)
            .into_iter()
            .map(|ds| unit(ds, Vec::new()))
            .collect()
    } else {
        // Broadcast reads and table-less statements: any one data source
        // has the answer; the first keeps routes deterministic.
        let first = routing_data_sources(db).into_iter().next().ok_or_else(|| {
            KernelError::Internal(format!("logical database {} has no data source", db.name))
        })?;
        vec![unit(first, Vec::new())]
    };
    if units.is_empty() {
        return Err(KernelError::Internal("a route with no unit".into()));
    }
    Ok(RouteResult { units })
}

fn unit(data_source: String, table_map: Vec<(String, String)>) -> RouteUnit {
    RouteUnit {
        data_source,
        table_map,
        insert_rows: None,
    }
}

/// The data sources statements are sent to: storage units, with the members
/// of a read/write splitting group replaced by the group.
pub(crate) fn routing_data_sources(db: &LogicalDatabase) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in db.data_sources.keys() {
        let mapped = db
            .readwrite_groups
            .iter()
            .find(|g| &g.write_data_source == name || g.read_data_sources.contains(name))
            .map_or(name, |g| &g.name);
        if !out.contains(mapped) {
            out.push(mapped.clone());
        }
    }
    out
}

/// The data source of single table `table`. A table no rule places is
/// unknown to the client (42P01 / 1146), except to DDL: a CREATE names a
/// table that does not exist yet, and only the proxy's reason (it cannot
/// tell where to put it) explains the refusal.
fn single_data_source(
    db: &LogicalDatabase,
    kind: StatementKind,
    table: &str,
) -> Result<String, KernelError> {
    if let Some(s) = db
        .single_tables
        .iter()
        .find(|s| s.data_source != "*" && s.table.eq_ignore_ascii_case(table))
    {
        return Ok(s.data_source.clone());
    }
    if let Some(ds) = &db.single_default_data_source {
        return Ok(ds.clone());
    }
    let wildcards: BTreeSet<&str> = db
        .single_tables
        .iter()
        .filter(|s| s.table == "*" && s.data_source != "*")
        .map(|s| s.data_source.as_str())
        .collect();
    if wildcards.len() == 1 {
        return Ok(wildcards.into_iter().map(str::to_owned).collect());
    }
    let all = routing_data_sources(db);
    if let [only] = all.as_slice() {
        return Ok(only.clone());
    }
    if kind == StatementKind::Ddl {
        return Err(KernelError::unsupported(
            "table in no rule",
            [table],
            "no rule says which data source holds it; list it in the SINGLE rule or set its \
             defaultDataSource",
        ));
    }
    Err(KernelError::UnknownTable {
        database: db.name.clone(),
        table: table.to_owned(),
        reason: format!(
            "no rule of logical database {} places it; list it in the SINGLE rule or set a \
             defaultDataSource",
            db.name
        ),
    })
}

/// The data node (index into `table.data_nodes`) of one row of sharding
/// table `table`, given its sharding columns' values: what COPY routes
/// with, row by row. A row the strategies do not narrow to one node is
/// refused, as INSERT refuses it.
pub(crate) fn route_row(
    table: &ShardingTable,
    values: &[(String, ShardingValue)],
) -> Result<usize, KernelError> {
    let mut conjunction = values::Conjunction::new();
    for (column, value) in values {
        conjunction.insert(
            column.to_ascii_lowercase(),
            values::ColumnValues {
                values: Some(vec![value.clone()]),
                range: None,
            },
        );
    }
    match sharding::route_table(table, &conjunction, &[])?.as_slice() {
        [node] => Ok(*node),
        nodes => Err(KernelError::unsupported(
            format!("a row routed to {} data nodes", nodes.len()),
            [table.logic_name.as_str()],
            "each row must go to exactly one data node; the strategies do not narrow it to one",
        )),
    }
}

/// The 42P01 / 1146 a statement naming `table` (a name of a
/// [`StatementContext`], lower-cased) gets when no rule places it: what
/// the database reports as soon as it reads the statement (PostgreSQL at
/// Parse), before any other reason to refuse the statement.
pub fn unknown_table(db: &LogicalDatabase, table: &str) -> Option<KernelError> {
    if db.sharding.tables.contains_key(table) || db.is_broadcast(table) || table.starts_with("pg_")
    {
        return None;
    }
    match single_data_source(db, StatementKind::Select, table) {
        Err(e @ KernelError::UnknownTable { .. }) => Some(e),
        _ => None,
    }
}

/// The data source holding single table `table` (not a sharding or
/// broadcast table).
pub(crate) fn single_table_source(
    db: &LogicalDatabase,
    table: &str,
) -> Result<String, KernelError> {
    single_data_source(db, StatementKind::Insert, table)
}

fn route_single(
    db: &LogicalDatabase,
    context: &StatementContext,
    single: &[&str],
    broadcast: &[&str],
) -> Result<Vec<RouteUnit>, KernelError> {
    if context.kind.is_write() && !broadcast.is_empty() {
        return Err(KernelError::unsupported(
            "write over broadcast and single tables",
            broadcast.iter().chain(single).copied(),
            "the broadcast table must change everywhere, the single table in one place",
        ));
    }
    let mut data_source: Option<String> = None;
    for table in single {
        let ds = single_data_source(db, context.kind, table)?;
        match &data_source {
            Some(first) if *first != ds => {
                return Err(KernelError::unsupported(
                    "statement over single tables in different data sources",
                    single.iter().copied(),
                    format!("they live in {first} and {ds}"),
                ))
            }
            _ => data_source = Some(ds),
        }
    }
    let ds = data_source.ok_or_else(|| KernelError::Internal("no single table".into()))?;
    Ok(vec![unit(ds, Vec::new())])
}
