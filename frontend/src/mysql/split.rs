//! A small MySQL lexer for what the session must see in SQL text before
//! the parser does: where one statement of a multi-statement string ends,
//! and where the `$n` placeholders of a rewritten prepared statement are.
//! It lexes as the kernel's `scan_mysql` does (MySQL's quoting and
//! comments), which executable comments are opened with too.

use shardwire_kernel::parse::scan_mysql;

/// Reports each byte of code outside strings, quoted identifiers and
/// comments to `visit`, with its offset; an opening quote is reported too.
fn scan(sql: &str, visit: impl FnMut(usize, u8)) {
    scan_mysql(sql, visit, |_, _| {});
}

/// Splits a multi-statement string at its top-level semicolons; empty
/// statements (only blanks and comments) are dropped.
pub fn split_statements(sql: &str) -> Vec<&str> {
    let mut cuts = Vec::new();
    scan(sql, |i, c| {
        if c == b';' {
            cuts.push(i);
        }
    });
    let mut out = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain(std::iter::once(sql.len())) {
        let piece = &sql[start..cut];
        if has_code(piece) {
            out.push(piece.trim());
        }
        start = (cut + 1).min(sql.len());
    }
    out
}

/// True when `sql` holds anything but blanks and comments.
pub fn has_code(sql: &str) -> bool {
    let mut code = false;
    scan(sql, |_, c| code |= !c.is_ascii_whitespace());
    code
}

/// `sql` without the blanks and comments before its first token (drivers
/// prefix their statements with `/* ... */` comments).
pub fn strip_leading_comments(sql: &str) -> &str {
    let mut first = None;
    scan(sql, |i, c| {
        if first.is_none() && !c.is_ascii_whitespace() {
            first = Some(i);
        }
    });
    first.map_or("", |i| &sql[i..])
}

/// The number of `?` placeholders outside strings and comments.
pub fn count_question_marks(sql: &str) -> usize {
    let mut n = 0;
    scan(sql, |_, c| n += usize::from(c == b'?'));
    n
}

/// Replaces each `$n` placeholder outside strings and comments with `?`
/// and returns the new text and the `n - 1` of each, in text order.
pub fn dollars_to_question_marks(sql: &str) -> (String, Vec<usize>) {
    let mut marks = Vec::new();
    let b = sql.as_bytes();
    scan(sql, |i, c| {
        if c == b'$' {
            let digits = b[i + 1..].iter().take_while(|d| d.is_ascii_digit()).count();
            if digits > 0 {
                if let Ok(n) = sql[i + 1..i + 1 + digits].parse::<usize>() {
                    if n > 0 {
                        marks.push((i, digits, n - 1));
                    }
                }
            }
        }
    });
    let mut out = String::with_capacity(sql.len());
    let mut last = 0;
    let mut order = Vec::with_capacity(marks.len());
    for (at, digits, index) in marks {
        out.push_str(&sql[last..at]);
        out.push('?');
        last = at + 1 + digits;
        order.push(index);
    }
    out.push_str(&sql[last..]);
    (out, order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_top_level_semicolons_only() {
        assert_eq!(
            split_statements("select 1; select ';' ; -- c;\n select `a;b` from t;"),
            vec!["select 1", "select ';'", "-- c;\n select `a;b` from t"]
        );
        assert_eq!(
            split_statements("select 'it\\'s;'"),
            vec!["select 'it\\'s;'"]
        );
        assert_eq!(split_statements("select 1; /* x; */ ;"), vec!["select 1"]);
        assert!(split_statements("  ;  ").is_empty());
    }

    #[test]
    fn leading_comments_go() {
        assert_eq!(
            strip_leading_comments("/* a */ -- b\n  SELECT 1"),
            "SELECT 1"
        );
        assert_eq!(strip_leading_comments("# x"), "");
    }

    #[test]
    fn placeholders_outside_strings() {
        assert_eq!(
            count_question_marks("select ?, '?', `?` from t where a = ?"),
            2
        );
        let (sql, order) = dollars_to_question_marks("insert into t values ($3, '$1', $2)");
        assert_eq!(sql, "insert into t values (?, '$1', ?)");
        assert_eq!(order, vec![2, 1]);
    }
}
