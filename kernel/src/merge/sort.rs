//! ORDER BY across shards: a k-way merge of streams each already sorted by
//! its shard. The heap holds one row per shard and a shard is read only when
//! its row leaves the heap, so memory is O(shards) however long the result.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Arc;

use futures::future::join_all;
use futures::stream::{self, StreamExt};

use super::collation::Collation;
use super::error::MergeError;
use super::plan::SortKey;
use super::row::Row;
use super::RowStream;

/// Orders rows by `keys`, placing NULLs per key as the planner asked and
/// comparing text by the key's collation.
pub(crate) fn compare_rows(a: &Row, b: &Row, keys: &[(SortKey, Collation)]) -> Ordering {
    for (key, collation) in keys {
        let collation = *collation;
        let (x, y) = (a.get(key.column), b.get(key.column));
        let ord = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) if key.nulls_first => Ordering::Less,
            (true, false) => Ordering::Greater,
            (false, true) if key.nulls_first => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) if key.descending => x.sql_cmp_in(y, collation).reverse(),
            (false, false) => x.sql_cmp_in(y, collation),
        };
        if ord.is_ne() {
            return ord;
        }
    }
    Ordering::Equal
}

struct Head {
    row: Row,
    shard: usize,
    keys: Arc<[(SortKey, Collation)]>,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    /// Reversed, because BinaryHeap pops the greatest; ties go to the lower
    /// shard so equal rows keep shard order and the merge is deterministic.
    fn cmp(&self, other: &Self) -> Ordering {
        compare_rows(&other.row, &self.row, &self.keys).then(other.shard.cmp(&self.shard))
    }
}

struct State {
    shards: Vec<RowStream>,
    heap: BinaryHeap<Head>,
    keys: Arc<[(SortKey, Collation)]>,
    started: bool,
    /// A shard failed while refilling the heap: the row already popped goes
    /// out first, the error next.
    pending: Option<MergeError>,
    done: bool,
}

impl State {
    fn push(&mut self, shard: usize, next: Option<Result<Row, MergeError>>) {
        match next {
            Some(Ok(row)) => self.heap.push(Head {
                row,
                shard,
                keys: self.keys.clone(),
            }),
            Some(Err(e)) if self.pending.is_none() => self.pending = Some(e),
            Some(Err(_)) | None => {}
        }
    }
}

pub(crate) fn merge_sorted(shards: Vec<RowStream>, keys: Arc<[(SortKey, Collation)]>) -> RowStream {
    let state = State {
        heap: BinaryHeap::with_capacity(shards.len()),
        shards,
        keys,
        started: false,
        pending: None,
        done: false,
    };
    Box::pin(stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        if !st.started {
            st.started = true;
            // The first rows are awaited together so slow shards overlap.
            let firsts = join_all(st.shards.iter_mut().map(|s| s.next())).await;
            for (shard, next) in firsts.into_iter().enumerate() {
                st.push(shard, next);
            }
        }
        if let Some(e) = st.pending.take() {
            st.done = true;
            return Some((Err(e), st));
        }
        let head = st.heap.pop()?;
        let next = match st.shards.get_mut(head.shard) {
            Some(shard) => shard.next().await,
            None => Some(Err(MergeError::Internal(
                "heap row from an unknown shard".into(),
            ))),
        };
        st.push(head.shard, next);
        Some((Ok(head.row), st))
    }))
}
