//! A session's settings, for SHOW, SET, RESET and DISCARD, in three
//! layers looked up in turn: what the session SET, what it logged in with
//! (startup parameters, its user), and the server parameters of its
//! database. The last layer is one map shared by every session of the
//! database, and the first is empty until a SET: an idle session that
//! changed nothing holds a handful of strings, not a copy of every
//! parameter twice over (once current, once as the value RESET restores).

use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug)]
pub struct Settings {
    server: Arc<HashMap<String, String>>,
    /// The session's own values at login: what RESET goes back to.
    login: Vec<(String, String)>,
    /// SET since login (or since the last RESET ALL / DISCARD ALL).
    set: HashMap<String, String>,
}

impl Settings {
    pub fn new(server: Arc<HashMap<String, String>>) -> Self {
        Settings {
            server,
            login: Vec::new(),
            set: HashMap::new(),
        }
    }

    /// A login value of `key`, replacing an earlier one.
    pub fn set_login(&mut self, key: String, value: String) {
        match self.login.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.login.push((key, value)),
        }
    }

    /// The current value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.set
            .get(key)
            .map(String::as_str)
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

    pub fn set(&mut self, key: String, value: String) {
        self.set.insert(key, value);
    }

    /// RESET ALL / DISCARD ALL: every setting back to its login value.
    pub fn reset_all(&mut self) {
        // A fresh map gives its memory back; clear() would keep it.
        self.set = HashMap::new();
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
        s.set("TimeZone".into(), "Asia/Tokyo".into());
        assert_eq!(s.get("TimeZone"), Some("Asia/Tokyo"));
        assert_eq!(s.login_value("TimeZone"), Some("Europe/Paris"));
        assert_eq!(s.get("DateStyle"), Some("ISO, MDY"));
        assert_eq!(s.get("search_path"), None);
    }

    #[test]
    fn reset_all_returns_to_login_values_and_forgets_new_names() {
        let mut s = Settings::new(server());
        s.set_login("application_name".into(), "app".into());
        s.set("application_name".into(), "other".into());
        s.set("work_mem".into(), "64MB".into());
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
}
