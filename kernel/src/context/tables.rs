//! Which tables a statement names, and which names (tables and aliases) the
//! outermost FROM brings into scope for qualified columns.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::ControlFlow;

use sqlparser::ast::{
    CopySource, ObjectName, ObjectNamePart, ObjectType, Query, ShowCreateObject, Statement,
    TableFactor, TableWithJoins, Visit, Visitor,
};

/// The logical name an object name stands for: its last part, lower-cased
/// (the rules key tables by lower-cased name; a schema prefix does not
/// change which logical table is meant).
pub(crate) fn logical_name(name: &ObjectName) -> String {
    match name.0.last() {
        Some(ObjectNamePart::Identifier(ident)) => ident.value.to_ascii_lowercase(),
        Some(other) => other.to_string().to_ascii_lowercase(),
        None => String::new(),
    }
}

pub(crate) struct Found {
    pub tables: Vec<String>,
    pub refs: BTreeMap<String, usize>,
}

/// Names that look like relations but are not tables of any rule: CTEs and
/// table functions (`generate_series(1, 3)`).
#[derive(Default)]
struct NotTables(HashSet<String>);

impl Visitor for NotTables {
    type Break = ();
    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.0.insert(cte.alias.name.value.to_ascii_lowercase());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table {
            name,
            args: Some(_),
            ..
        } = factor
        {
            self.0.insert(logical_name(name));
        }
        ControlFlow::Continue(())
    }
}

/// The catalogs every database has: drivers query them on connect, and any
/// one data source answers for them.
const SYSTEM_SCHEMAS: &[&str] = &[
    "information_schema",
    "pg_catalog",
    "performance_schema",
    "mysql",
    "sys",
];

fn is_system(name: &ObjectName) -> bool {
    let schema = name.0.len().checked_sub(2).and_then(|i| name.0.get(i));
    match schema {
        Some(ObjectNamePart::Identifier(ident)) => SYSTEM_SCHEMAS
            .iter()
            .any(|s| ident.value.eq_ignore_ascii_case(s)),
        // Unqualified `pg_class` is left to the router, which knows whether
        // a rule claims the name.
        _ => false,
    }
}

struct Relations<'a> {
    not_tables: &'a HashSet<String>,
    found: Found,
}

impl Relations<'_> {
    fn add(&mut self, name: &ObjectName) {
        // A one-part name equal to a CTE is the CTE, not a table.
        if (name.0.len() == 1 && self.not_tables.contains(&logical_name(name))) || is_system(name) {
            return;
        }
        let table = logical_name(name);
        if table.is_empty() {
            return;
        }
        let count = self.found.refs.entry(table.clone()).or_insert(0);
        if *count == 0 {
            self.found.tables.push(table);
        }
        *count += 1;
    }
}

impl Visitor for Relations<'_> {
    type Break = ();
    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        self.add(relation);
        ControlFlow::Continue(())
    }
}

pub(crate) fn collect(statement: &Statement) -> Found {
    let mut not_tables = NotTables::default();
    let _ = statement.visit(&mut not_tables);
    let mut relations = Relations {
        not_tables: &not_tables.0,
        found: Found {
            tables: Vec::new(),
            refs: BTreeMap::new(),
        },
    };
    // DROP's names are not "relations" to sqlparser (they may be views,
    // indexes...); for DROP TABLE and MySQL's DROP INDEX ... ON t they are.
    if let Statement::Drop {
        object_type,
        names,
        table,
        ..
    } = statement
    {
        if *object_type == ObjectType::Table {
            for name in names {
                relations.add(name);
            }
        }
        if let Some(table) = table {
            relations.add(table);
        }
    }
    // Nor is SHOW CREATE TABLE's.
    if let Statement::ShowCreate {
        obj_type: ShowCreateObject::Table,
        obj_name,
    } = statement
    {
        relations.add(obj_name);
    }
    // Nor is COPY's table.
    if let Statement::Copy {
        source: CopySource::Table { table_name, .. },
        ..
    } = statement
    {
        relations.add(table_name);
    }
    let _ = statement.visit(&mut relations);
    relations.found
}

/// The names the outermost FROM brings into scope.
#[derive(Debug, Default)]
pub(crate) struct Scope {
    /// Qualifier (alias or table name, lower-cased) -> logical table.
    qualifiers: HashMap<String, String>,
    tables: BTreeSet<String>,
}

impl Scope {
    pub fn add_table_with_joins(&mut self, t: &TableWithJoins) {
        self.add_factor(&t.relation);
        for join in &t.joins {
            self.add_factor(&join.relation);
        }
    }

    fn add_factor(&mut self, factor: &TableFactor) {
        match factor {
            TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } => {
                let table = logical_name(name);
                self.qualifiers.insert(table.clone(), table.clone());
                if let Some(alias) = alias {
                    self.qualifiers
                        .insert(alias.name.value.to_ascii_lowercase(), table.clone());
                }
                self.tables.insert(table);
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.add_table_with_joins(table_with_joins),
            // Derived tables, functions...: their columns are not any
            // logical table's, so qualifiers naming them stay unresolved.
            _ => {}
        }
    }

    /// The logical table a column qualifier names, if it is in scope.
    pub fn resolve(&self, qualifier: &str) -> Option<&str> {
        self.qualifiers
            .get(&qualifier.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn tables(&self) -> BTreeSet<String> {
        self.tables.clone()
    }
}
