//! [`MergePlan`]: what the rewrite tells the merge about one statement.

use std::collections::BTreeSet;

use super::collation::Collation;
use super::decimal::AVG_EXTRA_SCALE;
use super::error::MergeError;
use super::eval::Expr;

/// Default budget for in-memory merges of one statement.
pub const DEFAULT_MEMORY_LIMIT_BYTES: usize = 64 * 1024 * 1024;

/// `output_columns` of a plan whose select list has a wildcard and no
/// derived columns: how many columns `*` stands for is unknown without table
/// metadata, and every column the shards send is the client's.
pub const ALL_COLUMNS: usize = usize::MAX;

/// One ORDER BY item, by position in the shard rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub column: usize,
    pub descending: bool,
    /// Set by the planner per dialect and per explicit NULLS FIRST/LAST:
    /// PostgreSQL defaults to NULLS LAST for ASC and FIRST for DESC, MySQL to
    /// NULL-is-smallest (first for ASC, last for DESC).
    pub nulls_first: bool,
}

impl SortKey {
    pub fn asc(column: usize) -> Self {
        Self {
            column,
            descending: false,
            nulls_first: false,
        }
    }

    pub fn desc(column: usize) -> Self {
        Self {
            column,
            descending: true,
            nulls_first: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateKind {
    /// Sum of the shards' counts; 0 over no rows.
    Count,
    Sum,
    Min,
    Max,
    /// The shards' AVG is useless across shards; the rewrite adds SUM and
    /// COUNT of the same argument as derived columns, and the merge divides
    /// their totals.
    Avg {
        sum_col: usize,
        count_col: usize,
    },
    /// COUNT / SUM / AVG (DISTINCT x): a value may sit on several shards,
    /// so the rewrite adds x to the shards' GROUP BY and sends it in column
    /// `arg`; the merge keeps each group's distinct values (within the
    /// memory limit) and aggregates those.
    CountDistinct {
        arg: usize,
    },
    SumDistinct {
        arg: usize,
    },
    AvgDistinct {
        arg: usize,
    },
}

impl AggregateKind {
    /// The column of a DISTINCT aggregate's values.
    pub fn distinct_arg(&self) -> Option<usize> {
        match self {
            AggregateKind::CountDistinct { arg }
            | AggregateKind::SumDistinct { arg }
            | AggregateKind::AvgDistinct { arg } => Some(*arg),
            _ => None,
        }
    }
}

/// What the proxy computes once a group is merged: select items that are
/// expressions over aggregates and group keys, ORDER BY expressions, and
/// HAVING, in the client dialect's arithmetic (see [`eval`](super::eval)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostAggregate {
    pub dialect: crate::Dialect,
    /// Computed in order, each written to its column.
    pub computed: Vec<(usize, Expr)>,
    /// Groups for which this does not hold are dropped.
    pub having: Option<Expr>,
}

/// How many decimals the merged AVG of an exact (integer or decimal) column
/// shows: the backends differ, and clients see the digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvgScale {
    /// The sum's scale plus this many digits: MySQL / MariaDB's
    /// `div_precision_increment` (4 unless the server is configured
    /// otherwise).
    Increment(u32),
    /// PostgreSQL's numeric division (`select_div_scale` in numeric.c): at
    /// least 16 significant digits, and never fewer decimals than the sum
    /// has.
    PostgreSql,
}

impl AvgScale {
    /// The rule of a backend's defaults.
    pub fn default_for(dialect: crate::Dialect) -> Self {
        match dialect {
            crate::Dialect::MySql => AvgScale::Increment(AVG_EXTRA_SCALE),
            crate::Dialect::PostgreSql => AvgScale::PostgreSql,
        }
    }
}

/// An aggregate whose merged value is written to `column`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aggregate {
    pub kind: AggregateKind,
    pub column: usize,
}

