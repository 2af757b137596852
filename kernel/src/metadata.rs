//! Table metadata as the planner reads it: the columns of a logical table,
//! in order, as its actual tables declare them. The kernel never loads it
//! (it does no I/O): the frontend hands a [`MetadataSource`] to the planner
//! beside the rules, and when a statement needs a table the source does not
//! hold, the planner answers [`crate::KernelError::MetadataNeeded`] so the
//! caller can load it and plan again. Statements that need no metadata (a
//! point select, an INSERT naming its columns) never look.

use std::collections::HashMap;
use std::sync::Arc;

/// One column of a logical table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMeta {
    /// As the database spells it (PostgreSQL folds unquoted names to lower
    /// case, MySQL keeps the case they were created with).
    pub name: String,
    /// The database's own type name (`integer`, `character varying(10)`,
    /// `int(11)`): for messages and merges, not parsed by the router.
    pub data_type: String,
    pub nullable: bool,
    pub primary_key: bool,
}

/// The columns of a logical table, in the order its actual tables have them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableMeta {
    pub columns: Vec<ColumnMeta>,
}

impl TableMeta {
    /// Position of `column`, compared as the databases compare unquoted
    /// names: without regard to ASCII case.
    pub fn position(&self, column: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(column))
    }
}

/// Where the planner finds a logical table's metadata. `logical` is the
/// lower-cased logical name, as the rules key tables.
pub trait MetadataSource: std::fmt::Debug + Sync {
    fn table(&self, logical: &str) -> Option<Arc<TableMeta>>;
}

impl MetadataSource for HashMap<String, Arc<TableMeta>> {
    fn table(&self, logical: &str) -> Option<Arc<TableMeta>> {
        self.get(logical).cloned()
    }
}
