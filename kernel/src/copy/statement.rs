//! `COPY table [(columns)] FROM STDIN [options]`, read by hand.
//!
//! Why not sqlparser: 0.63 refuses PostgreSQL option lists it does not
//! know in full (`WITH (FREEZE ON)`, which `pgbench -i` sends), and the
//! proxy needs little of the statement: the table (to route), the column
//! list (to find the sharding column in each row) and the options that
//! decide how rows are framed. Everything after `STDIN` goes to the shards
//! as the client wrote it, so options the proxy does not read still reach
//! the server that checks them.

use super::format::{CopyFormat, FormatKind};
use crate::error::KernelError;
use crate::lexer::Tokens;

/// A `COPY ... FROM STDIN` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFromStdin {
    /// The schema, when the name was qualified, as written (quotes kept).
    pub schema: Option<String>,
    /// The table's name, case-folded as PostgreSQL folds it.
    pub table: String,
    /// The column list's names, case-folded; `None` without a list.
    pub columns: Option<Vec<String>>,
    /// The column list as written, parentheses included; empty without one.
    pub columns_sql: String,
    /// Everything after `STDIN`, as written.
    pub options_sql: String,
    pub format: CopyFormat,
}

impl CopyFromStdin {
    /// The statement one shard runs: the same COPY into `actual`.
    pub fn for_table(&self, actual: &str) -> String {
        let mut sql = String::from("COPY ");
        if let Some(schema) = &self.schema {
            sql.push_str(schema);
            sql.push('.');
        }
        sql.push_str(&quote_ident(actual));
        if !self.columns_sql.is_empty() {
            sql.push(' ');
            sql.push_str(&self.columns_sql);
        }
        sql.push_str(" FROM STDIN");
        if !self.options_sql.is_empty() {
            sql.push(' ');
            sql.push_str(&self.options_sql);
        }
        sql
    }
}

/// `Ok(None)` when `sql` is not `COPY ... FROM STDIN` (a COPY TO, or not a
/// COPY at all): the ordinary path answers it.
pub fn parse_copy_from_stdin(sql: &str) -> Result<Option<CopyFromStdin>, KernelError> {
    let mut t = Tokens::new(sql);
    if !t.keyword("copy") {
        return Ok(None);
    }
    let bad = |what: &str| KernelError::Parse(format!("COPY: {what}"));
    if t.peek_punct(b'(') {
        // COPY (query) TO ...
        return Ok(None);
    }
    let first = t
        .ident()
        .ok_or_else(|| bad("a table name must follow COPY"))?;
    let (schema, table) = if t.punct(b'.') {
        let table = t
            .ident()
            .ok_or_else(|| bad("a table name must follow the schema"))?;
        (Some(first.written), table)
    } else {
        (None, first)
    };
    let mut columns = None;
    let mut columns_sql = String::new();
    if t.peek_punct(b'(') {
        let start = t.pos;
        t.punct(b'(');
        let mut names = Vec::new();
        loop {
            let c = t.ident().ok_or_else(|| bad("a column name was expected"))?;
            names.push(c.folded);
            if t.punct(b')') {
                break;
            }
            if !t.punct(b',') {
                return Err(bad("the column list must be names separated by commas"));
            }
        }
        columns_sql = sql[start..t.pos].to_owned();
        columns = Some(names);
    }
    if t.keyword("to") {
        return Ok(None);
    }
    if !t.keyword("from") {
        return Err(bad("FROM or TO must follow the table"));
    }
    if !t.keyword("stdin") {
        return Err(KernelError::unsupported(
            "COPY FROM a file or program",
            [table.folded.as_str()],
            "the file would be read on each shard's own server; send the rows with FROM STDIN",
        ));
    }
    let options_start = t.pos;
    let format = read_options(&mut t).map_err(|e| bad(&e))?;
    let options_sql = sql[options_start..]
        .trim()
        .trim_end_matches(';')
        .trim_end()
        .to_owned();
    Ok(Some(CopyFromStdin {
        schema,
        table: table.folded,
        columns,
        columns_sql,
        options_sql,
        format,
    }))
}

