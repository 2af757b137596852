//! PostgreSQL index names per actual table. An index name is unique per
//! schema in PostgreSQL (MySQL's are per table, so MySQL is left alone):
//! `CREATE INDEX orders_by_user ON orders (user_id)` fanned out unchanged
//! to `orders_0` and `orders_1` in one schema fails on the second with
//! 42P07. As ShardingSphere does, each actual table's index is named
//! `<index>_<actual table>` ([`actual_index_name`]), and DROP INDEX /
//! ALTER INDEX ... RENAME of a logical index name reach each actual
//! table's index.
//!
//! DROP INDEX and ALTER INDEX name no table. Which sharding table owns a
//! logical index name is a fact of the shards' catalogs, which the kernel
//! (no I/O) does not read: the planner asks through
//! [`crate::PlanOptions::index_owners`], and when that does not know a
//! name it answers [`KernelError::IndexOwnersNeeded`] with the actual
//! index names to look for, so the caller looks them up and plans again
//! (as with table metadata). A name no sharding table owns goes where it
//! went before (the route of a statement that names no table). Broadcast
//! and single tables keep their index names; DROP INDEX / ALTER INDEX of a
//! broadcast table's index is asked about the same way (the index on that
//! table, under its own name) and reaches every data source's copy.

use std::collections::HashMap;

use shardwire_rules::snapshot::LogicalDatabase;
use shardwire_rules::ShardingValue;
use sqlparser::ast::{
    AlterIndexOperation, Ident, ObjectName, ObjectNamePart, ObjectType, Statement,
};

use crate::context::tables::logical_name;
use crate::context::{Condition, StatementContext, StatementKind};
use crate::error::KernelError;
use crate::rewrite::{rename_table, SqlUnit};
use crate::route::{route_with_hints, RouteUnit};
use crate::{Dialect, PlanOptions};

/// PostgreSQL's longest identifier in bytes (NAMEDATALEN - 1); longer ones
/// are truncated by the server.
pub const PG_MAX_IDENTIFIER: usize = 63;

/// Hex digits of the hash in a shortened name.
const HASH_DIGITS: usize = 8;

/// The name of logical index `index` on actual table `actual`:
/// `<index>_<actual>`, as ShardingSphere names it. When that is longer
/// than PostgreSQL's 63 bytes (the server would truncate it, and two
/// actual tables' names could then collide), the index part is cut and a
/// hash of the full pair put before the table: `<index cut>_<hash>_<actual>`,
/// deterministic so DROP and RENAME find it again. Only a very long
/// actual table name (over 52 bytes) loses the `_<actual>` ending:
/// `<cut>_<hash>`. Both names come already folded (unquoted identifiers in
/// lower case), so the name is the one the server stores.
pub fn actual_index_name(index: &str, actual: &str) -> String {
    let index = cut(index, PG_MAX_IDENTIFIER);
    let plain = format!("{index}_{actual}");
    if plain.len() <= PG_MAX_IDENTIFIER {
        return plain;
    }
    let hash = format!(
        "{:08x}",
        fnv1a(&[index.as_bytes(), b"\0", actual.as_bytes()])
    );
    let ending = format!("_{hash}_{actual}");
    match PG_MAX_IDENTIFIER.checked_sub(ending.len()) {
        Some(room) if room > 0 => format!("{}{ending}", cut(index, room)),
        _ => format!(
            "{}_{hash}",
            cut(&plain, PG_MAX_IDENTIFIER - 1 - HASH_DIGITS)
        ),
    }
}

/// The logical index name `actual_index` of actual table `actual` stands
/// for, when it has the `<index>_<actual>` form; a shortened name
/// answers its shortened head (`<index cut>_<hash>`), since the hash
/// cannot be undone.
pub fn logical_index_name<'a>(actual_index: &'a str, actual: &str) -> Option<&'a str> {
    let head = actual_index.strip_suffix(actual)?.strip_suffix('_')?;
    (!head.is_empty()).then_some(head)
}

/// Where the planner learns which sharding table owns a logical index
/// name (lower-cased logical table name), keyed as
/// [`IndexLookup::index`]. `Some(None)`: no sharding table's index;
/// `None`: not known, so the planner asks ([`KernelError::IndexOwnersNeeded`]).
pub trait IndexOwners: std::fmt::Debug + Sync {
    fn owner(&self, index: &str) -> Option<Option<String>>;
}

impl IndexOwners for HashMap<String, Option<String>> {
    fn owner(&self, index: &str) -> Option<Option<String>> {
        self.get(index).cloned()
    }
}

/// One logical index name to look up in the shards' catalogs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexLookup {
    /// The key [`IndexOwners::owner`] is asked with: the folded name,
    /// `schema.name` when the statement qualified it.
    pub index: String,
    /// The schema the statement named, if any (else the search path).
    pub schema: Option<String>,
    /// Where the index would be if a sharding table owned it.
    pub candidates: Vec<IndexCandidate>,
}

