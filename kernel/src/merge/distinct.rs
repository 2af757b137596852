//! DISTINCT across shards, on the client's output columns only (derived
//! columns differ between rows that the client sees as equal).

use std::collections::HashSet;
use std::sync::Arc;

use futures::future;
use futures::stream::StreamExt;

use super::collation::Collation;
use super::error::MergeError;
use super::plan::MergePlan;
use super::row::Row;
use super::value::Key;
use super::RowStream;

/// The output columns of a row, compared by their collations.
struct OutputKey {
    columns: usize,
    plan: Arc<MergePlan>,
    /// Built from the first row: a plan's output width may be a bound
    /// rather than a count (see `ALL_COLUMNS`), a row's is not.
    collations: Option<Arc<[Collation]>>,
}

impl OutputKey {
    fn new(plan: Arc<MergePlan>) -> Self {
        Self {
            columns: plan.output_columns,
            plan,
            collations: None,
        }
    }

    fn of(&mut self, row: &Row) -> Key {
        let columns = self.columns.min(row.values().len());
        let plan = &self.plan;
        let collations = self
            .collations
            .get_or_insert_with(|| (0..columns).map(|c| plan.collation_of(c)).collect());
        Key::new(
            (0..columns).map(|c| row.get(c).clone()).collect(),
            collations.clone(),
        )
    }
}

/// Input sorted on all output columns: a duplicate can only follow its twin.
pub(crate) fn adjacent(input: RowStream, plan: Arc<MergePlan>) -> RowStream {
    let mut last: Option<Key> = None;
    let mut output_key = OutputKey::new(plan);
    Box::pin(input.filter_map(move |item| {
        let out = match item {
            Ok(row) => {
                let key = output_key.of(&row);
                if last.as_ref() == Some(&key) {
                    None
                } else {
                    last = Some(key);
                    Some(Ok(row))
                }
            }
            Err(e) => Some(Err(e)),
        };
        future::ready(out)
    }))
}

/// Any input order: remembers every row seen, within `limit` bytes. Rows go
/// out as soon as they are first seen, so the input order is kept.
pub(crate) fn hashed(input: RowStream, plan: Arc<MergePlan>) -> RowStream {
    let limit = plan.memory_limit_bytes;
    let mut output_key = OutputKey::new(plan);
    let mut seen: HashSet<Key> = HashSet::new();
    let mut used = 0usize;
    Box::pin(input.filter_map(move |item| {
        let out = match item {
            Ok(row) => {
                let key = output_key.of(&row);
                if seen.contains(&key) {
                    None
                } else {
                    used += key.estimated_size() + std::mem::size_of::<u64>();
                    if used > limit {
                        Some(Err(MergeError::MemoryLimit {
                            limit,
                            what: "DISTINCT",
                            hint: "add an ORDER BY over all selected columns so duplicates stream",
                        }))
                    } else {
                        seen.insert(key);
                        Some(Ok(row))
                    }
                }
            }
            Err(e) => Some(Err(e)),
        };
        future::ready(out)
    }))
}
