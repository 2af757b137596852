//! Parsing with sqlparser, behind a bounded cache: clients repeat the same
//! statement text (prepared statements, ORM templates), and a hash lookup is
//! far cheaper than the ~5 µs a parse costs.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, Query, SetExpr, Statement, TableFactor, Visit, VisitMut, Visitor, VisitorMut,
};
use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect};
use sqlparser::parser::{Parser, ParserError};

use crate::error::KernelError;
pub use crate::lexer::{open_executable_comments, scan_mysql, MySqlServer};
use crate::prepared::Prepared;

/// The SQL dialect a frontend speaks. openGauss speaks PostgreSQL's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    MySql,
    PostgreSql,
}

impl Dialect {
    fn index(self) -> usize {
        match self {
            Dialect::MySql => 0,
            Dialect::PostgreSql => 1,
        }
    }
}

/// Parses exactly one statement (a trailing `;` is fine). The frontend
/// splits multi-statement strings, so several here is the caller's error.
pub fn parse_one(dialect: Dialect, sql: &str) -> Result<Statement, KernelError> {
    let parsed = match dialect {
        Dialect::MySql => Parser::parse_sql(&MySqlDialect {}, sql),
        Dialect::PostgreSql => Parser::parse_sql(&PostgreSqlDialect {}, sql),
    };
    let mut statements = parsed.map_err(parse_error)?;
    match statements.len() {
        1 => {
            let mut statement = statements
                .pop()
                .ok_or_else(|| KernelError::Internal("one statement vanished".into()))?;
            check_depth(&statement)?;
            if dialect == Dialect::MySql {
                drop_dual(&mut statement);
            }
            Ok(statement)
        }
        0 => Err(KernelError::Parse("no SQL statement given".into())),
        n => Err(KernelError::Parse(format!(
            "{n} statements given where one was expected; send them one at a time"
        ))),
    }
}

/// How deeply expressions may nest. The parser builds `a OR b OR c ...` as
/// a left-leaning tree as deep as the chain is long, and cloning such a tree
/// (as the rewrite does) recurses once per level with large debug-build
/// frames: 400 levels overflow a 2 MiB stack. Refusing deeper statements
/// keeps client SQL from crashing the proxy.
pub const MAX_EXPR_DEPTH: usize = 128;

fn check_depth(statement: &Statement) -> Result<(), KernelError> {
    struct Depth(usize);
    impl Visitor for Depth {
        type Break = ();
        fn pre_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
            self.0 += 1;
            if self.0 > MAX_EXPR_DEPTH {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
        fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
            self.0 = self.0.saturating_sub(1);
            ControlFlow::Continue(())
        }
    }
    if statement.visit(&mut Depth(0)).is_break() {
        return Err(KernelError::unsupported(
            format!("expressions nested more than {MAX_EXPR_DEPTH} levels deep"),
            std::iter::empty::<String>(),
            "long AND / OR chains nest one level per term; use IN (...) for long lists of values",
        ));
    }
    Ok(())
}

/// MySQL's `FROM DUAL` names no table (sqlparser reads it as one named
/// `dual`): a SELECT whose only FROM item is an unquoted, unqualified
/// `dual` without alias or joins loses it, so it is planned as a
/// statement without tables. The client's text, which the units run when
/// no table is renamed, keeps it; a quoted `` `dual` `` is a real table.
fn drop_dual(statement: &mut Statement) {
    struct Dual;
    impl VisitorMut for Dual {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            drop_dual_in(&mut query.body);
            ControlFlow::Continue(())
        }
    }
    fn drop_dual_in(body: &mut SetExpr) {
        match body {
            SetExpr::Select(select) => {
                let dual = match select.from.as_slice() {
                    [only] if only.joins.is_empty() => match &only.relation {
                        TableFactor::Table {
                            name, alias: None, ..
                        } => {
                            name.0.len() == 1
                                && name.0[0].as_ident().is_some_and(|i| {
                                    i.quote_style.is_none() && i.value.eq_ignore_ascii_case("dual")
                                })
                        }
                        _ => false,
                    },
                    _ => false,
                };
                if dual {
                    select.from.clear();
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                drop_dual_in(left);
                drop_dual_in(right);
            }
            _ => {}
        }
    }
    let _ = statement.visit(&mut Dual);
}

/// sqlparser names the line and column of the offending token, except at the
/// end of input; say where that is too, so every message has a position.
fn parse_error(e: ParserError) -> KernelError {
    let message = match e {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
        ParserError::RecursionLimitExceeded => {
            return KernelError::Parse("statement nested too deeply".into())
        }
    };
    if message.contains("Line:") {
        KernelError::Parse(message)
    } else {
        KernelError::Parse(format!("{message} at the end of the statement"))
    }
}

struct Entry {
    prepared: Arc<Prepared>,
    /// CLOCK's second-chance bit: set on every hit, cleared as the hand passes.
    referenced: bool,
}

