//! Statements the proxy answers itself, because they are about the session
//! or the logical schema rather than the data: transaction control, SET,
//! USE, the `SELECT @@...` drivers send on connect, SHOW DATABASES /
//! TABLES / VARIABLES / WARNINGS.
//!
//! SET is recorded (SELECT @@x and SHOW VARIABLES read it back), and
//! the variables the shards must see are replayed on every backend
//! connection the session's statements run on (`settings`).

use shardwire_protocol::mysql::constants::column_type::{
    MYSQL_TYPE_LONGLONG, MYSQL_TYPE_NULL, MYSQL_TYPE_VAR_STRING,
};
use shardwire_protocol::mysql::{BinaryRow, BinaryType, ColumnDefinition, Value as Wire};

use super::classify::{like, Item, Local};
use super::session::{wire_error, Session};
use crate::error::StatementError;

/// What the proxy answers.
#[derive(Debug)]
pub enum LocalAnswer {
    Ok,
    Rows {
        columns: Vec<ColumnDefinition>,
        rows: Vec<Vec<Option<String>>>,
    },
}

/// Defaults of the system variables drivers read on connect; `version`,
/// `max_allowed_packet` and `autocommit` come from the session.
const DEFAULTS: &[(&str, &str)] = &[
    ("auto_increment_increment", "1"),
    ("auto_increment_offset", "1"),
    ("character_set_client", "utf8mb4"),
    ("character_set_connection", "utf8mb4"),
    ("character_set_database", "utf8mb4"),
    ("character_set_results", "utf8mb4"),
    ("character_set_server", "utf8mb4"),
    ("character_set_system", "utf8mb3"),
    ("collation_connection", "utf8mb4_general_ci"),
    ("collation_database", "utf8mb4_general_ci"),
    ("collation_server", "utf8mb4_general_ci"),
    ("default_storage_engine", "InnoDB"),
    ("init_connect", ""),
    ("interactive_timeout", "28800"),
    ("license", "GPL"),
    ("lower_case_table_names", "0"),
    ("max_execution_time", "0"),
    ("net_buffer_length", "16384"),
    ("net_write_timeout", "60"),
    ("performance_schema", "0"),
    ("query_cache_size", "0"),
    ("query_cache_type", "OFF"),
    ("sql_auto_is_null", "0"),
    (
        "sql_mode",
        "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION",
    ),
    ("sql_select_limit", "18446744073709551615"),
    ("system_time_zone", "UTC"),
    ("time_zone", "SYSTEM"),
    ("transaction_isolation", "REPEATABLE-READ"),
    ("transaction_read_only", "0"),
    ("tx_isolation", "REPEATABLE-READ"),
    ("tx_read_only", "0"),
    ("version_comment", "Shardwire"),
    ("wait_timeout", "28800"),
];

fn column(name: &str, value_type: u8) -> ColumnDefinition {
    let mut c = ColumnDefinition::new(name, value_type);
    if value_type != MYSQL_TYPE_VAR_STRING {
        // Numbers and NULL carry the binary collation, as MySQL sends them.
        c.charset = 63;
    }
    c.column_length = if value_type == MYSQL_TYPE_LONGLONG {
        21
    } else {
        1024
    };
    c
}

fn text_columns(names: &[&str]) -> Vec<ColumnDefinition> {
    names
        .iter()
        .map(|n| column(n, MYSQL_TYPE_VAR_STRING))
        .collect()
}

