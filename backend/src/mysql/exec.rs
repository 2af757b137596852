//! MySQL connections under the shared executor: what one route unit runs
//! ([`MySqlRequest`]) and how its answers reach the caller.

use shardwire_protocol::mysql::{BinaryType, Value};

use super::kill::KillToken;
use super::pool::PooledMySqlConnection;
use super::query::{MySqlEvent, MySqlQuery};
use crate::error::Result;
use crate::executor::{EventSink, UnitConnection};

/// What one unit runs on a MySQL connection.
#[derive(Debug, Clone)]
pub enum MySqlRequest {
    /// COM_QUERY: the SQL carries its own literals; text rows come back.
    Query(String),
    /// The unit's SQL with `?` placeholders, executed with the client's
    /// values as a statement the connection keeps prepared; binary rows
    /// come back.
    Execute {
        sql: String,
        params: Vec<Value>,
        types: Vec<BinaryType>,
    },
}

impl UnitConnection for PooledMySqlConnection {
    type Request = MySqlRequest;
    type Event = MySqlEvent;
    type CancelToken = KillToken;

    fn cancel_token(&self) -> Option<KillToken> {
        self.kill_token()
    }

    async fn run_unit(&mut self, request: &MySqlRequest, sink: &EventSink<MySqlEvent>) {
        match request {
            MySqlRequest::Query(sql) => match self.query(sql).await {
                Ok(query) => forward(query, sink).await,
                Err(e) => {
                    sink.send(Err(e)).await;
                }
            },
            MySqlRequest::Execute { sql, params, types } => {
                let statement = match self.prepare_cached(sql).await {
                    Ok(s) => s,
                    Err(e) => {
                        sink.send(Err(e)).await;
                        return;
                    }
                };
                match self.execute_typed(&statement, params, types).await {
                    Ok(query) => forward(query, sink).await,
                    Err(e) => {
                        sink.send(Err(e)).await;
                    }
                }
            }
        }
    }
}

async fn forward(mut query: MySqlQuery<'_>, sink: &EventSink<MySqlEvent>) {
    loop {
        let item: Result<Option<MySqlEvent>> = query.next_event().await;
        match item {
            Ok(Some(event)) => {
                if !sink.send(Ok(event)).await {
                    // Nobody reads the rest: the connection knows it has
                    // answers in flight and reads them away before reuse.
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                sink.send(Err(e)).await;
                return;
            }
        }
    }
}