/// Where the columns sit when the select list has a wildcard (`*`, `t.*`)
/// and the merge needs column positions. How many columns the wildcard
/// stands for is unknown without table metadata, but the rewrite appends
/// its derived columns at the end of the select list, so every column after
/// the wildcard sits at a known distance from the end of the row. The plan's
/// column numbers then count as if the wildcard stood for no column:
/// `0..leading` are the items before it (absolute positions), the next
/// `trailing` the items after it, derived ones last (positions from the
/// end). [`merge`](super::merge) learns the row width from the first shard
/// row (all shards run the same SQL, so all rows are equally wide) and
/// resolves them with [`MergePlan::resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wildcard {
    /// Select items before the first wildcard.
    pub leading: usize,
    /// Columns after the last wildcard, the derived ones included.
    pub trailing: usize,
    /// Of the trailing columns, the ones the rewrite added: the last
    /// `derived` columns of each row, dropped at the end.
    pub derived: usize,
}

/// What a shard's column description says beyond its [`ColumnKind`],
/// which the expressions the proxy computes need to answer as the server
/// would.
///
/// [`ColumnKind`]: super::ColumnKind
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ColumnType {
    /// PostgreSQL's int2 / int4 / int8 (16 / 32 / 64): arithmetic on them
    /// fails at their width, not at 64 bits.
    pub int_bits: Option<u8>,
    /// MySQL's decimals of a DECIMAL column: a column the proxy computes
    /// is shown with them, as the server shows every value of it (the
    /// expression's own arguments may not say: a NULL has no scale).
    pub decimals: Option<u32>,
}

/// How to merge the shards' rows of one statement. Column numbers are
/// positions in the rows the shards return, which start with the client's
/// `output_columns` and may end with derived columns the rewrite added;
/// with a `wildcard`, they count as [`Wildcard`] says until
/// [`MergePlan::resolve`] makes them positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergePlan {
    pub order_by: Vec<SortKey>,
    pub group_by: Vec<usize>,
    pub aggregates: Vec<Aggregate>,
    pub distinct: bool,
    pub offset: u64,
    pub limit: Option<u64>,
    /// Columns the client sees; the rest are dropped at the end.
    /// [`ALL_COLUMNS`]: keep every column (a plain `SELECT *`).
    pub output_columns: usize,
    /// Budget for hash GROUP BY and hash DISTINCT.
    pub memory_limit_bytes: usize,
    /// Set when the select list has a wildcard and the plan needs column
    /// positions: the column numbers above are then relative to [`Wildcard`]
    /// and `output_columns` is [`ALL_COLUMNS`] until resolved.
    pub wildcard: Option<Wildcard>,
    /// How text compares in ORDER BY, GROUP BY, DISTINCT, MIN and MAX,
    /// unless `column_collations` says otherwise for a column.
    pub collation: Collation,
    /// Per-column exceptions to `collation`, by position in the shard rows
    /// as they arrive (wildcards expanded), e.g. from the collation ids of
    /// MySQL column definitions. Set with
    /// [`MergePlan::with_column_collations`].
    pub column_collations: Vec<(usize, Collation)>,
    /// The shard rows' column types, by position, as far as the frontend
    /// knows them (empty: unknown). Set with [`MergePlan::with_column_types`].
    pub column_types: Vec<ColumnType>,
    /// The decimals of a merged AVG.
    pub avg_scale: AvgScale,
    /// Expressions and HAVING evaluated after the merge of each group.
    pub post: Option<PostAggregate>,
}

impl MergePlan {
    /// A plan that concatenates the shards' rows unchanged.
    pub fn iterate(output_columns: usize) -> Self {
        Self {
            order_by: Vec::new(),
            group_by: Vec::new(),
            aggregates: Vec::new(),
            distinct: false,
            offset: 0,
            limit: None,
            output_columns,
            memory_limit_bytes: DEFAULT_MEMORY_LIMIT_BYTES,
            wildcard: None,
            collation: Collation::Binary,
            column_collations: Vec::new(),
            column_types: Vec::new(),
            avg_scale: AvgScale::Increment(AVG_EXTRA_SCALE),
            post: None,
        }
    }

