//! SELECTs answered by more than one unit: what each shard must return so
//! that the merge can produce the one answer an unsharded database would
//! give, and the [`MergePlan`] that tells the merge how.
//!
//! - `LIMIT o, n` / `LIMIT n OFFSET o` / `OFFSET o ROWS FETCH FIRST n ROWS
//!   ONLY` become `LIMIT o+n` on every shard (any of the first o+n rows may
//!   come from any shard); the merge skips o and keeps n.
//! - `AVG(x)` keeps its place and gains derived `SUM(x)` and `COUNT(x)`
//!   columns at the end of the select list: the shards' averages cannot be
//!   combined, their sums and counts can.
//! - HAVING, DISTINCT aggregates and expressions over aggregates: see
//!   `post`.
//! - ORDER BY / GROUP BY expressions missing from the select list are
//!   appended as derived columns so the merge can read them; the merge drops
//!   them (`output_columns` is the original item count). Not under SELECT
//!   DISTINCT (unless `*` holds every column): the key would take part in
//!   the shards' deduplication, so that is refused.
//! - A bare ORDER BY name is an output column first: an alias, or in
//!   PostgreSQL the implicit name of an unaliased item (`amount::text` is
//!   `amount`); one naming two different items is refused as ambiguous.
//! - GROUP BY without ORDER BY gains `ORDER BY <group keys>` so every
//!   shard's groups arrive sorted and the merge streams them.
//! - With a wildcard (`SELECT *`, `t.*`) the select list's width is unknown
//!   without table metadata, but derived columns still go at its end: the
//!   plan counts the columns after the wildcard from the row's end (see
//!   [`Wildcard`]) and the merge resolves them once it sees a row. Only
//!   ordinals past the wildcard (`ORDER BY 2`) cannot be placed.
//!
//! Whatever cannot be merged correctly is refused with
//! [`KernelError::Unsupported`]: wrong rows are worse than an error.
//!
//! # Layout
//! - this file: the entry point, refusals of whole constructs, and the
//!   helpers that resolve ORDER BY / GROUP BY items against the select list.
//! - `pagination`: OFFSET / LIMIT / FETCH into numbers and `LIMIT o+n`.
//! - `select`: derived columns and the merge plan of one SELECT.
//! - `post`: a SELECT with HAVING, COUNT / SUM / AVG (DISTINCT x) or
//!   expressions over aggregates, which the merge finishes in the proxy;
//!   `expr` compiles those expressions (and refuses what the proxy cannot
//!   evaluate exactly).
//! - `tests`: unit tests.

use std::ops::ControlFlow;

use sqlparser::ast::{
    Distinct, DuplicateTreatment, Expr, Function, FunctionArguments, GroupByExpr, Ident,
    LimitClause, ObjectName, ObjectNamePart, OrderBy, OrderByExpr, OrderByKind, OrderByOptions,
    OrderBySort, Query, Select, SelectItem, SetExpr, SetOperator, SetQuantifier, Statement,
    TableFactor, TableWithJoins, Value, Visit, Visitor,
};

use crate::error::KernelError;
use crate::merge::{
    eval, Aggregate, AggregateKind, AvgScale, Collation, MergePlan, SortKey, Wildcard, ALL_COLUMNS,
    DEFAULT_MEMORY_LIMIT_BYTES,
};
use crate::parse::Dialect;

mod expr;
mod pagination;
mod post;
mod select;
#[cfg(test)]
mod tests;

use pagination::pagination;
use select::{check_clauses, derive_select};