impl Session {
    /// The value of system variable `name` as this session sees it.
    fn variable(&self, name: &str) -> Option<String> {
        if let Some(v) = self.vars.get(name) {
            return Some(v.clone());
        }
        match name {
            "version" => Some(self.fe.snapshot.global.mysql_server_version.clone()),
            "max_allowed_packet" => Some(self.fe.max_message_len.to_string()),
            "autocommit" => Some(u8::from(self.autocommit).to_string()),
            _ => DEFAULTS
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned()),
        }
    }

    /// The result columns of a local statement, without running it (for
    /// COM_STMT_PREPARE).
    pub(super) fn local_columns(&self, local: &Local) -> Vec<ColumnDefinition> {
        match self.local_rows(local) {
            Ok(LocalAnswer::Rows { columns, .. }) => columns,
            _ => Vec::new(),
        }
    }

    /// Runs a local statement.
    pub(super) async fn run_local(&mut self, local: Local) -> Result<LocalAnswer, StatementError> {
        match local {
            Local::Begin(sql) => self.begin(&sql).await.map(|()| LocalAnswer::Ok),
            Local::Commit => self.end_transaction(true).await.map(|()| LocalAnswer::Ok),
            Local::Rollback => self.end_transaction(false).await.map(|()| LocalAnswer::Ok),
            Local::Use(db) => self.use_database(&db).await.map(|()| LocalAnswer::Ok),
            Local::Set(assignments) => {
                let mut replayed = Vec::new();
                for (name, written) in assignments {
                    let value = super::classify::unquote(&written);
                    if name == "autocommit" {
                        let on = match value.to_ascii_lowercase().as_str() {
                            "1" | "on" | "true" => true,
                            "0" | "off" | "false" => false,
                            _ => {
                                return Err(StatementError::refused(
                                    "42000",
                                    format!(
                                    "Variable 'autocommit' can't be set to the value of '{value}'"
                                ),
                                ))
                            }
                        };
                        // Turning autocommit on commits what is open.
                        if on && !self.autocommit && self.txn.state.is_open() {
                            self.end_transaction(true).await?;
                        }
                        self.autocommit = on;
                    } else if super::settings::replayed(&name)
                        && !super::settings::names_user_variable(&written)
                    {
                        replayed.push((name, written));
                    } else if !value.starts_with('(') {
                        self.vars.insert(name, value);
                    }
                }
                self.apply_set(replayed).await?;
                Ok(LocalAnswer::Ok)
            }
            Local::ShowTables {
                full,
                from,
                like: pattern,
            } => {
                let db = self.show_tables_database(from.as_deref())?;
                self.show_tables(&db, full, pattern.as_deref()).await
            }
            other => self.local_rows(&other),
        }
    }

    /// The logical database SHOW TABLES [FROM db] is about.
    fn show_tables_database(
        &self,
        from: Option<&str>,
    ) -> Result<std::sync::Arc<crate::server::Database>, StatementError> {
        match from {
            None => self.database(),
            Some(name) => super::login::choose_database(&self.fe, &self.user, &self.host, name)
                .map_err(|err| {
                    StatementError::Backend(shardwire_backend::BackendError::MySqlServer(Box::new(
                        err.into(),
                    )))
                }),
        }
    }

    /// Answers of the local statements that only read.
    fn local_rows(&self, local: &Local) -> Result<LocalAnswer, StatementError> {
        let rows = |columns: Vec<ColumnDefinition>, rows: Vec<Vec<Option<String>>>| {
            Ok(LocalAnswer::Rows { columns, rows })
        };
        match local {
            Local::Select(items) => {
                let mut columns = Vec::with_capacity(items.len());
                let mut row = Vec::with_capacity(items.len());
                for (label, item) in items {
                    let value = match item {
                        // Clients (mysql_async) read @@socket to switch to
                        // a local socket; the proxy has none to offer.
                        Item::Var(name) if name == "socket" => None,
                        Item::Var(name) => Some(self.variable(name).ok_or_else(|| {
                            StatementError::refused(
                                "HY000",
                                format!("Unknown system variable '{name}'"),
                            )
                        })?),
                        Item::Database => self.db.as_ref().map(|d| d.rules.name.clone()),
                        Item::Version => Some(self.fe.snapshot.global.mysql_server_version.clone()),
                        Item::User => Some(format!("{}@{}", self.user, self.host)),
                        Item::ConnectionId => Some(self.connection_id.to_string()),
                        Item::LastInsertId => Some(self.last_insert_id.to_string()),
                        Item::Int(i) => Some(i.to_string()),
                        Item::Text(t) => Some(t.clone()),
                        Item::Null => None,
                    };
                    let ty = match (&value, item) {
                        (None, _) => MYSQL_TYPE_NULL,
                        (_, Item::Text(_)) => MYSQL_TYPE_VAR_STRING,
                        (Some(v), _) if v.parse::<i64>().is_ok() => MYSQL_TYPE_LONGLONG,
                        _ => MYSQL_TYPE_VAR_STRING,
                    };
                    columns.push(column(label, ty));
                    row.push(value);
                }
                rows(columns, vec![row])
            }
            Local::ShowDatabases(pattern) => {
                let mut names: Vec<&String> = self
                    .fe
                    .databases
                    .iter()
                    .filter(|(name, db)| {
                        db.mysql.is_some()
                            && self
                                .fe
                                .snapshot
                                .global
                                .find_user(&self.user, &self.host)
                                .is_some_and(|u| u.may_use(name))
                    })
                    .map(|(name, _)| name)
                    .filter(|name| pattern.as_deref().is_none_or(|p| like(p, name)))
                    .collect();
                names.sort();
                rows(
                    text_columns(&["Database"]),
                    names.into_iter().map(|n| vec![Some(n.clone())]).collect(),
                )
            }
            Local::ShowTables {
                full,
                from,
                like: pattern,
            } => {
                // The columns only (COM_STMT_PREPARE); run_local asks the
                // data sources for the rows.
                let db = self.show_tables_database(from.as_deref())?;
                let mut label = format!("Tables_in_{}", db.rules.name);
                if let Some(p) = pattern {
                    label.push_str(&format!(" ({p})"));
                }
                let mut cols = vec![label.as_str()];
                if *full {
                    cols.push("Table_type");
                }
                rows(text_columns(&cols), Vec::new())
            }
            Local::ShowVariables(pattern) => {
                let mut names: Vec<String> = DEFAULTS
                    .iter()
                    .map(|(k, _)| (*k).to_owned())
                    .chain(["version", "max_allowed_packet", "autocommit"].map(str::to_owned))
                    .chain(self.vars.keys().filter(|k| !k.starts_with('@')).cloned())
                    .filter(|n| pattern.as_deref().is_none_or(|p| like(p, n)))
                    .collect();
                names.sort();
                names.dedup();
                let values = names
                    .into_iter()
                    .map(|n| {
                        let v = self.variable(&n);
                        vec![Some(n), v]
                    })
                    .collect();
                rows(text_columns(&["Variable_name", "Value"]), values)
            }
            Local::ShowEmpty(names) => rows(text_columns(names), Vec::new()),
            Local::Refuse(code, state, message) => Err(StatementError::Backend(
                shardwire_backend::BackendError::MySqlServer(Box::new(
                    shardwire_backend::mysql::MySqlServerError {
                        code: *code,
                        sql_state: (*state).to_owned(),
                        message: (*message).to_owned(),
                    },
                )),
            )),
            Local::Begin(_) | Local::Commit | Local::Rollback | Local::Use(_) | Local::Set(_) => {
                Ok(LocalAnswer::Ok)
            }
        }
    }

    /// Writes a local answer: OK, or a result set in text or binary rows.
    pub(super) fn send_local(
        &mut self,
        answer: LocalAnswer,
        binary: bool,
        more: bool,
    ) -> Result<(), StatementError> {
        match answer {
            LocalAnswer::Ok => self.ok(0, 0, more),
            LocalAnswer::Rows { columns, rows } => {
                let status = self.status(more);
                let caps = self.conn.caps;
                self.conn
                    .write(|w| {
                        w.columns(&columns, status, caps)?;
                        for row in &rows {
                            if binary {
                                let types: Vec<BinaryType> =
                                    columns.iter().map(BinaryType::from).collect();
                                let values: Vec<Wire> = row
                                    .iter()
                                    .zip(&types)
                                    .map(|(v, ty)| match v {
                                        None => Wire::Null,
                                        Some(s) if ty.column_type == MYSQL_TYPE_LONGLONG => {
                                            s.parse::<i64>().map_or_else(
                                                |_| Wire::Bytes(s.clone().into()),
                                                Wire::Int,
                                            )
                                        }
                                        Some(s) => Wire::Bytes(s.clone().into()),
                                    })
                                    .collect();
                                w.packet(|b| BinaryRow::encode(&values, &types, b))?;
                            } else {
                                w.text_row(row.iter().map(|c| c.as_deref().map(str::as_bytes)))?;
                            }
                        }
                        w.result_end(status, 0, caps)
                    })
                    .map_err(wire_error)
            }
        }
    }
}
