//! Recognising the statements the proxy answers itself, without side
//! effects (COM_STMT_PREPARE asks too): transaction control, SET, USE,
//! `SELECT @@...` / DATABASE() / LAST_INSERT_ID(), SHOW, and LOAD DATA
//! LOCAL when it is disabled. Text-based, because sqlparser does not parse
//! every form drivers send (`SET NAMES x COLLATE y` inside a list, `@@`
//! scopes), and these statements are short.

use super::split::strip_leading_comments;

/// A statement the proxy answers, recognised without side effects.
#[derive(Debug, Clone)]
pub enum Local {
    Begin(String),
    Commit,
    Rollback,
    /// SET assignments: (lower-case name, value as written: quoted, an
    /// expression, DEFAULT); `autocommit` among them changes the
    /// transaction mode.
    Set(Vec<(String, String)>),
    Use(String),
    Select(Vec<(String, Item)>),
    ShowDatabases(Option<String>),
    /// SHOW [FULL] TABLES [FROM | IN db] [LIKE 'pattern'].
    ShowTables {
        full: bool,
        from: Option<String>,
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
        // MariaDB's table locks belong to the connection that took them:
        // sent to one pooled connection, they would go back to the pool
        // held, blocking or breaking other sessions, and would not cover
        // the other data sources' actual tables. Refused until the
        // session can keep a connection per data source until UNLOCK.
        "lock" if matches!(words.get(1), Some(&("table" | "tables"))) => Some(Local::Refuse(
            1235,
            "42000",
            "This version of Shardwire doesn't yet support 'LOCK TABLES in a sharded database'",
        )),
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

/// Whether `sql` only reads the dictionary (DESCRIBE, SHOW), which with
/// autocommit off starts no transaction on MariaDB: its answer does not
/// carry SERVER_STATUS_IN_TRANS unless one was already open.
pub fn starts_no_transaction(sql: &str) -> bool {
    let lower = strip_leading_comments(sql)
        .trim_start()
        .to_ascii_lowercase();
    matches!(
        lower.split_ascii_whitespace().next(),
        Some("describe" | "desc" | "show")
    )
}

/// Whether MariaDB commits the session's open transaction before running
/// `sql` (and leaves none open after it): DDL, LOCK TABLES, account and
/// administration statements, as listed in MariaDB's "SQL statements that
/// cause an implicit commit". Temporary tables are the exception: CREATE
/// and DROP TEMPORARY TABLE stay inside the transaction. UNLOCK TABLES
/// commits only when LOCK TABLES is in force, which the proxy does not
/// track, so it is left out.
pub fn commits_implicitly(sql: &str) -> bool {
    let lower = strip_leading_comments(sql)
        .trim_start()
        .to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_ascii_whitespace() || c == '(' || c == '`' || c == ';')
        .filter(|w| !w.is_empty())
        .take(4)
        .collect();
    let second = words.get(1).copied().unwrap_or("");
    match words.first().copied().unwrap_or("") {
        "create" => {
            let kind = if second == "or" {
                words.get(3).copied().unwrap_or("")
            } else {
                second
            };
            kind != "temporary"
        }
        "drop" => second != "temporary",
        "alter" | "rename" | "truncate" | "grant" | "revoke" | "flush" | "install"
        | "uninstall" | "cache" | "reset" => true,
        "analyze" | "optimize" | "repair" | "check" => matches!(second, "table" | "tables"),
        "lock" => matches!(second, "table" | "tables"),
        "load" => second == "index",
        "set" => second == "password",
        _ => false,
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
        assignments.push((name, value.to_owned()));
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

pub(super) fn unquote(v: &str) -> String {
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
    let tables = matches!(words.get(1..)?, ["tables", ..] | ["full", "tables", ..]);
    if tables && words.contains(&"where") {
        // The condition names the logical column (Tables_in_<db>) over
        // logical names; answering it by LIKE alone would be a different
        // answer.
        return Some(Local::Refuse(
            1235,
            "42000",
            "This version of Shardwire doesn't yet support 'SHOW TABLES ... WHERE' in a \
             sharded database",
        ));
    }
    match words.get(1..)? {
        ["databases" | "schemas", ..] => Some(Local::ShowDatabases(like)),
        ["tables", rest @ ..] => Some(Local::ShowTables {
            full: false,
            from: from_database(rest, text),
            like,
        }),
        ["full", "tables", rest @ ..] => Some(Local::ShowTables {
            full: true,
            from: from_database(rest, text),
            like,
        }),
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

/// The database of `FROM db` / `IN db` in the words after TABLES, with
/// its case as written in `text`.
fn from_database(rest: &[&str], text: &str) -> Option<String> {
    match rest {
        ["from" | "in", db, ..] => {
            let original = text
                .split_whitespace()
                .find(|w| w.eq_ignore_ascii_case(db))
                .unwrap_or(db);
            Some(unquote(original))
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
        assert!(a.contains(&("time_zone".into(), "'+00:00'".into())));
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
    fn implicit_commits_are_recognised() {
        for sql in [
            "CREATE TABLE t (a int)",
            "/* c */ create or replace table t (a int)",
            "DROP TABLE IF EXISTS t",
            "alter table t add column b int",
            "LOCK TABLES `t` READ /*!32311 LOCAL */",
            "truncate t",
            "CREATE INDEX i ON t (a)",
            "analyze table t",
        ] {
            assert!(commits_implicitly(sql), "{sql}");
        }
        for sql in [
            "CREATE TEMPORARY TABLE t (a int)",
            "create or replace temporary table t (a int)",
            "DROP TEMPORARY TABLE t",
            "UNLOCK TABLES",
            "select * from t for update",
            "insert into created values (1)",
            "ANALYZE SELECT 1",
            "set @x = 1",
        ] {
            assert!(!commits_implicitly(sql), "{sql}");
        }
        assert!(starts_no_transaction("DESCRIBE `db`.`t`"));
        assert!(starts_no_transaction("show create table t"));
        assert!(!starts_no_transaction("select 1"));
    }

    #[test]
    fn show_and_transactions() {
        assert!(matches!(
            classify("SHOW FULL TABLES FROM `Sharding_DB` LIKE 't%'", false),
            Some(Local::ShowTables { full: true, from: Some(db), like: Some(p) }) if db == "Sharding_DB" && p == "t%"
        ));
        assert!(matches!(
            classify("SHOW FULL TABLES", false),
            Some(Local::ShowTables {
                full: true,
                from: None,
                ..
            })
        ));
        assert!(matches!(
            classify(
                "LOCK TABLES `t_order` READ /*!32311 LOCAL */,`t_region` READ",
                false
            ),
            Some(Local::Refuse(1235, "42000", _))
        ));
        assert!(matches!(
            classify("SHOW FULL TABLES WHERE Table_type = 'VIEW'", false),
            Some(Local::Refuse(1235, "42000", _))
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