/// The statement each shard runs (before table renaming) and the merge plan.
/// `None` when the statement is not a query (writes need no row merge).
pub(crate) fn derive(
    statement: &Statement,
    dialect: Dialect,
    tables: &[String],
) -> Result<Option<(Statement, MergePlan)>, KernelError> {
    let Statement::Query(query) = statement else {
        return Ok(None);
    };
    let refuse = Refuse { tables };
    let mut query = query.clone();
    if query.with.is_some() {
        return Err(refuse.err(
            "WITH (common table expression) across shards",
            "each shard would evaluate it over its own rows only",
        ));
    }
    let (offset, limit) = pagination(&query, &refuse)?;
    let mut plan = match query.body.as_mut() {
        SetExpr::Select(select) => derive_select(select, &mut query.order_by, dialect, &refuse)?,
        SetExpr::SetOperation {
            op, set_quantifier, ..
        } => {
            let distinct = match (&*op, &*set_quantifier) {
                (SetOperator::Union, SetQuantifier::All) => false,
                (SetOperator::Union, SetQuantifier::None | SetQuantifier::Distinct) => true,
                _ => {
                    return Err(refuse.err(
                        format!("{op} {set_quantifier} across shards"),
                        "rows of one shard would only be compared with rows of the same shard",
                    ))
                }
            };
            if query.order_by.is_some() {
                return Err(refuse.err(
                    "ORDER BY on a UNION across shards",
                    "the merge cannot yet sort the branches' combined rows",
                ));
            }
            if has_aggregate_or_group(&query.body) {
                return Err(refuse.err(
                    "aggregate or GROUP BY inside a UNION across shards",
                    "each shard would aggregate its own rows only",
                ));
            }
            let output_columns = first_select(&query.body)
                .and_then(|s| plain_width(&s.projection))
                .unwrap_or(ALL_COLUMNS);
            if distinct && output_columns == ALL_COLUMNS {
                return Err(refuse.err(
                    "UNION of SELECT * across shards",
                    "removing duplicates needs the column count, unknown without table metadata; \
                     list the columns",
                ));
            }
            let mut plan = MergePlan::iterate(output_columns);
            plan.distinct = distinct;
            plan
        }
        _ => {
            if query.order_by.is_some() {
                return Err(refuse.err(
                    "ORDER BY on this query shape across shards",
                    "only a plain SELECT or a UNION can be merged",
                ));
            }
            MergePlan::iterate(ALL_COLUMNS)
        }
    };
    plan.offset = offset;
    plan.limit = limit;
    plan.collation = Collation::default_for(dialect);
    plan.avg_scale = AvgScale::default_for(dialect);
    // Past LIMIT o+n a shard's rows cannot be among the first o+n overall,
    // as long as every shard sorts the same way the merge does. Groups
    // merged by hash are sorted only after folding (e.g. ORDER BY COUNT(*)),
    // and a shard's partial counts do not rank its groups, so there every
    // shard must send all its groups.
    let shard_limit = if (!plan.group_by.is_empty() && !plan.groups_arrive_sorted())
        || plan.needs_all_shard_rows()
    {
        None
    } else {
        match limit {
            Some(n) => Some(offset.checked_add(n).ok_or_else(|| {
                refuse.err(
                    "LIMIT plus OFFSET beyond 2^64",
                    "the shards' LIMIT would overflow",
                )
            })?),
            None => None,
        }
    };
    if offset > 0 || limit.is_some() {
        query.limit_clause = shard_limit.map(|n| LimitClause::LimitOffset {
            limit: Some(Expr::value(Value::Number(n.to_string(), false))),
            offset: None,
            limit_by: Vec::new(),
        });
        query.fetch = None;
    }
    Ok(Some((Statement::Query(query), plan)))
}

struct Refuse<'a> {
    tables: &'a [String],
}

impl Refuse<'_> {
    fn err(&self, construct: impl Into<String>, reason: impl Into<String>) -> KernelError {
        KernelError::unsupported(construct, self.tables.iter().map(String::as_str), reason)
    }
}

/// Asks the shards to sort by the group keys, `keys` naming them in the
/// shards' ORDER BY, so the merge can stream the groups (no implicit sort
/// of GROUP BY is assumed: MySQL 8 dropped it); the merge's sort keys.
fn sort_shards_by_groups(
    order_by: &mut Option<OrderBy>,
    keys: Vec<Expr>,
    group_by: &[usize],
    dialect: Dialect,
) -> Vec<SortKey> {
    let exprs = keys
        .into_iter()
        .map(|expr| OrderByExpr {
            expr,
            options: OrderByOptions::default(),
            with_fill: None,
        })
        .collect();
    *order_by = Some(OrderBy {
        kind: OrderByKind::Expressions(exprs),
        interpolate: None,
    });
    group_by
        .iter()
        .map(|&column| SortKey {
            column,
            descending: false,
            nulls_first: default_nulls_first(dialect, false),
        })
        .collect()
}

fn first_select(body: &SetExpr) -> Option<&Select> {
    match body {
        SetExpr::Select(s) => Some(s),
        SetExpr::SetOperation { left, .. } => first_select(left),
        SetExpr::Query(q) => first_select(&q.body),
        _ => None,
    }
}

/// The number of items when none is a wildcard.
fn plain_width(projection: &[SelectItem]) -> Option<usize> {
    projection
        .iter()
        .all(|i| {
            matches!(
                i,
                SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. }
            )
        })
        .then_some(projection.len())
}

