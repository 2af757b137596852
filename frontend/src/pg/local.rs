//! Statements the proxy answers itself, because they are about the
//! session rather than the data: transaction control, SET, SHOW of the
//! session's settings, DISCARD / RESET.
//!
//! SET is recorded for SHOW, reported back with ParameterStatus where
//! drivers expect it, and replayed on every shard connection the session's
//! statements run on (`settings.rs`, and the backend's `replay.rs`).

use std::ops::ControlFlow;
use std::sync::Arc;

use futures::SinkExt;
use shardwire_backend::pg::quote_ident;
use shardwire_protocol::pg::{
    BackendMessage, DataRow, ErrorFields, FieldDescription, RowDescription,
};
use sqlparser::ast::{
    visit_expressions_mut, ContextModifier, Expr, Reset, Set, Statement, Value as SqlValue,
};

use super::execute::Shape;
use super::session::{session_to_statement, Session};
use super::values::oid;
use crate::core::units::ConnectionSource;
use crate::error::StatementError;

/// Settings a server reports with ParameterStatus when they change.
pub const REPORTED: &[&str] = &[
    "application_name",
    "client_encoding",
    "DateStyle",
    "IntervalStyle",
    "TimeZone",
    "standard_conforming_strings",
    "integer_datetimes",
    "is_superuser",
    "server_encoding",
    "server_version",
    "session_authorization",
    "default_transaction_read_only",
    "in_hot_standby",
    "search_path",
];

impl Session {
    /// Answers `ast` if it is one of the session's own statements.
    pub(super) async fn local(
        &mut self,
        sql: &str,
        ast: &Statement,
        shape: Shape,
    ) -> Option<Result<(), StatementError>> {
        let result = match ast {
            Statement::StartTransaction { .. } => if let Some(warning) = self.begin(sql) {
                self.notice(warning).await
            } else {
                Ok(())
            }
            .map(|()| "BEGIN".to_owned()),
            Statement::Commit { .. } => {
                if !self.txn.in_block() {
                    self.notice("there is no transaction in progress")
                        .await
                        .map(|()| "COMMIT".to_owned())
                } else {
                    match self.end_transaction(true).await {
                        (tag, None) => Ok(tag.to_owned()),
                        (_, Some(e)) => Err(e),
                    }
                }
            }
            Statement::Rollback {
                savepoint: None, ..
            } => {
                if !self.txn.in_block() {
                    self.notice("there is no transaction in progress")
                        .await
                        .map(|()| "ROLLBACK".to_owned())
                } else {
                    match self.end_transaction(false).await {
                        (tag, None) => Ok(tag.to_owned()),
                        (_, Some(e)) => Err(e),
                    }
                }
            }
            Statement::Rollback {
                savepoint: Some(name),
                ..
            } => self.rollback_to(name).await.map(|()| "ROLLBACK".to_owned()),
            Statement::Savepoint { name } => {
                self.savepoint(name).await.map(|()| "SAVEPOINT".to_owned())
            }
            Statement::ReleaseSavepoint { name } => self
                .release_savepoint(name)
                .await
                .map(|()| "RELEASE".to_owned()),
            Statement::Query(_) if super::set_config::mentions_set_config(sql) => {
                return match super::set_config::set_config_call(ast)? {
                    Ok(call) => Some(self.set_config(call, shape).await),
                    Err(e) => Some(Err(e)),
                };
            }
            Statement::Set(set) => self.set(set).await.map(|()| "SET".to_owned()),
            Statement::ShowVariable { variable } => {
                let name = variable
                    .iter()
                    .map(|i| i.value.clone())
                    .collect::<Vec<_>>()
                    .join(" ");
                return self.show(&name, shape).await;
            }
            Statement::Discard { .. } => {
                // Shards' connections follow at their next statement.
                self.settings.reset_all();
                Ok(sql
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_uppercase())
            }
            Statement::Reset(reset) => self.reset(&reset.reset).await.map(|()| "RESET".to_owned()),
            Statement::Prepare {
                name, statement, ..
            } => {
                if self.sql_prepared.contains_key(&name.value) {
                    Err(StatementError::refused(
                        "42P05",
                        format!("prepared statement \"{}\" already exists", name.value),
                    ))
                } else {
                    self.sql_prepared
                        .insert(name.value.clone(), Arc::new((**statement).clone()));
                    Ok("PREPARE".to_owned())
                }
            }
            Statement::Deallocate { name, .. } => {
                if name.value.eq_ignore_ascii_case("all") {
                    self.sql_prepared.clear();
                    Ok("DEALLOCATE ALL".to_owned())
                } else if self.sql_prepared.remove(&name.value).is_some() {
                    Ok("DEALLOCATE".to_owned())
                } else {
                    Err(StatementError::refused(
                        "26000",
                        format!("prepared statement \"{}\" does not exist", name.value),
                    ))
                }
            }
            Statement::Execute {
                name: Some(name),
                parameters,
                ..
            } => {
                return Some(
                    self.execute_prepared(&name.to_string(), parameters, shape)
                        .await,
                )
            }
            _ => return None,
        };
        Some(match result {
            Ok(tag) => self.complete(&tag, shape).await,
            Err(e) => Err(e),
        })
    }

