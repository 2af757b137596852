//! Statements the proxy answers itself, because they are about the session
//! or the logical schema rather than the data: transaction control, SET,
//! USE, the `SELECT @@...` drivers send on connect, SHOW DATABASES /
//! TABLES / VARIABLES / WARNINGS.
//!
//! SET is recorded (SELECT @@x and SHOW VARIABLES read it back) but not
//! replayed on the shards' pooled connections, which keep the data
//! source's settings.

use shardwire_protocol::mysql::constants::column_type::{
    MYSQL_TYPE_LONGLONG, MYSQL_TYPE_NULL, MYSQL_TYPE_VAR_STRING,
};
use shardwire_protocol::mysql::{BinaryRow, BinaryType, ColumnDefinition, Value as Wire};

use super::session::{wire_error, Session};
use super::split::strip_leading_comments;
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

/// A statement the proxy answers, recognised without side effects.
#[derive(Debug, Clone)]
pub enum Local {
    Begin(String),
    Commit,
    Rollback,
    /// SET assignments: (lower-case name, value); `autocommit` among them
    /// changes the transaction mode.
    Set(Vec<(String, String)>),
    Use(String),
    Select(Vec<(String, Item)>),
    ShowDatabases(Option<String>),
    ShowTables {
        full: bool,
        like: Option<String>,
    },
    ShowVariables(Option<String>),
    /// SHOW WARNINGS / ERRORS / STATUS: answered empty.
    ShowEmpty(&'static [&'static str]),
    /// Refused with (number, SQLSTATE, message).
    Refuse(u16, &'static str, &'static str),
}

/// One item of a local SELECT.
#[derive(Debug, Clone)]
pub enum Item {
    Var(String),
    Database,
    Version,
    User,
    ConnectionId,
    LastInsertId,
    Int(i64),
    Text(String),
    Null,
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

/// Recognises `sql` as a local statement; `None` sends it to the shards.
pub fn classify(sql: &str, local_infile: bool) -> Option<Local> {
    let text = strip_leading_comments(sql)
        .trim()
        .trim_end_matches(';')
        .trim();
    let lower = text.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let first = *words.first()?;
    match first {
        "begin" if words.len() == 1 || words[1..] == ["work"] => {
            Some(Local::Begin(text.to_owned()))
        }
        "start" if words.get(1) == Some(&"transaction") => Some(Local::Begin(text.to_owned())),
        "commit" if words.len() == 1 || words[1..] == ["work"] => Some(Local::Commit),
        "rollback" if words.len() == 1 || words[1..] == ["work"] => Some(Local::Rollback),
        "use" if words.len() == 2 => {
            Some(Local::Use(text[3..].trim().trim_matches('`').to_owned()))
        }
        "set" => classify_set(text[3..].trim()),
        "select" => classify_select(text[6..].trim()).map(Local::Select),
        "show" => classify_show(&words, text),
        "load"
            if !local_infile && words.get(1) == Some(&"data") && words.get(2) == Some(&"local") =>
        {
            Some(Local::Refuse(
                3948,
                "42000",
                "Loading local data is disabled; this must be enabled on both the client and \
                 server sides",
            ))
        }
        _ => None,
    }
}

fn classify_set(rest: &str) -> Option<Local> {
    let lower = rest.to_ascii_lowercase();
    // SET [SESSION | GLOBAL] TRANSACTION ...: accepted; the shards keep
    // their own isolation level.
    let words: Vec<&str> = lower.split_whitespace().collect();
    if words.first() == Some(&"transaction")
        || (words.len() > 1
            && words[1] == "transaction"
            && matches!(words[0], "session" | "global" | "local"))
    {
        return Some(Local::Set(Vec::new()));
    }
    let mut assignments = Vec::new();
    for part in split_top_level(rest, b',') {
        let part = part.trim();
        let lower = part.to_ascii_lowercase();
        if let Some(charset) = lower
            .strip_prefix("names ")
            .or_else(|| lower.strip_prefix("character set "))
            .or_else(|| lower.strip_prefix("charset "))
        {
            let charset = unquote(charset.split_whitespace().next().unwrap_or("utf8mb4"));
            for name in [
                "character_set_client",
                "character_set_connection",
                "character_set_results",
            ] {
                assignments.push((name.to_owned(), charset.clone()));
            }
            if let Some(pos) = lower.find(" collate ") {
                let collation = unquote(lower[pos + 9..].trim());
                assignments.push(("collation_connection".to_owned(), collation));
            }
            continue;
        }
        let (name, value) = part.split_once('=')?;
        let name = name.trim().trim_start_matches(':').to_ascii_lowercase();
        let name = name
            .strip_prefix("session ")
            .or_else(|| name.strip_prefix("local "))
            .unwrap_or(&name)
            .trim()
            .to_owned();
        if name.starts_with("global ") || name.starts_with("@@global.") {
            return Some(Local::Refuse(
                1227,
                "42000",
                "Access denied; SET GLOBAL is not available through Shardwire",
            ));
        }
        let name = strip_scope(&name).to_owned();
        let value = value.trim().trim_start_matches('=').trim();
        assignments.push((name, unquote(value)));
    }
    Some(Local::Set(assignments))
}

fn strip_scope(name: &str) -> &str {
    let name = name.trim_start_matches("@@");
    name.strip_prefix("session.")
        .or_else(|| name.strip_prefix("local."))
        .or_else(|| name.strip_prefix("global."))
        .unwrap_or(name)
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    for q in ['\'', '"', '`'] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return v[1..v.len() - 1].to_owned();
        }
    }
    v.to_owned()
}

