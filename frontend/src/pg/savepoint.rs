//! SAVEPOINT, RELEASE and ROLLBACK TO in a sharded session.
//!
//! Each goes to every shard connection already in the transaction. A shard
//! that joins later gets the transaction's join script instead: its BEGIN,
//! the SET LOCALs and the savepoints still live, in the order the client
//! made them. That is equivalent to having been there all along, because
//! the shard did nothing in the transaction before it joined. The stack
//! follows PostgreSQL's rules: names may repeat and the newest wins;
//! RELEASE drops the savepoint and every later one; ROLLBACK TO keeps the
//! savepoint itself and drops the later ones.

use shardwire_backend::pg::quote_ident;
use sqlparser::ast::Ident;

use super::session::Session;
use super::settings::Snapshot;
use super::state::TxnEvent;
use crate::error::StatementError;

/// What a shard joining the transaction runs after the session's settings.
#[derive(Debug, Default)]
pub struct JoinScript {
    /// The client's BEGIN first, then SET LOCALs and SAVEPOINTs.
    steps: Vec<String>,
    savepoints: Vec<Savepoint>,
}

#[derive(Debug)]
struct Savepoint {
    name: String,
    /// Index of its SAVEPOINT in `steps`.
    at: usize,
    /// The session's SETs when it was made, for a ROLLBACK TO.
    settings: Snapshot,
}

impl JoinScript {
    pub fn new(begin: &str) -> Self {
        JoinScript {
            steps: vec![begin.to_owned()],
            savepoints: Vec::new(),
        }
    }

    /// The script as one simple-query string.
    pub fn sql(&self) -> String {
        self.steps.join("; ")
    }

    pub fn push_local(&mut self, statement: String) {
        self.steps.push(statement);
    }

    fn push_savepoint(&mut self, name: String, settings: Snapshot) {
        self.steps.push(format!("SAVEPOINT {}", quote_ident(&name)));
        self.savepoints.push(Savepoint {
            name,
            at: self.steps.len() - 1,
            settings,
        });
    }

    /// The newest live savepoint called `name`.
    fn find(&self, name: &str) -> Option<usize> {
        self.savepoints.iter().rposition(|s| s.name == name)
    }

    /// RELEASE of savepoint `i`: it and every later one go; what was done
    /// after them (SET LOCAL) stays in the transaction.
    fn release(&mut self, i: usize) {
        for s in self.savepoints.drain(i..).rev() {
            self.steps.remove(s.at);
        }
    }

    /// ROLLBACK TO savepoint `i`: everything after it goes, it stays.
    /// Returns the session's SETs as they were when it was made.
    fn rollback_to(&mut self, i: usize) -> Option<Snapshot> {
        self.savepoints.truncate(i + 1);
        let s = self.savepoints.get(i)?;
        self.steps.truncate(s.at + 1);
        Some(s.settings.clone())
    }

    /// The SET LOCALs still in force, for a connection whose settings
    /// are replayed from scratch (which resets them).
    fn locals(&self) -> Option<String> {
        let locals: Vec<&str> = self
            .steps
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(i, _)| !self.savepoints.iter().any(|s| s.at == *i))
            .map(|(_, s)| s.as_str())
            .collect();
        (!locals.is_empty()).then(|| locals.join("; "))
    }
}

/// A savepoint's name as PostgreSQL keeps it: unquoted names fold to
/// lower case.
fn savepoint_name(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_ascii_lowercase(),
    }
}

fn not_in_block(command: &str) -> StatementError {
    StatementError::refused(
        "25P01",
        format!("{command} can only be used in transaction blocks"),
    )
}

fn does_not_exist(name: &str) -> StatementError {
    StatementError::refused("3B001", format!("savepoint \"{name}\" does not exist"))
}

impl Session {
    /// `SAVEPOINT name`.
    pub(super) async fn savepoint(&mut self, ident: &Ident) -> Result<(), StatementError> {
        // An implicit block (several statements in one Query) is not a
        // transaction block for PostgreSQL either.
        if !self.txn.in_block() || self.txn.state.implicit() {
            return Err(not_in_block("SAVEPOINT"));
        }
        self.txn.refuse_if_failed()?;
        let name = savepoint_name(ident);
        let sql = format!("SAVEPOINT {}", quote_ident(&name));
        self.on_held(&sql).await?;
        let settings = self.settings.snapshot();
        self.txn.script.push_savepoint(name, settings);
        Ok(())
    }

    /// `RELEASE [SAVEPOINT] name`.
    pub(super) async fn release_savepoint(&mut self, ident: &Ident) -> Result<(), StatementError> {
        if !self.txn.in_block() || self.txn.state.implicit() {
            return Err(not_in_block("RELEASE SAVEPOINT"));
        }
        self.txn.refuse_if_failed()?;
        let name = savepoint_name(ident);
        let i = self
            .txn
            .script
            .find(&name)
            .ok_or_else(|| does_not_exist(&name))?;
        self.on_held(&format!("RELEASE SAVEPOINT {}", quote_ident(&name)))
            .await?;
        self.txn.script.release(i);
        Ok(())
    }

