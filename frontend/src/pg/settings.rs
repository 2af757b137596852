//! A session's settings, for SHOW, SET, RESET and DISCARD, in three
//! layers looked up in turn: what the session SET, what it logged in with
//! (startup parameters, its user), and the server parameters of its
//! database. The last layer is one map shared by every session of the
//! database, and the first is empty until a SET: an idle session that
//! changed nothing holds a handful of strings, not a copy of every
//! parameter twice over (once current, once as the value RESET restores).
//!
//! The first two layers are also what the shards must see: the list of
//! statements that replays them (`replay`) is kept sorted and handed to
//! each pooled connection the session runs a statement on.

use std::collections::HashMap;
use std::sync::Arc;

use shardwire_backend::pg::{quote_literal, Replayed};

/// Settings the proxy answers for itself and never sends to a shard: who
/// the client is (the shards' connections log in as the data source's
/// user), the encoding the proxy speaks (UTF8 only), and startup-only keys.
const NOT_REPLAYED: &[&str] = &[
    "client_encoding",
    "database",
    "is_superuser",
    "options",
    "replication",
    "session_authorization",
    "user",
];

/// The SET layer at the start of a transaction, which a rollback restores.
#[derive(Debug, Default, Clone)]
pub struct Snapshot(HashMap<String, (String, String)>);

#[derive(Debug)]
pub struct Settings {
    server: Arc<HashMap<String, String>>,
    /// The session's own values at login: what RESET goes back to.
    login: Vec<(String, String)>,
    /// SET since login (or since the last RESET ALL / DISCARD ALL): the
    /// value SHOW prints, and the statement that sets it on a shard.
    set: HashMap<String, (String, String)>,
    /// Login and SET values as statements for the shards, sorted by name.
    replay: Vec<Replayed>,
}

impl Settings {
    pub fn new(server: Arc<HashMap<String, String>>) -> Self {
        Settings {
            server,
            login: Vec::new(),
            set: HashMap::new(),
            replay: Vec::new(),
        }
    }