/// A select list of items the proxy knows, each with its label.
fn classify_select(list: &str) -> Option<Vec<(String, Item)>> {
    let mut items = Vec::new();
    for part in split_top_level(list, b',') {
        let part = part.trim();
        let (expr, alias) = split_alias(part)?;
        let lower = expr.to_ascii_lowercase();
        let compact: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
        let item = if let Some(var) = lower.strip_prefix("@@") {
            let name = strip_scope(var);
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return None;
            }
            Item::Var(name.to_owned())
        } else {
            match compact.as_str() {
                "database()" | "schema()" => Item::Database,
                "version()" => Item::Version,
                "user()" | "current_user()" | "current_user" | "session_user()"
                | "system_user()" => Item::User,
                "connection_id()" => Item::ConnectionId,
                "last_insert_id()" => Item::LastInsertId,
                "null" => Item::Null,
                _ => {
                    if let Ok(i) = expr.parse::<i64>() {
                        Item::Int(i)
                    } else if expr.len() >= 2
                        && ((expr.starts_with('\'') && expr.ends_with('\''))
                            || (expr.starts_with('"') && expr.ends_with('"')))
                        && !expr[1..expr.len() - 1].contains(['\'', '"', '\\'])
                    {
                        Item::Text(expr[1..expr.len() - 1].to_owned())
                    } else {
                        return None;
                    }
                }
            }
        };
        let label = alias.map_or_else(|| expr.to_owned(), unquote);
        items.push((label, item));
    }
    (!items.is_empty()).then_some(items)
}

/// `expr [AS] alias` → (expr, alias). `None` when the item is not one
/// expression with an optional single-word alias.
fn split_alias(item: &str) -> Option<(&str, Option<&str>)> {
    let tokens: Vec<&str> = item.split_whitespace().collect();
    match tokens.as_slice() {
        [] => None,
        [_] => Some((item, None)),
        [.., a, alias] if a.eq_ignore_ascii_case("as") => {
            let cut = item.to_ascii_lowercase().rfind(" as ")?;
            Some((item[..cut].trim(), Some(alias)))
        }
        [.., alias] if !alias.contains(['(', ')']) && tokens.len() == 2 => {
            Some((tokens[0], Some(alias)))
        }
        _ => Some((item, None)).filter(|_| {
            // Only function calls with blanks inside parentheses, such as
            // `database( )`, stay one expression.
            item.contains('(') && item.trim_end().ends_with(')')
        }),
    }
}

fn classify_show(words: &[&str], text: &str) -> Option<Local> {
    let like = like_pattern(text);
    match words.get(1..)? {
        ["databases" | "schemas", ..] => Some(Local::ShowDatabases(like)),
        ["tables", ..] => Some(Local::ShowTables { full: false, like }),
        ["full", "tables", ..] => Some(Local::ShowTables { full: true, like }),
        ["variables", ..] | ["session" | "local", "variables", ..] => {
            Some(Local::ShowVariables(like))
        }
        ["warnings", ..] | ["errors", ..] => Some(Local::ShowEmpty(&["Level", "Code", "Message"])),
        ["status", ..] | ["session" | "local", "status", ..] => {
            Some(Local::ShowEmpty(&["Variable_name", "Value"]))
        }
        _ => None,
    }
}

fn like_pattern(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let pos = lower.find(" like ")?;
    Some(unquote(text[pos + 6..].trim()))
}