/// The options that frame the rows, in either syntax: `[WITH] (name
/// value, ...)` (9.0 on) or the older `[WITH] BINARY DELIMITER 'x' CSV
/// HEADER ...`. Stops at WHERE, which the shards apply themselves.
fn read_options(t: &mut Tokens<'_>) -> Result<CopyFormat, String> {
    let mut o = Options::default();
    t.keyword("with");
    if t.punct(b'(') {
        loop {
            let name = t
                .ident()
                .ok_or("an option name was expected")?
                .folded
                .to_ascii_lowercase();
            let value = option_value(t)?;
            o.set(&name, value)?;
            if t.punct(b')') {
                break;
            }
            if !t.punct(b',') {
                return Err("options must be separated by commas".into());
            }
        }
    } else {
        while let Some(word) = t.peek_word() {
            let word = word.to_ascii_lowercase();
            if word == "where" {
                break;
            }
            t.ident();
            match word.as_str() {
                "binary" => o.format = Some(FormatKind::Binary),
                "csv" => o.format = Some(FormatKind::Csv),
                "header" => o.header = true,
                "delimiter" | "null" | "quote" | "escape" => {
                    t.keyword("as");
                    let v = t.string().ok_or(format!("{word} takes a quoted string"))?;
                    o.set(&word, OptionValue::Text(v))?;
                }
                "force" => {
                    // FORCE NOT NULL cols / FORCE QUOTE cols: column
                    // handling the shards do; only skip over it.
                    while t.ident().is_some() || t.punct(b',') || t.punct(b'*') {}
                }
                "oids" | "freeze" => {}
                other => return Err(format!("unknown option {other}")),
            }
        }
    }
    o.finish()
}

#[derive(Debug)]
enum OptionValue {
    None,
    Text(String),
    List,
}

fn option_value(t: &mut Tokens<'_>) -> Result<OptionValue, String> {
    if let Some(s) = t.string() {
        return Ok(OptionValue::Text(s));
    }
    if t.punct(b'(') {
        while !t.punct(b')') {
            if t.ident().is_none() && !t.punct(b',') {
                return Err("a column list was expected".into());
            }
        }
        return Ok(OptionValue::List);
    }
    if t.punct(b'*') {
        return Ok(OptionValue::List);
    }
    if t.peek_punct(b',') || t.peek_punct(b')') {
        return Ok(OptionValue::None);
    }
    match t.word_or_number() {
        Some(w) => Ok(OptionValue::Text(w)),
        None => Err("an option value was expected".into()),
    }
}

#[derive(Debug, Default)]
struct Options {
    format: Option<FormatKind>,
    delimiter: Option<String>,
    null: Option<String>,
    quote: Option<String>,
    escape: Option<String>,
    header: bool,
}

impl Options {
    fn set(&mut self, name: &str, value: OptionValue) -> Result<(), String> {
        let text = |v: OptionValue| match v {
            OptionValue::Text(s) => Ok(s),
            _ => Err(format!("{name} requires a value")),
        };
        match name {
            "format" => {
                self.format = Some(match text(value)?.to_ascii_lowercase().as_str() {
                    "text" => FormatKind::Text,
                    "csv" => FormatKind::Csv,
                    "binary" => FormatKind::Binary,
                    other => return Err(format!("COPY format \"{other}\" not recognized")),
                })
            }
            "delimiter" => self.delimiter = Some(text(value)?),
            "null" => self.null = Some(text(value)?),
            "quote" => self.quote = Some(text(value)?),
            "escape" => self.escape = Some(text(value)?),
            "header" => {
                self.header = match value {
                    OptionValue::None => true,
                    OptionValue::Text(v) => match v.to_ascii_lowercase().as_str() {
                        "true" | "on" | "1" | "match" => true,
                        "false" | "off" | "0" => false,
                        other => return Err(format!("header requires a Boolean value: {other}")),
                    },
                    OptionValue::List => return Err("header requires a Boolean value".into()),
                }
            }
            // The shards check and apply these; nothing in how rows are
            // framed depends on them.
            "freeze" | "encoding" | "force_quote" | "force_not_null" | "force_null" | "default"
            | "oids" | "on_error" | "log_verbosity" => {}
            other => return Err(format!("option \"{other}\" not recognized")),
        }
        Ok(())
    }

