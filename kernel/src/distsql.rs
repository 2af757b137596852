//! DistSQL statements the proxy answers itself, recognised from their text
//! (sqlparser does not know them). Only what tools and DBAs send to keep
//! metadata current is here: ShardingSphere's
//! `REFRESH TABLE METADATA [table [FROM STORAGE UNIT unit [SCHEMA s]]]`.

/// An administrative statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminStatement {
    /// Forget the loaded metadata of `table` (lower-cased), or of every
    /// table, so that it is read from the data sources again.
    RefreshTableMetadata { table: Option<String> },
}

/// Identifiers of a DistSQL statement are short; a longer text is SQL.
const MAX_LEN: usize = 1024;

/// The admin statement `sql` is, or `None` when it is not one (the usual
/// case: the first word decides, so ordinary SQL costs one comparison).
pub fn parse_admin(sql: &str) -> Option<AdminStatement> {
    let sql = sql.trim();
    if sql.len() > MAX_LEN || !sql.get(..7)?.eq_ignore_ascii_case("refresh") {
        return None;
    }
    let sql = sql.trim_end_matches(';').trim_end();
    let words: Vec<&str> = sql.split_ascii_whitespace().collect();
    let keyword = |i: usize, k: &str| words.get(i).is_some_and(|w| w.eq_ignore_ascii_case(k));
    if !(keyword(0, "refresh") && keyword(1, "table") && keyword(2, "metadata")) {
        return None;
    }
    let table = match words.get(3) {
        None => None,
        Some(_) if keyword(3, "from") => None,
        Some(name) => Some(unquote(name)?),
    };
    let rest = if table.is_some() { 4 } else { 3 };
    match words.len() - rest {
        0 => {}
        // FROM STORAGE UNIT ds [SCHEMA s]: every unit is refreshed anyway.
        4 | 6
            if keyword(rest, "from")
                && keyword(rest + 1, "storage")
                && keyword(rest + 2, "unit") => {}
        _ => return None,
    }
    Some(AdminStatement::RefreshTableMetadata { table })
}

/// A table name as written: bare, or in `"` or backquotes; lower-cased as
/// the rules key tables.
fn unquote(word: &str) -> Option<String> {
    let inner = match word.as_bytes() {
        [b'"', .., b'"'] | [b'`', .., b'`'] if word.len() >= 2 => &word[1..word.len() - 1],
        _ => word,
    };
    let valid = !inner.is_empty()
        && inner
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    valid.then(|| inner.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refresh(table: Option<&str>) -> Option<AdminStatement> {
        Some(AdminStatement::RefreshTableMetadata {
            table: table.map(str::to_owned),
        })
    }

    #[test]
    fn refresh_forms() {
        assert_eq!(parse_admin("REFRESH TABLE METADATA"), refresh(None));
        assert_eq!(parse_admin(" refresh table metadata ; "), refresh(None));
        assert_eq!(
            parse_admin("REFRESH TABLE METADATA T_Order;"),
            refresh(Some("t_order"))
        );
        assert_eq!(
            parse_admin("REFRESH TABLE METADATA `t`"),
            refresh(Some("t"))
        );
        assert_eq!(
            parse_admin("REFRESH TABLE METADATA t FROM STORAGE UNIT ds_1 SCHEMA public"),
            refresh(Some("t"))
        );
        assert_eq!(
            parse_admin("REFRESH TABLE METADATA FROM STORAGE UNIT ds_1"),
            refresh(None)
        );
    }

    #[test]
    fn other_text_is_not_admin() {
        assert_eq!(parse_admin("SELECT 1"), None);
        assert_eq!(parse_admin("REFRESH MATERIALIZED VIEW v"), None);
        assert_eq!(parse_admin("REFRESH TABLE METADATA a b"), None);
        assert_eq!(parse_admin("REFRESH TABLE METADATA 'x'"), None);
        assert_eq!(parse_admin("refresh"), None);
    }
}
