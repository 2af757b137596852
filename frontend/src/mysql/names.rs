//! Column definitions as the client should see them: the shards name their
//! own schema and actual tables (`shard_0`, `t_order_1`); the client asked
//! about the logical database and tables (`sharding_db`, `t_order`), and
//! drivers show or key on these names (JDBC's getTableName, ORMs).

use bytes::Bytes;
use shardwire_protocol::mysql::ColumnDefinition;

use super::session::Session;

impl Session {
    /// `columns` with the logical database and table names.
    pub(super) fn logical_columns(&self, columns: &[ColumnDefinition]) -> Vec<ColumnDefinition> {
        let Some(db) = &self.db else {
            return columns.to_vec();
        };
        let schema = Bytes::copy_from_slice(db.rules.name.as_bytes());
        let logical = |actual: &Bytes| -> Option<Bytes> {
            if actual.is_empty() {
                return None;
            }
            db.rules.sharding.tables.values().find_map(|t| {
                t.actual_tables
                    .iter()
                    .any(|a| a.as_bytes() == &actual[..])
                    .then(|| Bytes::copy_from_slice(t.logic_name.as_bytes()))
            })
        };
        columns
            .iter()
            .map(|c| {
                let mut c = c.clone();
                if !c.schema.is_empty() {
                    c.schema = schema.clone();
                }
                if let Some(name) = logical(&c.org_table) {
                    c.org_table = name;
                }
                if let Some(name) = logical(&c.table) {
                    c.table = name;
                }
                c
            })
            .collect()
    }
}
