//! The session variables a MySQL client SETs that the shards must see
//! (`SET SESSION innodb_lock_wait_timeout = 1`, `SET @@time_zone = ...`,
//! several at once): kept sorted by name and handed to every backend
//! connection a statement of the session runs on, which sends only what
//! differs from what it carries (`shardwire_backend::mysql::replay_sql`).
//!
//! Not replayed: `autocommit` (the proxy runs transactions itself), the
//! character set and collation variables (the proxy speaks to the shards
//! in the pool's character set and converts nothing), and user variables
//! (`@x`), which stay the proxy's own. A SET is tried on a backend
//! connection at once, so a name or value the server refuses gets the
//! server's own error and is not recorded.

use shardwire_backend::mysql::Replayed;

use super::classify::unquote;
use super::session::Session;
use crate::error::StatementError;

/// Whether SET `name` (lower case, scope stripped) goes to the shards.
pub fn replayed(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name != "autocommit"
        && !name.starts_with("character_set_")
        && !name.starts_with("collation_")
}

/// A value the server reported (or the client wrote, unquoted) as the SQL
/// literal a SET takes: numbers and ON / OFF bare, NULL for none, anything
/// else a quoted string.
pub fn literal(value: Option<&str>) -> String {
    let Some(value) = value else {
        return "NULL".to_owned();
    };
    let lower = value.to_ascii_lowercase();
    if value.parse::<i64>().is_ok()
        || value.parse::<f64>().is_ok_and(f64::is_finite)
        || matches!(lower.as_str(), "on" | "off" | "true" | "false")
    {
        return value.to_owned();
    }
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// `settings` with `name` set to `value` (`None`: dropped, the server's
/// own value again), still sorted by name.
pub fn assign(settings: &mut Vec<Replayed>, name: &str, value: Option<String>) {
    let at = settings.binary_search_by(|(n, _)| n.as_str().cmp(name));
    match (at, value) {
        (Ok(i), Some(v)) => settings[i].1 = v,
        (Ok(i), None) => {
            settings.remove(i);
        }
        (Err(i), Some(v)) => settings.insert(i, (name.to_owned(), v)),
        (Err(_), None) => {}
    }
}

/// Whether a written value reads a user variable (`@x`, not `@@x`). User
/// variables live in the proxy, not on the shards' connections, so such a
/// SET is only recorded, as before the replay existed (a known limit).
pub fn names_user_variable(written: &str) -> bool {
    let b = written.as_bytes();
    b.iter()
        .enumerate()
        .any(|(i, c)| *c == b'@' && b.get(i + 1) != Some(&b'@') && (i == 0 || b[i - 1] != b'@'))
}

fn is_default(written: &str) -> bool {
    written.eq_ignore_ascii_case("default")
}

impl Session {
    /// SET of variables the shards must see, `(name, value as written)`.
    /// The server evaluates them: on a pooled connection of the first
    /// data source carrying the session's variables, the client's
    /// assignments run (a refusal is the server's own error, and nothing
    /// is recorded), and the values they took are read back, so an
    /// expression such as `CONCAT(@@sql_mode, ',X')` is evaluated once
    /// and replayed as its value. Then the transaction's connections get
    /// them. Without a database there is no server to ask: the values are
    /// kept as written (unquoted), as literals.
    pub(super) async fn apply_set(
        &mut self,
        assignments: Vec<(String, String)>,
    ) -> Result<(), StatementError> {
        if assignments.is_empty() {
            return Ok(());
        }
        let values = match self.cluster() {
            Err(_) => assignments
                .iter()
                .map(|(_, w)| (!is_default(w)).then(|| unquote(w)))
                .collect(),
            Ok(cluster) => {
                let mut conn = cluster.pool(cluster.first())?.get().await?;
                conn.replay_settings(&self.settings).await?;
                let set: Vec<String> = assignments
                    .iter()
                    .map(|(name, written)| format!("SESSION {name} = {written}"))
                    .collect();
                conn.simple_query(&format!("SET {}", set.join(", ")))
                    .await?;
                let read: Vec<String> = assignments
                    .iter()
                    .map(|(name, _)| format!("@@session.{name}"))
                    .collect();
                let answer = conn
                    .simple_query(&format!("SELECT {}", read.join(", ")))
                    .await?;
                let row = answer
                    .first()
                    .and_then(|r| r.rows.first())
                    .and_then(|r| r.as_text())
                    .ok_or_else(|| {
                        StatementError::refused("HY000", "the server did not report the values SET")
                    })?;
                let values: Vec<Option<String>> = (0..assignments.len())
                    .map(|i| {
                        row.cell(i)
                            .flatten()
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                    })
                    .collect();
                // What this connection carries now is the new list; the
                // replay below tells it so (and re-sends the values).
                let mut wanted = self.settings.clone();
                for ((name, written), value) in assignments.iter().zip(&values) {
                    let value = (!is_default(written)).then(|| literal(value.as_deref()));
                    assign(&mut wanted, name, value);
                }
                conn.replay_settings(&wanted).await?;
                values
                    .into_iter()
                    .zip(&assignments)
                    .map(|(v, (_, w))| (!is_default(w)).then(|| v.unwrap_or_default()))
                    .collect::<Vec<Option<String>>>()
            }
        };
        for ((name, _), value) in assignments.into_iter().zip(values) {
            assign(
                &mut self.settings,
                &name,
                value.as_deref().map(|v| literal(Some(v))),
            );
            match value {
                Some(v) => self.vars.insert(name, v),
                None => self.vars.remove(&name),
            };
        }
        let settings = self.settings.clone();
        self.txn.replay_on_held(&settings).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_literals() {
        assert_eq!(literal(Some("1")), "1");
        assert_eq!(literal(Some("0.5")), "0.5");
        assert_eq!(literal(Some("ON")), "ON");
        assert_eq!(literal(Some("+00:00")), "'+00:00'");
        assert_eq!(literal(Some("it's")), "'it\\'s'");
        assert_eq!(literal(Some("")), "''");
        assert_eq!(literal(Some("NaN")), "'NaN'");
        assert_eq!(literal(None), "NULL");
        assert!(replayed("innodb_lock_wait_timeout"));
        assert!(!replayed("@x"));
        assert!(!replayed("character_set_results"));
        assert!(!replayed("autocommit"));
        assert!(names_user_variable("@OLD_SQL_MODE"));
        assert!(!names_user_variable("CONCAT(@@sql_mode, ',X')"));
    }

    #[test]
    fn assignments_stay_sorted() {
        let mut s = Vec::new();
        assign(&mut s, "wait_timeout", Some("10".into()));
        assign(&mut s, "time_zone", Some("'+00:00'".into()));
        assign(&mut s, "wait_timeout", Some("20".into()));
        assert_eq!(
            s,
            vec![
                ("time_zone".to_owned(), "'+00:00'".to_owned()),
                ("wait_timeout".to_owned(), "20".to_owned())
            ]
        );
        assign(&mut s, "time_zone", None);
        assign(&mut s, "sql_mode", None);
        assert_eq!(s, vec![("wait_timeout".to_owned(), "20".to_owned())]);
    }
}