    /// `ROLLBACK TO [SAVEPOINT] name`: allowed in a failed transaction,
    /// which it makes usable again.
    pub(super) async fn rollback_to(&mut self, ident: &Ident) -> Result<(), StatementError> {
        if !self.txn.in_block() || self.txn.state.implicit() {
            return Err(not_in_block("ROLLBACK TO SAVEPOINT"));
        }
        let name = savepoint_name(ident);
        let i = self
            .txn
            .script
            .find(&name)
            .ok_or_else(|| does_not_exist(&name))?;
        self.on_held(&format!("ROLLBACK TO SAVEPOINT {}", quote_ident(&name)))
            .await?;
        let Some(settings) = self.txn.script.rollback_to(i) else {
            return Err(StatementError::refused(
                "XX000",
                "internal error: a savepoint vanished from the stack",
            ));
        };
        self.rewind_settings(settings);
        if self.txn.settings_in_block {
            // The shards undid the settings sent since the savepoint, and
            // which those were differs per connection: give each the
            // session's settings from scratch, and again the SET LOCALs
            // a from-scratch replay (RESET ALL) would lose.
            let locals = self.txn.script.locals();
            for (_, conn) in self.txn.held.iter_mut() {
                conn.forget_settings();
                conn.replay_settings(self.settings.replay(), locals.as_deref())
                    .await?;
            }
        }
        self.txn.state.transition(TxnEvent::Recover);
        Ok(())
    }

    /// Runs `sql` on every connection the transaction holds.
    async fn on_held(&mut self, sql: &str) -> Result<(), StatementError> {
        self.txn.held.on_each(sql).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script() -> JoinScript {
        JoinScript::new("BEGIN ISOLATION LEVEL SERIALIZABLE")
    }

    #[test]
    fn the_join_script_replays_live_savepoints_and_locals_in_order() {
        let mut s = script();
        s.push_savepoint("a".into(), Snapshot::default());
        s.push_local("SET LOCAL \"work_mem\" TO '8MB'".into());
        s.push_savepoint("b".into(), Snapshot::default());
        assert_eq!(
            s.sql(),
            "BEGIN ISOLATION LEVEL SERIALIZABLE; SAVEPOINT \"a\"; \
             SET LOCAL \"work_mem\" TO '8MB'; SAVEPOINT \"b\""
        );
        assert_eq!(
            s.locals().as_deref(),
            Some("SET LOCAL \"work_mem\" TO '8MB'")
        );
    }

    #[test]
    fn release_drops_the_savepoint_and_later_ones_but_keeps_locals() {
        let mut s = script();
        s.push_savepoint("a".into(), Snapshot::default());
        s.push_local("SET LOCAL x TO 1".into());
        s.push_savepoint("b".into(), Snapshot::default());
        s.release(s.find("a").unwrap());
        assert_eq!(
            s.sql(),
            "BEGIN ISOLATION LEVEL SERIALIZABLE; SET LOCAL x TO 1"
        );
        assert_eq!(s.find("a"), None);
        assert_eq!(s.find("b"), None);
    }

    #[test]
    fn rollback_to_keeps_the_savepoint_and_drops_what_followed() {
        let mut s = script();
        s.push_savepoint("a".into(), Snapshot::default());
        s.push_local("SET LOCAL x TO 1".into());
        s.push_savepoint("b".into(), Snapshot::default());
        assert!(s.rollback_to(s.find("a").unwrap()).is_some());
        assert_eq!(
            s.sql(),
            "BEGIN ISOLATION LEVEL SERIALIZABLE; SAVEPOINT \"a\""
        );
        assert_eq!(s.find("a"), Some(0));
        assert_eq!(s.find("b"), None);
        assert_eq!(s.locals(), None);
    }

    #[test]
    fn a_repeated_name_finds_the_newest() {
        let mut s = script();
        s.push_savepoint("a".into(), Snapshot::default());
        s.push_savepoint("a".into(), Snapshot::default());
        assert_eq!(s.find("a"), Some(1));
        s.release(1);
        assert_eq!(s.find("a"), Some(0));
        assert_eq!(
            s.sql(),
            "BEGIN ISOLATION LEVEL SERIALIZABLE; SAVEPOINT \"a\""
        );
    }

    #[test]
    fn unquoted_names_fold_to_lower_case() {
        assert_eq!(savepoint_name(&Ident::new("Sp")), "sp");
        assert_eq!(savepoint_name(&Ident::with_quote('"', "Sp")), "Sp");
    }
}
