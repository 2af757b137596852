//! Shared helpers for the backend's MySQL tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use shardwire_backend::mysql::{MySqlConnection, MySqlRow};
use shardwire_rules::snapshot::{DataSource, DatabaseProtocol};
use shardwire_testkit::MariaDbInstance;

/// A data source pointing at a test instance, with test-sized pool settings.
pub fn data_source(db: &MariaDbInstance) -> DataSource {
    DataSource {
        name: "ds_mysql".into(),
        protocol: DatabaseProtocol::MySql,
        host: db.host().into(),
        port: db.port(),
        database: db.database().into(),
        params: BTreeMap::new(),
        username: db.user().into(),
        password: db.password().into(),
        connection_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        max_lifetime: Duration::from_secs(1800),
        max_pool_size: 4,
        min_pool_size: 1,
    }
}

/// A text row's cells as strings, `None` for NULL.
pub fn text(row: &MySqlRow) -> Vec<Option<String>> {
    row.as_text()
        .expect("a text row")
        .cells()
        .map(|c| c.map(|b| String::from_utf8(b.to_vec()).unwrap()))
        .collect()
}

/// The first cell of the first row of `sql`.
pub async fn scalar(conn: &mut MySqlConnection, sql: &str) -> Option<String> {
    let sets = conn.simple_query(sql).await.unwrap();
    text(&sets[0].rows[0])[0].clone()
}

pub fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}
