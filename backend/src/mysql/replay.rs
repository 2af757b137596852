//! A client's session variables, carried onto the pooled connection that
//! runs its next statement (the MySQL side of `crate::pg::replay`).
//!
//! A connection remembers which variables it was given beyond its login;
//! a session hands over the list it wants and only a difference costs a
//! round trip: one `SET SESSION a = DEFAULT, SESSION b = ...` that drops
//! what the last session left and adds what this one wants, so nothing
//! leaks from one client to the next and uniform clients pay once per
//! connection.

use super::connection::MySqlConnection;
use crate::error::Result;

/// One variable to replay: its name and its value as an SQL literal,
/// sorted by name in a session's list.
pub type Replayed = (String, String);

impl MySqlConnection {
    /// Brings this connection's session variables to `wanted` (sorted by
    /// name); whether anything was sent. A SET that fails changes no
    /// variable (MySQL checks every assignment first), so what the
    /// connection remembers stays true.
    pub async fn replay_settings(&mut self, wanted: &[Replayed]) -> Result<bool> {
        let Some(sql) = replay_sql(&self.replayed, wanted) else {
            return Ok(false);
        };
        Box::pin(self.simple_query(&sql)).await?;
        self.replayed = wanted.to_vec();
        Ok(true)
    }

    /// The variables this connection was given beyond its login.
    pub fn replayed_settings(&self) -> &[Replayed] {
        &self.replayed
    }
}

/// The SET that takes a connection from `current` to `wanted`; None when
/// they agree.
pub fn replay_sql(current: &[Replayed], wanted: &[Replayed]) -> Option<String> {
    if current == wanted {
        return None;
    }
    let dropped = current
        .iter()
        .filter(|(name, _)| !wanted.iter().any(|(n, _)| n == name))
        .map(|(name, _)| format!("SESSION {name} = DEFAULT"));
    let added = wanted
        .iter()
        .filter(|w| !current.contains(w))
        .map(|(name, value)| format!("SESSION {name} = {value}"));
    let assignments: Vec<String> = dropped.chain(added).collect();
    Some(format!("SET {}", assignments.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, value: &str) -> Replayed {
        (name.to_owned(), value.to_owned())
    }

    #[test]
    fn only_differences_are_sent() {
        let w = vec![var("innodb_lock_wait_timeout", "1")];
        assert_eq!(replay_sql(&w, &w), None);
        assert_eq!(replay_sql(&[], &[]), None);
        assert_eq!(
            replay_sql(&[], &w).as_deref(),
            Some("SET SESSION innodb_lock_wait_timeout = 1")
        );
        assert_eq!(
            replay_sql(&w, &[]).as_deref(),
            Some("SET SESSION innodb_lock_wait_timeout = DEFAULT")
        );
        assert_eq!(
            replay_sql(
                &w,
                &[
                    var("innodb_lock_wait_timeout", "5"),
                    var("time_zone", "'+00:00'")
                ]
            )
            .as_deref(),
            Some("SET SESSION innodb_lock_wait_timeout = 5, SESSION time_zone = '+00:00'")
        );
    }
}
