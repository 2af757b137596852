//! Splitting a simple Query string into its statements, the way the
//! server's lexer sees the semicolons: not inside quotes, quoted
//! identifiers, dollar quotes or comments.

/// The statements of `sql`, trimmed, without empty ones.
pub fn split_statements(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => i = skip_quoted(bytes, i, bytes[i]),
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |p| i + p + 1);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block_comment(bytes, i),
            b'$' => i = skip_dollar_quoted(bytes, i),
            b';' => {
                push(&mut out, &sql[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    push(&mut out, &sql[start..]);
    out
}

fn push<'a>(out: &mut Vec<&'a str>, piece: &'a str) {
    let piece = piece.trim();
    if !piece.is_empty() {
        out.push(piece);
    }
}

/// Past the closing quote; a doubled quote is an escaped one. Backslash
/// escapes (E'...') are honoured too, which is harmless for plain strings
/// under standard_conforming_strings only when no backslash precedes a
/// quote, the rare case we accept to misjudge.
fn skip_quoted(bytes: &[u8], open: usize, quote: u8) -> usize {
    let escape_string = quote == b'\''
        && open > 0
        && matches!(bytes[open - 1], b'E' | b'e')
        && (open < 2 || !bytes[open - 2].is_ascii_alphanumeric());
    let mut i = open + 1;
    while i < bytes.len() {
        if escape_string && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

fn skip_block_comment(bytes: &[u8], open: usize) -> usize {
    // PostgreSQL block comments nest.
    let mut depth = 0;
    let mut i = open;
    while i + 1 < bytes.len() {
        if bytes[i] == b'/' && bytes[i + 1] == b'*' {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes[i + 1] == b'/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// `$tag$ ... $tag$`; a `$` that does not open a dollar quote (`$1`) is
/// just a character.
fn skip_dollar_quoted(bytes: &[u8], open: usize) -> usize {
    let tag_end = bytes[open + 1..]
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_'))
        .map(|p| open + 1 + p);
    let Some(tag_end) = tag_end else {
        return bytes.len();
    };
    if bytes[tag_end] != b'$' || bytes.get(open + 1).is_some_and(u8::is_ascii_digit) {
        return open + 1;
    }
    let tag = &bytes[open..=tag_end];
    let body = tag_end + 1;
    bytes[body..]
        .windows(tag.len())
        .position(|w| w == tag)
        .map_or(bytes.len(), |p| body + p + tag.len())
}

#[cfg(test)]
mod tests {
    use super::split_statements;

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        assert_eq!(
            split_statements("select 1; select ';' ; -- a;b\nselect \"x;\" from t;"),
            vec!["select 1", "select ';'", "-- a;b\nselect \"x;\" from t"]
        );
        assert_eq!(
            split_statements(
                "select $$a;b$$; select $tag$;$tag$, $1; /* x; /* y; */ ; */ select 2"
            ),
            vec![
                "select $$a;b$$",
                "select $tag$;$tag$, $1",
                "/* x; /* y; */ ; */ select 2"
            ]
        );
        assert_eq!(
            split_statements("select E'it\\'s;'; select 'a''b;'"),
            vec!["select E'it\\'s;'", "select 'a''b;'"]
        );
        assert!(split_statements(" ; ;").is_empty());
    }
}