/// An actual index that would exist if `table` owned the logical index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexCandidate {
    /// Lower-cased logical table.
    pub table: String,
    /// The storage unit holding the actual table.
    pub data_source: String,
    pub actual_index: String,
    /// The actual table the index would be on (folded): a broadcast
    /// table's index keeps its name, so only its table tells it from
    /// another table's index of that name.
    pub on_table: String,
}

/// The units of a PostgreSQL CREATE INDEX on a sharding table, or of DROP
/// INDEX / ALTER INDEX ... RENAME of a sharding table's index; `None` for
/// every other statement.
pub(crate) fn plan(
    statement: &Statement,
    db: &LogicalDatabase,
    dialect: Dialect,
    params: &[ShardingValue],
    options: &PlanOptions<'_>,
) -> Result<Option<Vec<SqlUnit>>, KernelError> {
    if dialect != Dialect::PostgreSql
        || (db.sharding.tables.is_empty() && db.broadcast_tables.is_empty())
    {
        return Ok(None);
    }
    match statement {
        Statement::CreateIndex(create) => {
            let table = logical_name(&create.table_name);
            if !db.sharding.tables.contains_key(table.as_str()) || create.name.is_none() {
                // Unnamed, the server names it after the actual table
                // (`orders_0_user_id_idx`): unique already.
                return Ok(None);
            }
            let context = StatementContext::new(statement);
            let route = route_with_hints(db, &context, params, options.hints)?;
            route
                .units
                .iter()
                .map(|unit| {
                    let mut copy = statement.clone();
                    if let Statement::CreateIndex(c) = &mut copy {
                        rename_table(&mut c.table_name, unit, Some(&db.name));
                        if let Some(name) = &mut c.name {
                            rename_index(name, actual_of(unit, &table)?);
                        }
                    }
                    Ok(SqlUnit {
                        data_source: unit.data_source.clone(),
                        sql: copy.to_string(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        }
        Statement::Drop {
            object_type: ObjectType::Index,
            names,
            table: None,
            ..
        } => plan_drop(statement, names, db, params, options),
        Statement::AlterIndex {
            name,
            operation: AlterIndexOperation::RenameIndex { index_name },
        } => {
            let owners = owners(db, std::slice::from_ref(name), options)?;
            let Some(Some(table)) = owners.into_iter().next() else {
                return Ok(None);
            };
            table_units(db, &table, params, options)?
                .iter()
                .map(|unit| {
                    let mut name = name.clone();
                    let mut new = index_name.clone();
                    if !db.is_broadcast(&table) {
                        let actual = actual_of(unit, &table)?;
                        rename_index(&mut name, actual);
                        rename_index(&mut new, actual);
                    }
                    Ok(SqlUnit {
                        data_source: unit.data_source.clone(),
                        sql: Statement::AlterIndex {
                            name,
                            operation: AlterIndexOperation::RenameIndex { index_name: new },
                        }
                        .to_string(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        }
        _ => Ok(None),
    }
}

/// DROP INDEX a, b: each sharding table's index becomes its actual
/// tables' indexes, other names go where a table-less DROP goes, and each
/// data source runs one DROP naming all of its own.
fn plan_drop(
    statement: &Statement,
    names: &[ObjectName],
    db: &LogicalDatabase,
    params: &[ShardingValue],
    options: &PlanOptions<'_>,
) -> Result<Option<Vec<SqlUnit>>, KernelError> {
    let owners = owners(db, names, options)?;
    if owners.iter().all(Option::is_none) {
        return Ok(None);
    }
    let mut by_source: Vec<(String, Vec<ObjectName>)> = Vec::new();
    let mut add = |ds: &str, name: ObjectName| match by_source.iter_mut().find(|(d, _)| d == ds) {
        Some((_, list)) => {
            if !list.contains(&name) {
                list.push(name);
            }
        }
        None => by_source.push((ds.to_owned(), vec![name])),
    };
    for (name, owner) in names.iter().zip(&owners) {
        match owner {
            Some(table) => {
                for unit in table_units(db, table, params, options)? {
                    let mut actual = name.clone();
                    // A broadcast table's copies keep the index's name.
                    if !db.is_broadcast(table) {
                        rename_index(&mut actual, actual_of(&unit, table)?);
                    }
                    add(&unit.data_source, actual);
                }
            }
            None => {
                let mut one = statement.clone();
                if let Statement::Drop { names, .. } = &mut one {
                    *names = vec![name.clone()];
                }
                let context = StatementContext::new(&one);
                for unit in route_with_hints(db, &context, params, options.hints)?.units {
                    add(&unit.data_source, name.clone());
                }
            }
        }
    }
    Ok(Some(
        by_source
            .into_iter()
            .map(|(data_source, actual)| {
                let mut copy = statement.clone();
                if let Statement::Drop { names, .. } = &mut copy {
                    *names = actual;
                }
                SqlUnit {
                    data_source,
                    sql: copy.to_string(),
                }
            })
            .collect(),
    ))
}

/// For each of `names`, the sharding table owning it (`None`: none does),
/// or [`KernelError::IndexOwnersNeeded`] for the names not known.
fn owners(
    db: &LogicalDatabase,
    names: &[ObjectName],
    options: &PlanOptions<'_>,
) -> Result<Vec<Option<String>>, KernelError> {
    let mut found = Vec::with_capacity(names.len());
    let mut needed = Vec::new();
    for name in names {
        let (key, schema, index) = key(name);
        match options.index_owners.and_then(|o| o.owner(&key)) {
            Some(owner) => found.push(owner),
            None => {
                let sharded = db.sharding.tables.iter().flat_map(|(table, t)| {
                    t.data_nodes.iter().map(|node| {
                        let actual = fold_table(name, &node.table);
                        IndexCandidate {
                            table: table.clone(),
                            data_source: node.data_source.clone(),
                            actual_index: actual_index_name(&index, &actual),
                            on_table: actual,
                        }
                    })
                });
                // Every data source holds each broadcast table.
                let broadcast = db.broadcast_tables.iter().flat_map(|table| {
                    db.data_sources.keys().map(|ds| IndexCandidate {
                        table: table.clone(),
                        data_source: ds.clone(),
                        actual_index: index.clone(),
                        on_table: table.clone(),
                    })
                });
                let candidates = sharded.chain(broadcast).collect();
                needed.push(IndexLookup {
                    index: key,
                    schema,
                    candidates,
                });
            }
        }
    }
    if needed.is_empty() {
        Ok(found)
    } else {
        Err(KernelError::IndexOwnersNeeded { lookups: needed })
    }
}

/// The routes of a statement on every actual table of `table`: its data
/// nodes, each with the table map that renames it.
fn table_units(
    db: &LogicalDatabase,
    table: &str,
    params: &[ShardingValue],
    options: &PlanOptions<'_>,
) -> Result<Vec<RouteUnit>, KernelError> {
    let context = StatementContext {
        kind: StatementKind::Ddl,
        tables: vec![table.to_owned()],
        table_refs: [(table.to_owned(), 1)].into_iter().collect(),
        scope: Default::default(),
        condition: Condition::True,
        insert: None,
        write_targets: None,
        assignments: Vec::new(),
    };
    Ok(route_with_hints(db, &context, params, options.hints)?.units)
}

fn actual_of<'a>(unit: &'a RouteUnit, table: &str) -> Result<&'a str, KernelError> {
    unit.table_map
        .iter()
        .find(|(logical, _)| logical == table)
        .map(|(_, actual)| actual.as_str())
        .ok_or_else(|| {
            KernelError::Internal(format!("a route of {table} without its actual table"))
        })
}

/// `[schema.]name` -> `[schema.]<name>_<actual>`, quoted as written.
fn rename_index(name: &mut ObjectName, actual: &str) {
    let Some(ObjectNamePart::Identifier(ident)) = name.0.last_mut() else {
        return;
    };
    let folded = fold(ident);
    let actual = if ident.quote_style.is_some() {
        actual.to_owned()
    } else {
        actual.to_ascii_lowercase()
    };
    ident.value = actual_index_name(&folded, &actual);
}

/// The lookup key of an index name, its schema, and its folded last part.
fn key(name: &ObjectName) -> (String, Option<String>, String) {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(ident) => fold(ident),
            other => other.to_string(),
        })
        .collect();
    let index = parts.last().cloned().unwrap_or_default();
    let schema = parts
        .len()
        .checked_sub(2)
        .and_then(|i| parts.get(i))
        .cloned();
    (parts.join("."), schema, index)
}

/// The actual table name as the server stores it next to index `name`
/// (unquoted names fold to lower case).
fn fold_table(name: &ObjectName, actual: &str) -> String {
    match name.0.last() {
        Some(ObjectNamePart::Identifier(ident)) if ident.quote_style.is_some() => actual.to_owned(),
        _ => actual.to_ascii_lowercase(),
    }
}

/// An identifier as PostgreSQL stores it: unquoted ones in lower case, and
/// cut to 63 bytes as the server cuts them.
fn fold(ident: &Ident) -> String {
    let value = if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_ascii_lowercase()
    };
    cut(&value, PG_MAX_IDENTIFIER).to_owned()
}

/// `text` cut to at most `max` bytes on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// 32-bit FNV-1a: stable across Rust versions and platforms (the std
/// hasher is not), so a name computed today is found again after an
/// upgrade.
fn fnv1a(parts: &[&[u8]]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for part in parts {
        for byte in *part {
            hash ^= u32::from(*byte);
            hash = hash.wrapping_mul(0x0100_0193);
        }
    }
    hash
}

#[cfg(test)]
#[path = "index_names_tests.rs"]
mod tests;