fn has_aggregate_or_group(body: &SetExpr) -> bool {
    struct Found(bool);
    impl Visitor for Found {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            if aggregate_kind(expr).is_some() {
                self.0 = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            if let Some(s) = first_select(&query.body) {
                if !matches!(&s.group_by, GroupByExpr::Expressions(e, _) if e.is_empty()) {
                    self.0 = true;
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut found = Found(false);
    let _ = body.visit(&mut found);
    // The visitor enters queries only; the branches of the set operation
    // itself are checked here.
    fn groups(body: &SetExpr) -> bool {
        match body {
            SetExpr::Select(s) => {
                !matches!(&s.group_by, GroupByExpr::Expressions(e, _) if e.is_empty())
            }
            SetExpr::SetOperation { left, right, .. } => groups(left) || groups(right),
            SetExpr::Query(q) => groups(&q.body),
            _ => false,
        }
    }
    found.0 || groups(body)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AggName {
    Count,
    Sum,
    Min,
    Max,
    Avg,
}

impl AggName {
    /// The merge kind of the aggregates that merge as themselves; AVG needs
    /// derived SUM and COUNT columns, which each caller places its own way.
    fn merges_as_itself(&self) -> Option<AggregateKind> {
        match self {
            AggName::Count => Some(AggregateKind::Count),
            AggName::Sum => Some(AggregateKind::Sum),
            AggName::Min => Some(AggregateKind::Min),
            AggName::Max => Some(AggregateKind::Max),
            AggName::Avg => None,
        }
    }
}

fn aggregate_kind(expr: &Expr) -> Option<(AggName, &Function)> {
    let Expr::Function(f) = expr else {
        return None;
    };
    let [ObjectNamePart::Identifier(name)] = f.name.0.as_slice() else {
        return None;
    };
    let kind = match name.value.to_ascii_uppercase().as_str() {
        "COUNT" => AggName::Count,
        "SUM" => AggName::Sum,
        "MIN" => AggName::Min,
        "MAX" => AggName::Max,
        "AVG" => AggName::Avg,
        _ => return None,
    };
    Some((kind, f))
}

/// Window functions and aggregates anywhere in `exprs`.
fn scan<'e>(exprs: impl Iterator<Item = &'e Expr>) -> (bool, usize) {
    struct Scan {
        window: bool,
        aggregates: usize,
    }
    impl Visitor for Scan {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            if let Expr::Function(f) = expr {
                if f.over.is_some() {
                    self.window = true;
                } else if aggregate_kind(expr).is_some() {
                    self.aggregates += 1;
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut s = Scan {
        window: false,
        aggregates: 0,
    };
    for e in exprs {
        let _ = e.visit(&mut s);
    }
    (s.window, s.aggregates)
}

fn item_expr(item: &SelectItem) -> Option<&Expr> {
    match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
        _ => None,
    }
}

fn check_from(from: &[TableWithJoins], refuse: &Refuse<'_>) -> Result<(), KernelError> {
    fn factor(f: &TableFactor, refuse: &Refuse<'_>) -> Result<(), KernelError> {
        match f {
            TableFactor::Table { .. } => Ok(()),
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => check_from(std::slice::from_ref(table_with_joins), refuse),
            TableFactor::Derived { .. } => Err(refuse.err(
                "subquery in FROM across shards",
                "each shard would evaluate it over its own rows only",
            )),
            other => Err(refuse.err(
                format!("FROM item {other} across shards"),
                "only tables and joins of tables can be merged",
            )),
        }
    }
    for t in from {
        factor(&t.relation, refuse)?;
        for j in &t.joins {
            factor(&j.relation, refuse)?;
        }
    }
    Ok(())
}

/// The select item `expr` names: an ordinal (`ORDER BY 2`), an output
/// column name, the same expression, or the same column with or without its
/// qualifier. ORDER BY (`order_by` is its dialect) reads a bare name as an
/// output column first, GROUP BY (`None`) as an input column first (both in
/// MySQL and PostgreSQL). Output names are aliases, and in PostgreSQL also
/// the names it gives unaliased items (`amount::text` is `amount`), so
/// `SELECT amount::text ... ORDER BY amount` sorts the text, not the number.
fn resolve(
    expr: &Expr,
    projection: &[SelectItem],
    original: usize,
    order_by: Option<Dialect>,
) -> Option<usize> {
    if let Expr::Value(v) = expr {
        if let Value::Number(n, _) = &v.value {
            return n
                .parse::<usize>()
                .ok()
                .filter(|i| (1..=original).contains(i))
                .map(|i| i - 1);
        }
    }
    let by_alias = |dialect: Option<Dialect>| match expr {
        Expr::Identifier(id) => projection.iter().position(|item| {
            output_name(item, dialect).is_some_and(|n| n.eq_ignore_ascii_case(&id.value))
        }),
        _ => None,
    };
    if let Some(dialect) = order_by {
        if let Some(i) = by_alias(Some(dialect)) {
            return Some(i);
        }
    }
    by_expression(expr, projection).or_else(|| match order_by {
        None => by_alias(None),
        Some(_) => None,
    })
}

/// The name ORDER BY can call a select item by: its alias, or with
/// `dialect` PostgreSQL the name it gives an unaliased item. MySQL names
/// one by its text, which a bare name matches only for a column, and
/// [`by_expression`] finds those.
fn output_name(item: &SelectItem, dialect: Option<Dialect>) -> Option<&str> {
    match item {
        SelectItem::ExprWithAlias { alias, .. } => Some(&alias.value),
        SelectItem::UnnamedExpr(e) if dialect == Some(Dialect::PostgreSql) => pg_column_name(e),
        _ => None,
    }
}

/// PostgreSQL's name for an unaliased select item (its `FigureColname`), where
/// a bare name could match it: a column's name, a function's, or, through a
/// cast, collation or parentheses, the inner one's. A cast of anything else
/// is named by its type, which is not reproduced: `None`, as for the
/// `?column?` of other expressions.
fn pg_column_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Identifier(id) => Some(&id.value),
        Expr::CompoundIdentifier(ids) => ids.last().map(|id| id.value.as_str()),
        Expr::Function(f) => match f.name.0.last() {
            Some(ObjectNamePart::Identifier(id)) => Some(&id.value),
            _ => None,
        },
        Expr::Cast { expr, .. } | Expr::Collate { expr, .. } | Expr::Nested(expr) => {
            pg_column_name(expr)
        }
        _ => None,
    }
}

/// Refuses a bare ORDER BY name that names two different select items:
/// PostgreSQL fails it as ambiguous, MySQL too (or picks by rules the merge
/// does not reproduce), where the plan would silently pick the first.
fn check_unambiguous(
    expr: &Expr,
    projection: &[SelectItem],
    dialect: Dialect,
    refuse: &Refuse<'_>,
) -> Result<(), KernelError> {
    let Expr::Identifier(id) = expr else {
        return Ok(());
    };
    // An aliased item goes by its alias only (`SELECT a AS b, b AS a ...
    // ORDER BY a` is not ambiguous); an unaliased column by its name.
    let named = |item: &SelectItem| match item {
        SelectItem::UnnamedExpr(Expr::Identifier(c)) => c.value.eq_ignore_ascii_case(&id.value),
        SelectItem::UnnamedExpr(Expr::CompoundIdentifier(c)) => c
            .last()
            .is_some_and(|c| c.value.eq_ignore_ascii_case(&id.value)),
        _ => output_name(item, Some(dialect)).is_some_and(|n| n.eq_ignore_ascii_case(&id.value)),
    };
    let mut exprs = projection
        .iter()
        .filter(|item| named(item))
        .filter_map(item_expr)
        .map(|e| e.to_string());
    let Some(first) = exprs.next() else {
        return Ok(());
    };
    if exprs.any(|e| !e.eq_ignore_ascii_case(&first)) {
        return Err(refuse.err(
            format!("ORDER BY {id} naming several select items (ambiguous) across shards"),
            "the server rejects or resolves it by rules the merge does not reproduce; \
             alias the items apart",
        ));
    }
    Ok(())
}

fn by_expression(expr: &Expr, projection: &[SelectItem]) -> Option<usize> {
    let text = expr.to_string();
    if let Some(i) = projection
        .iter()
        .position(|item| item_expr(item).is_some_and(|e| e.to_string().eq_ignore_ascii_case(&text)))
    {
        return Some(i);
    }
    // `o.user_id` and `user_id` name the same column when only one table
    // has it; the shard would have rejected an ambiguous one.
    let last = |e: &Expr| match e {
        Expr::Identifier(id) => Some(id.value.to_ascii_lowercase()),
        Expr::CompoundIdentifier(ids) => ids.last().map(|id| id.value.to_ascii_lowercase()),
        _ => None,
    };
    let column = last(expr)?;
    let qualified = matches!(expr, Expr::CompoundIdentifier(_));
    projection.iter().position(|item| {
        item_expr(item).is_some_and(|e| {
            let item_qualified = matches!(e, Expr::CompoundIdentifier(_));
            qualified != item_qualified && last(e).as_deref() == Some(column.as_str())
        })
    })
}

fn function_named(f: &Function, name: &str) -> Expr {
    let mut f = f.clone();
    f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]);
    Expr::Function(f)
}

/// Where NULLs sort when the statement does not say: PostgreSQL treats NULL
/// as larger than every value, MySQL as smaller.
pub fn default_nulls_first(dialect: Dialect, descending: bool) -> bool {
    match dialect {
        Dialect::PostgreSql => descending,
        Dialect::MySql => !descending,
    }
}
