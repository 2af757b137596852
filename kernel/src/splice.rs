//! Rewriting by splicing the client's SQL text: the byte ranges of the table
//! names the rewrite may rename are found once per statement text (from the
//! AST's spans) and cached with the parsed statement; each execution then
//! copies the text with the actual names put in, instead of cloning the AST
//! and printing it again (a point select's rewrite drops from microseconds
//! to tens of nanoseconds, and the backend sees the client's own text,
//! comments included).
//!
//! The ranges come from the same visit as [`crate::rewrite`]'s renamer, so
//! both rename the same identifiers. Any doubt (an identifier without a
//! span, text at the span that is not the identifier) gives no template,
//! and the caller prints the AST as before.

use std::ops::ControlFlow;

use sqlparser::ast::{
    CopySource, Expr, Ident, ObjectName, ObjectNamePart, Select, SelectItem,
    SelectItemQualifiedWildcardKind, ShowCreateObject, Statement, Visit, Visitor,
};
use sqlparser::tokenizer::Location;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Name {
    /// Where the name's token starts: its opening quote, if quoted.
    token: usize,
    start: usize,
    end: usize,
    value: Box<str>,
    owner: Option<(usize, Box<str>)>,
}

/// Where the statement text names tables, in text order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpliceTemplate {
    /// Byte range of a name (inside its quotes, if quoted), the
    /// identifier's value there, and the qualifier before it (`db` of
    /// `db.t`): where its token starts, and its value.
    names: Vec<Name>,
}

impl SpliceTemplate {
    /// The template of `statement`, parsed from `sql`; `None` when a name's
    /// position cannot be trusted.
    pub(crate) fn new(statement: &Statement, sql: &str) -> Option<Self> {
        let mut collect = Collect {
            idents: Vec::new(),
            complete: true,
        };
        if let Statement::Drop { names, table, .. } = statement {
            for name in names.iter().chain(table.iter()) {
                collect.object(name);
            }
        }
        if let Statement::ShowCreate {
            obj_type: ShowCreateObject::Table,
            obj_name,
        } = statement
        {
            collect.object(obj_name);
        }
        if let Statement::Copy {
            source: CopySource::Table { table_name, .. },
            ..
        } = statement
        {
            collect.object(table_name);
        }
        let _ = statement.visit(&mut collect);
        if !collect.complete {
            return None;
        }
        let lines = LineStarts::new(sql);
        let mut names = Vec::with_capacity(collect.idents.len());
        for (ident, owner) in collect.idents {
            let token = lines.byte_offset(sql, ident.span.start)?;
            let end = lines.byte_offset(sql, ident.span.end)?;
            let (start, end) = inner_range(sql.get(token..end)?, &ident, token)?;
            let owner = match owner {
                Some(q) => {
                    let at = lines.byte_offset(sql, q.span.start)?;
                    let to = lines.byte_offset(sql, q.span.end)?;
                    inner_range(sql.get(at..to)?, &q, at)?;
                    (to <= start).then(|| (at, q.value.into_boxed_str()))
                }
                None => None,
            };
            names.push(Name {
                token,
                start,
                end,
                value: ident.value.into_boxed_str(),
                owner,
            });
        }
        names.sort_unstable_by_key(|n| n.start);
        // One identifier reached twice by the visit is one range.
        names.dedup_by_key(|n| n.start);
        if names.windows(2).any(|w| w[0].end > w[1].start) {
            return None;
        }
        Some(Self { names })
    }

    /// `sql` (the text this template was made from) with every name that
    /// `table_map` lists (logical, lower-cased -> actual) replaced, and
    /// `logical_database` dropped where it qualifies a replaced name (as
    /// [`crate::rewrite::rewrite_in`] does).
    pub(crate) fn render(
        &self,
        sql: &str,
        table_map: &[(String, String)],
        logical_database: Option<&str>,
    ) -> String {
        self.render_mapped(sql, |at| at, table_map, logical_database)
    }

