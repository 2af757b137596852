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
//!    BY (`sort.rs`), or GROUP BY / aggregates (`group.rs`);
//! 2. DISTINCT (`distinct.rs`);
//! 3. OFFSET / LIMIT (`paginate.rs`);
//! 4. drop derived columns the rewrite added.
//!
//! Not done here: HAVING (the rewrite must keep it on the shards only when
//! each group lives on one shard), COUNT(DISTINCT), collation-aware text
//! comparison (see [`Value`]), spilling to disk.

mod aggregate;
mod decimal;
mod distinct;
mod error;
mod group;
mod iterate;
mod paginate;
mod plan;
mod row;
mod sort;
mod value;

use std::pin::Pin;
use std::sync::Arc;

use futures::stream::{Stream, TryStreamExt};

pub use decimal::{Decimal, AVG_EXTRA_SCALE};
pub use error::MergeError;
pub use plan::{
    Aggregate, AggregateKind, MergePlan, SortKey, ALL_COLUMNS, DEFAULT_MEMORY_LIMIT_BYTES,
};
pub use row::Row;
pub use value::{ColumnKind, Value};

/// The rows of one shard, or of the merge. `Send` so the frontend can drive
/// it from any task; boxed so shards of different backends mix.
pub type RowStream = Pin<Box<dyn Stream<Item = Result<Row, MergeError>> + Send>>;

/// Merges the shards' streams as `plan` says. The result yields at most one
/// error (a shard's, or the merge's own) and ends right after it.
pub fn merge(plan: &MergePlan, shards: Vec<RowStream>) -> RowStream {
    let plan = Arc::new(plan.clone());
    let combined = if !plan.group_by.is_empty() {
        if plan.groups_arrive_sorted() {
            group::streaming(
                sort::merge_sorted(shards, plan.order_by.clone()),
                plan.clone(),
            )
        } else {
            group::hashed(iterate::concat(shards), plan.clone())
        }
    } else if !plan.aggregates.is_empty() {
        group::scalar(iterate::concat(shards), plan.clone())
    } else if !plan.order_by.is_empty() {
        sort::merge_sorted(shards, plan.order_by.clone())
    } else {
        iterate::concat(shards)
    };
    let deduplicated = if !plan.distinct {
        combined
    } else if plan.duplicates_arrive_adjacent() {
        distinct::adjacent(combined, plan.output_columns)
    } else {
        distinct::hashed(combined, plan.output_columns, plan.memory_limit_bytes)
    };
    let output_columns = plan.output_columns;
    Box::pin(
        paginate::Paginate::new(deduplicated, plan.offset, plan.limit).map_ok(move |mut row| {
            row.truncate(output_columns);
            row
        }),
    )
}
