//! `SELECT set_config('name', 'value', is_local)`: a SET in a function's
//! clothes (Django sets its TimeZone this way, pg_dump its search_path).
//!
//! Run as an ordinary query it would reach one pooled shard connection
//! only: the setting would neither follow the session to the other shards
//! nor stay away from the next client of that connection, and the client
//! would get no ParameterStatus. So the literal form, alone in a SELECT
//! without FROM, is recorded as the equivalent SET (or SET LOCAL) is, and
//! answered with the value the server reports. Any other use of set_config
//! in a sharded session is refused by name.

use std::ops::ControlFlow;

use shardwire_backend::pg::quote_literal;
use sqlparser::ast::{
    visit_expressions, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr,
    SelectItem, SetExpr, Statement, Value as SqlValue,
};

use super::execute::Shape;
use super::local::setting_key;
use super::session::Session;
use crate::core::units::ConnectionSource;
use crate::error::StatementError;

/// `set_config(name, value, is_local)` with literal arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetConfig {
    pub name: String,
    pub value: String,
    pub local: bool,
    /// The result column's name: the alias, else the function's.
    pub column: String,
}

/// Cheap text test before any AST walk: most statements never mention it.
pub fn mentions_set_config(sql: &str) -> bool {
    sql.as_bytes()
        .windows(10)
        .any(|w| w.eq_ignore_ascii_case(b"set_config"))
}

/// What `ast` does with set_config: nothing (`None`), the literal form
/// (`Some(Ok)`), or something else, refused (`Some(Err)`).
pub fn set_config_call(ast: &Statement) -> Option<Result<SetConfig, StatementError>> {
    let mut calls = false;
    let _ = visit_expressions(ast, |e| {
        if let Expr::Function(f) = e {
            if is_set_config(&f.name) {
                calls = true;
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    });
    if !calls {
        return None;
    }
    Some(literal_form(ast).ok_or_else(|| {
        StatementError::refused(
            "0A000",
            "set_config in a sharded session is supported only as \
             SELECT set_config('name', 'value', true|false) with literal arguments and \
             nothing else in the statement: elsewhere it would change one pooled shard \
             connection's setting, not the session's",
        )
    }))
}

fn is_set_config(name: &sqlparser::ast::ObjectName) -> bool {
    let parts: Vec<_> = name.0.iter().map(|p| p.as_ident()).collect();
    match parts.as_slice() {
        [Some(f)] => f.value.eq_ignore_ascii_case("set_config"),
        [Some(schema), Some(f)] => {
            schema.value.eq_ignore_ascii_case("pg_catalog")
                && f.value.eq_ignore_ascii_case("set_config")
        }
        _ => false,
    }
}

fn literal_form(ast: &Statement) -> Option<SetConfig> {
    let Statement::Query(query) = ast else {
        return None;
    };
    let plain_query = query.with.is_none()
        && query.order_by.is_none()
        && query.limit_clause.is_none()
        && query.fetch.is_none()
        && query.locks.is_empty();
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let plain_select = select.from.is_empty()
        && select.selection.is_none()
        && select.having.is_none()
        && select.distinct.is_none()
        && select.into.is_none()
        && matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty());
    if !plain_query || !plain_select {
        return None;
    }
    let [item] = select.projection.as_slice() else {
        return None;
    };
    let (expr, alias) = match item {
        SelectItem::UnnamedExpr(e) => (e, None),
        SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias)),
        _ => return None,
    };
    let Expr::Function(f) = expr else {
        return None;
    };
    if !is_set_config(&f.name)
        || f.over.is_some()
        || f.filter.is_some()
        || !f.within_group.is_empty()
        || !matches!(f.parameters, FunctionArguments::None)
    {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
        return None;
    }
    let literal = |arg: &FunctionArg| match arg {
        FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v))) => Some(v.value.clone()),
        _ => None,
    };
    let [name, value, local] = list.args.as_slice() else {
        return None;
    };
    let (SqlValue::SingleQuotedString(name), SqlValue::SingleQuotedString(value)) =
        (literal(name)?, literal(value)?)
    else {
        return None;
    };
    let local = match literal(local)? {
        SqlValue::Boolean(b) => b,
        SqlValue::SingleQuotedString(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "t" => true,
            "false" | "f" => false,
            _ => return None,
        },
        _ => return None,
    };
    let column = match alias {
        // Unquoted aliases fold to lower case, as the server names them.
        Some(a) if a.quote_style.is_none() => a.value.to_ascii_lowercase(),
        Some(a) => a.value.clone(),
        None => "set_config".to_owned(),
    };
    Some(SetConfig {
        name,
        value,
        local,
        column,
    })
}