    /// [`SpliceTemplate::render`] over a text that differs from the one the
    /// template was made from only outside the names: `at` maps each of the
    /// template's offsets to `sql`'s (the normalized text of
    /// [`crate::normalize`] against the client's, whose literals differ).
    pub(crate) fn render_mapped(
        &self,
        sql: &str,
        at: impl Fn(usize) -> usize,
        table_map: &[(String, String)],
        logical_database: Option<&str>,
    ) -> String {
        let mut out = String::with_capacity(sql.len() + 8 * self.names.len());
        let mut copied = 0;
        for name in &self.names {
            let Some((_, actual)) = table_map
                .iter()
                .find(|(logical, _)| logical.eq_ignore_ascii_case(&name.value))
            else {
                continue;
            };
            match (&name.owner, logical_database) {
                (Some((owner_at, owner)), Some(db))
                    if owner.eq_ignore_ascii_case(db) && at(*owner_at) >= copied =>
                {
                    // The qualifier and its dot go; a quoted name keeps its
                    // opening quote, whose closing one stays after it.
                    out.push_str(sql.get(copied..at(*owner_at)).unwrap_or_default());
                    out.push_str(sql.get(at(name.token)..at(name.start)).unwrap_or_default());
                }
                _ => out.push_str(sql.get(copied..at(name.start)).unwrap_or_default()),
            }
            out.push_str(actual);
            copied = at(name.end);
        }
        out.push_str(sql.get(copied..).unwrap_or_default());
        out
    }
}

/// The byte range of the identifier's value within its token `text` (which
/// starts at byte `start`): the token itself, or the part inside its
/// quotes. `None` when the token is not exactly the identifier (an escaped
/// quote inside, a span that points elsewhere).
fn inner_range(text: &str, ident: &Ident, start: usize) -> Option<(usize, usize)> {
    let inner = match ident.quote_style {
        None => text,
        Some(open) => {
            let close = match open {
                '[' => ']',
                c => c,
            };
            text.strip_prefix(open)?.strip_suffix(close)?
        }
    };
    if !inner.eq_ignore_ascii_case(&ident.value) {
        return None;
    }
    let offset = if ident.quote_style.is_some() {
        ident.quote_style.map_or(0, char::len_utf8)
    } else {
        0
    };
    Some((start + offset, start + offset + inner.len()))
}

/// Byte offsets of the lines of a text, for sqlparser's 1-based line and
/// (character) column locations.
struct LineStarts(Vec<usize>);

impl LineStarts {
    fn new(sql: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(sql.match_indices('\n').map(|(i, _)| i + 1));
        Self(starts)
    }

    fn byte_offset(&self, sql: &str, at: Location) -> Option<usize> {
        let line_start = *self.0.get(usize::try_from(at.line).ok()?.checked_sub(1)?)?;
        let column = usize::try_from(at.column).ok()?.checked_sub(1)?;
        let line = sql.get(line_start..)?;
        // The location just past the last character of the text is valid.
        let within = line
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(line.len()))
            .nth(column)?;
        Some(line_start + within)
    }
}

/// The identifiers [`crate::rewrite`]'s renamer would rename, in the same
/// places: a relation's last part, a compound identifier's qualifier, a
/// qualified wildcard's last part.
struct Collect {
    /// A name and the identifier qualifying it, if any.
    idents: Vec<(Ident, Option<Ident>)>,
    /// False once a name part is not a plain identifier: its renaming
    /// cannot be reproduced here.
    complete: bool,
}

impl Collect {
    fn object(&mut self, name: &ObjectName) {
        let owner = match name.0.len().checked_sub(2).and_then(|at| name.0.get(at)) {
            Some(ObjectNamePart::Identifier(q)) => Some(q.clone()),
            Some(_) => {
                self.complete = false;
                None
            }
            None => None,
        };
        match name.0.last() {
            Some(ObjectNamePart::Identifier(ident)) => self.idents.push((ident.clone(), owner)),
            Some(_) => self.complete = false,
            None => {}
        }
    }
}

