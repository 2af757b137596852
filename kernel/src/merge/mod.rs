//! Result merging: the shards' row streams of one statement become the one
//! stream the client would have got from an unsharded database.
//!
//! Protocol-neutral: the backend decodes shard rows into [`Row`]s (see
//! [`Value::parse_text`]), [`merge`] combines them as a [`MergePlan`] says,
//! and the frontend encodes what comes out. Rows are pulled, never pushed:
//! a shard is read only when the client's side asks for the next row, and
//! only as far as that row needs (all of it for an unsorted GROUP BY or an
//! aggregate without GROUP BY, one row per shard for ORDER BY).
//!
//! The pipeline [`merge`] builds, in SQL's order of evaluation:
//! 1. combine the shards: concatenation (`iterate.rs`), a k-way merge by ORDER
//!    BY (`sort.rs`), or GROUP BY / aggregates (`group.rs`, folding with
//!    `aggregate.rs`; DISTINCT aggregates keep each group's distinct values
//!    within the memory limit); each merged group then gets HAVING and the
//!    columns the proxy computes (`post.rs`, evaluating [`eval`]'s
//!    expressions with `eval_num.rs`'s dialect arithmetic);
//! 2. DISTINCT (`distinct.rs`);
//! 3. OFFSET / LIMIT (`paginate.rs`);
//! 4. drop derived columns the rewrite added.
//!
//! A plan whose select list has a wildcard counts its columns relative to
//! it (see [`Wildcard`]); [`merge`] reads the first row of every shard
//! before building the pipeline, to learn the row width and resolve them.
//!
//! Text compares by the plan's [`Collation`] (per column where the frontend
//! knows better), so case-insensitive MySQL groups and orders merge as one
//! MySQL server would have.
//!
//! Not done here: spilling to disk (past the memory limit a merge fails with
//! [`MergeError::MemoryLimit`]).

mod aggregate;
mod collation;
mod decimal;
mod distinct;
mod error;
pub mod eval;
mod eval_num;
mod group;
mod iterate;
mod paginate;
mod plan;
mod post;
mod row;
mod sort;
mod value;

use std::pin::Pin;
use std::sync::Arc;

use futures::future::{self, join_all};
use futures::stream::{self, Stream, StreamExt, TryStreamExt};

pub use collation::Collation;
pub use decimal::{Decimal, AVG_EXTRA_SCALE};
pub use error::MergeError;
pub use plan::{
    Aggregate, AggregateKind, AvgScale, ColumnType, MergePlan, PostAggregate, SortKey, Wildcard,
    ALL_COLUMNS, DEFAULT_MEMORY_LIMIT_BYTES,
};
pub use row::Row;
pub use value::{ColumnKind, Value};

/// The rows of one shard, or of the merge. `Send` so the frontend can drive
/// it from any task; boxed so shards of different backends mix.
pub type RowStream = Pin<Box<dyn Stream<Item = Result<Row, MergeError>> + Send>>;

/// Merges the shards' streams as `plan` says. The result yields at most one
/// error (a shard's, or the merge's own) and ends right after it.
pub fn merge(plan: &MergePlan, shards: Vec<RowStream>) -> RowStream {
    if plan.wildcard.is_some() {
        return resolve_then_merge(plan.clone(), shards);
    }
    pipeline(Arc::new(plan.clone()), shards)
}

/// The plan's columns count from a wildcard of unknown width: the first row
/// of each shard is read (together, so slow shards overlap, as the sorted
/// merge would anyway), gives the width, and goes back in front of its
/// shard's stream.
fn resolve_then_merge(plan: MergePlan, mut shards: Vec<RowStream>) -> RowStream {
    let resolved = async move {
        let firsts = join_all(shards.iter_mut().map(|s| s.next())).await;
        let width = firsts.iter().find_map(|first| match first {
            Some(Ok(row)) => Some(row.values().len()),
            _ => None,
        });
        let Some(width) = width else {
            // No shard has a row: nothing to sort, group or deduplicate,
            // so the answer is a shard's error or no rows at all. Only an
            // aggregate without GROUP BY must still answer one row, and
            // every shard answers it with one row, so none means a bug.
            let error = firsts
                .into_iter()
                .find_map(|first| first.and_then(Result::err))
                .or_else(|| {
                    (plan.group_by.is_empty() && !plan.aggregates.is_empty()).then(|| {
                        MergeError::Internal(
                            "no shard answered an aggregate without GROUP BY, so the width \
                             of its wildcard is unknown"
                                .into(),
                        )
                    })
                });
            return failed(error);
        };
        let plan = match plan.resolve(width) {
            Ok(plan) => plan,
            Err(e) => return failed(Some(e)),
        };
        let shards = shards
            .into_iter()
            .zip(firsts)
            .map(|(rest, first)| -> RowStream {
                match first {
                    // A finished stream must not be polled again.
                    None => Box::pin(stream::empty()),
                    Some(item) => Box::pin(stream::once(future::ready(item)).chain(rest)),
                }
            })
            .collect();
        pipeline(Arc::new(plan), shards)
    };
    Box::pin(stream::once(resolved).flatten())
}

