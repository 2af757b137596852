//! Prepared statements on a [`MySqlConnection`]: COM_STMT_PREPARE,
//! COM_STMT_EXECUTE (binary rows), COM_STMT_SEND_LONG_DATA,
//! COM_STMT_RESET and COM_STMT_CLOSE.

use std::sync::Arc;

use bytes::Bytes;
use shardwire_protocol::mysql::{
    is_result_end, BinaryType, ColumnDefinition, Command, StmtExecute, StmtPrepareOk, Value,
    ERR_HEADER,
};
use shardwire_protocol::ProtocolError;

use super::connection::MySqlConnection;
use super::query::MySqlQuery;
use super::results::ReadState;
use crate::error::{BackendError, Result};

/// A statement prepared on one connection; its id means nothing on any
/// other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MySqlStatement {
    id: u32,
    params: Arc<[ColumnDefinition]>,
    columns: Arc<[ColumnDefinition]>,
    warnings: u16,
}

impl MySqlStatement {
    /// A statement with no parameters or columns, for cache tests.
    #[cfg(test)]
    pub(crate) fn new_for_test(id: u32) -> MySqlStatement {
        MySqlStatement {
            id,
            params: Arc::from([]),
            columns: Arc::from([]),
            warnings: 0,
        }
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    pub fn param_count(&self) -> usize {
        self.params.len()
    }

    /// Parameter definitions as the server describes them (MySQL sends
    /// placeholders typed VAR_STRING; MariaDB likewise).
    pub fn params(&self) -> &Arc<[ColumnDefinition]> {
        &self.params
    }

    /// Result columns; empty for statements without a result set.
    pub fn columns(&self) -> &Arc<[ColumnDefinition]> {
        &self.columns
    }

    pub fn warnings(&self) -> u16 {
        self.warnings
    }
}

impl MySqlConnection {
    /// Prepares `sql` and reads its parameter and column definitions.
    pub async fn prepare(&mut self, sql: &str) -> Result<MySqlStatement> {
        self.begin_request().await?;
        self.send_command(&Command::StmtPrepare(Bytes::copy_from_slice(
            sql.as_bytes(),
        )))
        .await?;
        let first = self.recv_raw().await?;
        if first.header() == Some(ERR_HEADER) {
            return Err(self.server_error(first.payload));
        }
        let ok = StmtPrepareOk::decode(first.payload);
        let ok = self.decoded(ok)?;
        let params = self.read_definitions(usize::from(ok.num_params)).await?;
        let columns = self.read_definitions(usize::from(ok.num_columns)).await?;
        Ok(MySqlStatement {
            id: ok.statement_id,
            params,
            columns,
            warnings: ok.warnings,
        })
    }

    /// The statement for `sql` kept prepared on this connection, prepared
    /// now if it is not (see [`super::statement_cache`]). Not to be closed
    /// by the caller: the connection closes it when it displaces it.
    pub async fn prepare_cached(&mut self, sql: &str) -> Result<MySqlStatement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement);
        }
        let statement = self.prepare(sql).await?;
        if let Some(displaced) = self.statements.insert(sql, statement.clone()) {
            self.close_statement(displaced).await?;
        }
        Ok(statement)
    }

    /// How many statements [`MySqlConnection::prepare_cached`] keeps
    /// prepared now.
    pub fn cached_statements(&self) -> usize {
        self.statements.len()
    }

    /// `n` column definitions, and the EOF after them unless
    /// CLIENT_DEPRECATE_EOF (none at all when `n` is 0).
    async fn read_definitions(&mut self, n: usize) -> Result<Arc<[ColumnDefinition]>> {
        let mut defs = Vec::with_capacity(n);
        for _ in 0..n {
            let p = self.recv_raw().await?;
            let def = self.decoded(ColumnDefinition::decode(p.payload))?;
            defs.push(def);
        }
        if n > 0 && !self.deprecate_eof() {
            let p = self.recv_raw().await?;
            if !is_result_end(&p.payload, self.caps) {
                return Err(self.unexpected(
                    "a packet other than EOF after definitions".into(),
                    "preparing a statement",
                ));
            }
        }
        Ok(defs.into())
    }

    /// Executes `statement` with `params`, typed from the values (integers
    /// as LONGLONG, bytes as VAR_STRING, ...); the rows come back binary.
    pub async fn execute(
        &mut self,
        statement: &MySqlStatement,
        params: &[Value],
    ) -> Result<MySqlQuery<'_>> {
        let types: Vec<BinaryType> = params.iter().map(Value::binary_type).collect();
        self.execute_typed(statement, params, &types).await
    }

    /// [`MySqlConnection::execute`] with explicit parameter types.
    pub async fn execute_typed(
        &mut self,
        statement: &MySqlStatement,
        params: &[Value],
        types: &[BinaryType],
    ) -> Result<MySqlQuery<'_>> {
        if params.len() != statement.param_count() {
            return Err(BackendError::Protocol(ProtocolError::Encode {
                what: "COM_STMT_EXECUTE",
                reason: format!(
                    "{} values for a statement with {} parameters",
                    params.len(),
                    statement.param_count()
                ),
            }));
        }
        // Encoded before anything is sent: a value that does not fit its
        // type fails here and leaves the session untouched.
        let exec = StmtExecute::with_types(statement.id, params, types)?;
        self.begin_request().await?;
        self.send_command(&Command::StmtExecute(exec)).await?;
        self.state = ReadState::Response { binary: true };
        Ok(MySqlQuery::new(self))
    }

    /// Sends a chunk of a long parameter value (no answer comes back; the
    /// server reports problems at the next execute).
    pub async fn send_long_data(
        &mut self,
        statement: &MySqlStatement,
        param: u16,
        data: Bytes,
    ) -> Result<()> {
        self.begin_request().await?;
        self.send_command(&Command::StmtSendLongData {
            statement_id: statement.id,
            param_id: param,
            data,
        })
        .await
    }

    /// COM_STMT_RESET: drops long data sent for the statement and closes
    /// its cursor.
    pub async fn reset_statement(&mut self, statement: &MySqlStatement) -> Result<()> {
        self.simple_command(&Command::StmtReset(statement.id), "resetting a statement")
            .await
            .map(drop)
    }

    /// COM_STMT_CLOSE (no answer comes back).
    pub async fn close_statement(&mut self, statement: MySqlStatement) -> Result<()> {
        self.begin_request().await?;
        self.send_command(&Command::StmtClose(statement.id)).await
    }
}