impl Visitor for Collect {
    type Break = ();

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        self.object(relation);
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::CompoundIdentifier(idents) if idents.len() >= 2 => {
                let at = idents.len() - 2;
                if let Some(ident) = idents.get(at) {
                    let owner = at.checked_sub(1).and_then(|o| idents.get(o)).cloned();
                    self.idents.push((ident.clone(), owner));
                }
            }
            Expr::QualifiedWildcard(name, _) => self.object(name),
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        for item in &select.projection {
            if let SelectItem::QualifiedWildcard(
                SelectItemQualifiedWildcardKind::ObjectName(name),
                _,
            ) = item
            {
                self.object(name);
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_one, Dialect};

    fn render(dialect: Dialect, sql: &str, map: &[(&str, &str)]) -> Option<String> {
        let statement = parse_one(dialect, sql).unwrap();
        let map: Vec<(String, String)> = map
            .iter()
            .map(|(l, a)| ((*l).to_owned(), (*a).to_owned()))
            .collect();
        SpliceTemplate::new(&statement, sql).map(|t| t.render(sql, &map, Some("db")))
    }

    #[test]
    fn renames_tables_qualifiers_and_wildcards_keeping_the_text() {
        let sql = "select /* keep */ o.*, T_Order.id\nFROM `T_Order` o JOIN t_item ON t_order.id = t_item.oid -- tail";
        assert_eq!(
            render(Dialect::MySql, sql, &[("t_order", "t_order_1"), ("t_item", "t_item_1")])
                .unwrap(),
            "select /* keep */ o.*, t_order_1.id\nFROM `t_order_1` o JOIN t_item_1 ON t_order_1.id = t_item_1.oid -- tail"
        );
    }

    #[test]
    fn multibyte_text_before_a_name_keeps_offsets_right() {
        let sql = "SELECT 'Größe €' AS \"ü\", t.a FROM \"t\" WHERE b = 'é'";
        assert_eq!(
            render(Dialect::PostgreSql, sql, &[("t", "t_0")]).unwrap(),
            "SELECT 'Größe €' AS \"ü\", t_0.a FROM \"t_0\" WHERE b = 'é'"
        );
    }

    #[test]
    fn the_logical_database_goes_other_qualifiers_and_names_stay() {
        let sql = "UPDATE db.t SET a = 1 WHERE db.t.id IN (SELECT id FROM other)";
        assert_eq!(
            render(Dialect::MySql, sql, &[("t", "t_3")]).unwrap(),
            "UPDATE t_3 SET a = 1 WHERE t_3.id IN (SELECT id FROM other)"
        );
        let other = "SELECT x.t.a, `DB`.t.b FROM x.t, `DB` . t";
        assert_eq!(
            render(Dialect::MySql, other, &[("t", "t_3")]).unwrap(),
            "SELECT x.t_3.a, t_3.b FROM x.t_3, t_3"
        );
        assert_eq!(
            render(Dialect::MySql, "DESCRIBE `db`.`t`", &[("t", "t_3")]).unwrap(),
            "DESCRIBE `t_3`"
        );
        assert_eq!(
            render(
                Dialect::PostgreSql,
                "SELECT \"db\".\"t\".a FROM db . \"t\"",
                &[("t", "t_3")]
            )
            .unwrap(),
            "SELECT \"t_3\".a FROM \"t_3\""
        );
        let drop = "DROP TABLE IF EXISTS t, u";
        assert_eq!(
            render(Dialect::PostgreSql, drop, &[("u", "u_1")]).unwrap(),
            "DROP TABLE IF EXISTS t, u_1"
        );
    }

    #[test]
    fn crlf_lines_and_tabs_count_as_the_tokenizer_counts() {
        let sql = "SELECT\r\n\tt.a\r\nFROM\t t\r\n\tWHERE t.a = 1";
        assert_eq!(
            render(Dialect::MySql, sql, &[("t", "t_1")]).unwrap(),
            "SELECT\r\n\tt_1.a\r\nFROM\t t_1\r\n\tWHERE t_1.a = 1"
        );
    }

    #[test]
    fn an_escaped_quote_in_a_name_gives_no_template() {
        assert_eq!(
            render(Dialect::PostgreSql, "SELECT * FROM \"a\"\"b\"", &[]),
            None
        );
    }
}