    fn finish(self) -> Result<CopyFormat, String> {
        let kind = self.format.unwrap_or(FormatKind::Text);
        let one_byte = |name: &str, v: Option<String>, default: u8| -> Result<u8, String> {
            match v {
                None => Ok(default),
                Some(s) if s.len() == 1 => Ok(s.as_bytes()[0]),
                Some(_) => Err(format!("COPY {name} must be a single one-byte character")),
            }
        };
        let mut f = CopyFormat::default_for(kind);
        f.delimiter = one_byte("delimiter", self.delimiter, f.delimiter)?;
        f.quote = one_byte("quote", self.quote, f.quote)?;
        // ESCAPE defaults to QUOTE in CSV, whatever QUOTE was set to.
        f.escape = one_byte("escape", self.escape, f.quote)?;
        if let Some(null) = self.null {
            f.null = null.into_bytes();
        }
        f.header = self.header;
        Ok(f)
    }
}

/// PostgreSQL's quote_ident: bare when it may be, quoted otherwise.
pub fn quote_ident(name: &str) -> String {
    let bare = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if bare {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> CopyFromStdin {
        parse_copy_from_stdin(sql).unwrap().unwrap()
    }

    #[test]
    fn pgbench_and_psql_forms() {
        let c = parse("copy pgbench_accounts from stdin with (freeze on)");
        assert_eq!(c.table, "pgbench_accounts");
        assert_eq!(c.columns, None);
        assert_eq!(c.format.kind, FormatKind::Text);
        assert_eq!(c.format.delimiter, b'\t');
        assert_eq!(
            c.for_table("pgbench_accounts"),
            "COPY pgbench_accounts FROM STDIN with (freeze on)"
        );

        let c = parse("COPY public.T_Order (Order_Id, \"User Id\") FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER ';', NULL 'NA');");
        assert_eq!(c.schema.as_deref(), Some("public"));
        assert_eq!(c.table, "t_order");
        assert_eq!(c.columns, Some(vec!["order_id".into(), "User Id".into()]));
        assert_eq!(c.format.kind, FormatKind::Csv);
        assert!(c.format.header);
        assert_eq!(
            (c.format.delimiter, c.format.null.as_slice()),
            (b';', &b"NA"[..])
        );
        assert_eq!(
            c.for_table("T_order_1"),
            "COPY public.\"T_order_1\" (Order_Id, \"User Id\") FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER ';', NULL 'NA')"
        );

        let c = parse("copy t from stdin with csv header delimiter as E'\\t' quote '''' ");
        assert_eq!(c.format.kind, FormatKind::Csv);
        assert!(c.format.header);
        assert_eq!(
            (c.format.delimiter, c.format.quote, c.format.escape),
            (b'\t', b'\'', b'\'')
        );

        let c = parse("COPY t FROM STDIN (FORMAT binary)");
        assert_eq!(c.format.kind, FormatKind::Binary);
        let c = parse("COPY t FROM STDIN BINARY");
        assert_eq!(c.format.kind, FormatKind::Binary);
        let c = parse("/* load */ COPY t (a) FROM STDIN WHERE a > 1");
        assert_eq!(c.options_sql, "WHERE a > 1");
    }

    #[test]
    fn not_ours_or_refused() {
        assert_eq!(parse_copy_from_stdin("SELECT 1").unwrap(), None);
        assert_eq!(parse_copy_from_stdin("COPY t TO STDOUT").unwrap(), None);
        assert_eq!(
            parse_copy_from_stdin("COPY (SELECT 1) TO STDOUT").unwrap(),
            None
        );
        assert!(matches!(
            parse_copy_from_stdin("COPY t FROM '/etc/passwd'"),
            Err(KernelError::Unsupported { .. })
        ));
        for bad in [
            "COPY t FROM STDIN (FORMAT xml)",
            "COPY t FROM STDIN (DELIMITER ',,')",
            "COPY t FROM STDIN (NOPE 1)",
            "COPY t (a, FROM STDIN",
            "COPY FROM STDIN",
        ] {
            assert!(
                matches!(parse_copy_from_stdin(bad), Err(KernelError::Parse(_))),
                "{bad}"
            );
        }
    }
}
