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

/// The server a MySQL statement's executable comments are judged
/// against: its version as MySQL numbers it (10.11.6 is 101106) and
/// whether it is MariaDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MySqlServer {
    pub version: u32,
    pub mariadb: bool,
}

impl MySqlServer {
    /// From the version string of a server's handshake. MariaDB 10 and
    /// later prefix theirs with `5.5.5-` for old replication clients.
    pub fn from_handshake(version: &str) -> MySqlServer {
        let mariadb = version.contains("MariaDB");
        let version = if mariadb {
            version.strip_prefix("5.5.5-").unwrap_or(version)
        } else {
            version
        };
        let mut parts = version
            .split(|c: char| !c.is_ascii_digit())
            .take(3)
            .map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor, patch) = (
            parts.next().unwrap_or(0),
            parts.next().unwrap_or(0),
            parts.next().unwrap_or(0),
        );
        MySqlServer {
            version: major.saturating_mul(10_000) + minor.min(99) * 100 + patch.min(99),
            mariadb,
        }
    }
}

/// MySQL's executable comments, opened as the server would: `/*! x */`
/// runs `x`; `/*!NNNNN x */` runs `x` when the server's version is at
/// least NNNNN (the digits read as a number, up to six of them, as the
/// servers' lexers read them); `/*M!NNNNNN x */` does the same on
/// MariaDB only. A comment the server would run is replaced by its
/// content between blanks; any other comment, and anything inside
/// strings and quoted names, stays as written. Borrowed when there is
/// nothing to open.
pub fn open_executable_comments(sql: &str, server: MySqlServer) -> std::borrow::Cow<'_, str> {
    if !sql.contains("/*!") && !sql.contains("/*M!") {
        return std::borrow::Cow::Borrowed(sql);
    }
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0;
    scan_mysql(
        sql,
        |_, _| {},
        |i, end| {
            let (marker, mariadb_only) = if b.get(i + 2) == Some(&b'!') {
                (i + 3, false)
            } else if b.get(i + 2) == Some(&b'M') && b.get(i + 3) == Some(&b'!') {
                (i + 4, true)
            } else {
                return;
            };
            let Some(body) = b.get(marker..end) else {
                return;
            };
            let digits = body
                .iter()
                .take(6)
                .take_while(|c| c.is_ascii_digit())
                .count();
            let version: u32 = sql[marker..marker + digits].parse().unwrap_or(0);
            let runs =
                (!mariadb_only || server.mariadb) && (digits == 0 || version <= server.version);
            if runs && end < b.len() {
                out.push_str(&sql[copied..i]);
                out.push(' ');
                out.push_str(&sql[marker + digits..end]);
                out.push(' ');
                copied = end + 2;
            }
        },
    );
    if copied == 0 {
        return std::borrow::Cow::Borrowed(sql);
    }
    out.push_str(&sql[copied.min(sql.len())..]);
    std::borrow::Cow::Owned(out)
}

/// MySQL's lexing of what is not code: '...' and "..." with backslash
/// escapes and doubled quotes, `...` names, `-- ` and `#` comments to the
/// line's end, and `/* */` comments. Each byte of code goes to `code` with
/// its offset (an opening quote counts as code, what it encloses does
/// not); each `/* */` comment goes to `comment` as its start and where its
/// `*/` starts (the text's end when it never closes). The one scanner of
/// the session's look at MySQL text before the parser: statement
/// splitting, placeholders and executable comments.
pub fn scan_mysql(
    sql: &str,
    mut code: impl FnMut(usize, u8),
    mut comment: impl FnMut(usize, usize),
) {
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                code(i, q);
                i += 1;
                while i < b.len() {
                    if b[i] == b'\\' && q != b'`' {
                        i += 2;
                        continue;
                    }
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'#' => i = line_end(b, i),
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2).is_none_or(|c| c.is_ascii_whitespace()) =>
            {
                i = line_end(b, i)
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = b[i + 2..]
                    .windows(2)
                    .position(|w| w == b"*/")
                    .map_or(b.len(), |p| i + 2 + p);
                comment(i, end);
                i = (end + 2).min(b.len());
            }
            c => {
                code(i, c);
                i += 1;
            }
        }
    }
}

fn line_end(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|c| *c == b'\n')
        .map_or(b.len(), |p| from + p)
}

#[cfg(test)]
mod executable_comment_tests {
    use super::*;

    const MARIADB: MySqlServer = MySqlServer {
        version: 101106,
        mariadb: true,
    };
    const MYSQL: MySqlServer = MySqlServer {
        version: 80036,
        mariadb: false,
    };

    #[test]
    fn versions_from_handshakes() {
        assert_eq!(
            MySqlServer::from_handshake("5.5.5-10.11.6-MariaDB-0+deb12u1"),
            MARIADB
        );
        assert_eq!(MySqlServer::from_handshake("10.11.6-MariaDB"), MARIADB);
        assert_eq!(MySqlServer::from_handshake("8.0.36"), MYSQL);
    }

    #[test]
    fn comments_open_as_the_server_would() {
        let open = |sql, server| open_executable_comments(sql, server).into_owned();
        assert_eq!(
            open("/*!40100 SET @@SQL_MODE='' */", MARIADB),
            "  SET @@SQL_MODE=''  "
        );
        assert_eq!(open("/*! SET x=1 */", MYSQL), "  SET x=1  ");
        assert_eq!(
            open("/*M!100100 SET max_statement_time=0 */", MARIADB),
            "  SET max_statement_time=0  "
        );
        // MariaDB-only comments stay comments on MySQL, newer versions too.
        assert_eq!(
            open("/*M!100100 SET a=1 */", MYSQL),
            "/*M!100100 SET a=1 */"
        );
        assert_eq!(
            open("/*!110000 SET a=1 */", MARIADB),
            "/*!110000 SET a=1 */"
        );
        assert_eq!(open("/*!90000 SET a=1 */", MYSQL), "/*!90000 SET a=1 */");
        // Inside a statement, beside plain comments and strings.
        assert_eq!(
            open(
                "LOCK TABLES `t` READ /*!32311 LOCAL */ /* plain */",
                MARIADB
            ),
            "LOCK TABLES `t` READ   LOCAL   /* plain */"
        );
        assert_eq!(
            open("SELECT '/*!1 x */', `/*!2`", MARIADB),
            "SELECT '/*!1 x */', `/*!2`"
        );
        assert!(matches!(
            open_executable_comments("SELECT 1 /* c */", MARIADB),
            std::borrow::Cow::Borrowed(_)
        ));
        // An unclosed executable comment is left to the server's error.
        assert_eq!(open("/*!40100 SET x", MARIADB), "/*!40100 SET x");
    }
}
