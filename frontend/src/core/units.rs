//! How a statement's route units are laid out over backend connections,
//! the same for both protocols: grouped by data source, taken in name
//! order so two sessions never wait on each other's pools in a cycle, one
//! connection per unit while a data source has at most
//! `max-connections-size-per-query` units ("memory strictly": each unit
//! streams), one shared connection beyond that or inside a transaction
//! ("connection strictly": its units run one after the other).
//!
//! Only a statement's first connection to a data source is waited for.
//! Further ones are taken only if free at once, else their units join the
//! first: statements that each hold one connection and wait for a second
//! would otherwise take a pool between them and wait on each other until
//! the pool's timeout.

use std::collections::BTreeMap;
use std::future::Future;

use std::sync::Arc;

use shardwire_backend::executor::{dispatch_within, Dispatch, Job, UnitConnection, UnitEvents};
use shardwire_backend::spill_queue::Budget;

use crate::error::StatementError;

/// One connection's worth of units: the data source and the units with
/// their indexes in the statement's unit list.
pub type Group<R> = (String, Vec<(usize, R)>);

pub fn connection_groups<R>(units: Vec<(String, R)>, limit: usize, shared: bool) -> Vec<Group<R>> {
    let mut by_source: BTreeMap<String, Vec<(usize, R)>> = BTreeMap::new();
    for (i, (ds, request)) in units.into_iter().enumerate() {
        by_source.entry(ds).or_default().push((i, request));
    }
    let mut groups = Vec::new();
    for (ds, units) in by_source {
        if shared || units.len() > limit.max(1) {
            groups.push((ds, units));
        } else {
            groups.extend(units.into_iter().map(|u| (ds.clone(), vec![u])));
        }
    }
    groups
}

/// Where a session's statements get their backend connections: its
/// transaction's own, or pooled ones. Each protocol's session decides how
/// a connection joins its transaction; laying units over connections is
/// shared ([`jobs`]).
pub trait ConnectionSource {
    type Conn: UnitConnection;
    fn acquire(
        &mut self,
        ds: &str,
    ) -> impl Future<Output = Result<Self::Conn, StatementError>> + Send;
    /// Another connection to `ds` for the same statement, only if one is
    /// free without waiting (`SessionPool::try_get`).
    fn try_acquire(
        &mut self,
        ds: &str,
    ) -> impl Future<Output = Result<Option<Self::Conn>, StatementError>> + Send;
    /// Gives a connection back after a statement: to the transaction, or
    /// to its pool.
    fn release(&mut self, ds: String, conn: Self::Conn);
    /// The backend statements running for the session now (none once
    /// they are done), for a client's cancel request. A protocol without
    /// one keeps the default.
    fn running(&mut self, _tokens: Vec<CancelTokenOf<Self>>) {}
}

type CancelTokenOf<S> = <<S as ConnectionSource>::Conn as UnitConnection>::CancelToken;
type EventOf<S> = <<S as ConnectionSource>::Conn as UnitConnection>::Event;
/// The answer streams of a statement's units, indexed like its units.
type Streams<S> = Vec<UnitEvents<EventOf<S>>>;

/// A statement's units running on their connections, and the data source
/// of each connection: from [`start`] to [`give_back`].
pub struct Running<C: UnitConnection> {
    dispatch: Dispatch<C>,
    sources: Vec<String>,
}

impl<C: UnitConnection> std::fmt::Debug for Running<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("units", &self.dispatch.units.len())
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

/// Runs `jobs` (from [`jobs`], `count` units in all) each on its own task,
/// reachable by the session's cancel request until [`give_back`]; returns
/// the units' answer streams, indexed like the statement's units. The
/// adapter reads them (merge and encode) in its own task.
pub fn start<S: ConnectionSource>(
    source: &mut S,
    jobs: Vec<Job<S::Conn>>,
    sources: Vec<String>,
    count: usize,
    budget: Arc<Budget>,
) -> Result<(Running<S::Conn>, Streams<S>), StatementError>
where
    CancelTokenOf<S>: Clone,
{
    let mut dispatch = dispatch_within(jobs, count, budget)?;
    source.running(dispatch.cancel_tokens.clone());
    let streams = std::mem::take(&mut dispatch.units);
    Ok((Running { dispatch, sources }, streams))
}

/// Waits for the units of [`start`] to finish and gives their connections
/// back: to the transaction, or to their pools.
pub async fn give_back<S: ConnectionSource>(
    source: &mut S,
    running: Running<S::Conn>,
) -> Result<(), StatementError> {
    source.running(Vec::new());
    let conns = running.dispatch.finish().await?;
    for (conn, ds) in conns.into_iter().zip(running.sources) {
        source.release(ds, conn);
    }
    Ok(())
}