impl Session {
    /// Runs the literal set_config as its SET would run, then answers the
    /// one row the server would.
    pub(super) async fn set_config(
        &mut self,
        call: SetConfig,
        shape: Shape,
    ) -> Result<(), StatementError> {
        self.txn.refuse_if_failed()?;
        if let Some(refusal) = super::startup::check_param(&call.name, &call.value) {
            return Err(StatementError::refused("0A000", refusal));
        }
        let key = setting_key(&call.name);
        let statement = |local: bool| {
            format!(
                "SELECT pg_catalog.set_config({}, {}, {local})",
                quote_literal(&key),
                quote_literal(&call.value)
            )
        };
        let reported = if call.local {
            self.set_config_local(&key, statement(true)).await?
        } else {
            let was = self.settings.set_entry(&key);
            self.settings
                .set(key.clone(), call.value.clone(), statement(false));
            // The first shard gets the session's settings now (a bad value
            // is refused there) and says what the value became, which for
            // some settings is not the text given (time zone names).
            match self.current_setting(&key).await {
                Ok(now) => {
                    self.settings
                        .set(key.clone(), now.clone(), statement(false));
                    self.report_setting(key).await?;
                    now
                }
                Err(e) => {
                    self.settings.restore(key, was);
                    return Err(e);
                }
            }
        };
        self.one_text_row(&call.column, &reported, shape, "SELECT 1")
            .await
    }

    /// is_local = true: inside a transaction, on every shard it holds and
    /// those it reaches later (as SET LOCAL); outside one, the setting
    /// lasts for this statement only, so one shard answers.
    async fn set_config_local(
        &mut self,
        key: &str,
        statement: String,
    ) -> Result<String, StatementError> {
        if !self.txn.in_block() {
            let first = self.cluster()?.first().to_owned();
            let mut conn = self.acquire(&first).await?;
            let result = conn.simple_query(&statement).await;
            self.release(first, conn);
            return single_value(result?);
        }
        // SET LOCAL's path, which records it in the join script; PostgreSQL
        // takes set_config(..., true) as SET LOCAL, warnings aside.
        self.set_local(statement).await?;
        self.current_setting(key).await
    }

    /// `current_setting(key)` on a connection of the first data source,
    /// which replays the session's settings first.
    async fn current_setting(&mut self, key: &str) -> Result<String, StatementError> {
        let first = self.cluster()?.first().to_owned();
        let mut conn = self.acquire(&first).await?;
        let result = conn
            .simple_query(&format!(
                "SELECT pg_catalog.current_setting({})",
                quote_literal(key)
            ))
            .await;
        self.release(first, conn);
        single_value(result?)
    }
}

/// The one text value of a one-row, one-column answer.
fn single_value(sets: Vec<shardwire_backend::pg::ResultSet>) -> Result<String, StatementError> {
    let value = sets
        .first()
        .and_then(|s| s.rows.first())
        .and_then(|row| row.columns().next())
        .flatten();
    match value {
        Some(v) => Ok(String::from_utf8_lossy(&v).into_owned()),
        None => Err(StatementError::refused(
            "XX000",
            "internal error: the shard answered set_config / current_setting without a value",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shardwire_kernel::Dialect;

    fn call(sql: &str) -> Option<Result<SetConfig, StatementError>> {
        let ast = shardwire_kernel::parse::parse_one(Dialect::PostgreSql, sql).unwrap();
        set_config_call(&ast)
    }

    #[test]
    fn the_literal_form_is_read() {
        let c = call("SELECT set_config('TimeZone', 'UTC', false)")
            .unwrap()
            .unwrap();
        assert_eq!(
            c,
            SetConfig {
                name: "TimeZone".into(),
                value: "UTC".into(),
                local: false,
                column: "set_config".into(),
            }
        );
        let c = call("select pg_catalog.set_config('search_path', '', true) AS Sp")
            .unwrap()
            .unwrap();
        assert!(c.local);
        assert_eq!(c.column, "sp");
        assert_eq!(c.value, "");
    }

    #[test]
    fn other_uses_are_refused_and_unrelated_statements_ignored() {
        for sql in [
            "SELECT set_config('TimeZone', $1, false)",
            "SELECT set_config(name, 'x', false) FROM t",
            "SELECT set_config('a.b', 'x', false), 1",
            "SELECT 1 WHERE set_config('a.b', 'x', false) = 'x'",
            "SELECT set_config('a.b', 'x', NULL)",
        ] {
            let e = call(sql).unwrap().unwrap_err();
            assert!(e.to_string().contains("set_config"), "{sql}: {e}");
        }
        assert!(call("SELECT 'set_config' AS x").is_none());
        assert!(mentions_set_config(
            "select PG_CATALOG.SET_CONFIG('a', 'b', false)"
        ));
        assert!(!mentions_set_config("SELECT 1"));
    }
}