    /// SQL-level EXECUTE: the PREPAREd statement with its `$n` replaced by
    /// the EXECUTE's argument expressions (already parsed SQL, so nothing
    /// is re-inlined as text), run like any other statement. Each shard
    /// sees the final statement, so nothing is left prepared on the
    /// pooled connections.
    async fn execute_prepared(
        &mut self,
        name: &str,
        parameters: &[Expr],
        shape: Shape,
    ) -> Result<(), StatementError> {
        let Some(prepared) = self.sql_prepared.get(name).cloned() else {
            return Err(StatementError::refused(
                "26000",
                format!("prepared statement \"{name}\" does not exist"),
            ));
        };
        let mut statement = (*prepared).clone();
        let mut missing = None;
        let _ = visit_expressions_mut(&mut statement, |expr| {
            if let Expr::Value(v) = expr {
                if let SqlValue::Placeholder(p) = &v.value {
                    let index = p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok());
                    match index
                        .and_then(|n| n.checked_sub(1))
                        .and_then(|i| parameters.get(i))
                    {
                        Some(arg) => *expr = Expr::Nested(Box::new(arg.clone())),
                        None => missing = Some(p.clone()),
                    }
                }
            }
            ControlFlow::<()>::Continue(())
        });
        if let Some(p) = missing {
            return Err(StatementError::refused(
                "42P02",
                format!("there is no parameter {p} in EXECUTE {name}"),
            ));
        }
        let sql = statement.to_string();
        let describe = shape == Shape::Described;
        Box::pin(self.execute(&sql, &statement, None, describe, false)).await
    }

    async fn complete(&mut self, tag: &str, shape: Shape) -> Result<(), StatementError> {
        if shape == Shape::Described {
            self.conn
                .feed(BackendMessage::NoData)
                .await
                .map_err(session_to_statement)?;
        }
        self.conn
            .feed(BackendMessage::CommandComplete(tag.to_owned()))
            .await
            .map_err(session_to_statement)
    }

    pub(super) async fn notice(&mut self, message: &str) -> Result<(), StatementError> {
        self.conn
            .feed(BackendMessage::NoticeResponse(ErrorFields::new(
                "WARNING", "25001", message,
            )))
            .await
            .map_err(session_to_statement)
    }

    async fn set(&mut self, set: &Set) -> Result<(), StatementError> {
        let (name, value, sql, local) = match set {
            Set::SingleAssignment {
                scope,
                variable,
                values,
                ..
            } => {
                let value = values.iter().map(expr_text).collect::<Vec<_>>().join(", ");
                // The client's own value text, so a list keeps its quoting.
                let sql_value = values
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                let local = matches!(scope, Some(ContextModifier::Local));
                (variable.to_string(), value, sql_value, local)
            }
            Set::SetTimeZone { value, local } => (
                "TimeZone".to_owned(),
                expr_text(value),
                value.to_string(),
                *local,
            ),
            // Transaction characteristics and the like: accepted, nothing to record.
            _ => return Ok(()),
        };
        if let Some(refusal) = super::startup::check_param(&name, &value) {
            return Err(StatementError::refused("0A000", refusal));
        }
        let key = setting_key(&name);
        if local {
            let statement = format!("SET LOCAL {} TO {sql}", quote_ident(&key));
            return self.set_local(statement).await;
        }
        let statement = format!("SET {} TO {sql}", quote_ident(&key));
        let was = self.settings.set_entry(&key);
        if value.eq_ignore_ascii_case("default") {
            self.settings.reset(&key);
        } else {
            self.settings.set(key.clone(), value, statement);
        }
        // The server checks the value, as a SET sent to it would be: the
        // first shard gets the session's settings now, and a refusal there
        // is the client's error, with the SET undone.
        if let Err(e) = self.apply_settings().await {
            self.settings.restore(key, was);
            return Err(e);
        }
        self.report_setting(key).await
    }

    /// RESET of one setting or of all.
    async fn reset(&mut self, reset: &Reset) -> Result<(), StatementError> {
        match reset {
            Reset::ALL => {
                self.settings.reset_all();
                for name in REPORTED {
                    self.report_setting((*name).to_owned()).await?;
                }
            }
            Reset::ConfigurationParameter(name) => {
                let key = setting_key(&name.to_string());
                self.settings.reset(&key);
                self.report_setting(key).await?;
            }
            Reset::SessionAuthorization => {}
        }
        Ok(())
    }

    /// A ParameterStatus for `key` if it is one the server reports.
    pub(super) async fn report_setting(&mut self, key: String) -> Result<(), StatementError> {
        if !REPORTED.contains(&key.as_str()) {
            return Ok(());
        }
        let Some(value) = self.settings.get(&key).map(str::to_owned) else {
            return Ok(());
        };
        // Sent just before ReadyForQuery, after the statement's
        // CommandComplete, where PostgreSQL (14 on) reports changes.
        self.reports.retain(|(name, _)| *name != key);
        self.reports.push((key, value));
        Ok(())
    }

    /// Runs the session's settings on a connection of the first data source,
    /// which is where a bad value is refused.
    async fn apply_settings(&mut self) -> Result<(), StatementError> {
        let first = self.cluster()?.first().to_owned();
        let conn = self.acquire(&first).await?;
        self.release(first, conn);
        Ok(())
    }

    /// SHOW of a setting the session knows; others go to a shard.
    async fn show(&mut self, name: &str, shape: Shape) -> Option<Result<(), StatementError>> {
        let key = setting_key(name);
        let value = match key.as_str() {
            "transaction_isolation" | "transaction isolation level" => self
                .settings
                .get("transaction_isolation")
                .unwrap_or("read committed")
                .to_owned(),
            _ => self.settings.get(&key)?.to_owned(),
        };
        // The column is named as the server names it: the setting's own
        // spelling, whatever the client wrote.
        let column = match key.as_str() {
            "transaction isolation level" => "transaction_isolation",
            other => other,
        };
        Some(self.one_text_row(column, &value, shape, "SHOW").await)
    }

    /// A one-row answer of one text column, tagged `tag`: what SHOW and
    /// the session's own `SELECT set_config(...)` answer.
    pub(super) async fn one_text_row(
        &mut self,
        column: &str,
        value: &str,
        shape: Shape,
        tag: &str,
    ) -> Result<(), StatementError> {
        if shape != Shape::Silent {
            let field = FieldDescription {
                name: column.to_owned(),
                type_oid: oid::TEXT,
                type_size: -1,
                type_modifier: -1,
                ..FieldDescription::default()
            };
            self.conn
                .feed(BackendMessage::RowDescription(RowDescription {
                    fields: vec![field],
                }))
                .await
                .map_err(session_to_statement)?;
        }
        let row = DataRow::from_values([Some(value.as_bytes())])
            .map_err(|e| StatementError::refused("XX000", e.to_string()))?;
        self.conn
            .feed(BackendMessage::DataRow(row))
            .await
            .map_err(session_to_statement)?;
        self.conn
            .feed(BackendMessage::CommandComplete(tag.to_owned()))
            .await
            .map_err(session_to_statement)
    }
}

/// The key a setting is kept under: a reported parameter's own spelling
/// (`DateStyle`), any other name lower-cased, as the server matches them.
pub fn setting_key(name: &str) -> String {
    REPORTED
        .iter()
        .find(|r| r.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_ascii_lowercase(), |r| (*r).to_owned())
}

/// A SET value as SHOW prints it: literals without their quotes.
fn expr_text(expr: &Expr) -> String {
    match expr {
        Expr::Value(v) => match &v.value {
            SqlValue::SingleQuotedString(s) | SqlValue::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        Expr::Identifier(i) => i.value.clone(),
        other => other.to_string(),
    }
}
