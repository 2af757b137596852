//! Shared helpers for the backend's end-to-end tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use shardwire_protocol::pg::DataRow;
use shardwire_rules::snapshot::{DataSource, DatabaseProtocol};
use shardwire_testkit::PgInstance;

/// A data source pointing at a test instance, with test-sized pool settings.
pub fn data_source(pg: &PgInstance) -> DataSource {
    let mut ds = data_source_at(pg.port());
    ds.host = pg.host().into();
    ds.database = pg.database().into();
    ds.username = pg.user().into();
    ds.password = pg.password().into();
    ds
}

/// A data source on 127.0.0.1:`port` with the testkit's default names.
pub fn data_source_at(port: u16) -> DataSource {
    DataSource {
        name: "ds_test".into(),
        protocol: DatabaseProtocol::PostgreSql,
        host: "127.0.0.1".into(),
        port,
        database: "shardwire".into(),
        params: BTreeMap::new(),
        username: "shardwire".into(),
        password: "shardwire-secret".into(),
        connection_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        max_lifetime: Duration::from_secs(1800),
        max_pool_size: 4,
        min_pool_size: 1,
    }
}

/// A row's columns as text, `None` for NULL.
pub fn text(row: &DataRow) -> Vec<Option<String>> {
    row.columns()
        .map(|c| c.map(|b| String::from_utf8(b.to_vec()).unwrap()))
        .collect()
}

pub fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}
