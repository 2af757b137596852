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
    pending: Option<MergeError>,
    done: bool,
}

pub(crate) fn streaming(input: RowStream, plan: Arc<MergePlan>) -> RowStream {
    let state = Streaming {
        input,
        plan,
        current: None,
        pending: None,
        done: false,
    };
    Box::pin(stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        if let Some(e) = st.pending.take() {
            st.done = true;
            return Some((Err(e), st));
        }
        loop {
            match st.input.next().await {
                Some(Ok(row)) => match st.current.as_mut() {
                    Some(group) if same_group(group.first_row(), &row, &st.plan) => {
                        if let Err(e) = group.fold(&row, &st.plan) {
                            st.done = true;
                            return Some((Err(e), st));
                        }
                    }
                    _ => {
                        let next = Group::start(row, &st.plan);
                        let finished = st.current.take().map(|g| g.finish(&st.plan));
                        match next {
                            Ok(group) => st.current = Some(group),
                            Err(e) => st.pending = Some(e),
                        }
                        match finished {
                            Some(out) => return Some((out, st)),
                            None if st.pending.is_some() => {
                                st.done = true;
                                return st.pending.take().map(|e| (Err(e), st));
                            }
                            None => {}
                        }
                    }
                },
                Some(Err(e)) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
                None => {
                    st.done = true;
                    let out = st.current.take()?.finish(&st.plan);
                    return Some((out, st));
                }
            }
        }
    }))
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
                group.fold(&row, &plan)?;
                continue;
            }
        }
        used += key.estimated_size() + row.estimated_size() + group_overhead(&plan);
        if used > plan.memory_limit_bytes {
            return Err(MergeError::MemoryLimit {
                limit: plan.memory_limit_bytes,
                what: "GROUP BY",
                hint: "add an ORDER BY that starts with the GROUP BY columns so groups stream",
            });
        }
        index.insert(key, groups.len());
        groups.push(Group::start(row, &plan)?);
    }
    drop(index);
    let mut rows = groups
        .into_iter()
        .map(|g| g.finish(&plan))
        .collect::<Result<Vec<_>, _>>()?;
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

async fn fold_all(mut input: RowStream, plan: Arc<MergePlan>) -> Result<Row, MergeError> {
    let mut group: Option<Group> = None;
    while let Some(row) = input.next().await {
        let row = row?;
        match group.as_mut() {
            Some(g) => g.fold(&row, &plan)?,
            None => group = Some(Group::start(row, &plan)?),
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
    group.finish(&plan)
}

pub(crate) fn scalar(input: RowStream, plan: Arc<MergePlan>) -> RowStream {
    Box::pin(stream::once(fold_all(input, plan)))
}
