//! What openGauss drivers read at connect and parse.
//!
//! py-opengauss takes the first word of `pg_catalog.version()` as the
//! server's kind, and openGauss JDBC reads "openGauss" out of it; the
//! backends behind an openGauss listener are PostgreSQL, so the calls are
//! answered with an openGauss-shaped string that also says what serves
//! it. Only the calls are replaced: the statement around them (py-opengauss
//! joins pg_stat_activity) still runs on a backend, so everything else in
//! the answer is the server's own.

use std::ops::ControlFlow;

use sqlparser::ast::{visit_expressions_mut, Expr, FunctionArguments, Value};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::pg::session::Session;

/// The openGauss release whose protocol (3.51, SHA256 login, Batch Bind)
/// an openGauss listener speaks.
pub const OPENGAUSS_RELEASE: &str = "5.0.0";

/// `version()` on an openGauss listener.
pub fn version_string(server_version: &str) -> String {
    format!(
        "(openGauss {OPENGAUSS_RELEASE} build shardwire) Shardwire {} over PostgreSQL \
         {server_version}, 64-bit",
        env!("CARGO_PKG_VERSION")
    )
}

/// `sql` with each call of `version()` / `pg_catalog.version()` replaced by
/// `version` as a string literal; `None` when it calls none, or is not one
/// statement sqlparser reads (it then runs as the client wrote it).
pub fn replace_version_calls(sql: &str, version: &str) -> Option<String> {
    // Most statements never mention it: no parse for them.
    if !sql.to_ascii_lowercase().contains("version") {
        return None;
    }
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    let [statement] = statements.as_mut_slice() else {
        return None;
    };
    let mut replaced = false;
    let _ = visit_expressions_mut(statement, |expr| {
        if is_version_call(expr) {
            *expr = Expr::Value(Value::SingleQuotedString(version.to_owned()).into());
            replaced = true;
        }
        ControlFlow::<()>::Continue(())
    });
    replaced.then(|| statement.to_string())
}

fn is_version_call(expr: &Expr) -> bool {
    let Expr::Function(f) = expr else {
        return false;
    };
    let names: Vec<String> = f
        .name
        .0
        .iter()
        .map(|part| part.to_string().to_ascii_lowercase())
        .collect();
    let named = matches!(
        names
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["version"] | ["pg_catalog", "version"]
    );
    let no_args = match &f.args {
        FunctionArguments::None => true,
        FunctionArguments::List(list) => list.args.is_empty(),
        FunctionArguments::Subquery(_) => false,
    };
    named && no_args
}

impl Session {
    /// On an openGauss session, the client's SQL with its `version()` calls
    /// answered as openGauss; `None` when it runs as it is.
    pub(crate) fn opengauss_text(&self, sql: &str) -> Option<String> {
        self.opengauss?;
        let server_version = self.settings.get("server_version").unwrap_or("15");
        replace_version_calls(sql, &version_string(server_version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_calls_become_the_opengauss_string() {
        let v = version_string("15.4");
        assert!(v.starts_with("(openGauss 5.0.0 "), "{v}");
        let sql = replace_version_calls("select version()", &v).unwrap();
        assert_eq!(sql, format!("SELECT '{v}'"));
        // py-opengauss's connect query keeps everything but the calls.
        let q = "SELECT pg_catalog.version()::text AS version, client_port::int \
                 FROM pg_catalog.pg_stat_activity WHERE pid = pg_catalog.pg_backend_pid() \
                 UNION ALL SELECT pg_catalog.version()::text AS version, NULL::int";
        let out = replace_version_calls(q, "og").unwrap();
        assert!(!out.to_lowercase().contains("version()"), "{out}");
        assert_eq!(out.matches("'og'").count(), 2, "{out}");
        assert!(out.contains("pg_backend_pid()"), "{out}");
    }

    #[test]
    fn other_statements_are_left_alone() {
        assert_eq!(replace_version_calls("select 1", "og"), None);
        assert_eq!(replace_version_calls("select version from t", "og"), None);
        assert_eq!(replace_version_calls("select my.version()", "og"), None);
        assert_eq!(replace_version_calls("select version(1)", "og"), None);
        assert_eq!(
            replace_version_calls("select version(); select 1", "og"),
            None
        );
    }
}
