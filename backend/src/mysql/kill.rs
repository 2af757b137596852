//! KILL QUERY: MySQL's cancel, sent as a statement over a second
//! connection, since the protocol has no out-of-band cancel message.

use std::fmt;

use shardwire_rules::snapshot::DataSource;

use super::connection::MySqlConnection;
use crate::error::{BackendError, Result};

/// Everything needed to interrupt a session's running statement, detached
/// from the connection so another task can use it while it is busy.
#[derive(Clone)]
pub struct KillToken {
    /// The data source with its credentials: the kill needs a login.
    source: DataSource,
    connection_id: u32,
}

impl fmt::Debug for KillToken {
    // Hand-written so the password in the data source never reaches a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KillToken")
            .field("host", &self.source.host)
            .field("port", &self.source.port)
            .field("connection_id", &self.connection_id)
            .finish()
    }
}

impl KillToken {
    pub(crate) fn new(source: &DataSource, connection_id: u32) -> Self {
        let mut source = source.clone();
        // The kill connection needs no schema, and must not fail because
        // the schema was dropped meanwhile.
        source.database.clear();
        KillToken {
            source,
            connection_id,
        }
    }

    pub fn connection_id(&self) -> u32 {
        self.connection_id
    }

    /// Runs `KILL QUERY <id>`: the statement running in the session ends
    /// with error 1317 (query interrupted) and the session stays open.
    /// Success means the server accepted the kill; one sent while the
    /// session is idle does nothing.
    pub async fn kill_query(&self) -> Result<()> {
        self.run(&format!("KILL QUERY {}", self.connection_id))
            .await
    }

    /// Runs `KILL CONNECTION <id>`: ends the whole session.
    pub async fn kill_connection(&self) -> Result<()> {
        self.run(&format!("KILL CONNECTION {}", self.connection_id))
            .await
    }

    async fn run(&self, sql: &str) -> Result<()> {
        let limit = self.source.connection_timeout;
        let work = async {
            let mut conn = MySqlConnection::connect(&self.source).await?;
            conn.simple_query(sql).await?;
            conn.close().await;
            Ok(())
        };
        if limit.is_zero() {
            return work.await;
        }
        // The connect inside is bounded by the same limit; this bounds the
        // statement too.
        tokio::time::timeout(limit * 2, work)
            .await
            .map_err(|_| BackendError::Timeout {
                what: "KILL QUERY",
                after: limit * 2,
            })?
    }
}
