//! Aggregate queries the proxy computes in part itself: HAVING, COUNT / SUM
//! / AVG (DISTINCT x), and expressions over aggregates and group keys in
//! the select list, HAVING and ORDER BY. [`handwritten`] lists fixed ones
//! per construct; [`Gen::agg_query`] builds random ones from a small
//! grammar (random predicates, keys, aggregates with and without DISTINCT,
//! arithmetic, HAVING, ORDER BY / LIMIT).
//!
//! Expression columns compare with their scale (as AVG columns do), except
//! where a COALESCE may pick a NULL-typed argument (see the kernel's
//! `merge::eval` module doc): there only the value must agree.

use super::{Dialect, Gen, Query};

/// Group keys: (GROUP BY list, whether it holds text, whether it is
/// numeric and may appear in arithmetic).
const KEYS: &[(&str, bool, bool)] = &[
    ("", false, false),
    ("user_id", false, true),
    ("status", true, false),
    ("user_id % 5", false, true),
    ("created", false, false),
    ("status, user_id % 3", true, false),
];

const PLAIN_AGGREGATES: &[&str] = &[
    "COUNT(*)",
    "COUNT(amount)",
    "COUNT(status)",
    "SUM(amount)",
    "SUM(user_id)",
    "SUM(order_id)",
    "AVG(amount)",
    "AVG(user_id)",
    "MIN(amount)",
    "MAX(amount)",
    "MIN(user_id)",
    "MAX(order_id)",
];

const DISTINCT_AGGREGATES: &[&str] = &[
    "COUNT(DISTINCT user_id)",
    "COUNT(DISTINCT status)",
    "COUNT(DISTINCT amount)",
    "COUNT(DISTINCT created)",
    "SUM(DISTINCT amount)",
    "SUM(DISTINCT user_id)",
    "SUM(DISTINCT order_id)",
    "AVG(DISTINCT amount)",
    "AVG(DISTINCT user_id)",
];

const LITERALS: &[&str] = &["0", "1", "2", "3", "7", "100", "0.5", "2.50", "1.125", "-1"];

