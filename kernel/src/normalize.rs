//! Statement text with its literals taken out: `... WHERE aid = 42` becomes
//! `... WHERE aid = $1` and the value 42. A client on the simple query
//! protocol sends a new text for every value, so a cache keyed by the text
//! never hits; keyed by the normalized text, one parse serves every value
//! (see [`crate::plan_literal_statement`]).
//!
//! This is a lexer pass, not a parser, so it is deliberately timid: any
//! construct it does not fully understand makes it give up (`None`), and
//! the caller parses the text as it is. It gives up on `$` anywhere
//! (placeholders, dollar quoting), strings with a prefix (`E'..'`, `B'..'`,
//! `U&'..'`) or a backslash, nested block comments, numbers that run into
//! letters (`0x1F`, `1_000`) or start with a point. A number after `-` or
//! `+` stays in the text: `-5` is a literal to the router but `-$1` is an
//! expression, and the two must route alike.

use std::ops::Range;

use shardwire_rules::ShardingValue;

/// A text with its literals replaced by `$1`, `$2`, ...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The text with placeholders: the cache key.
    pub key: String,
    /// The literals' values, in placeholder order.
    pub values: Vec<ShardingValue>,
    /// Where each placeholder ends in `key`, and where its literal ends in
    /// the original text.
    ends: Vec<(usize, usize)>,
}

impl Normalized {
    /// The byte offset in the original text of offset `at` of `key`, for
    /// any `at` outside a placeholder.
    pub fn original_offset(&self, at: usize) -> usize {
        match self.ends.iter().take_while(|(end, _)| *end <= at).last() {
            Some((key_end, original_end)) => original_end + (at - key_end),
            None => at,
        }
    }
}

/// `sql` normalized, or `None` when it holds no literal or something this
/// lexer does not handle.
pub fn normalize(sql: &str) -> Option<Normalized> {
    let bytes = sql.as_bytes();
    let mut key = String::with_capacity(sql.len());
    let mut values = Vec::new();
    let mut ends = Vec::new();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let literal: Option<(Range<usize>, ShardingValue)> = match b {
            b'$' | b'\\' => return None,
            b'\'' => {
                if i > 0 && (is_ident(bytes[i - 1]) || bytes[i - 1] == b'&') {
                    return None;
                }
                let end = string_end(bytes, i)?;
                let body = sql.get(i + 1..end - 1)?;
                if body.contains('\\') {
                    return None;
                }
                Some((i..end, ShardingValue::Text(body.replace("''", "'"))))
            }
            b'"' => {
                i = quoted_ident_end(bytes, i)?;
                None
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = bytes[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(bytes.len(), |p| i + p + 1);
                None
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let close = find(bytes, i + 2, b"*/")?;
                if find(&bytes[..close], i + 2, b"/*").is_some() {
                    return None;
                }
                i = close + 2;
                None
            }
            // `.5`: a number this lexer does not read.
            b'.' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => return None,
            b'0'..=b'9' => {
                let end = number_end(bytes, i)?;
                if signed(bytes, i) {
                    i = end;
                    None
                } else {
                    let text = sql.get(i..end)?;
                    let value = match text.parse::<i64>() {
                        Ok(n) => ShardingValue::Int(n),
                        Err(_) => ShardingValue::Text(text.to_owned()),
                    };
                    Some((i..end, value))
                }
            }
            c if is_ident(c) => {
                i += bytes[i..].iter().take_while(|&&c| is_ident(c)).count();
                None
            }
            _ => {
                i += 1;
                None
            }
        };
        if let Some((range, value)) = literal {
            key.push_str(sql.get(copied..range.start)?);
            values.push(value);
            key.push('$');
            key.push_str(&values.len().to_string());
            ends.push((key.len(), range.end));
            copied = range.end;
            i = range.end;
        }
    }
    if values.is_empty() {
        return None;
    }
    key.push_str(sql.get(copied..)?);
    Some(Normalized { key, values, ends })
}

