//! Quoting user-chosen names and passwords into URLs and setup SQL.

/// Percent-encodes everything but RFC 3986 unreserved characters, which is
/// safe in both the userinfo and the path of a URL.
pub(crate) fn url_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A PostgreSQL string literal (`standard_conforming_strings` is on).
pub(crate) fn pg_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A PostgreSQL quoted identifier.
pub(crate) fn pg_ident(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// A MariaDB string literal under the default `sql_mode`, where backslash
/// is an escape character.
pub(crate) fn my_literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A MariaDB quoted identifier.
pub(crate) fn my_ident(text: &str) -> String {
    format!("`{}`", text.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_escapes_reserved() {
        assert_eq!(url_component("a b@c:d/é"), "a%20b%40c%3Ad%2F%C3%A9");
        assert_eq!(url_component("shard-wire_1.x~"), "shard-wire_1.x~");
    }

    #[test]
    fn sql_quotes_double_up() {
        assert_eq!(pg_literal("it's"), "'it''s'");
        assert_eq!(pg_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(my_literal("a\\'b"), "'a\\\\\\'b'");
        assert_eq!(my_ident("a`b"), "`a``b`");
    }
}
