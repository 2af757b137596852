//! A client's session settings, carried onto the pooled connection that
//! runs its next statement.
//!
//! Pooled connections are shared by many client sessions, each with its own
//! `SET TimeZone`, `search_path` or startup parameters. The connection
//! remembers which settings it was given beyond its own login values; a
//! session hands over the list it wants, and only a difference costs a round
//! trip. The next session resets what it does not want, so nothing leaks
//! from one client to another and a pool of uniform clients pays once per
//! connection, not once per statement.

use super::connection::PgConnection;
use crate::error::Result;

/// One setting to replay: its name, and the statement that gives it the
/// client's value. The statement is the comparison key: two sessions that
/// set the same value the same way need no round trip between them.
pub type Replayed = (String, String);

impl PgConnection {
    /// Brings this connection's settings to `wanted` (sorted by name), then
    /// runs `then` (a transaction's BEGIN) in the same round trip. Returns
    /// whether any setting was sent. Nothing goes to the server when
    /// nothing differs and there is no `then`.
    ///
    /// On an error the settings are unknown: the next replay starts from
    /// `RESET ALL`.
    pub async fn replay_settings(
        &mut self,
        wanted: &[Replayed],
        then: Option<&str>,
    ) -> Result<bool> {
        match replay_sql(self.replayed.as_deref(), wanted) {
            // Boxed: most statements find nothing to replay, and inline the
            // replay's future would grow every statement's (pg-sharded lost
            // 2-8% that way).
            Some(changes) => Box::pin(self.send_settings(changes, wanted, then))
                .await
                .map(|()| true),
            None => {
                if let Some(then) = then {
                    self.simple_query(then).await?;
                }
                Ok(false)
            }
        }
    }

    async fn send_settings(
        &mut self,
        changes: String,
        wanted: &[Replayed],
        then: Option<&str>,
    ) -> Result<()> {
        let sql = match then {
            Some(then) => format!("{changes}; {then}"),
            None => changes,
        };
        self.replayed = None;
        self.simple_query(&sql).await?;
        self.replayed = Some(wanted.to_vec());
        Ok(())
    }

    /// Forgets what this connection was given: a transaction that changed
    /// settings was rolled back, taking them with it.
    pub fn forget_settings(&mut self) {
        self.replayed = None;
    }
}

/// The statements that take a connection from `current` (None: unknown) to
/// `wanted`; None when they already agree. Both lists are sorted by name.
pub fn replay_sql(current: Option<&[Replayed]>, wanted: &[Replayed]) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    let new: Vec<&Replayed> = match current {
        Some(current) if current == wanted => return None,
        Some(current) => {
            out.extend(
                current
                    .iter()
                    .filter(|(name, _)| !wanted.iter().any(|(n, _)| n == name))
                    .map(|(name, _)| format!("RESET {}", quote_ident(name))),
            );
            wanted.iter().filter(|w| !current.contains(w)).collect()
        }
        None => {
            out.push("RESET ALL".to_owned());
            wanted.iter().collect()
        }
    };
    out.extend(new.into_iter().map(|(_, sql)| sql.clone()));
    Some(out.join("; "))
}

/// `name` as a double-quoted identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `value` as a string literal (standard_conforming_strings is on in every
/// supported server).
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, value: &str) -> Replayed {
        (name.to_owned(), format!("SET {name} TO {value}"))
    }

    #[test]
    fn same_settings_need_nothing() {
        let w = [set("TimeZone", "'UTC'")];
        assert_eq!(replay_sql(Some(&w), &w), None);
        assert_eq!(replay_sql(Some(&[]), &[]), None);
    }

    #[test]
    fn differences_are_reset_or_set() {
        let current = [set("TimeZone", "'UTC'"), set("search_path", "a")];
        let wanted = [set("TimeZone", "'Europe/Paris'"), set("work_mem", "'8MB'")];
        assert_eq!(
            replay_sql(Some(&current), &wanted).as_deref(),
            Some("RESET \"search_path\"; SET TimeZone TO 'Europe/Paris'; SET work_mem TO '8MB'")
        );
        assert_eq!(
            replay_sql(Some(&current), &[]).as_deref(),
            Some("RESET \"TimeZone\"; RESET \"search_path\"")
        );
    }

    #[test]
    fn unknown_state_starts_from_reset_all() {
        assert_eq!(replay_sql(None, &[]).as_deref(), Some("RESET ALL"));
        assert_eq!(
            replay_sql(None, &[set("a", "1")]).as_deref(),
            Some("RESET ALL; SET a TO 1")
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