#[derive(Default)]
struct Inner {
    maps: [HashMap<Arc<str>, Entry>; 2],
    /// The CLOCK ring: every cached key exactly once.
    ring: VecDeque<(Dialect, Arc<str>)>,
    /// Bytes of SQL text cached.
    text_bytes: usize,
}

/// Bytes of SQL text the cache holds at most. A statement's tree is some
/// tens of times its text (a literal `1` is an expression node), so a
/// count of entries alone lets a few thousand ORM batch INSERTs of a
/// megabyte each take gigabytes: the text bounds the tree.
pub const TEXT_BUDGET: usize = 8 * 1024 * 1024;

/// Longer statements are parsed and not kept: such texts (multi-row
/// INSERTs with literals) are almost never sent twice.
pub const MAX_CACHED_TEXT: usize = 256 * 1024;

/// A bounded, thread-safe cache of parsed statements keyed by dialect and
/// SQL text, evicting with CLOCK (an LRU approximation with O(1) hits).
pub struct ParseCache {
    capacity: usize,
    inner: Mutex<Inner>,
    /// Normalized texts ([`crate::normalize`]) that did not parse or are
    /// not statements the literal path plans, so they are not parsed again
    /// on every execution. Emptied when full: a bound, not an LRU.
    rejected_shapes: Mutex<HashSet<Box<str>>>,
}