/// Gives back connections whose jobs never ran (an earlier batch failed).
pub fn give_back_unstarted<S: ConnectionSource>(
    source: &mut S,
    jobs: Vec<Job<S::Conn>>,
    sources: Vec<String>,
) {
    for (job, ds) in jobs.into_iter().zip(sources) {
        source.release(ds, job.conn);
    }
}

/// The unit kind a [`ConnectionSource`]'s connections run.
type RequestOf<S> = <<S as ConnectionSource>::Conn as UnitConnection>::Request;

/// One job per connection for `units` ([`connection_groups`]), with the
/// data source of each; if any connection cannot be had, those already
/// taken are given back before the error returns.
pub async fn jobs<S: ConnectionSource + Send>(
    source: &mut S,
    units: Vec<(String, RequestOf<S>)>,
    limit: usize,
    shared: bool,
) -> Result<(Vec<Job<S::Conn>>, Vec<String>), StatementError> {
    let mut jobs = Vec::new();
    let mut sources = Vec::new();
    for (ds, units) in connection_groups(units, limit, shared) {
        let held = sources.iter().position(|s| *s == ds);
        let conn = match held {
            None => source.acquire(&ds).await.map(Some),
            Some(_) => source.try_acquire(&ds).await,
        };
        match (conn, held.and_then(|i| jobs.get_mut(i))) {
            (Ok(Some(conn)), _) => {
                jobs.push(Job { conn, units });
                sources.push(ds);
            }
            (Ok(None), Some(first)) => first.units.extend(units),
            (Ok(None), None) => {
                // try_acquire is only asked where a connection is held.
                return Err(StatementError::refused(
                    "XX000",
                    "internal error: no connection for a data source",
                ));
            }
            (Err(e), _) => {
                for (job, ds) in jobs.into_iter().zip(sources) {
                    source.release(ds, job.conn);
                }
                return Err(e);
            }
        }
    }
    Ok((jobs, sources))
}

/// The jobs of a statement whose answers are added up, in the batches they
/// run in: all at once, or, when `one_at_a_time` (inside a transaction and
/// over several data sources), one data source at a time in the name
/// order [`jobs`] took them in. Two transactions writing the same rows of
/// a broadcast table (pgbench's branches) would otherwise each lock one
/// data source's copy first and wait for the other's forever: a deadlock
/// that no shard can see, since each holds only half of it. Outside a
/// transaction each shard's statement commits at once and holds no lock
/// past it.
pub fn batches<C: UnitConnection>(
    jobs: Vec<Job<C>>,
    sources: Vec<String>,
    count: usize,
    one_at_a_time: bool,
) -> Vec<(Vec<Job<C>>, usize, Vec<String>)> {
    if !one_at_a_time || jobs.len() < 2 {
        return vec![(jobs, count, sources)];
    }
    jobs.into_iter()
        .zip(sources)
        .map(|(mut job, ds)| {
            // Units are numbered per dispatch.
            for (k, unit) in job.units.iter_mut().enumerate() {
                unit.0 = k;
            }
            let n = job.units.len();
            (vec![job], n, vec![ds])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::connection_groups;

    fn units(sources: &[&str]) -> Vec<(String, u8)> {
        sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.to_string(), i as u8))
            .collect()
    }

    #[test]
    fn one_connection_per_unit_up_to_the_limit() {
        let groups = connection_groups(units(&["ds_1", "ds_0", "ds_1"]), 2, false);
        let shape: Vec<(String, Vec<usize>)> = groups
            .into_iter()
            .map(|(ds, u)| (ds, u.into_iter().map(|(i, _)| i).collect()))
            .collect();
        assert_eq!(
            shape,
            vec![
                ("ds_0".into(), vec![1]),
                ("ds_1".into(), vec![0]),
                ("ds_1".into(), vec![2])
            ]
        );
    }

    #[test]
    fn beyond_the_limit_or_in_a_transaction_units_share_a_connection() {
        let over = connection_groups(units(&["ds_0", "ds_0", "ds_0"]), 2, false);
        assert_eq!(over.len(), 1);
        assert_eq!(over[0].1.len(), 3);
        let txn = connection_groups(units(&["ds_0", "ds_0", "ds_1"]), 8, true);
        assert_eq!(
            txn.iter()
                .map(|(ds, u)| (ds.as_str(), u.len()))
                .collect::<Vec<_>>(),
            vec![("ds_0", 2), ("ds_1", 1)]
        );
    }
}