    /// This plan with `overrides` (row position, collation) replacing the
    /// plan's collation for those columns; later entries win. Positions
    /// count the shard row's columns as they arrive, so a frontend can pass
    /// what the backend's column definitions say.
    pub fn with_column_collations(
        mut self,
        overrides: impl IntoIterator<Item = (usize, Collation)>,
    ) -> Self {
        for (column, collation) in overrides {
            self.column_collations.retain(|(c, _)| *c != column);
            self.column_collations.push((column, collation));
        }
        self
    }

    /// This plan with the shard rows' column types, by position.
    pub fn with_column_types(mut self, types: Vec<ColumnType>) -> Self {
        self.column_types = types;
        self
    }

    /// The ORDER BY keys with the collation of their columns.
    pub(crate) fn ordering(&self) -> std::sync::Arc<[(SortKey, Collation)]> {
        self.order_by
            .iter()
            .map(|k| (*k, self.collation_of(k.column)))
            .collect()
    }

    /// How text in `column` (a row position) compares.
    pub fn collation_of(&self, column: usize) -> Collation {
        self.column_collations
            .iter()
            .find(|(c, _)| *c == column)
            .map_or(self.collation, |(_, collation)| *collation)
    }

    /// This plan for shard rows `width` columns wide: column numbers of a
    /// [`Wildcard`] plan become positions in the row, and `output_columns`
    /// the row minus its derived columns. Plans without one are unchanged.
    pub fn resolve(&self, width: usize) -> Result<MergePlan, MergeError> {
        let Some(w) = self.wildcard else {
            return Ok(self.clone());
        };
        // A wildcard stands for at least zero columns; a narrower row did
        // not come from the rewritten select list.
        let expanded = width
            .checked_sub(w.leading.saturating_add(w.trailing))
            .filter(|_| w.derived <= w.trailing)
            .ok_or_else(|| {
                MergeError::Internal(format!(
                    "a shard row has {width} columns, but its select list names {} besides \
                     the wildcard ({} derived)",
                    w.leading.saturating_add(w.trailing),
                    w.derived
                ))
            })?;
        let at = |column: usize| {
            if column < w.leading {
                column
            } else {
                column + expanded
            }
        };
        let mut plan = self.clone();
        for key in &mut plan.order_by {
            key.column = at(key.column);
        }
        for column in &mut plan.group_by {
            *column = at(*column);
        }
        for agg in &mut plan.aggregates {
            agg.column = at(agg.column);
            match &mut agg.kind {
                AggregateKind::Avg { sum_col, count_col } => {
                    *sum_col = at(*sum_col);
                    *count_col = at(*count_col);
                }
                AggregateKind::CountDistinct { arg }
                | AggregateKind::SumDistinct { arg }
                | AggregateKind::AvgDistinct { arg } => *arg = at(*arg),
                _ => {}
            }
        }
        plan.output_columns = width - w.derived;
        plan.wildcard = None;
        Ok(plan)
    }

    /// True when a shard's rows are not whole groups or not all kept by the
    /// merge (DISTINCT aggregates split groups by value, HAVING drops some),
    /// so a shard LIMIT would cut rows the answer needs.
    pub fn needs_all_shard_rows(&self) -> bool {
        self.post.as_ref().is_some_and(|p| p.having.is_some())
            || self
                .aggregates
                .iter()
                .any(|a| a.kind.distinct_arg().is_some())
    }

    /// True when the shards' ORDER BY begins with exactly the GROUP BY
    /// columns, so every group arrives contiguously from the sorted merge.
    pub fn groups_arrive_sorted(&self) -> bool {
        prefix_is(&self.order_by, &self.group_by.iter().copied().collect())
    }

