//! A small hand-written lexer for the few statements the proxy reads
//! without sqlparser (`COPY ... FROM STDIN`, `VACUUM`, `ANALYZE`): words,
//! quoted identifiers, string constants (standard and E'' escapes) and
//! punctuation, with white space and comments skipped.

pub(crate) struct Ident {
    /// As written, quotes kept.
    pub written: String,
    /// As PostgreSQL reads it: unquoted names lower-cased.
    pub folded: String,
}

/// A small tokenizer over the statement: identifiers, string constants
/// (standard and E'' escapes), punctuation; comments and white space
/// skipped.
pub(crate) struct Tokens<'a> {
    sql: &'a str,
    pub pos: usize,
}

impl<'a> Tokens<'a> {
    pub fn new(sql: &'a str) -> Self {
        Tokens { sql, pos: 0 }
    }

    pub fn rest(&self) -> &'a [u8] {
        &self.sql.as_bytes()[self.pos..]
    }

    pub fn skip_space(&mut self) {
        loop {
            let rest = self.rest();
            if rest.first().is_some_and(u8::is_ascii_whitespace) {
                self.pos += 1;
            } else if rest.starts_with(b"--") {
                self.pos += rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
            } else if rest.starts_with(b"/*") {
                self.pos += rest
                    .windows(2)
                    .position(|w| w == b"*/")
                    .map_or(rest.len(), |p| p + 2);
            } else {
                return;
            }
        }
    }

    pub fn peek_punct(&mut self, c: u8) -> bool {
        self.skip_space();
        self.rest().first() == Some(&c)
    }

    pub fn punct(&mut self, c: u8) -> bool {
        let found = self.peek_punct(c);
        if found {
            self.pos += 1;
        }
        found
    }

    pub fn peek_word(&mut self) -> Option<&'a str> {
        self.skip_space();
        let rest = self.rest();
        let is_start = |b: &u8| b.is_ascii_alphabetic() || *b == b'_' || *b >= 0x80;
        if !rest.first().is_some_and(is_start) {
            return None;
        }
        let len = rest
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'$' || *b >= 0x80))
            .unwrap_or(rest.len());
        self.sql.get(self.pos..self.pos + len)
    }

    pub fn keyword(&mut self, word: &str) -> bool {
        match self.peek_word() {
            Some(w) if w.eq_ignore_ascii_case(word) => {
                self.pos += w.len();
                true
            }
            _ => false,
        }
    }

    pub fn ident(&mut self) -> Option<Ident> {
        if let Some(w) = self.peek_word() {
            self.pos += w.len();
            return Some(Ident {
                written: w.to_owned(),
                folded: w.to_ascii_lowercase(),
            });
        }
        if self.rest().first() != Some(&b'"') {
            return None;
        }
        let start = self.pos;
        let mut name = String::new();
        let mut i = self.pos + 1;
        let bytes = self.sql.as_bytes();
        loop {
            let next = bytes[i..].iter().position(|b| *b == b'"')? + i;
            name.push_str(self.sql.get(i..next)?);
            if bytes.get(next + 1) == Some(&b'"') {
                name.push('"');
                i = next + 2;
            } else {
                self.pos = next + 1;
                return Some(Ident {
                    written: self.sql[start..self.pos].to_owned(),
                    folded: name,
                });
            }
        }
    }

    pub fn word_or_number(&mut self) -> Option<String> {
        if let Some(w) = self.peek_word() {
            self.pos += w.len();
            return Some(w.to_owned());
        }
        let rest = self.rest();
        let len = rest
            .iter()
            .position(|b| !(b.is_ascii_digit() || *b == b'.' || *b == b'-'))
            .unwrap_or(rest.len());
        if len == 0 {
            return None;
        }
        let w = self.sql.get(self.pos..self.pos + len)?.to_owned();
        self.pos += len;
        Some(w)
    }

    /// A string constant: `'it''s'` or `E'\t'`.
    pub fn string(&mut self) -> Option<String> {
        self.skip_space();
        let rest = self.rest();
        let escaped = matches!(rest, [b'E' | b'e', b'\'', ..]);
        let open = if escaped { 1 } else { 0 };
        if rest.get(open) != Some(&b'\'') {
            return None;
        }
        let mut out = Vec::new();
        let mut i = open + 1;
        loop {
            match *rest.get(i)? {
                b'\'' if rest.get(i + 1) == Some(&b'\'') => {
                    out.push(b'\'');
                    i += 2;
                }
                b'\'' => {
                    self.pos += i + 1;
                    return String::from_utf8(out).ok();
                }
                b'\\' if escaped => {
                    let (byte, used) = unescape_one(&rest[i + 1..])?;
                    out.push(byte);
                    i += 1 + used;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
    }
}

/// One backslash escape of an E'' string (or of COPY text data): the byte
/// it stands for and how many bytes after the backslash it used.
pub(crate) fn unescape_one(after: &[u8]) -> Option<(u8, usize)> {
    let c = *after.first()?;
    Some(match c {
        b'b' => (8, 1),
        b'f' => (12, 1),
        b'n' => (b'\n', 1),
        b'r' => (b'\r', 1),
        b't' => (b'\t', 1),
        b'v' => (11, 1),
        b'0'..=b'7' => {
            let digits = after
                .iter()
                .take(3)
                .take_while(|d| (b'0'..=b'7').contains(*d))
                .count();
            let value = after[..digits]
                .iter()
                .fold(0u32, |v, d| v * 8 + u32::from(d - b'0'));
            ((value & 0xff) as u8, digits)
        }
        b'x' if after.get(1).is_some_and(u8::is_ascii_hexdigit) => {
            let digits = after[1..]
                .iter()
                .take(2)
                .take_while(|d| d.is_ascii_hexdigit())
                .count();
            let text = std::str::from_utf8(&after[1..1 + digits]).ok()?;
            (u8::from_str_radix(text, 16).ok()?, 1 + digits)
        }
        other => (other, 1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(unescape_one(b"t"), Some((b'\t', 1)));
        assert_eq!(unescape_one(b"101x"), Some((b'A', 3)));
        assert_eq!(unescape_one(b"x41"), Some((b'A', 3)));
        assert_eq!(unescape_one(b"\\"), Some((b'\\', 1)));
        assert_eq!(unescape_one(b""), None);
    }

    #[test]
    fn tokens() {
        let mut t = Tokens::new(" -- c\n /* c */ Vacuum \"My T\"\"x\" E'a\\tb' (");
        assert!(t.keyword("vacuum"));
        let id = t.ident().unwrap();
        assert_eq!(
            (id.written.as_str(), id.folded.as_str()),
            ("\"My T\"\"x\"", "My T\"x")
        );
        assert_eq!(t.string().as_deref(), Some("a\tb"));
        assert!(t.punct(b'('));
        assert!(t.ident().is_none());
    }
}
