//! DISTINCT across shards, on the client's output columns only (derived
//! columns differ between rows that the client sees as equal).

use std::collections::HashSet;

use futures::future;
use futures::stream::StreamExt;

use super::error::MergeError;
use super::row::Row;
use super::value::Key;
use super::RowStream;

fn output_key(row: &Row, columns: usize) -> Key {
    Key((0..columns).map(|c| row.get(c).clone()).collect())
}

/// Input sorted on all output columns: a duplicate can only follow its twin.
pub(crate) fn adjacent(input: RowStream, columns: usize) -> RowStream {
    let mut last: Option<Key> = None;
    Box::pin(input.filter_map(move |item| {
        let out = match item {
            Ok(row) => {
                let key = output_key(&row, columns);
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
pub(crate) fn hashed(input: RowStream, columns: usize, limit: usize) -> RowStream {
    let mut seen: HashSet<Key> = HashSet::new();
    let mut used = 0usize;
    Box::pin(input.filter_map(move |item| {
        let out = match item {
            Ok(row) => {
                let key = output_key(&row, columns);
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
