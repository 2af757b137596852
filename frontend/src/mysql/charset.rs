//! The client's handshake character set, set on a backend session by
//! name. A handshake names a collation by id, but MariaDB refuses ids in
//! `SET character_set_client = 224`; `SET NAMES cs COLLATE coll` is the
//! statement every server takes. The names come from the server's own
//! collation list, asked once per id: servers number their collations
//! differently (MySQL 8's 255 is utf8mb4_0900_ai_ci, which MariaDB 10.11
//! does not have).

use std::collections::HashMap;
use std::sync::Mutex;

use shardwire_backend::mysql::MySqlConnection;
use shardwire_backend::BackendError;

/// The `SET` statement for each collation id seen, per logical database.
/// At most 256 entries: ids are one byte.
#[derive(Debug, Default)]
pub struct CharsetNames {
    statements: Mutex<HashMap<u8, String>>,
}

impl CharsetNames {
    /// The statement that gives a session the client's collation `id`.
    /// An id the server does not know gets the server's defaults, which
    /// is what the server itself does with such a handshake.
    pub async fn set_names(
        &self,
        conn: &mut MySqlConnection,
        id: u8,
    ) -> Result<String, BackendError> {
        if let Some(known) = self.cached(id) {
            return Ok(known);
        }
        let sets = conn
            .simple_query(&format!(
                "SELECT CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLLATIONS \
                 WHERE ID = {id}"
            ))
            .await?;
        let row: Option<Vec<String>> = sets
            .iter()
            .flat_map(|s| s.rows.iter())
            .find_map(|r| r.as_text())
            .map(|t| {
                t.cells()
                    .map(|c| String::from_utf8_lossy(c.as_deref().unwrap_or_default()).into_owned())
                    .collect()
            });
        let statement = match row.as_deref() {
            Some([charset, collation]) => set_names_statement(charset, collation),
            _ => "SET character_set_client = DEFAULT, character_set_results = DEFAULT, \
                  collation_connection = DEFAULT"
                .to_owned(),
        };
        if let Ok(mut map) = self.statements.lock() {
            map.insert(id, statement.clone());
        }
        Ok(statement)
    }

    fn cached(&self, id: u8) -> Option<String> {
        self.statements.lock().ok()?.get(&id).cloned()
    }
}

/// `SET NAMES` with the names quoted as strings; the server's names are
/// plain identifiers, but a quote in one must not end the literal.
fn set_names_statement(charset: &str, collation: &str) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"));
    format!("SET NAMES {} COLLATE {}", quote(charset), quote(collation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted() {
        assert_eq!(
            set_names_statement("utf8mb4", "utf8mb4_unicode_ci"),
            "SET NAMES 'utf8mb4' COLLATE 'utf8mb4_unicode_ci'"
        );
        assert_eq!(
            set_names_statement("a'b", "c"),
            "SET NAMES 'a''b' COLLATE 'c'"
        );
    }
}
