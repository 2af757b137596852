//! One SELECT across shards: derived columns for AVG, ORDER BY and GROUP BY,
//! the sort the shards must apply, and the merge plan that reads them.

use super::*;

pub(super) fn derive_select(
    select: &mut Select,
    order_by: &mut Option<OrderBy>,
    dialect: Dialect,
    refuse: &Refuse<'_>,
) -> Result<MergePlan, KernelError> {
    check_from(&select.from, refuse)?;
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
    if window || scan(select.having.iter()).0 || scan(order_exprs.iter().map(|o| &o.expr)).0 {
        return Err(refuse.err(
            "window function across shards",
            "each shard would see its own rows only",
        ));
    }
    if super::post::needs_post(select, &order_exprs) {
        return super::post::derive_post(
            select,
            order_by,
            dialect,
            refuse,
            &group_exprs,
            &order_exprs,
            distinct,
        );
    }
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
        let (item, column) = match resolve(expr, &select.projection, original, None) {
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
        check_unambiguous(&item.expr, &select.projection[..original], dialect, refuse)?;
        let index = match resolve(&item.expr, &select.projection, original, Some(dialect)) {
            Some(i) => layout.position(i).ok_or_else(|| between("ORDER BY"))?,
            // Past the select list a position names no item; appended as a
            // derived column it would become valid on the shards.
            None if layout.wild.is_none() && is_position(&item.expr) => {
                return Err(refuse.err(
                    format!("ORDER BY position {} not in the select list", item.expr),
                    "the server refuses it too",
                ))
            }
            // The shards would deduplicate with the key as an extra column,
            // so a row's key would be one of its duplicates' picked by the
            // merge; PostgreSQL and MySQL 8 reject the query, MariaDB keeps
            // whichever row its scan met first. Under a bare `*` the key
            // is a function of the deduplicated columns, so harmless.
            None if distinct
                && !select
                    .projection
                    .iter()
                    .any(|i| matches!(i, SelectItem::Wildcard(_))) =>
            {
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
            // An ambiguous name would fail on the shards.
            let expr = if resolve(e, &select.projection, original, Some(dialect)) == Some(item)
                && check_unambiguous(e, &select.projection[..original], dialect, refuse).is_ok()
            {
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
            shard_order.push(expr);
        }
        sort = sort_shards_by_groups(order_by, shard_order, &group_by, dialect);
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
        // `derive` sets the dialect's.
        ..MergePlan::iterate(0)
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

/// Refuses what cannot be merged: COUNT / SUM / AVG (DISTINCT) (the
/// plain path cannot; `post` can, and checks with [`check_clauses`]), and
/// what [`check_clauses`] refuses.
pub(super) fn check_aggregate(f: &Function, refuse: &Refuse<'_>) -> Result<(), KernelError> {
    let name = f.name.to_string().to_ascii_uppercase();
    if let FunctionArguments::List(list) = &f.args {
        if list.duplicate_treatment == Some(DuplicateTreatment::Distinct)
            && !matches!(name.as_str(), "MIN" | "MAX")
        {
            return Err(refuse.err(
                format!("{name}(DISTINCT ...) across shards"),
                "a value may occur on several shards, so the shards' results cannot be combined",
            ));
        }
    }
    check_clauses(f, refuse)
}

/// Refuses FILTER, WITHIN GROUP, and ORDER BY / LIMIT inside an
/// aggregate's arguments.
pub(super) fn check_clauses(f: &Function, refuse: &Refuse<'_>) -> Result<(), KernelError> {
    let name = f.name.to_string().to_ascii_uppercase();
    if let FunctionArguments::List(list) = &f.args {
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

/// An integer literal, which ORDER BY reads as a select-list position.
pub(super) fn is_position(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if n.parse::<u64>().is_ok()))
}