/// Fixed queries for every construct; `{w}` is replaced by nothing, a
/// narrowing and a fanning-out predicate in turn by the caller.
pub(super) fn handwritten(dialect: Dialect) -> Vec<(&'static str, String, bool, Vec<usize>)> {
    let mysql = dialect == Dialect::MySql;
    let numeric = if mysql {
        "DECIMAL(12,2)"
    } else {
        "NUMERIC(12,2)"
    };
    let int = if mysql { "SIGNED" } else { "INTEGER" };
    let mut out: Vec<(&'static str, String, bool, Vec<usize>)> = Vec::new();
    let mut add = |template, sql: &str, ordered, scaled: &[usize]| {
        out.push((template, sql.to_owned(), ordered, scaled.to_vec()));
    };
    // HAVING.
    add(
        "hand_text",
        "SELECT status, COUNT(*) FROM t_order{w} GROUP BY status HAVING COUNT(*) > 1",
        false,
        &[],
    );
    add("hand", "SELECT user_id, SUM(amount) FROM t_order{w} GROUP BY user_id HAVING SUM(amount) > 10 ORDER BY user_id", true, &[]);
    add("hand", "SELECT user_id FROM t_order{w} GROUP BY user_id HAVING MAX(amount) - MIN(amount) > 20 ORDER BY user_id", true, &[]);
    add("hand", "SELECT user_id, COUNT(*) FROM t_order{w} GROUP BY user_id HAVING AVG(amount) > 0 AND COUNT(*) >= 2 ORDER BY user_id DESC", true, &[]);
    add("hand", "SELECT user_id, COUNT(*) FROM t_order{w} GROUP BY user_id HAVING AVG(amount) IS NULL OR COUNT(*) = 1", false, &[]);
    add("hand", "SELECT user_id % 5 AS b, COUNT(*) FROM t_order{w} GROUP BY user_id % 5 HAVING NOT COUNT(*) < 10 ORDER BY b", true, &[]);
    add(
        "hand",
        "SELECT COUNT(*) FROM t_order{w} HAVING COUNT(*) > 100",
        false,
        &[],
    );
    add(
        "hand",
        "SELECT COUNT(*), SUM(amount) FROM t_order{w} HAVING SUM(amount) < 0",
        false,
        &[],
    );
    add("hand", "SELECT user_id, COUNT(*) FROM t_order{w} GROUP BY user_id HAVING user_id > 20 ORDER BY user_id", true, &[]);
    add("hand", "SELECT user_id, COUNT(*) FROM t_order{w} GROUP BY user_id HAVING COUNT(DISTINCT status) > 3 ORDER BY user_id", true, &[]);
    add("hand", "SELECT user_id, COUNT(*) FROM t_order{w} GROUP BY user_id HAVING COUNT(*) > 3 ORDER BY COUNT(*) DESC, user_id LIMIT 5", true, &[]);
    add("hand", "SELECT created, MAX(amount) FROM t_order{w} GROUP BY created HAVING MAX(amount) >= 50.00 ORDER BY created", true, &[]);
    add(
        "hand_text",
        "SELECT status FROM t_order{w} GROUP BY status HAVING status = 'new' OR status = 'PAID'",
        false,
        &[],
    );
    add("hand", "SELECT user_id, COUNT(*) FROM t_order{w} GROUP BY user_id HAVING SUM(amount) / COUNT(*) > 5 ORDER BY user_id", true, &[]);
    add("hand", "SELECT user_id, COUNT(*) AS n FROM t_order{w} GROUP BY user_id HAVING COUNT(*) BETWEEN 2 AND 4 ORDER BY user_id", true, &[]);
    // DISTINCT aggregates.
    add(
        "hand",
        "SELECT COUNT(DISTINCT user_id) FROM t_order{w}",
        false,
        &[],
    );
    add(
        "hand",
        "SELECT COUNT(DISTINCT status) FROM t_order{w}",
        false,
        &[],
    );
    add(
        "hand",
        "SELECT COUNT(DISTINCT amount), SUM(DISTINCT amount), AVG(DISTINCT amount) FROM t_order{w}",
        false,
        &[2],
    );
    add(
        "hand",
        "SELECT SUM(DISTINCT user_id), AVG(DISTINCT user_id), COUNT(*) FROM t_order{w}",
        false,
        &[1],
    );
    add(
        "hand_text",
        "SELECT status, COUNT(DISTINCT user_id) FROM t_order{w} GROUP BY status ORDER BY status",
        true,
        &[],
    );
    add("hand", "SELECT user_id, COUNT(DISTINCT status), COUNT(*), SUM(amount) FROM t_order{w} GROUP BY user_id ORDER BY user_id", true, &[]);
    add("hand", "SELECT user_id, COUNT(DISTINCT created), AVG(DISTINCT amount), MAX(amount) FROM t_order{w} GROUP BY user_id", false, &[2]);
    add("hand", "SELECT user_id % 5 AS b, COUNT(DISTINCT user_id), SUM(DISTINCT user_id) FROM t_order{w} GROUP BY user_id % 5 ORDER BY b DESC", true, &[]);
    add("hand", "SELECT COUNT(DISTINCT user_id), COUNT(DISTINCT status), COUNT(DISTINCT created) FROM t_order{w}", false, &[]);
    add("hand", "SELECT user_id, COUNT(DISTINCT amount) AS n FROM t_order{w} GROUP BY user_id ORDER BY n DESC, user_id LIMIT 7", true, &[]);
    add("hand", "SELECT created, COUNT(DISTINCT user_id) FROM t_order{w} GROUP BY created ORDER BY COUNT(DISTINCT user_id), created", true, &[]);
    add(
        "hand",
        "SELECT SUM(DISTINCT order_id), COUNT(DISTINCT order_id) FROM t_order{w}",
        false,
        &[],
    );
    add(
        "hand",
        "SELECT MIN(DISTINCT amount), MAX(DISTINCT user_id) FROM t_order{w}",
        false,
        &[],
    );
    add("hand", "SELECT user_id, AVG(DISTINCT amount) AS a FROM t_order{w} GROUP BY user_id ORDER BY a, user_id", true, &[1]);
    add(
        "hand",
        "SELECT COUNT(DISTINCT user_id) FROM t_order{w} LIMIT 1",
        false,
        &[],
    );
    // Expressions over aggregates.
    add(
        "hand",
        "SELECT round(AVG(amount), 2) FROM t_order{w}",
        false,
        &[0],
    );
    add(
        "hand",
        "SELECT user_id, round(AVG(amount), 2) FROM t_order{w} GROUP BY user_id ORDER BY user_id",
        true,
        &[1],
    );
    add(
        "hand",
        "SELECT SUM(amount) / COUNT(*) FROM t_order{w}",
        false,
        &[0],
    );
    add(
        "hand",
        "SELECT user_id, SUM(amount) / COUNT(*) FROM t_order{w} GROUP BY user_id ORDER BY user_id",
        true,
        &[1],
    );
    add(
        "hand",
        "SELECT SUM(user_id) / COUNT(*) FROM t_order{w}",
        false,
        &[0],
    );
    add(
        "hand",
        "SELECT MAX(amount) - MIN(amount) FROM t_order{w}",
        false,
        &[0],
    );
    add("hand", "SELECT user_id, MAX(amount) - MIN(amount) AS spread FROM t_order{w} GROUP BY user_id ORDER BY spread DESC, user_id", true, &[1]);
    add(
        "hand",
        "SELECT COUNT(*) * 2 + 1 FROM t_order{w}",
        false,
        &[0],
    );
    add(
        "hand_text",
        "SELECT status, COUNT(*) * 2 + 1 FROM t_order{w} GROUP BY status ORDER BY status",
        true,
        &[1],
    );
    add(
        "hand",
        "SELECT coalesce(SUM(amount), 0) FROM t_order{w}",
        false,
        &[],
    );
    add("hand", "SELECT user_id, coalesce(MAX(amount), -1) FROM t_order{w} GROUP BY user_id ORDER BY user_id", true, &[]);
    add(
        "hand",
        "SELECT AVG(amount) * 3 FROM t_order{w}",
        false,
        &[0],
    );
    add(
        "hand",
        "SELECT AVG(user_id) * 3, AVG(user_id) FROM t_order{w}",
        false,
        &[0, 1],
    );
    add(
        "hand",
        "SELECT round(SUM(amount) / 3, 1) FROM t_order{w}",
        false,
        &[0],
    );
    add(
        "hand",
        "SELECT abs(SUM(amount)) FROM t_order{w}",
        false,
        &[0],
    );
    add(
        "hand",
        "SELECT -SUM(amount), -COUNT(*) FROM t_order{w}",
        false,
        &[0, 1],
    );
    add(
        "hand",
        "SELECT COUNT(*) % 7, SUM(user_id) % 3 FROM t_order{w}",
        false,
        &[0, 1],
    );
    add(
        "hand",
        "SELECT SUM(amount) % 7 FROM t_order{w}",
        false,
        &[0],
    );
    add(
        "hand",
        "SELECT round(AVG(amount)) FROM t_order{w}",
        false,
        &[0],
    );
    add(
        "hand",
        "SELECT round(SUM(amount), 3), round(AVG(amount), 1) FROM t_order{w}",
        false,
        &[0, 1],
    );
    add("hand", "SELECT COUNT(*) / 3 FROM t_order{w}", false, &[0]);
    add(
        "hand",
        "SELECT COUNT(amount) / COUNT(*) FROM t_order{w}",
        false,
        &[0],
    );
    add(
        "hand",
        "SELECT SUM(amount) / SUM(user_id) FROM t_order{w}",
        false,
        &[0],
    );
    add(
        "hand",
        "SELECT SUM(amount) / 0.5, SUM(amount) * 1.125 FROM t_order{w}",
        false,
        &[0, 1],
    );
    add("hand", "SELECT user_id, SUM(amount) / (COUNT(*) + 1) FROM t_order{w} GROUP BY user_id ORDER BY user_id", true, &[1]);
    add(
        "hand",
        "SELECT user_id * 10 + COUNT(*) FROM t_order{w} GROUP BY user_id",
        false,
        &[0],
    );
    add("hand", "SELECT user_id, user_id * COUNT(*) AS w FROM t_order{w} GROUP BY user_id ORDER BY w DESC, user_id LIMIT 5", true, &[1]);
    add(
        "hand",
        "SELECT COUNT(*) > 10, SUM(amount) < 0 FROM t_order{w}",
        false,
        &[],
    );
    add("hand", "SELECT user_id, COUNT(*) >= 2 AND SUM(amount) > 0 FROM t_order{w} GROUP BY user_id ORDER BY user_id", true, &[]);
    add(
        "hand",
        "SELECT SUM(amount) IS NULL, MAX(created) IS NOT NULL FROM t_order{w}",
        false,
        &[],
    );
    add(
        "hand",
        &format!("SELECT CAST(AVG(amount) AS {numeric}) FROM t_order{{w}}"),
        false,
        &[0],
    );
    add(
        "hand",
        &format!("SELECT CAST(AVG(user_id) AS {int}) FROM t_order{{w}}"),
        false,
        &[],
    );
    add("hand", &format!("SELECT user_id, CAST(SUM(amount) / 7 AS {numeric}) FROM t_order{{w}} GROUP BY user_id ORDER BY user_id"), true, &[1]);
    add(
        "hand",
        "SELECT user_id FROM t_order{w} GROUP BY user_id ORDER BY SUM(amount) / COUNT(*), user_id",
        true,
        &[],
    );
    add("hand", "SELECT user_id FROM t_order{w} GROUP BY user_id ORDER BY AVG(amount) DESC, user_id LIMIT 4", true, &[]);
    add("hand", "SELECT user_id, COUNT(*) FROM t_order{w} GROUP BY user_id ORDER BY MAX(amount) - MIN(amount), user_id", true, &[]);
    add(
        "hand",
        "SELECT SUM(amount) / COUNT(*) AS a, round(AVG(amount), 4) AS b FROM t_order{w}",
        false,
        &[0, 1],
    );
    add("hand", "SELECT 1 + 1, COUNT(*) FROM t_order{w}", false, &[]);
    add("hand", "SELECT COUNT(DISTINCT user_id) * 2, SUM(DISTINCT amount) / COUNT(DISTINCT amount) FROM t_order{w}", false, &[0, 1]);
    add("hand", "SELECT user_id, round(AVG(DISTINCT amount), 2) FROM t_order{w} GROUP BY user_id ORDER BY user_id", true, &[1]);
    add(
        "hand",
        "SELECT status IS NULL, COUNT(*) FROM t_order{w} GROUP BY status IS NULL",
        false,
        &[],
    );
    add(
        "hand",
        "SELECT (SUM(amount) + 1) * (COUNT(*) - 1) FROM t_order{w}",
        false,
        &[0],
    );
    add(
        "hand",
        "SELECT SUM(amount) / COUNT(*) * COUNT(*) FROM t_order{w}",
        false,
        &[0],
    );
    add(
        "hand",
        "SELECT round(AVG(amount) * AVG(user_id), 3) FROM t_order{w}",
        false,
        &[0],
    );
    if mysql {
        add(
            "hand",
            "SELECT COUNT(*) DIV 3, SUM(amount) DIV 7 FROM t_order{w}",
            false,
            &[],
        );
        add("hand", "SELECT user_id, COUNT(*) AS n FROM t_order{w} GROUP BY user_id HAVING n > 1 ORDER BY user_id", true, &[]);
        add(
            "hand",
            "SELECT ifnull(SUM(amount), 0) FROM t_order{w}",
            false,
            &[],
        );
        add(
            "hand",
            "SELECT COUNT(*) / 0, COUNT(*) % 0, COUNT(*) DIV 0 FROM t_order{w}",
            false,
            &[],
        );
        add("hand", "SELECT user_id, SUM(amount) / (COUNT(*) - 1) FROM t_order{w} GROUP BY user_id ORDER BY user_id", true, &[1]);
        add(
            "hand",
            "SELECT 1 / 3 * 3 + COUNT(*) FROM t_order{w}",
            false,
            &[0],
        );
    } else {
        add(
            "hand",
            "SELECT round(COUNT(*)), round(SUM(user_id)) FROM t_order{w}",
            false,
            &[],
        );
        add(
            "hand",
            "SELECT SUM(amount)::numeric(10,1), AVG(user_id)::integer FROM t_order{w}",
            false,
            &[0],
        );
        add("hand", "SELECT user_id, SUM(user_id) / COUNT(*) FROM t_order{w} GROUP BY user_id ORDER BY user_id", true, &[1]);
        add(
            "hand",
            "SELECT SUM(order_id) / 2, SUM(DISTINCT order_id) / 2 FROM t_order{w}",
            false,
            &[0, 1],
        );
    }
    out
}

/// Queries the kernel must refuse, and the construct the refusal names.
pub(super) fn refused_by_name(dialect: Dialect) -> Vec<(&'static str, &'static str)> {
    let mut out = vec![
        (
            "SELECT status FROM t_order GROUP BY status HAVING upper(status) = 'NEW'",
            "function upper()",
        ),
        ("SELECT SUM(amount) * 1e3 FROM t_order", "floating-point"),
        (
            "SELECT amount + COUNT(*) FROM t_order GROUP BY user_id",
            "column amount outside an aggregate",
        ),
        (
            "SELECT *, COUNT(DISTINCT user_id) FROM t_order",
            "SELECT * with HAVING",
        ),
        (
            "SELECT user_id, COUNT(DISTINCT status) FROM t_order GROUP BY user_id ORDER BY 5",
            "ORDER BY position 5",
        ),
        (
            "SELECT 1 FROM t_order HAVING 1 > 0",
            "HAVING without aggregates",
        ),
    ];
    match dialect {
        Dialect::MySql => out.extend([
            (
                "SELECT round(SUM(amount), -2) FROM t_order",
                "negative n on MySQL",
            ),
            (
                "SELECT user_id, AVG(amount) * 2 FROM t_order GROUP BY user_id",
                "AVG inside arithmetic",
            ),
            (
                "SELECT user_id, AVG(DISTINCT amount) / 3 FROM t_order GROUP BY user_id",
                "AVG inside arithmetic",
            ),
            (
                "SELECT coalesce(SUM(amount), 0) / 2 FROM t_order",
                "COALESCE / IFNULL inside arithmetic",
            ),
            (
                "SELECT COUNT(DISTINCT user_id, status) FROM t_order",
                "other than one argument",
            ),
        ]),
        Dialect::PostgreSql => out.extend([
            (
                "SELECT coalesce(SUM(user_id), 0) / 2 FROM t_order",
                "COALESCE under / or round(x)",
            ),
            ("SELECT SUM(amount) ^ 2 FROM t_order", "operator ^"),
            (
                "SELECT COUNT(*) FILTER (WHERE amount > 0) + 1 FROM t_order",
                "FILTER",
            ),
        ]),
    }
    out
}

impl Gen<'_> {
    fn lit(&mut self) -> &'static str {
        let literal: &&'static str = self.rng.pick(LITERALS);
        literal
    }

    fn atom(&mut self, key: Option<&str>) -> String {
        match self.rng.below(10) {
            0 | 1 => {
                let mut a = *self.rng.pick(DISTINCT_AGGREGATES);
                if self.dialect == Dialect::MySql && a.starts_with("AVG") {
                    a = *self.rng.pick(DISTINCT_AGGREGATES);
                }
                a.to_owned()
            }
            2 => self.lit().to_owned(),
            3 if key.is_some() => format!("({})", key.unwrap_or("1")),
            _ => {
                let mut a = *self.rng.pick(PLAIN_AGGREGATES);
                // MySQL refuses AVG in arithmetic with GROUP BY (see the
                // kernel's `derive::expr`): pick it less often there, so
                // most generated queries are answered.
                if self.dialect == Dialect::MySql && key.is_some() && a.starts_with("AVG") {
                    a = *self.rng.pick(PLAIN_AGGREGATES);
                }
                a.to_owned()
            }
        }
    }

    /// An expression over aggregates; `coalesced` is set when a COALESCE
    /// appears (its scale is then not compared).
    fn agg_expr(&mut self, depth: u32, key: Option<&str>, coalesced: &mut bool) -> String {
        if depth == 0 || self.rng.chance(3) {
            return self.atom(key);
        }
        let mysql = self.dialect == Dialect::MySql;
        let d = depth - 1;
        match self.rng.below(12) {
            0..=4 => {
                let op = *self.rng.pick(&["+", "-", "*", "/", "/", "%"]);
                let op = if mysql && self.rng.chance(8) {
                    "DIV"
                } else {
                    op
                };
                let l = self.agg_expr(d, key, coalesced);
                let r = self.agg_expr(d, key, coalesced);
                format!("({l} {op} {r})")
            }
            5 | 6 => {
                let e = self.agg_expr(d, key, coalesced);
                if self.rng.chance(3) {
                    format!("round({e})")
                } else {
                    format!("round({e}, {})", self.rng.below(5) as i64 - 1)
                }
            }
            7 => format!("abs({})", self.agg_expr(d, key, coalesced)),
            8 => format!("-({})", self.agg_expr(d, key, coalesced)),
            9 => {
                *coalesced = true;
                let e = self.agg_expr(d, key, coalesced);
                format!("coalesce({e}, {})", self.lit())
            }
            10 => {
                let t = match (mysql, self.rng.below(2)) {
                    (true, 0) => "DECIMAL(14,3)",
                    (true, _) => "SIGNED",
                    (false, 0) => "NUMERIC(14,3)",
                    (false, _) => "BIGINT",
                };
                format!("CAST({} AS {t})", self.agg_expr(d, key, coalesced))
            }
            _ => format!("({} * {})", self.agg_expr(d, key, coalesced), self.lit()),
        }
    }

    fn condition_over_groups(&mut self, key: Option<&str>) -> String {
        // MariaDB's HAVING resolves only selected columns, and the key
        // `user_id % 5` is selected, `user_id` not.
        let key = if self.dialect == Dialect::MySql {
            None
        } else {
            key
        };
        let mut ignored = false;
        let mut one = |g: &mut Self| {
            let l = g.agg_expr(1, key, &mut ignored);
            let op = *g.rng.pick(&[">", "<", ">=", "<=", "=", "<>"]);
            format!("{l} {op} {}", g.lit())
        };
        let mut c = one(self);
        if self.rng.chance(3) {
            let join = if self.rng.chance(2) { "AND" } else { "OR" };
            c = format!("({c}) {join} ({})", one(self));
        }
        if self.rng.chance(8) {
            c = format!("NOT ({c})");
        }
        c
    }

    /// One random aggregate query.
    pub(super) fn agg_query(&mut self) -> Query {
        let w = self.condition();
        let (keys, text, numeric) = *self.rng.pick(KEYS);
        let key = numeric.then_some(keys);
        let mut items: Vec<String> = Vec::new();
        let mut scaled = Vec::new();
        let mut text_items = text;
        if !keys.is_empty() {
            items.extend(keys.split(", ").map(str::to_owned));
        }
        let n = 1 + self.rng.below(3);
        let mut aliases = Vec::new();
        for i in 0..n {
            if self.rng.chance(12) {
                text_items = true;
                items.push(format!("MIN(status) AS t{i}"));
                continue;
            }
            let mut coalesced = false;
            let depth = 1 + self.rng.below(3) as u32;
            let e = self.agg_expr(depth, key, &mut coalesced);
            if !coalesced {
                scaled.push(items.len());
            }
            aliases.push(format!("e{i}"));
            items.push(format!("{e} AS e{i}"));
        }
        let mut sql = format!("SELECT {} FROM t_order{w}", items.join(", "));
        if !keys.is_empty() {
            sql.push_str(&format!(" GROUP BY {keys}"));
        }
        if self.rng.chance(2) {
            let h = self.condition_over_groups(key);
            sql.push_str(&format!(" HAVING {h}"));
        }
        // Ordered by the keys (total: groups are unique by them), maybe
        // after an expression; LIMIT only when ordered.
        let ordered = !keys.is_empty() && !self.rng.chance(4);
        if ordered {
            let mut order: Vec<String> = Vec::new();
            if self.rng.chance(2) {
                let mut ignored = false;
                let first = if !aliases.is_empty() && self.rng.chance(2) {
                    self.rng.pick(&aliases).clone()
                } else {
                    self.agg_expr(2, key, &mut ignored)
                };
                order.push(format!("{first}{}", self.dir()));
            }
            for k in keys.split(", ") {
                let d = self.dir();
                order.push(format!("{k}{d}"));
            }
            sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
            if self.rng.chance(2) {
                sql.push_str(&self.page());
            }
        }
        Query {
            template: if text_items {
                "agg_random_text"
            } else {
                "agg_random"
            },
            sql,
            ordered,
            avg: scaled,
        }
    }
}