/// A stream of `error` alone, or of nothing.
fn failed(error: Option<MergeError>) -> RowStream {
    Box::pin(stream::iter(error.map(Err)))
}

fn pipeline(plan: Arc<MergePlan>, shards: Vec<RowStream>) -> RowStream {
    let combined = if !plan.group_by.is_empty() {
        if plan.groups_arrive_sorted() {
            group::streaming(sort::merge_sorted(shards, plan.ordering()), plan.clone())
        } else {
            group::hashed(iterate::concat(shards), plan.clone())
        }
    } else if !plan.aggregates.is_empty() {
        group::scalar(iterate::concat(shards), plan.clone())
    } else if !plan.order_by.is_empty() {
        sort::merge_sorted(shards, plan.ordering())
    } else {
        iterate::concat(shards)
    };
    let deduplicated = if !plan.distinct {
        combined
    } else if plan.duplicates_arrive_adjacent() {
        distinct::adjacent(combined, plan.clone())
    } else {
        distinct::hashed(combined, plan.clone())
    };
    let output_columns = plan.output_columns;
    Box::pin(
        paginate::Paginate::new(deduplicated, plan.offset, plan.limit).map_ok(move |mut row| {
            row.truncate(output_columns);
            row
        }),
    )
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;

    fn shard(rows: Vec<Result<Row, MergeError>>) -> RowStream {
        Box::pin(stream::iter(rows))
    }

    fn wildcard_plan() -> MergePlan {
        // SELECT *, COUNT(*) ... : the count is the row's last column.
        MergePlan {
            aggregates: vec![Aggregate {
                kind: AggregateKind::Count,
                column: 0,
            }],
            output_columns: ALL_COLUMNS,
            wildcard: Some(Wildcard {
                leading: 0,
                trailing: 1,
                derived: 0,
            }),
            ..MergePlan::iterate(0)
        }
    }

    fn collect(stream: RowStream) -> Vec<Result<Row, MergeError>> {
        block_on(stream.collect())
    }

    #[test]
    fn the_first_rows_give_the_width_and_are_not_lost() {
        let row = |v: i64, n: i64| Ok(Row::new(vec![Value::Int(v), Value::Int(n)]));
        let out = collect(merge(
            &wildcard_plan(),
            vec![
                shard(vec![row(7, 2)]),
                shard(vec![]),
                shard(vec![row(8, 3)]),
            ],
        ));
        let rows: Vec<Vec<Value>> = out.into_iter().map(|r| r.unwrap().into_values()).collect();
        assert_eq!(rows, vec![vec![Value::Int(7), Value::Int(5)]]);
    }

    #[test]
    fn a_shard_error_before_any_row_is_the_answer() {
        let out = collect(merge(
            &wildcard_plan(),
            vec![
                shard(vec![]),
                shard(vec![Err(MergeError::Internal("boom".into()))]),
            ],
        ));
        assert!(
            matches!(out.as_slice(), [Err(MergeError::Internal(m))] if m == "boom"),
            "{out:?}"
        );
    }

    #[test]
    fn column_collations_override_the_plans() {
        let text = |s: &str| Ok(Row::new(vec![Value::Text(s.into())]));
        // Shards sorted bytewise, as a binary column (collation id 63) is.
        let shards = || vec![shard(vec![text("B"), text("a")]), shard(vec![text("C")])];
        let ci = MergePlan {
            order_by: vec![SortKey::asc(0)],
            collation: Collation::CaseInsensitive,
            ..MergePlan::iterate(1)
        };
        let binary = ci
            .clone()
            .with_column_collations([(0, Collation::CaseInsensitive), (1, Collation::Binary)])
            .with_column_collations(Collation::from_mysql_id(63).map(|c| (0, c)));
        assert_eq!(binary.collation_of(0), Collation::Binary);
        assert_eq!(binary.collation_of(1), Collation::Binary);
        assert_eq!(binary.collation_of(2), Collation::CaseInsensitive);
        let values = |plan: &MergePlan| -> Vec<Value> {
            collect(merge(plan, shards()))
                .into_iter()
                .map(|r| r.unwrap().into_values().remove(0))
                .collect()
        };
        let t = |s: &str| Value::Text(s.into());
        assert_eq!(values(&binary), vec![t("B"), t("C"), t("a")]);
        // Without the override "a" sorts before "C": the override decides.
        assert_eq!(values(&ci), vec![t("B"), t("a"), t("C")]);
    }

    #[test]
    fn an_aggregate_without_rows_cannot_guess_the_wildcard() {
        let out = collect(merge(&wildcard_plan(), vec![shard(vec![]), shard(vec![])]));
        assert!(
            matches!(out.as_slice(), [Err(MergeError::Internal(_))]),
            "{out:?}"
        );
        let sorted = MergePlan {
            order_by: vec![SortKey::asc(0)],
            aggregates: Vec::new(),
            ..wildcard_plan()
        };
        assert!(collect(merge(&sorted, vec![shard(vec![])])).is_empty());
    }
}
