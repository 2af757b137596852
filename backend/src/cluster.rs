//! [`PgCluster`]: the pools of one logical database, one per data source.

use std::collections::HashMap;

use shardwire_rules::snapshot::LogicalDatabase;

use crate::error::{BackendError, Result};
use crate::pool::PgPool;

/// One [`PgPool`] per data source of a logical database. Pools open their
/// connections on demand, so building a cluster touches no server.
#[derive(Debug)]
pub struct PgCluster {
    /// In the order the rules file declares them: the first is where
    /// statements that need no particular data source go.
    order: Vec<String>,
    pools: HashMap<String, PgPool>,
}

impl PgCluster {
    pub fn new(db: &LogicalDatabase) -> Result<PgCluster> {
        let mut order = Vec::with_capacity(db.data_sources.len());
        let mut pools = HashMap::with_capacity(db.data_sources.len());
        for (name, source) in &db.data_sources {
            pools.insert(name.clone(), PgPool::new(source.clone())?);
            order.push(name.clone());
        }
        if order.is_empty() {
            return Err(BackendError::Config {
                name: db.name.clone(),
                reason: "the logical database has no data source".into(),
            });
        }
        Ok(PgCluster { order, pools })
    }

    /// The pool of data source `name`.
    pub fn pool(&self, name: &str) -> Result<&PgPool> {
        self.pools.get(name).ok_or_else(|| BackendError::Config {
            name: name.to_owned(),
            reason: "the route names a data source this database does not have".into(),
        })
    }

    /// The first data source's name.
    pub fn first(&self) -> &str {
        // `new` refuses an empty list.
        self.order.first().map_or("", String::as_str)
    }

    /// Data source names in declaration order.
    pub fn names(&self) -> &[String] {
        &self.order
    }

    pub fn close(&self) {
        for pool in self.pools.values() {
            pool.close();
        }
    }
}
