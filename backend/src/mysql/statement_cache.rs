//! Statements a connection keeps prepared between executions, by SQL text.
//!
//! A client's prepared statement runs on whichever pooled connection its
//! execution gets, so the proxy cannot keep the client's statement id on
//! the server. Preparing and closing the unit's SQL around every execution
//! costs a round trip and a server-side parse each time (sysbench point
//! selects ran at a sixth of direct); keeping the connection's statements
//! prepared, keyed by the unit's SQL, makes a repeated execution one
//! COM_STMT_EXECUTE. Results carry their own column definitions, so a
//! statement whose table changed shape (MariaDB re-prepares it itself)
//! still decodes right.

use std::collections::HashMap;

use super::statement::MySqlStatement;

/// Statements kept per connection; the least recently used goes first.
/// Small next to the server's max_prepared_stmt_count (16382 by default)
/// times the pool sizes a proxy usually has.
pub const CACHED_STATEMENTS: usize = 128;

#[derive(Debug, Default)]
pub struct StatementCache {
    entries: HashMap<String, (MySqlStatement, u64)>,
    clock: u64,
}

impl StatementCache {
    /// The statement prepared for `sql`, marked as just used.
    pub fn get(&mut self, sql: &str) -> Option<MySqlStatement> {
        self.clock += 1;
        let now = self.clock;
        self.entries.get_mut(sql).map(|(statement, used)| {
            *used = now;
            statement.clone()
        })
    }

    /// Keeps `statement` for `sql`; returns the one it displaces (the same
    /// text prepared again, or the least recently used when full), which
    /// the caller must close on the server.
    pub fn insert(&mut self, sql: &str, statement: MySqlStatement) -> Option<MySqlStatement> {
        self.clock += 1;
        let displaced = if self.entries.contains_key(sql) || self.entries.len() < CACHED_STATEMENTS
        {
            None
        } else {
            self.entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(oldest, _)| oldest.clone())
                .and_then(|oldest| self.entries.remove(&oldest))
                .map(|(statement, _)| statement)
        };
        let replaced = self
            .entries
            .insert(sql.to_owned(), (statement, self.clock))
            .map(|(statement, _)| statement);
        replaced.or(displaced)
    }

    /// Forgets every statement (the server dropped them, e.g. on
    /// COM_RESET_CONNECTION).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(id: u32) -> MySqlStatement {
        MySqlStatement::new_for_test(id)
    }

    #[test]
    fn the_least_recently_used_goes_first() {
        let mut cache = StatementCache::default();
        for i in 0..CACHED_STATEMENTS {
            assert_eq!(cache.insert(&format!("q{i}"), statement(i as u32)), None);
        }
        // q0 is used again, so q1 is now the oldest.
        assert_eq!(cache.get("q0").map(|s| s.id()), Some(0));
        let displaced = cache.insert("new", statement(999));
        assert_eq!(displaced.map(|s| s.id()), Some(1));
        assert_eq!(cache.len(), CACHED_STATEMENTS);
        assert!(cache.get("q1").is_none());
        assert_eq!(cache.get("new").map(|s| s.id()), Some(999));
    }

    #[test]
    fn the_same_text_prepared_again_displaces_the_old_statement() {
        let mut cache = StatementCache::default();
        assert_eq!(cache.insert("q", statement(1)), None);
        assert_eq!(cache.insert("q", statement(2)).map(|s| s.id()), Some(1));
        assert_eq!(cache.get("q").map(|s| s.id()), Some(2));
        cache.clear();
        assert_eq!(cache.len(), 0);
    }
}
