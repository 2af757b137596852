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
//! - ORDER BY / GROUP BY expressions missing from the select list are
//!   appended as derived columns so the merge can read them; the merge drops
//!   them (`output_columns` is the original item count).
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

use std::ops::ControlFlow;

use sqlparser::ast::{
    Distinct, DuplicateTreatment, Expr, Function, FunctionArguments, GroupByExpr, Ident,
    LimitClause, ObjectName, ObjectNamePart, OrderBy, OrderByExpr, OrderByKind, OrderByOptions,
    OrderBySort, Query, Select, SelectItem, SetExpr, SetOperator, SetQuantifier, Statement,
    TableFactor, TableWithJoins, Value, Visit, Visitor,
};

use crate::error::KernelError;
use crate::merge::{
    Aggregate, AggregateKind, MergePlan, SortKey, Wildcard, ALL_COLUMNS, DEFAULT_MEMORY_LIMIT_BYTES,
};
use crate::parse::Dialect;

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
    // Past LIMIT o+n a shard's rows cannot be among the first o+n overall,
    // as long as every shard sorts the same way the merge does. Groups
    // merged by hash are sorted only after folding (e.g. ORDER BY COUNT(*)),
    // and a shard's partial counts do not rank its groups, so there every
    // shard must send all its groups.
    let shard_limit = if !plan.group_by.is_empty() && !plan.groups_arrive_sorted() {
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

/// OFFSET and LIMIT as numbers. Placeholders are refused: the shards'
/// `LIMIT o+n` must be written into their SQL, and dropping a placeholder
/// would renumber the parameters the backend is sent.
fn pagination(query: &Query, refuse: &Refuse<'_>) -> Result<(u64, Option<u64>), KernelError> {
    let count = |expr: &Expr, what: &str| -> Result<u64, KernelError> {
        match expr {
            Expr::Value(v) => match &v.value {
                Value::Number(n, _) => n.parse::<u64>().map_err(|_| {
                    refuse.err(
                        format!("{what} {n} across shards"),
                        "it must be a non-negative integer",
                    )
                }),
                Value::Placeholder(p) => Err(refuse.err(
                    "LIMIT with a parameter across shards",
                    format!(
                        "{what} is {p}, but each shard must return OFFSET + LIMIT rows, which \
                         is written into its SQL; write the numbers in the statement"
                    ),
                )),
                _ => Err(refuse.err(format!("{what} {v} across shards"), "not a number")),
            },
            other => Err(refuse.err(
                format!("{what} {other} across shards"),
                "only a number can be split over shards",
            )),
        }
    };
    let (mut offset, mut limit) = (0, None);
    match &query.limit_clause {
        None => {}
        Some(LimitClause::LimitOffset {
            limit: l,
            offset: o,
            limit_by,
        }) => {
            if !limit_by.is_empty() {
                return Err(refuse.err("LIMIT BY across shards", "not supported"));
            }
            if let Some(l) = l {
                limit = Some(count(l, "LIMIT")?);
            }
            if let Some(o) = o {
                offset = count(&o.value, "OFFSET")?;
            }
        }
        Some(LimitClause::OffsetCommaLimit {
            offset: o,
            limit: l,
        }) => {
            offset = count(o, "OFFSET")?;
            limit = Some(count(l, "LIMIT")?);
        }
    }
    if let Some(fetch) = &query.fetch {
        if fetch.with_ties || fetch.percent {
            return Err(refuse.err(
                "FETCH ... WITH TIES or PERCENT across shards",
                "the row count depends on all shards' rows",
            ));
        }
        if limit.is_some() {
            return Err(refuse.err("LIMIT together with FETCH", "use one of them"));
        }
        // `FETCH FIRST ROW ONLY` fetches one row.
        limit = Some(match &fetch.quantity {
            Some(q) => count(q, "FETCH FIRST")?,
            None => 1,
        });
    }
    Ok((offset, limit))
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

/// The select item `expr` names: an ordinal (`ORDER BY 2`), an alias, the
/// same expression, or the same column with or without its qualifier.
/// ORDER BY prefers an output alias over an input column of the same name,
/// GROUP BY the input column (both in MySQL and PostgreSQL), hence
/// `alias_first`.
fn resolve(
    expr: &Expr,
    projection: &[SelectItem],
    original: usize,
    alias_first: bool,
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
    let by_alias = || {
        match expr {
        Expr::Identifier(id) => projection.iter().position(|item| {
            matches!(item, SelectItem::ExprWithAlias { alias, .. } if alias.value.eq_ignore_ascii_case(&id.value))
        }),
        _ => None,
    }
    };
    if alias_first {
        if let Some(i) = by_alias() {
            return Some(i);
        }
    }
    by_expression(expr, projection).or_else(|| if alias_first { None } else { by_alias() })
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

fn derive_select(
    select: &mut Select,
    order_by: &mut Option<OrderBy>,
    dialect: Dialect,
    refuse: &Refuse<'_>,
) -> Result<MergePlan, KernelError> {
    check_from(&select.from, refuse)?;
    if select.having.is_some() {
        return Err(refuse.err(
            "HAVING across shards",
            "a group's rows may sit on several shards, so no shard can filter it alone",
        ));
    }
    if !select.named_window.is_empty() {
        return Err(refuse.err(
            "window function across shards",
            "each shard would see its own rows only",
        ));
    }
    let distinct = match &select.distinct {
        None | Some(Distinct::All) => false,
        Some(Distinct::Distinct) => true,
        Some(Distinct::On(_)) => {
            return Err(refuse.err("DISTINCT ON across shards", "not supported"))
        }
    };
    let group_exprs: Vec<Expr> = match &select.group_by {
        GroupByExpr::Expressions(exprs, modifiers) if modifiers.is_empty() => exprs.clone(),
        _ => {
            return Err(refuse.err(
                "GROUP BY ALL / ROLLUP / CUBE across shards",
                "not supported",
            ))
        }
    };
    let order_exprs: Vec<OrderByExpr> = match order_by.as_ref().map(|o| &o.kind) {
        None => Vec::new(),
        Some(OrderByKind::Expressions(e)) => e.clone(),
        Some(OrderByKind::All(_)) => {
            return Err(refuse.err("ORDER BY ALL across shards", "not supported"))
        }
    };
    let (window, nested) = scan(select.projection.iter().filter_map(item_expr));
    let mut window = window;
    for item in &order_exprs {
        let (w, n) = scan(std::iter::once(&item.expr));
        window |= w;
        if n > 0 && !(n == 1 && aggregate_kind(&item.expr).is_some()) {
            return Err(refuse.err(
                "aggregate inside an ORDER BY expression across shards",
                "only whole aggregates can be merged; select the expression and order by its alias",
            ));
        }
    }
    if window {
        return Err(refuse.err(
            "window function across shards",
            "each shard would see its own rows only",
        ));
    }

    let original = select.projection.len();
    let layout = Layout::of(&select.projection);
    if layout.wild.is_some()
        && order_exprs.is_empty()
        && group_exprs.is_empty()
        && !distinct
        && nested == 0
    {
        // Nothing needs a column position: the rows are concatenated whole.
        return Ok(MergePlan::iterate(ALL_COLUMNS));
    }
    // Keys are resolved to select items, then to their place in the plan's
    // numbering (see `Layout`); one that lands among the wildcards' columns
    // has no place the merge could find.
    let between = |what: &str| {
        refuse.err(
            format!("{what} naming an item between two wildcards across shards"),
            "its position among the wildcards' columns is unknown without table metadata; \
             move the item before the first wildcard or after the last",
        )
    };

    // Aggregates: only as whole select items can they be merged.
    let mut aggregates = Vec::new();
    let mut derived: Vec<SelectItem> = Vec::new();
    let mut top_level = 0;
    for (item, select_item) in select.projection.iter().enumerate() {
        let Some((kind, f)) = item_expr(select_item).and_then(aggregate_kind) else {
            continue;
        };
        top_level += 1;
        check_aggregate(f, refuse)?;
        let column = layout.position(item).ok_or_else(|| between("aggregate"))?;
        let kind = match kind.merges_as_itself() {
            Some(kind) => kind,
            None => {
                let n = aggregates
                    .iter()
                    .filter(|a: &&Aggregate| matches!(a.kind, AggregateKind::Avg { .. }))
                    .count();
                let sum_col = layout.appended(original + derived.len());
                derived.push(SelectItem::ExprWithAlias {
                    expr: function_named(f, "SUM"),
                    alias: Ident::new(format!("avg_derived_sum_{n}")),
                });
                derived.push(SelectItem::ExprWithAlias {
                    expr: function_named(f, "COUNT"),
                    alias: Ident::new(format!("avg_derived_count_{n}")),
                });
                AggregateKind::Avg {
                    sum_col,
                    count_col: sum_col + 1,
                }
            }
        };
        aggregates.push(Aggregate { kind, column });
    }
    if nested > top_level {
        return Err(refuse.err(
            "aggregate inside an expression across shards",
            "only aggregates that are whole select items (or ORDER BY items) can be merged",
        ));
    }
    select.projection.extend(derived);

    let mut group_by = Vec::new();
    // The select items GROUP BY resolved to, for the implied ORDER BY below.
    let mut group_items = Vec::new();
    for (n, expr) in group_exprs.iter().enumerate() {
        layout.check_ordinal(expr, "GROUP BY", refuse)?;
        let (item, column) = match resolve(expr, &select.projection, original, false) {
            Some(i) => (i, layout.position(i).ok_or_else(|| between("GROUP BY"))?),
            None => {
                select.projection.push(SelectItem::ExprWithAlias {
                    expr: expr.clone(),
                    alias: Ident::new(format!("group_by_derived_{n}")),
                });
                let item = select.projection.len() - 1;
                (item, layout.appended(item))
            }
        };
        group_items.push(item);
        group_by.push(column);
    }

    let mut sort = Vec::new();
    for (n, item) in order_exprs.iter().enumerate() {
        let descending = match &item.options.sort {
            None | Some(OrderBySort::Asc) => false,
            Some(OrderBySort::Desc) => true,
            Some(OrderBySort::Using(_)) => {
                return Err(refuse.err("ORDER BY ... USING across shards", "not supported"))
            }
        };
        layout.check_ordinal(&item.expr, "ORDER BY", refuse)?;
        let index = match resolve(&item.expr, &select.projection, original, true) {
            Some(i) => layout.position(i).ok_or_else(|| between("ORDER BY"))?,
            None => {
                let column = layout.appended(select.projection.len());
                if let Some((kind, f)) = aggregate_kind(&item.expr) {
                    check_aggregate(f, refuse)?;
                    let kind = match kind.merges_as_itself() {
                        Some(kind) => kind,
                        None => {
                            return Err(refuse.err(
                                "ORDER BY AVG(...) not in the select list across shards",
                                "select the AVG and order by its alias",
                            ))
                        }
                    };
                    aggregates.push(Aggregate { kind, column });
                }
                select.projection.push(SelectItem::ExprWithAlias {
                    expr: item.expr.clone(),
                    alias: Ident::new(format!("order_by_derived_{n}")),
                });
                column
            }
        };
        sort.push(SortKey {
            column: index,
            descending,
            nulls_first: item
                .options
                .nulls_first
                .unwrap_or_else(|| default_nulls_first(dialect, descending)),
        });
    }
    // No implicit sort of GROUP BY is assumed (MySQL 8 dropped it): ask the
    // shards to sort by the group keys so the merge can stream the groups.
    if order_exprs.is_empty() && !group_exprs.is_empty() {
        let mut shard_order = Vec::new();
        for (e, &item) in group_exprs.iter().zip(&group_items) {
            // ORDER BY reads a bare name as an alias first: where that would
            // pick another item than GROUP BY did, the item's ordinal says
            // which one is meant. An ordinal counts a wildcard's columns, so
            // it names only items before the first wildcard.
            let expr = if resolve(e, &select.projection, original, true) == Some(item) {
                e.clone()
            } else if layout.wild.is_none_or(|(first, _)| item < first) {
                Expr::value(Value::Number((item + 1).to_string(), false))
            } else {
                return Err(refuse.err(
                    format!("GROUP BY {e} with SELECT * across shards"),
                    "an alias shadows the grouped column, and the shards' ORDER BY cannot name \
                     it by position past the wildcard; rename the alias",
                ));
            };
            shard_order.push(OrderByExpr {
                expr,
                options: OrderByOptions::default(),
                with_fill: None,
            });
        }
        *order_by = Some(OrderBy {
            kind: OrderByKind::Expressions(shard_order),
            interpolate: None,
        });
        sort = group_by
            .iter()
            .map(|&column| SortKey {
                column,
                descending: false,
                nulls_first: default_nulls_first(dialect, false),
            })
            .collect();
    }
    let wildcard = layout.wild.map(|(first, last)| Wildcard {
        leading: first,
        trailing: select.projection.len() - last - 1,
        derived: select.projection.len() - original,
    });
    Ok(MergePlan {
        order_by: sort,
        group_by,
        aggregates,
        distinct,
        offset: 0,
        limit: None,
        // With a wildcard the width is known only at merge time.
        output_columns: if wildcard.is_some() {
            ALL_COLUMNS
        } else {
            original
        },
        memory_limit_bytes: DEFAULT_MEMORY_LIMIT_BYTES,
        wildcard,
    })
}

/// Where select items land in the plan's column numbering. Without a
/// wildcard an item's number is its position. With one, the items from the
/// first wildcard to the last have no fixed position, those before keep
/// theirs, and those after (derived columns included) are numbered as if the
/// wildcards stood for no column; the merge places them from the row's end
/// (see [`Wildcard`]). Items that are not plain expressions (`*`, `t.*`,
/// `expr AS (a, b)`) count as wildcards: their width is unknown.
struct Layout {
    /// The first and last wildcard's item positions.
    wild: Option<(usize, usize)>,
}

impl Layout {
    fn of(projection: &[SelectItem]) -> Self {
        let is_wild = |i: &SelectItem| item_expr(i).is_none();
        let wild = projection
            .iter()
            .position(is_wild)
            .zip(projection.iter().rposition(is_wild));
        Self { wild }
    }

    fn position(&self, item: usize) -> Option<usize> {
        match self.wild {
            Some((first, last)) if item >= first && item <= last => None,
            _ => Some(self.appended(item)),
        }
    }

    /// The number of an item after every wildcard, as derived columns are.
    fn appended(&self, item: usize) -> usize {
        match self.wild {
            Some((first, last)) if item > last => first + (item - last - 1),
            _ => item,
        }
    }

    /// `ORDER BY 3` counts the wildcard's columns, so with one it can only
    /// name the items before it; appending `3` as a derived column would
    /// sort by a constant.
    fn check_ordinal(
        &self,
        expr: &Expr,
        what: &str,
        refuse: &Refuse<'_>,
    ) -> Result<(), KernelError> {
        let (Some((first, _)), Expr::Value(v)) = (self.wild, expr) else {
            return Ok(());
        };
        match &v.value {
            Value::Number(n, _) if n.parse::<usize>().is_ok_and(|i| i > first) => Err(refuse.err(
                format!("{what} {n} with SELECT * across shards"),
                "the position counts the wildcard's columns, unknown without table metadata; \
                     name the column",
            )),
            _ => Ok(()),
        }
    }
}

fn check_aggregate(f: &Function, refuse: &Refuse<'_>) -> Result<(), KernelError> {
    let name = f.name.to_string().to_ascii_uppercase();
    if let FunctionArguments::List(list) = &f.args {
        if list.duplicate_treatment == Some(DuplicateTreatment::Distinct) {
            return Err(refuse.err(
                format!("{name}(DISTINCT ...) across shards"),
                "a value may occur on several shards, so the shards' results cannot be combined",
            ));
        }
        if !list.clauses.is_empty() {
            return Err(refuse.err(
                format!("{name} with ORDER BY / LIMIT inside its arguments across shards"),
                "not supported",
            ));
        }
    }
    if f.filter.is_some() || !f.within_group.is_empty() {
        return Err(refuse.err(
            format!("{name} with FILTER or WITHIN GROUP across shards"),
            "not supported",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_one;

    fn plan(dialect: Dialect, sql: &str) -> (String, MergePlan) {
        let statement = parse_one(dialect, sql).unwrap();
        let (derived, plan) = derive(&statement, dialect, &["t".to_owned()])
            .unwrap()
            .unwrap();
        (derived.to_string(), plan)
    }

    fn refused(dialect: Dialect, sql: &str) -> String {
        let statement = parse_one(dialect, sql).unwrap();
        let e = derive(&statement, dialect, &["t".to_owned()]).unwrap_err();
        assert!(matches!(e, KernelError::Unsupported { .. }), "{e}");
        e.to_string()
    }

    fn key(column: usize, descending: bool, nulls_first: bool) -> SortKey {
        SortKey {
            column,
            descending,
            nulls_first,
        }
    }

    #[test]
    fn nulls_order_per_dialect() {
        let sql = "SELECT a, b FROM t ORDER BY a, b DESC";
        let (_, my) = plan(Dialect::MySql, sql);
        assert_eq!(my.order_by, vec![key(0, false, true), key(1, true, false)]);
        let (_, pg) = plan(Dialect::PostgreSql, sql);
        assert_eq!(pg.order_by, vec![key(0, false, false), key(1, true, true)]);
        let (_, explicit) = plan(
            Dialect::PostgreSql,
            "SELECT a, b FROM t ORDER BY a NULLS FIRST, b DESC NULLS LAST",
        );
        assert_eq!(
            explicit.order_by,
            vec![key(0, false, true), key(1, true, false)]
        );
    }

    #[test]
    fn ordinals_aliases_and_qualified_names_resolve_to_items() {
        let (sql, p) = plan(
            Dialect::MySql,
            "SELECT t.a AS x, b, c FROM t ORDER BY 3 DESC, x, t.b, a",
        );
        // `a` is not an alias; it matches `t.a` by column name.
        assert_eq!(
            p.order_by.iter().map(|k| k.column).collect::<Vec<_>>(),
            vec![2, 0, 1, 0]
        );
        assert_eq!(p.output_columns, 3);
        assert!(!sql.contains("derived"), "{sql}");
    }

    #[test]
    fn derived_columns_come_after_the_items_and_avg_parts() {
        let (sql, p) = plan(
            Dialect::PostgreSql,
            "SELECT AVG(x), MIN(y) FROM t GROUP BY g ORDER BY h DESC",
        );
        assert_eq!(
            sql,
            "SELECT AVG(x), MIN(y), SUM(x) AS avg_derived_sum_0, COUNT(x) AS avg_derived_count_0, \
             g AS group_by_derived_0, h AS order_by_derived_0 FROM t GROUP BY g ORDER BY h DESC"
        );
        assert_eq!(
            p.aggregates,
            vec![
                Aggregate {
                    kind: AggregateKind::Avg {
                        sum_col: 2,
                        count_col: 3
                    },
                    column: 0
                },
                Aggregate {
                    kind: AggregateKind::Min,
                    column: 1
                },
            ]
        );
        assert_eq!(p.group_by, vec![4]);
        assert_eq!(p.order_by, vec![key(5, true, true)]);
        assert_eq!(p.output_columns, 2);
        assert!(!p.groups_arrive_sorted());
        assert_eq!(p.row_width(), 4);
    }

    #[test]
    fn group_by_without_order_by_sorts_the_shards() {
        let (sql, p) = plan(
            Dialect::MySql,
            "SELECT g, COUNT(*) FROM t GROUP BY g LIMIT 2, 3",
        );
        assert_eq!(
            sql,
            "SELECT g, COUNT(*) FROM t GROUP BY g ORDER BY g LIMIT 5"
        );
        assert_eq!(p.group_by, vec![0]);
        assert_eq!(p.order_by, vec![key(0, false, true)]);
        assert!(p.groups_arrive_sorted());
        assert_eq!((p.offset, p.limit), (2, Some(3)));
    }

    #[test]
    fn unsorted_groups_drop_the_shard_limit() {
        let (sql, p) = plan(
            Dialect::MySql,
            "SELECT g, COUNT(*) AS n FROM t GROUP BY g ORDER BY n DESC LIMIT 3",
        );
        assert!(!sql.contains("LIMIT"), "{sql}");
        assert_eq!(p.limit, Some(3));
    }

    #[test]
    fn pagination_forms() {
        let (sql, p) = plan(
            Dialect::PostgreSql,
            "SELECT a FROM t ORDER BY a OFFSET 4 ROWS FETCH NEXT 6 ROWS ONLY",
        );
        assert_eq!(sql, "SELECT a FROM t ORDER BY a LIMIT 10");
        assert_eq!((p.offset, p.limit), (4, Some(6)));
        let (sql, p) = plan(Dialect::MySql, "SELECT a FROM t LIMIT 4, 6");
        assert_eq!(sql, "SELECT a FROM t LIMIT 10");
        assert_eq!((p.offset, p.limit), (4, Some(6)));
        let (sql, p) = plan(Dialect::MySql, "SELECT a FROM t");
        assert_eq!(sql, "SELECT a FROM t");
        assert_eq!(p, MergePlan::iterate(1));
        assert!(refused(Dialect::MySql, "SELECT a FROM t LIMIT ?")
            .contains("LIMIT with a parameter across shards"));
    }

    #[test]
    fn refusals_name_the_construct() {
        for (sql, construct) in [
            ("SELECT COUNT(DISTINCT a) FROM t", "COUNT(DISTINCT ...)"),
            ("SELECT a FROM t GROUP BY a HAVING COUNT(*) > 1", "HAVING"),
            ("SELECT RANK() OVER (ORDER BY a) FROM t", "window function"),
            ("SELECT a FROM (SELECT a FROM t) s", "subquery in FROM"),
            ("SELECT * FROM t ORDER BY 2", "ORDER BY 2 with SELECT *"),
            ("SELECT a, * FROM t GROUP BY 2", "GROUP BY 2 with SELECT *"),
            (
                "SELECT *, a, * FROM t ORDER BY a",
                "ORDER BY naming an item between two wildcards",
            ),
            ("SELECT SUM(a) + 1 FROM t", "aggregate inside an expression"),
            (
                "SELECT a FROM t ORDER BY SUM(a) + 1",
                "aggregate inside an ORDER BY",
            ),
        ] {
            let e = refused(Dialect::PostgreSql, sql);
            assert!(e.contains(construct), "{sql}: {e}");
            assert!(e.contains("(tables: t)"), "{e}");
        }
    }

    #[test]
    fn group_by_prefers_the_column_order_by_the_alias() {
        let (_, p) = plan(
            Dialect::PostgreSql,
            "SELECT a AS b, b AS a, COUNT(*) FROM t GROUP BY a, b ORDER BY a",
        );
        // GROUP BY a: input column a is item 0; ORDER BY a: the alias, item 1.
        assert_eq!(p.group_by, vec![0, 1]);
        assert_eq!(p.order_by, vec![key(1, false, false)]);
        let (_, p) = plan(
            Dialect::MySql,
            "SELECT f(x) AS k, COUNT(*) FROM t GROUP BY k",
        );
        assert_eq!(p.group_by, vec![0]);
    }

    #[test]
    fn wildcard_keys_count_from_the_end() {
        let (sql, p) = plan(
            Dialect::MySql,
            "SELECT * FROM t ORDER BY order_id DESC LIMIT 2, 10",
        );
        assert_eq!(
            sql,
            "SELECT *, order_id AS order_by_derived_0 FROM t ORDER BY order_id DESC LIMIT 12"
        );
        assert_eq!(p.order_by, vec![key(0, true, false)]);
        assert_eq!(p.output_columns, ALL_COLUMNS);
        assert_eq!(
            p.wildcard,
            Some(Wildcard {
                leading: 0,
                trailing: 1,
                derived: 1
            })
        );
        assert_eq!((p.offset, p.limit), (2, Some(10)));

        // Before the wildcard: absolute; after it: from the end.
        let (sql, p) = plan(
            Dialect::PostgreSql,
            "SELECT a, t.*, b FROM t ORDER BY a, b, 1, c",
        );
        assert_eq!(
            sql,
            "SELECT a, t.*, b, c AS order_by_derived_3 FROM t ORDER BY a, b, 1, c"
        );
        assert_eq!(
            p.order_by.iter().map(|k| k.column).collect::<Vec<_>>(),
            vec![0, 1, 0, 2]
        );
        assert_eq!(
            p.wildcard,
            Some(Wildcard {
                leading: 1,
                trailing: 2,
                derived: 1
            })
        );
    }

    #[test]
    fn wildcard_with_aggregates_groups_and_distinct() {
        let (sql, p) = plan(Dialect::MySql, "SELECT *, AVG(x) AS a FROM t GROUP BY g");
        assert_eq!(
            sql,
            "SELECT *, AVG(x) AS a, SUM(x) AS avg_derived_sum_0, COUNT(x) AS avg_derived_count_0, \
             g AS group_by_derived_0 FROM t GROUP BY g ORDER BY g"
        );
        assert_eq!(
            p.aggregates,
            vec![Aggregate {
                kind: AggregateKind::Avg {
                    sum_col: 1,
                    count_col: 2
                },
                column: 0
            }]
        );
        assert_eq!(p.group_by, vec![3]);
        assert_eq!(p.order_by, vec![key(3, false, true)]);
        assert!(p.groups_arrive_sorted());
        assert_eq!(
            p.wildcard,
            Some(Wildcard {
                leading: 0,
                trailing: 4,
                derived: 3
            })
        );

        let (sql, p) = plan(Dialect::PostgreSql, "SELECT DISTINCT * FROM t");
        assert_eq!(sql, "SELECT DISTINCT * FROM t");
        assert!(p.distinct);
        assert!(!p.duplicates_arrive_adjacent());
        assert_eq!(
            p.wildcard,
            Some(Wildcard {
                leading: 0,
                trailing: 0,
                derived: 0
            })
        );

        // Nothing to place: a plain SELECT * keeps the plain plan.
        let (_, p) = plan(Dialect::MySql, "SELECT * FROM t LIMIT 3");
        assert_eq!(p.wildcard, None);
        assert_eq!(p.output_columns, ALL_COLUMNS);
    }

    #[test]
    fn non_queries_need_no_merge() {
        let statement = parse_one(Dialect::MySql, "UPDATE t SET a = 1").unwrap();
        assert!(derive(&statement, Dialect::MySql, &[]).unwrap().is_none());
    }
}
