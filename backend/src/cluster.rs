//! [`Cluster`]: the pools of one logical database, one per data source;
//! [`PgCluster`] and [`MySqlCluster`] are its two instances.

use std::collections::HashMap;

use shardwire_rules::snapshot::LogicalDatabase;

use crate::error::{BackendError, Result};
use crate::mysql::MySqlConnection;
use crate::pg::PgConnection;
use crate::pool::{PoolSession, SessionPool};

/// The PostgreSQL pools of a logical database.
pub type PgCluster = Cluster<PgConnection>;

/// The MySQL / MariaDB pools of a logical database.
pub type MySqlCluster = Cluster<MySqlConnection>;

/// One pool per data source of a logical database. Pools open their
/// connections on demand, so building a cluster touches no server.
#[derive(Debug)]
pub struct Cluster<S: PoolSession> {
    /// In the order the rules file declares them: the first is where
    /// statements that need no particular data source go.
    order: Vec<String>,
    pools: HashMap<String, SessionPool<S>>,
}

impl<S: PoolSession> Cluster<S> {
    pub fn new(db: &LogicalDatabase) -> Result<Cluster<S>> {
        let mut order = Vec::with_capacity(db.data_sources.len());
        let mut pools = HashMap::with_capacity(db.data_sources.len());
        for (name, source) in &db.data_sources {
            pools.insert(name.clone(), SessionPool::new(source.clone())?);
            order.push(name.clone());
        }
        if order.is_empty() {
            return Err(BackendError::Config {
                name: db.name.clone(),
                reason: "the logical database has no data source".into(),
            });
        }
        Ok(Cluster { order, pools })
    }

    /// The pool of data source `name`.
    pub fn pool(&self, name: &str) -> Result<&SessionPool<S>> {
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
