//! Actual table names in the shards' own words (notices, messages) turned
//! back into the logical names the client used: a statement fanned out to
//! `t_order_0` and `t_order_1` is one statement on `t_order` to the client,
//! and the two shards' "table t_order_N does not exist, skipping" are one
//! notice about `t_order`.

use std::collections::HashMap;

use shardwire_rules::snapshot::LogicalDatabase;

/// Every actual table of a logical database's sharding tables -> its
/// logical name. Built when a statement's answers need it (notices are
/// rare), not per statement.
#[derive(Debug, Default)]
pub struct LogicalNames {
    to_logical: HashMap<String, String>,
}

impl LogicalNames {
    pub fn new(db: &LogicalDatabase) -> LogicalNames {
        let mut to_logical = HashMap::new();
        for table in db.sharding.tables.values() {
            for actual in &table.actual_tables {
                if !actual.eq_ignore_ascii_case(&table.logic_name) {
                    to_logical.insert(actual.to_ascii_lowercase(), table.logic_name.clone());
                }
            }
        }
        LogicalNames { to_logical }
    }

    /// `text` with each word that is an actual table name replaced by its
    /// logical name. A word is a run of letters, digits and `_`, so
    /// `t_order_10` is not taken for `t_order_1` followed by `0`.
    pub fn rewrite(&self, text: &str) -> String {
        if self.to_logical.is_empty() {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut word_start = None;
        let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let flush =
            |out: &mut String, word: &str| match self.to_logical.get(&word.to_ascii_lowercase()) {
                Some(logical) => out.push_str(logical),
                None => out.push_str(word),
            };
        for (i, c) in text.char_indices() {
            match (is_word(c), word_start) {
                (true, None) => word_start = Some(i),
                (false, Some(start)) => {
                    flush(&mut out, &text[start..i]);
                    word_start = None;
                    out.push(c);
                }
                (false, None) => out.push(c),
                (true, Some(_)) => {}
            }
        }
        if let Some(start) = word_start {
            flush(&mut out, &text[start..]);
        }
        out
    }
}

/// A shard's error in the client's names: an actual table named in its
/// message, detail, hint or table field becomes the logical table (a NOT
/// NULL violation on `t_order_0` is one on `t_order` to the client).
/// Built per error, which is rare; the same fields as notices.
pub fn logical_error(db: &LogicalDatabase, error: &mut shardwire_protocol::pg::ErrorFields) {
    use shardwire_protocol::pg::field;
    let names = LogicalNames::new(db);
    for (kind, value) in &mut error.fields {
        if matches!(
            *kind,
            field::MESSAGE | field::DETAIL | field::HINT | field::TABLE
        ) {
            *value = names.rewrite(value);
        }
    }
}

/// The notices of one logical statement, as the client should see them:
/// in logical names, each distinct one once (severity, code and message),
/// however many shards said it.
#[derive(Debug, Default)]
pub struct StatementNotices {
    names: Option<LogicalNames>,
    seen: Vec<(Option<String>, Option<String>, Option<String>)>,
}

impl StatementNotices {
    /// `notice` in logical names, or `None` when the client already has it.
    pub fn admit(
        &mut self,
        db: &LogicalDatabase,
        mut notice: shardwire_protocol::pg::ErrorFields,
    ) -> Option<shardwire_protocol::pg::ErrorFields> {
        use shardwire_protocol::pg::field;
        let names = self.names.get_or_insert_with(|| LogicalNames::new(db));
        for (kind, value) in &mut notice.fields {
            if matches!(
                *kind,
                field::MESSAGE | field::DETAIL | field::HINT | field::TABLE
            ) {
                *value = names.rewrite(value);
            }
        }
        let key = (
            notice.severity().map(str::to_owned),
            notice.code().map(str::to_owned),
            notice.message().map(str::to_owned),
        );
        if self.seen.contains(&key) {
            return None;
        }
        self.seen.push(key);
        Some(notice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> LogicalNames {
        LogicalNames {
            to_logical: [("t_order_0", "t_order"), ("t_order_1", "t_order")]
                .into_iter()
                .map(|(a, l)| (a.to_owned(), l.to_owned()))
                .collect(),
        }
    }

    #[test]
    fn whole_words_only() {
        let n = names();
        assert_eq!(
            n.rewrite("table \"t_order_1\" does not exist, skipping"),
            "table \"t_order\" does not exist, skipping"
        );
        assert_eq!(
            n.rewrite("t_order_10 and T_ORDER_0"),
            "t_order_10 and t_order"
        );
        assert_eq!(n.rewrite("t_order_0"), "t_order");
        assert_eq!(n.rewrite("ünïcode t_order_0."), "ünïcode t_order.");
    }
}