    /// A login value of `key`, replacing an earlier one.
    pub fn set_login(&mut self, key: String, value: String) {
        match self.login.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.login.push((key, value)),
        }
        self.rebuild_replay();
    }

    /// The current value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.set
            .get(key)
            .map(|(shown, _)| shown.as_str())
            .or_else(|| self.login_value(key))
    }

    /// What `SET key TO DEFAULT` and RESET go back to.
    pub fn login_value(&self, key: &str) -> Option<&str> {
        self.login
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .or_else(|| self.server.get(key).map(String::as_str))
    }

    /// A SET: `shown` for SHOW, `statement` to replay it on a shard.
    pub fn set(&mut self, key: String, shown: String, statement: String) {
        self.set.insert(key, (shown, statement));
        self.rebuild_replay();
    }

    /// RESET of one setting: back to its login value.
    pub fn reset(&mut self, key: &str) {
        self.set.remove(key);
        self.rebuild_replay();
    }

    /// Puts back a SET that `reset` or `set` replaced (a shard refused it).
    pub fn restore(&mut self, key: String, was: Option<(String, String)>) {
        match was {
            Some(value) => self.set.insert(key, value),
            None => self.set.remove(&key),
        };
        self.rebuild_replay();
    }

    /// The current value's entry in the SET layer, to undo a change.
    pub fn set_entry(&self, key: &str) -> Option<(String, String)> {
        self.set.get(key).cloned()
    }

    /// The SET layer now, for [`Settings::rewind`].
    pub fn snapshot(&self) -> Snapshot {
        Snapshot(self.set.clone())
    }

    /// Back to a snapshot: a rolled-back transaction undoes its SETs.
    pub fn rewind(&mut self, snapshot: Snapshot) {
        self.set = snapshot.0;
        self.rebuild_replay();
    }

    /// RESET ALL / DISCARD ALL: every setting back to its login value.
    pub fn reset_all(&mut self) {
        // A fresh map gives its memory back; clear() would keep it.
        self.set = HashMap::new();
        self.rebuild_replay();
    }

    /// The statements that give a shard's connection this session's
    /// settings, sorted by name.
    pub fn replay(&self) -> &[Replayed] {
        &self.replay
    }

    fn rebuild_replay(&mut self) {
        let mut replay: Vec<Replayed> = Vec::new();
        for (key, value) in &self.login {
            if NOT_REPLAYED.contains(&key.as_str()) || self.set.contains_key(key) {
                continue;
            }
            // set_config takes the value as a startup parameter is taken
            // (a list such as search_path = 'a, b' is split), where SET
            // would make one quoted name of it.
            replay.push((
                key.clone(),
                format!(
                    "SELECT pg_catalog.set_config({}, {}, false)",
                    quote_literal(key),
                    quote_literal(value)
                ),
            ));
        }
        for (key, (_, statement)) in &self.set {
            if !NOT_REPLAYED.contains(&key.as_str()) {
                replay.push((key.clone(), statement.clone()));
            }
        }
        replay.sort();
        self.replay = replay;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> Arc<HashMap<String, String>> {
        Arc::new(
            [("TimeZone", "UTC"), ("DateStyle", "ISO, MDY")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    #[test]
    fn set_shadows_login_which_shadows_the_server() {
        let mut s = Settings::new(server());
        assert_eq!(s.get("TimeZone"), Some("UTC"));
        s.set_login("TimeZone".into(), "Europe/Paris".into());
        assert_eq!(s.get("TimeZone"), Some("Europe/Paris"));
        s.set("TimeZone".into(), "Asia/Tokyo".into(), "SET x".into());
        assert_eq!(s.get("TimeZone"), Some("Asia/Tokyo"));
        assert_eq!(s.login_value("TimeZone"), Some("Europe/Paris"));
        assert_eq!(s.get("DateStyle"), Some("ISO, MDY"));
        assert_eq!(s.get("search_path"), None);
    }

    #[test]
    fn reset_all_returns_to_login_values_and_forgets_new_names() {
        let mut s = Settings::new(server());
        s.set_login("application_name".into(), "app".into());
        s.set("application_name".into(), "other".into(), "SET a".into());
        s.set("work_mem".into(), "64MB".into(), "SET w".into());
        s.reset_all();
        assert_eq!(s.get("application_name"), Some("app"));
        assert_eq!(s.get("work_mem"), None);
    }

    #[test]
    fn a_later_login_value_replaces_an_earlier_one() {
        let mut s = Settings::new(server());
        s.set_login("client_encoding".into(), "LATIN1".into());
        s.set_login("client_encoding".into(), "UTF8".into());
        assert_eq!(s.get("client_encoding"), Some("UTF8"));
    }

    #[test]
    fn replay_has_login_and_set_values_sorted_without_the_proxys_own() {
        let mut s = Settings::new(server());
        s.set_login("session_authorization".into(), "alice".into());
        s.set_login("client_encoding".into(), "UTF8".into());
        s.set_login("search_path".into(), "a, b".into());
        s.set_login("application_name".into(), "it's".into());
        assert_eq!(
            s.replay(),
            [
                (
                    "application_name".to_owned(),
                    "SELECT pg_catalog.set_config('application_name', 'it''s', false)".to_owned()
                ),
                (
                    "search_path".to_owned(),
                    "SELECT pg_catalog.set_config('search_path', 'a, b', false)".to_owned()
                ),
            ]
        );
        s.set(
            "search_path".into(),
            "c".into(),
            "SET \"search_path\" TO c".into(),
        );
        assert_eq!(s.replay()[1].1, "SET \"search_path\" TO c");
        let was = s.set_entry("search_path");
        s.reset("search_path");
        assert!(s.replay()[1].1.contains("set_config"));
        s.restore("search_path".into(), was);
        assert_eq!(s.get("search_path"), Some("c"));
        s.reset_all();
        assert_eq!(s.replay().len(), 2);
        assert_eq!(s.get("search_path"), Some("a, b"));
    }
}
