//! A SELECT whose merge computes in the proxy: HAVING, COUNT / SUM / AVG
//! (DISTINCT x), and expressions over aggregates in the select list or
//! ORDER BY. The shards send every aggregate such an expression needs as
//! a derived column, group by the DISTINCT arguments too, and keep the
//! client's expressions only inside `CASE WHEN 1 = 0 THEN ... END`, so they
//! still type-check them (and name and type the column) but never compute
//! them over their partial groups; the merge evaluates them
//! (`merge::eval`).

use std::collections::HashMap;

use sqlparser::ast::{BinaryOperator, CaseWhen};

use super::expr::{column_name, is_distinct_aggregate, Compiler};
use super::*;
use crate::merge::PostAggregate;

/// Whether `select` (with its ORDER BY items) needs the proxy to compute:
/// see the module doc.
pub(super) fn needs_post(select: &Select, order_exprs: &[OrderByExpr]) -> bool {
    if select.having.is_some() {
        return true;
    }
    let items = select.projection.iter().filter_map(item_expr);
    let order = order_exprs.iter().map(|o| &o.expr);
    items.chain(order.clone()).any(|e| {
        let (_, nested) = scan(std::iter::once(e));
        match aggregate_kind(e) {
            Some((name, f)) => is_distinct_aggregate(name, f),
            None => nested > 0 || has_distinct(e),
        }
    }) || order
        .into_iter()
        .any(|e| matches!(aggregate_kind(e), Some((AggName::Avg, _))))
}