    /// True when equal output rows arrive next to each other.
    pub fn duplicates_arrive_adjacent(&self) -> bool {
        // Unknown width (an unresolved wildcard): no ORDER BY can be known
        // to cover every column, and `0..ALL_COLUMNS` must not be built.
        self.output_columns != ALL_COLUMNS
            && prefix_is(&self.order_by, &(0..self.output_columns).collect())
    }

    /// The narrowest row every aggregate can write into.
    pub(crate) fn row_width(&self) -> usize {
        let agg_cols = self.aggregates.iter().map(|a| match a.kind {
            AggregateKind::Avg { sum_col, count_col } => a.column.max(sum_col).max(count_col),
            kind => a.column.max(kind.distinct_arg().unwrap_or(0)),
        });
        let mut computed = Vec::new();
        if let Some(post) = &self.post {
            for (column, expr) in &post.computed {
                computed.push(*column);
                expr.columns(&mut computed);
            }
            if let Some(having) = &post.having {
                having.columns(&mut computed);
            }
        }
        agg_cols
            .chain(computed)
            .map(|c| c + 1)
            .fold(self.output_columns, usize::max)
    }
}

fn prefix_is(order_by: &[SortKey], columns: &BTreeSet<usize>) -> bool {
    !columns.is_empty()
        && order_by.len() >= columns.len()
        && order_by[..columns.len()]
            .iter()
            .map(|k| k.column)
            .collect::<BTreeSet<_>>()
            == *columns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortedness() {
        let mut plan = MergePlan::iterate(2);
        plan.group_by = vec![1, 0];
        plan.order_by = vec![SortKey::asc(0), SortKey::desc(1), SortKey::asc(2)];
        assert!(plan.groups_arrive_sorted());
        assert!(plan.duplicates_arrive_adjacent());
        plan.order_by = vec![SortKey::asc(0), SortKey::asc(2), SortKey::asc(1)];
        assert!(!plan.groups_arrive_sorted());
        plan.order_by = vec![SortKey::asc(0)];
        assert!(!plan.groups_arrive_sorted());
        plan.group_by.clear();
        assert!(!plan.groups_arrive_sorted());
    }

    #[test]
    fn wildcard_columns_resolve_against_the_row_width() {
        // SELECT a, *, b, AVG(x) ... ORDER BY c: a is item 0, b 1, the AVG
        // 2 with derived SUM 3 and COUNT 4, the derived ORDER BY column 5.
        let plan = MergePlan {
            order_by: vec![SortKey::asc(0), SortKey::desc(5)],
            group_by: vec![1],
            aggregates: vec![Aggregate {
                kind: AggregateKind::Avg {
                    sum_col: 3,
                    count_col: 4,
                },
                column: 2,
            }],
            output_columns: ALL_COLUMNS,
            wildcard: Some(Wildcard {
                leading: 1,
                trailing: 5,
                derived: 3,
            }),
            ..MergePlan::iterate(0)
        };
        assert!(!plan.duplicates_arrive_adjacent());
        // 10 columns: the wildcard stands for 4 (positions 1..5).
        let r = plan.resolve(10).unwrap();
        assert_eq!(r.order_by, vec![SortKey::asc(0), SortKey::desc(9)]);
        assert_eq!(r.group_by, vec![5]);
        assert_eq!(
            r.aggregates[0].kind,
            AggregateKind::Avg {
                sum_col: 7,
                count_col: 8
            }
        );
        assert_eq!(r.aggregates[0].column, 6);
        assert_eq!((r.output_columns, r.wildcard), (7, None));
        // The wildcard may stand for no column, never for fewer.
        assert_eq!(plan.resolve(6).unwrap().output_columns, 3);
        assert!(matches!(plan.resolve(5), Err(MergeError::Internal(_))));
        let plain = MergePlan::iterate(2);
        assert_eq!(plain.resolve(7).unwrap(), plain);
    }
}