/// Letters, digits, `_` and any byte of a multi-byte character: what an
/// unquoted identifier or keyword is made of.
fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Past the closing quote of the string opening at `start` (`''` is a
/// quote inside it).
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        match bytes.get(i)? {
            b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

fn quoted_ident_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        match bytes.get(i)? {
            b'"' if bytes.get(i + 1) == Some(&b'"') => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// Past a number (`12`, `1.5`, `2e-3`) starting at `start`; `None` when
/// letters or a second point follow it.
fn number_end(bytes: &[u8], start: usize) -> Option<usize> {
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let mut i = start + digits(start);
    if bytes.get(i) == Some(&b'.') {
        i += 1 + digits(i + 1);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(i + 1), Some(b'+' | b'-')));
        let exp = digits(i + 1 + sign);
        if exp == 0 {
            return None;
        }
        i += 1 + sign + exp;
    }
    match bytes.get(i) {
        Some(&c) if is_ident(c) || c == b'.' => None,
        _ => Some(i),
    }
}

/// Whether the number at `at` follows a `-` or `+` (spaces between).
fn signed(bytes: &[u8], at: usize) -> bool {
    bytes[..at]
        .iter()
        .rev()
        .find(|c| !c.is_ascii_whitespace())
        .is_some_and(|&c| c == b'-' || c == b'+')
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(sql: &str) -> Option<String> {
        normalize(sql).map(|n| n.key)
    }

    #[test]
    fn numbers_and_strings_become_placeholders() {
        let n = normalize("SELECT abalance FROM pgbench_accounts WHERE aid = 42").unwrap();
        assert_eq!(
            n.key,
            "SELECT abalance FROM pgbench_accounts WHERE aid = $1"
        );
        assert_eq!(n.values, vec![ShardingValue::Int(42)]);
        let n = normalize("UPDATE t SET name = 'it''s', price = 1.5e3 WHERE id IN (7, 8)").unwrap();
        assert_eq!(
            n.key,
            "UPDATE t SET name = $1, price = $2 WHERE id IN ($3, $4)"
        );
        assert_eq!(
            n.values,
            vec![
                ShardingValue::Text("it's".into()),
                ShardingValue::Text("1.5e3".into()),
                ShardingValue::Int(7),
                ShardingValue::Int(8),
            ]
        );
    }

    #[test]
    fn identifiers_comments_and_quoted_names_are_kept() {
        assert_eq!(
            key("SELECT c1 FROM t_2 /* 5 */ WHERE \"x 3\" = 3 -- 4\n AND y = 'a'").as_deref(),
            Some("SELECT c1 FROM t_2 /* 5 */ WHERE \"x 3\" = $1 -- 4\n AND y = $2")
        );
    }

    #[test]
    fn signed_numbers_stay_in_the_text() {
        assert_eq!(
            key("SELECT * FROM t WHERE id = -5 AND k = 2").as_deref(),
            Some("SELECT * FROM t WHERE id = -5 AND k = $1")
        );
        assert_eq!(key("SELECT * FROM t WHERE id = - 5"), None);
    }

    #[test]
    fn gives_up_on_what_it_does_not_read() {
        for sql in [
            "SELECT * FROM t WHERE id = $1",
            "SELECT $$5$$",
            "SELECT E'a\\n'",
            "SELECT 'a\\b'",
            "SELECT B'101'",
            "SELECT U&'x'",
            "SELECT 0x1F",
            "SELECT 1_000",
            "SELECT .5",
            "SELECT 'open",
            "SELECT /* /* nested */ */ 1",
            "SELECT 1e",
            "SELECT * FROM t",
        ] {
            assert_eq!(key(sql), None, "{sql}");
        }
    }

    #[test]
    fn placeholders_longer_than_their_literals_map_back_too() {
        let sql = "SELECT * FROM t WHERE a IN (1,2,3,4,5,6,7,8,9,0) AND b = 1 FROM u";
        let n = normalize(sql).unwrap();
        assert!(n.key.contains("$10) AND b = $11 FROM u"), "{}", n.key);
        let in_key = n.key.find("u").unwrap();
        assert_eq!(n.original_offset(in_key), sql.rfind('u').unwrap());
    }

    #[test]
    fn offsets_map_back_to_the_original_text() {
        let sql =
            "SELECT * FROM a WHERE x = 12345 AND y = 'long string' AND z IN (SELECT 1 FROM b)";
        let n = normalize(sql).unwrap();
        for name in ["a WHERE", "b)"] {
            let in_key = n.key.find(name).unwrap();
            assert_eq!(n.original_offset(in_key), sql.find(name).unwrap(), "{name}");
        }
        assert_eq!(n.original_offset(0), 0);
    }
}