impl std::fmt::Debug for ParseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParseCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl ParseCache {
    /// A cache holding at most `capacity` statements (at least one).
    pub fn new(capacity: usize) -> Self {
        ParseCache {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
            rejected_shapes: Mutex::new(HashSet::new()),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.lock().ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // A panic while holding the lock cannot leave the maps half-updated in a
    // way that matters (worst case a missing entry), so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The parsed statement for `sql`, from the cache or freshly parsed.
    /// Errors are not cached: bad SQL is rare and cheap to re-reject.
    pub fn parse(&self, dialect: Dialect, sql: &str) -> Result<Arc<Statement>, KernelError> {
        self.prepare(dialect, sql)
            .map(|p| Arc::clone(p.statement()))
    }

    /// The cached [`Prepared`] form of a normalized text, if it parses and
    /// `eligible` accepts its statement; a refusal is remembered.
    pub(crate) fn shape(
        &self,
        dialect: Dialect,
        key: &str,
        eligible: impl Fn(&Statement) -> bool,
    ) -> Option<Arc<Prepared>> {
        let rejected = || {
            self.rejected_shapes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
        };
        if rejected().contains(key) {
            return None;
        }
        match self.prepare(dialect, key) {
            Ok(prepared) if eligible(prepared.statement()) => Some(prepared),
            _ => {
                let mut rejected = rejected();
                if rejected.len() >= self.capacity {
                    rejected.clear();
                }
                if key.len() <= MAX_CACHED_TEXT / 64 {
                    // Short shapes only: what repeats is short, and the
                    // set is bounded by entries, not bytes.
                    rejected.insert(key.into());
                }
                None
            }
        }
    }

    /// The cached [`Prepared`] form of `sql`: the parse and what derives
    /// from it alone.
    pub(crate) fn prepare(
        &self,
        dialect: Dialect,
        sql: &str,
    ) -> Result<Arc<Prepared>, KernelError> {
        if let Some(entry) = self.lock().maps[dialect.index()].get_mut(sql) {
            entry.referenced = true;
            return Ok(Arc::clone(&entry.prepared));
        }
        // Parse outside the lock so one slow parse does not stall every session.
        let key: Arc<str> = Arc::from(sql);
        let prepared = Arc::new(Prepared::new(Arc::clone(&key), parse_one(dialect, sql)?));
        if sql.len() > MAX_CACHED_TEXT {
            return Ok(prepared);
        }
        let mut inner = self.lock();
        if let Some(entry) = inner.maps[dialect.index()].get(sql) {
            // Another session parsed it meanwhile: share its copy.
            return Ok(Arc::clone(&entry.prepared));
        }
        while inner.ring.len() >= self.capacity || inner.text_bytes + sql.len() > TEXT_BUDGET {
            let Some((d, key)) = inner.ring.pop_front() else {
                break;
            };
            let keep = match inner.maps[d.index()].get_mut(&key) {
                Some(entry) if entry.referenced => {
                    entry.referenced = false;
                    true
                }
                _ => false,
            };
            if keep {
                inner.ring.push_back((d, key));
            } else {
                inner.text_bytes -= key.len();
                inner.maps[d.index()].remove(&key);
            }
        }
        inner.maps[dialect.index()].insert(
            Arc::clone(&key),
            Entry {
                prepared: Arc::clone(&prepared),
                referenced: false,
            },
        );
        inner.text_bytes += key.len();
        inner.ring.push_back((dialect, key));
        Ok(prepared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_returns_the_same_arc() {
        let cache = ParseCache::new(4);
        let a = cache.parse(Dialect::MySql, "SELECT 1").unwrap();
        let b = cache.parse(Dialect::MySql, "SELECT 1").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        // The dialect is part of the key.
        let c = cache.parse(Dialect::PostgreSql, "SELECT 1").unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn the_cached_text_stays_within_its_byte_budget() {
        let cache = ParseCache::new(100_000);
        // 100 KiB statements: 80 fill the budget, the rest evict.
        let filler = "1, ".repeat(34 * 1024);
        for i in 0..200 {
            let sql = format!("SELECT {filler}{i}");
            assert!(sql.len() <= MAX_CACHED_TEXT);
            cache.parse(Dialect::PostgreSql, &sql).unwrap();
            assert!(cache.lock().text_bytes <= TEXT_BUDGET);
        }
        let inner = cache.lock();
        let held: usize = inner.ring.iter().map(|(_, k)| k.len()).sum();
        assert_eq!(held, inner.text_bytes);
        assert!(inner.ring.len() < 100, "{} entries", inner.ring.len());
    }

    #[test]
    fn a_statement_longer_than_the_cap_is_parsed_and_not_kept() {
        let cache = ParseCache::new(16);
        let sql = format!("SELECT {}", "1, ".repeat(MAX_CACHED_TEXT / 3 + 1) + "2");
        let a = cache.parse(Dialect::MySql, &sql).unwrap();
        let b = cache.parse(Dialect::MySql, &sql).unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(cache.is_empty());
    }

    #[test]
    fn eviction_keeps_the_cache_bounded() {
        let cache = ParseCache::new(3);
        for i in 0..50 {
            cache
                .parse(Dialect::PostgreSql, &format!("SELECT {i}"))
                .unwrap();
            assert!(cache.len() <= 3);
        }
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn recently_hit_entries_survive_eviction() {
        let cache = ParseCache::new(2);
        let hot = cache.parse(Dialect::MySql, "SELECT 'hot'").unwrap();
        cache.parse(Dialect::MySql, "SELECT 'a'").unwrap();
        // A hit gives the hot entry a second chance over 'a'.
        cache.parse(Dialect::MySql, "SELECT 'hot'").unwrap();
        cache.parse(Dialect::MySql, "SELECT 'b'").unwrap();
        let again = cache.parse(Dialect::MySql, "SELECT 'hot'").unwrap();
        assert!(Arc::ptr_eq(&hot, &again));
    }

    #[test]
    fn errors_name_the_position_and_are_not_cached() {
        let cache = ParseCache::new(2);
        let e = cache.parse(Dialect::MySql, "SELEC 1").unwrap_err();
        assert!(matches!(e, KernelError::Parse(_)));
        assert!(e.to_string().contains("Line: 1, Column: 1"), "{e}");
        assert!(cache.is_empty());
    }

    #[test]
    fn shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ParseCache>();
        let cache = Arc::new(ParseCache::new(8));
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let cache = Arc::clone(&cache);
                std::thread::spawn(move || {
                    for i in 0..100 {
                        let sql = format!("SELECT {} FROM t", (i + t) % 12);
                        cache.parse(Dialect::MySql, &sql).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert!(cache.len() <= 8);
    }

    #[test]
    fn dual_is_no_table() {
        let no_from = |sql: &str| match parse_one(Dialect::MySql, sql).unwrap() {
            Statement::Query(q) => match *q.body {
                SetExpr::Select(s) => s.from.is_empty(),
                _ => panic!("{sql}"),
            },
            _ => panic!("{sql}"),
        };
        assert!(no_from("SELECT 1 FROM DUAL WHERE 1=0"));
        assert!(no_from("select now() from dual"));
        assert!(!no_from("SELECT 1 FROM `dual`"));
        assert!(!no_from("SELECT 1 FROM db.dual"));
        assert!(!no_from("SELECT 1 FROM dual d"));
        let union = parse_one(Dialect::MySql, "SELECT 1 FROM DUAL UNION SELECT 2 FROM t").unwrap();
        let tables = crate::StatementContext::new(&union).tables;
        assert_eq!(tables.len(), 1, "{tables:?}");
        let sub = parse_one(
            Dialect::MySql,
            "SELECT * FROM t WHERE EXISTS (SELECT 1 FROM DUAL)",
        )
        .unwrap();
        assert_eq!(crate::StatementContext::new(&sub).tables.len(), 1);
    }

    #[test]
    fn exactly_one_statement() {
        assert!(parse_one(Dialect::MySql, "SELECT 1;").is_ok());
        let e = parse_one(Dialect::MySql, "SELECT 1; SELECT 2").unwrap_err();
        assert!(e.to_string().contains("2 statements"), "{e}");
        assert!(parse_one(Dialect::PostgreSql, "  ").is_err());
    }
}
