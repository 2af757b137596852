//! [`MergePlan`]: what the rewrite tells the merge about one statement.

use std::collections::BTreeSet;

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
}

/// An aggregate whose merged value is written to `column`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aggregate {
    pub kind: AggregateKind,
    pub column: usize,
}

/// How to merge the shards' rows of one statement. Column numbers are
/// positions in the rows the shards return, which start with the client's
/// `output_columns` and may end with derived columns the rewrite added.
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
        }
    }

    /// True when the shards' ORDER BY begins with exactly the GROUP BY
    /// columns, so every group arrives contiguously from the sorted merge.
    pub fn groups_arrive_sorted(&self) -> bool {
        prefix_is(&self.order_by, &self.group_by.iter().copied().collect())
    }

    /// True when equal output rows arrive next to each other.
    pub fn duplicates_arrive_adjacent(&self) -> bool {
        prefix_is(&self.order_by, &(0..self.output_columns).collect())
    }

    /// The narrowest row every aggregate can write into.
    pub(crate) fn row_width(&self) -> usize {
        let agg_cols = self.aggregates.iter().map(|a| match a.kind {
            AggregateKind::Avg { sum_col, count_col } => a.column.max(sum_col).max(count_col),
            _ => a.column,
        });
        agg_cols
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
}
