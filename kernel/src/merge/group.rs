//! GROUP BY and aggregates across shards. Each shard returns one row per
//! group with partial aggregates; rows of the same group from different
//! shards are folded into one.
//!
//! - `streaming`: the input is sorted by the group keys, so a group is
//!   finished as soon as a row with another key arrives. Memory: one group.
//! - `hashed`: any input order; all groups are held until the last row, so
//!   it is bounded by the plan's memory limit, then sorted by ORDER BY.
//! - `scalar`: aggregates without GROUP BY always give exactly one row.

use std::collections::HashMap;
use std::sync::Arc;

use futures::stream::{self, StreamExt};

use super::aggregate::Group;
use super::collation::Collation;
use super::error::MergeError;
use super::plan::MergePlan;
use super::post;
use super::row::Row;
use super::sort::compare_rows;
use super::value::Key;
use super::RowStream;

fn same_group(a: &Row, b: &Row, plan: &MergePlan) -> bool {
    plan.group_by
        .iter()
        .all(|&c| a.get(c).sql_cmp_in(b.get(c), plan.collation_of(c)).is_eq())
}

struct Streaming {
    input: RowStream,
    plan: Arc<MergePlan>,
    current: Option<Group>,
    /// Bytes of DISTINCT values the current group holds.
    held: usize,
    done: bool,
}

impl Streaming {
    /// Counts `bytes` more against the budget; only one group is held, so
    /// only its DISTINCT values count.
    fn hold(&mut self, bytes: usize) -> Result<(), MergeError> {
        self.held += bytes;
        if self.held > self.plan.memory_limit_bytes {
            return Err(distinct_limit(&self.plan));
        }
        Ok(())
    }

    /// The next merged row that HAVING keeps, `None` at the end.
    async fn next_row(&mut self) -> Option<Result<Row, MergeError>> {
        loop {
            let finished = match self.input.next().await {
                Some(Ok(row)) => match self.current.as_mut() {
                    Some(group) if same_group(group.first_row(), &row, &self.plan) => {
                        match group.fold(&row, &self.plan) {
                            Ok(bytes) => {
                                if let Err(e) = self.hold(bytes) {
                                    return Some(Err(e));
                                }
                            }
                            Err(e) => return Some(Err(e)),
                        }
                        continue;
                    }
                    _ => {
                        let (next, bytes) = match Group::start(row, &self.plan) {
                            Ok(started) => started,
                            Err(e) => return Some(Err(e)),
                        };
                        self.held = 0;
                        if let Err(e) = self.hold(bytes) {
                            return Some(Err(e));
                        }
                        self.current.replace(next)
                    }
                },
                Some(Err(e)) => return Some(Err(e)),
                None => {
                    self.done = true;
                    self.current.take()
                }
            };
            if let Some(group) = finished {
                match post::finish(group, &self.plan) {
                    Ok(Some(row)) => return Some(Ok(row)),
                    Ok(None) => {}
                    Err(e) => return Some(Err(e)),
                }
            }
            if self.done {
                return None;
            }
        }
    }
}

pub(crate) fn streaming(input: RowStream, plan: Arc<MergePlan>) -> RowStream {
    let state = Streaming {
        input,
        plan,
        current: None,
        held: 0,
        done: false,
    };
    Box::pin(stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        match st.next_row().await {
            Some(Ok(row)) => Some((Ok(row), st)),
            Some(Err(e)) => {
                st.done = true;
                Some((Err(e), st))
            }
            None => None,
        }
    }))
}

fn distinct_limit(plan: &MergePlan) -> MergeError {
    MergeError::MemoryLimit {
        limit: plan.memory_limit_bytes,
        what: "COUNT / SUM / AVG (DISTINCT)",
        hint: "fewer distinct values per group would fit",
    }
}

/// Rough bytes per group beyond its key and first row: the map entry and
/// the accumulators.
fn group_overhead(plan: &MergePlan) -> usize {
    std::mem::size_of::<(Key, usize)>() + std::mem::size_of::<Group>() + plan.aggregates.len() * 48
}

async fn collect_groups(
    mut input: RowStream,
    plan: Arc<MergePlan>,
) -> Result<Vec<Row>, MergeError> {
    let collations: Arc<[Collation]> = plan
        .group_by
        .iter()
        .map(|&c| plan.collation_of(c))
        .collect();
    let mut index: HashMap<Key, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut used = 0usize;
    while let Some(row) = input.next().await {
        let row = row?;
        let key = Key::new(
            plan.group_by.iter().map(|&c| row.get(c).clone()).collect(),
            collations.clone(),
        );
        if let Some(&i) = index.get(&key) {
            if let Some(group) = groups.get_mut(i) {
                used += group.fold(&row, &plan)?;
                if used > plan.memory_limit_bytes {
                    return Err(distinct_limit(&plan));
                }
                continue;
            }
        }
        let (group, held) = Group::start(row, &plan)?;
        used += key.estimated_size()
            + group.first_row().estimated_size()
            + group_overhead(&plan)
            + held;
        if used > plan.memory_limit_bytes {
            return Err(MergeError::MemoryLimit {
                limit: plan.memory_limit_bytes,
                what: "GROUP BY",
                hint: "add an ORDER BY that starts with the GROUP BY columns so groups stream",
            });
        }
        index.insert(key, groups.len());
        groups.push(group);
    }
    drop(index);
    let mut rows = Vec::with_capacity(groups.len());
    for group in groups {
        if let Some(row) = post::finish(group, &plan)? {
            rows.push(row);
        }
    }
    // Stable, so without ORDER BY groups keep the order they first appeared in.
    let ordering = plan.ordering();
    rows.sort_by(|a, b| compare_rows(a, b, &ordering));
    Ok(rows)
}

pub(crate) fn hashed(input: RowStream, plan: Arc<MergePlan>) -> RowStream {
    Box::pin(
        stream::once(collect_groups(input, plan)).flat_map(|result| match result {
            Ok(rows) => stream::iter(rows.into_iter().map(Ok)).left_stream(),
            Err(e) => stream::iter(vec![Err(e)]).right_stream(),
        }),
    )
}

async fn fold_all(mut input: RowStream, plan: Arc<MergePlan>) -> Result<Option<Row>, MergeError> {
    let mut group: Option<Group> = None;
    let mut held = 0usize;
    while let Some(row) = input.next().await {
        let row = row?;
        held += match group.as_mut() {
            Some(g) => g.fold(&row, &plan)?,
            None => {
                let (g, bytes) = Group::start(row, &plan)?;
                group = Some(g);
                bytes
            }
        };
        if held > plan.memory_limit_bytes {
            return Err(distinct_limit(&plan));
        }
    }
    // No shard returned a row (e.g. every shard was pruned to nothing): SQL
    // still answers one row, COUNT 0 and NULL for the rest.
    let group = group.unwrap_or_else(|| {
        Group::new(
            Row::new(vec![super::value::Value::Null; plan.row_width()]),
            &plan,
        )
    });
    // HAVING may drop even this one row.
    post::finish(group, &plan)
}

pub(crate) fn scalar(input: RowStream, plan: Arc<MergePlan>) -> RowStream {
    Box::pin(
        stream::once(fold_all(input, plan))
            .filter_map(|result| futures::future::ready(result.transpose())),
    )
}
