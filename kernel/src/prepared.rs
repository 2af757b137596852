//! [`Prepared`]: everything about a statement text that does not depend on
//! its parameters or on the rules, worked out once and cached with the
//! parse (see [`crate::ParseCache`]): repeated statements (prepared
//! statements, ORM templates) skip reading the AST again on every
//! execution.

use std::sync::{Arc, OnceLock};

use sqlparser::ast::Statement;

use crate::context::StatementContext;
use crate::splice::SpliceTemplate;

/// A parsed statement and what is derived from it alone. The derived parts
/// are computed on first use: a caller that only wants the AST pays nothing
/// more.
#[derive(Debug)]
pub(crate) struct Prepared {
    sql: Arc<str>,
    statement: Arc<Statement>,
    context: OnceLock<StatementContext>,
    splice: OnceLock<Option<SpliceTemplate>>,
}

impl Prepared {
    pub(crate) fn new(sql: Arc<str>, statement: Statement) -> Self {
        Self {
            sql,
            statement: Arc::new(statement),
            context: OnceLock::new(),
            splice: OnceLock::new(),
        }
    }

    pub(crate) fn sql(&self) -> &str {
        &self.sql
    }

    pub(crate) fn statement(&self) -> &Arc<Statement> {
        &self.statement
    }

    /// The statement's context: rule-independent, so one per text.
    pub(crate) fn context(&self) -> &StatementContext {
        self.context
            .get_or_init(|| StatementContext::new(&self.statement))
    }

    /// Where the text names tables, if that can be trusted.
    pub(crate) fn splice(&self) -> Option<&SpliceTemplate> {
        self.splice
            .get_or_init(|| SpliceTemplate::new(&self.statement, &self.sql))
            .as_ref()
    }
}