fn has_distinct(e: &Expr) -> bool {
    struct Found(bool);
    impl Visitor for Found {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            if let Some((name, f)) = aggregate_kind(expr) {
                if is_distinct_aggregate(name, f) {
                    self.0 = true;
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut found = Found(false);
    let _ = e.visit(&mut found);
    found.0
}

/// `CASE WHEN 1 = 0 THEN expr END`: the shard type-checks `expr` and gives
/// the column its type, but never evaluates it.
fn never(expr: Expr) -> Expr {
    let one = || Expr::value(Value::Number("1".into(), false));
    Expr::Case {
        case_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        end_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions: vec![CaseWhen {
            condition: Expr::BinaryOp {
                left: Box::new(one()),
                op: BinaryOperator::Eq,
                right: Box::new(Expr::value(Value::Number("0".into(), false))),
            },
            result: expr,
        }],
        else_result: None,
    }
}

pub(super) fn derive_post(
    select: &mut Select,
    order_by: &mut Option<OrderBy>,
    dialect: Dialect,
    refuse: &Refuse<'_>,
    group_exprs: &[Expr],
    order_exprs: &[OrderByExpr],
    distinct: bool,
) -> Result<MergePlan, KernelError> {
    if select.projection.iter().any(|i| item_expr(i).is_none()) {
        return Err(refuse.err(
            "SELECT * with HAVING, DISTINCT aggregates or expressions over aggregates across shards",
            "the proxy must know every column's position; list the columns",
        ));
    }
    let original = select.projection.len();

    // Group keys, as in `derive_select`.
    let mut group_by = Vec::new();
    let mut keys = Vec::new();
    let mut group_items = Vec::new();
    for (n, expr) in group_exprs.iter().enumerate() {
        let item = match resolve(expr, &select.projection, original, None) {
            Some(i) => i,
            None => {
                select.projection.push(SelectItem::ExprWithAlias {
                    expr: expr.clone(),
                    alias: Ident::new(format!("group_by_derived_{n}")),
                });
                select.projection.len() - 1
            }
        };
        if !matches!(expr, Expr::Value(_)) {
            keys.push((expr.to_string().to_ascii_lowercase(), item));
        }
        if let Some(e) = item_expr(&select.projection[item]) {
            keys.push((e.to_string().to_ascii_lowercase(), item));
        }
        group_items.push(item);
        group_by.push(item);
    }
    let aliases = select
        .projection
        .iter()
        .take(original)
        .enumerate()
        .filter_map(|(i, item)| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some((alias.value.to_ascii_lowercase(), i)),
            _ => None,
        })
        .collect();

    let mut aggregates = Vec::new();
    let mut projection = std::mem::take(&mut select.projection);
    let mut c = Compiler {
        dialect,
        refuse,
        projection: &mut projection,
        aggregates: &mut aggregates,
        keys,
        aliases,
        distinct_args: Vec::new(),
        known: HashMap::new(),
        derived: 0,
    };

    // Whole aggregates first, so expressions reuse their columns.
    for i in 0..original {
        let Some(e) = item_expr(&c.projection[i]).cloned() else {
            continue;
        };
        let Some((name, f)) = aggregate_kind(&e) else {
            continue;
        };
        check_clauses(f, refuse)?;
        let key = e.to_string().to_ascii_lowercase();
        let kind = if is_distinct_aggregate(name, f) {
            let arg = c.distinct_arg(f)?;
            match name {
                AggName::Count => AggregateKind::CountDistinct { arg },
                AggName::Sum => AggregateKind::SumDistinct { arg },
                _ => AggregateKind::AvgDistinct { arg },
            }
        } else if let Some(kind) = name.merges_as_itself() {
            kind
        } else {
            let (sum_col, count_col) = c.avg_parts(f);
            // Expressions divide the sums themselves (MySQL keeps more
            // digits inside an expression than the AVG column shows).
            c.known.insert(
                key.clone(),
                eval::Expr::Avg {
                    sum: sum_col,
                    count: count_col,
                },
            );
            // `avg_parts` registered SUM and COUNT as aggregates of their
            // own; AVG reads them too, through its own accumulator.
            AggregateKind::Avg { sum_col, count_col }
        };
        if kind.distinct_arg().is_none()
            || matches!(
                kind,
                AggregateKind::CountDistinct { .. } | AggregateKind::SumDistinct { .. }
            )
        {
            c.known.entry(key).or_insert(eval::Expr::Column(i));
        }
        c.aggregates.push(Aggregate { kind, column: i });
    }

    // Select items that are expressions over aggregates (or constants).
    let mut computed = Vec::new();
    for i in 0..original {
        let Some(e) = item_expr(&c.projection[i]).cloned() else {
            continue;
        };
        if aggregate_kind(&e).is_some() {
            continue;
        }
        let (_, nested) = scan(std::iter::once(&e));
        let expr = if nested > 0 {
            c.compile(&e)?
        } else if select.having.is_some() {
            // With HAVING, an expression over the keys (`-1 / (k % 5)`) is
            // computed by the proxy too: the server evaluates it only for
            // the groups HAVING keeps, a shard for all of its own.
            match c.compile(&e) {
                Ok(expr) if expr != eval::Expr::Column(i) => expr,
                _ => continue,
            }
        } else {
            // A constant (`1 + 1`) is computed too: with DISTINCT
            // aggregates a shard may send no row for the one group of an
            // aggregate without GROUP BY. Anything else (a group key, a
            // function the proxy does not evaluate) stays the shards'.
            match c.compile(&e) {
                Ok(expr)
                    if {
                        let mut read = Vec::new();
                        expr.columns(&mut read);
                        read.is_empty()
                    } =>
                {
                    expr
                }
                _ => continue,
            }
        };
        computed.push((i, expr));
        let alias = match &c.projection[i] {
            SelectItem::ExprWithAlias { alias, .. } => alias.clone(),
            _ => Ident::with_quote(
                if dialect == Dialect::MySql { '`' } else { '"' },
                column_name(dialect, &e),
            ),
        };
        c.projection[i] = SelectItem::ExprWithAlias {
            expr: never(e),
            alias,
        };
    }

    if select.having.is_some() && group_exprs.is_empty() && c.aggregates.is_empty() && {
        let (_, in_having) = scan(select.having.iter());
        in_having == 0
    } {
        // Without aggregates or GROUP BY, MySQL's HAVING filters rows like
        // WHERE (PostgreSQL makes the query one group).
        return Err(refuse.err(
            "HAVING without aggregates or GROUP BY across shards",
            "move the condition to WHERE",
        ));
    }
    let having = match select.having.take() {
        None => None,
        Some(h) => {
            let compiled = c.compile(&h)?;
            select.having = Some(Expr::IsNull(Box::new(never(Expr::Nested(Box::new(h))))));
            Some(compiled)
        }
    };

    let mut sort = Vec::new();
    for (n, item) in order_exprs.iter().enumerate() {
        let descending = match &item.options.sort {
            None | Some(OrderBySort::Asc) => false,
            Some(OrderBySort::Desc) => true,
            Some(OrderBySort::Using(_)) => {
                return Err(refuse.err("ORDER BY ... USING across shards", "not supported"))
            }
        };
        check_unambiguous(&item.expr, &c.projection[..original], dialect, refuse)?;
        let column = match resolve(&item.expr, c.projection, original, Some(dialect)) {
            Some(i) => i,
            None if super::select::is_position(&item.expr) => {
                return Err(refuse.err(
                    format!("ORDER BY position {} not in the select list", item.expr),
                    "the server refuses it too",
                ))
            }
            // The shards would deduplicate with the key as an extra column,
            // so a row's key would be one of its duplicates' picked by the
            // merge; PostgreSQL and MySQL 8 reject the query, MariaDB keeps
            // whichever row its scan met first.
            None if distinct => {
                return Err(refuse.err(
                    format!(
                        "ORDER BY {} not in the select list of a SELECT DISTINCT",
                        item.expr
                    ),
                    "which duplicate's value the server sorts by is not determined; \
                     select the key",
                ))
            }
            None => {
                let (_, nested) = scan(std::iter::once(&item.expr));
                let whole = aggregate_kind(&item.expr)
                    .filter(|(name, f)| !is_distinct_aggregate(*name, f))
                    .and_then(|(name, f)| name.merges_as_itself().map(|k| (k, f)));
                if let Some((kind, f)) = whole {
                    check_clauses(f, refuse)?;
                    c.projection.push(SelectItem::ExprWithAlias {
                        expr: item.expr.clone(),
                        alias: Ident::new(format!("order_by_derived_{n}")),
                    });
                    let column = c.projection.len() - 1;
                    c.aggregates.push(Aggregate { kind, column });
                    column
                } else if nested == 0
                    && !matches!(item.expr, Expr::Value(_))
                    && c.compile(&item.expr).is_ok_and(|e| {
                        let mut read = Vec::new();
                        e.columns(&mut read);
                        read.is_empty()
                    })
                {
                    // MariaDB folds `-(-1)` into `1` and then reads it as
                    // a position; PostgreSQL sorts by the constant.
                    return Err(refuse.err(
                        format!("ORDER BY the constant expression {}", item.expr),
                        "the servers disagree on what it means; remove it",
                    ));
                } else if nested > 0 {
                    let expr = c.compile(&item.expr)?;
                    // The shards type-check it without computing it.
                    c.projection.push(SelectItem::ExprWithAlias {
                        expr: never(item.expr.clone()),
                        alias: Ident::new(format!("order_by_derived_{n}")),
                    });
                    let column = c.projection.len() - 1;
                    computed.push((column, expr));
                    column
                } else {
                    c.projection.push(SelectItem::ExprWithAlias {
                        expr: item.expr.clone(),
                        alias: Ident::new(format!("order_by_derived_{n}")),
                    });
                    c.projection.len() - 1
                }
            }
        };
        sort.push(SortKey {
            column,
            descending,
            nulls_first: item
                .options
                .nulls_first
                .unwrap_or_else(|| default_nulls_first(dialect, descending)),
        });
    }
    let distinct_args: Vec<Expr> = c.distinct_args.iter().map(|(e, _)| e.clone()).collect();
    select.projection = projection;

    if order_exprs.is_empty() && !group_exprs.is_empty() {
        let mut shard_order = Vec::new();
        for (e, &item) in group_exprs.iter().zip(&group_items) {
            let expr = if resolve(e, &select.projection, original, Some(dialect)) == Some(item)
                && check_unambiguous(e, &select.projection[..original], dialect, refuse).is_ok()
            {
                e.clone()
            } else {
                Expr::value(Value::Number((item + 1).to_string(), false))
            };
            shard_order.push(expr);
        }
        sort = sort_shards_by_groups(order_by, shard_order, &group_by, dialect);
    }
    // Shards sort only so that groups stream; where the merge sorts the
    // merged groups itself (by an aggregate or an expression over them),
    // the shards' sort is wasted work, and an expression in it could fail
    // on a shard's partial group (division by zero) where the whole group
    // would not.
    let streams = !group_by.is_empty() && {
        let columns: std::collections::BTreeSet<usize> = group_by.iter().copied().collect();
        sort.len() >= columns.len()
            && sort[..columns.len()]
                .iter()
                .map(|k| k.column)
                .collect::<std::collections::BTreeSet<_>>()
                == columns
    };
    if let Some(OrderBy {
        kind: OrderByKind::Expressions(exprs),
        ..
    }) = order_by
    {
        if streams {
            // The keys after the group keys order rows within one group:
            // the shards need not compute them.
            exprs.truncate(group_by.len());
        } else {
            // Items over aggregates are the merge's to sort by; the rest
            // (keys, aliases, constants) stay for the shards to check.
            exprs.retain(|o| scan(std::iter::once(&o.expr)).1 == 0);
        }
        if exprs.is_empty() {
            *order_by = None;
        }
    }
    // DISTINCT aggregates: each shard sends one row per group and value,
    // so a value on two shards is seen twice and counted once.
    if !distinct_args.is_empty() {
        match &mut select.group_by {
            GroupByExpr::Expressions(exprs, _) => exprs.extend(distinct_args),
            GroupByExpr::All(_) => {
                return Err(refuse.err("GROUP BY ALL across shards", "not supported"))
            }
        }
    }
    Ok(MergePlan {
        order_by: sort,
        group_by,
        aggregates,
        distinct,
        output_columns: original,
        memory_limit_bytes: DEFAULT_MEMORY_LIMIT_BYTES,
        post: Some(PostAggregate {
            dialect,
            computed,
            having,
        }),
        ..MergePlan::iterate(0)
    })
}