/// SQL LIKE with `%` and `_`, case-insensitive as MySQL compares names.
pub fn like(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'%', rest)) => (0..=t.len()).any(|i| go(rest, &t[i..])),
            Some((b'_', rest)) => !t.is_empty() && go(rest, &t[1..]),
            Some((b'\\', rest)) if !rest.is_empty() => {
                !t.is_empty() && t[0].eq_ignore_ascii_case(&rest[0]) && go(&rest[1..], &t[1..])
            }
            Some((c, rest)) => !t.is_empty() && t[0].eq_ignore_ascii_case(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// Splits at `sep` outside quotes and parentheses.
fn split_top_level(s: &str, sep: u8) -> Vec<&str> {
    let b = s.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                b'\'' | b'"' | b'`' => quote = Some(c),
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ if c == sep && depth == 0 => {
                    parts.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            },
        }
        i += 1;
    }
    parts.push(&s[start..]);
    parts
}

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
                for (name, value) in assignments {
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
                        if on && !self.autocommit && self.txn.open {
                            self.end_transaction(true).await?;
                        }
                        self.autocommit = on;
                    } else if !value.starts_with('(') {
                        self.vars.insert(name, value);
                    }
                }
                Ok(LocalAnswer::Ok)
            }
            other => self.local_rows(&other),
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
                like: pattern,
            } => {
                let db = self.database()?;
                let mut names: Vec<String> = db
                    .rules
                    .sharding
                    .tables
                    .values()
                    .map(|t| t.logic_name.clone())
                    .chain(db.rules.broadcast_tables.iter().cloned())
                    .chain(db.rules.single_tables.iter().map(|t| t.table.clone()))
                    .filter(|name| pattern.as_deref().is_none_or(|p| like(p, name)))
                    .collect();
                names.sort();
                names.dedup();
                let label = format!("Tables_in_{}", db.rules.name);
                let mut cols = vec![label.as_str()];
                if *full {
                    cols.push("Table_type");
                }
                rows(
                    text_columns(&cols),
                    names
                        .into_iter()
                        .map(|n| {
                            let mut r = vec![Some(n)];
                            if *full {
                                r.push(Some("BASE TABLE".to_owned()));
                            }
                            r
                        })
                        .collect(),
                )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_startup_queries_are_local() {
        let Some(Local::Select(items)) = classify(
            "/* mysql-connector-j */SELECT  @@session.auto_increment_increment AS auto_increment_increment, @@character_set_client, @@tx_isolation AS tx",
            false,
        ) else {
            panic!("not local");
        };
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].0, "auto_increment_increment");
        assert!(matches!(&items[0].1, Item::Var(n) if n == "auto_increment_increment"));
        assert_eq!(items[1].0, "@@character_set_client");
        assert_eq!(items[2].0, "tx");
        assert!(matches!(
            classify("select database()", false),
            Some(Local::Select(_))
        ));
        assert!(classify("select * from t_order", false).is_none());
        assert!(classify("select @@version from dual where 1", false).is_none());
    }

    #[test]
    fn set_statements_record_every_assignment() {
        let Some(Local::Set(a)) = classify(
            "SET sql_mode=(SELECT CONCAT(@@sql_mode, ',PIPES_AS_CONCAT')),time_zone='+00:00',NAMES utf8mb4 COLLATE utf8mb4_unicode_ci",
            false,
        ) else {
            panic!("not local");
        };
        assert!(a.contains(&("time_zone".into(), "+00:00".into())));
        assert!(a.contains(&("character_set_client".into(), "utf8mb4".into())));
        assert!(a.contains(&("collation_connection".into(), "utf8mb4_unicode_ci".into())));
        assert!(
            matches!(classify("set autocommit=0", false), Some(Local::Set(a)) if a == [("autocommit".to_owned(), "0".to_owned())])
        );
        assert!(matches!(
            classify("SET @@session.autocommit = 1", false),
            Some(Local::Set(_))
        ));
        assert!(matches!(
            classify("set global x = 1", false),
            Some(Local::Refuse(1227, ..))
        ));
    }

    #[test]
    fn show_and_transactions() {
        assert!(matches!(
            classify("SHOW FULL TABLES", false),
            Some(Local::ShowTables { full: true, .. })
        ));
        assert!(
            matches!(classify("show variables like 'max%'", false), Some(Local::ShowVariables(Some(p))) if p == "max%")
        );
        assert!(matches!(
            classify("START TRANSACTION READ ONLY", false),
            Some(Local::Begin(_))
        ));
        assert!(matches!(classify("commit;", false), Some(Local::Commit)));
        assert!(matches!(
            classify("load data local infile 'x' into table t", false),
            Some(Local::Refuse(3948, ..))
        ));
        assert!(classify("load data local infile 'x' into table t", true).is_none());
        assert!(like("max%", "max_allowed_packet"));
        assert!(!like("max_", "max_allowed_packet"));
    }
}
