//! Runs a statement's route units on backend connections in parallel and
//! hands each unit's answers to the caller as its own stream of events.
//!
//! The caller decides which connection runs which units (a connection
//! held by a transaction, or fresh ones from the pools) and passes them in
//! as [`Job`]s; every job runs on its own task, so units on different
//! connections overlap. A job with several units runs them one after the
//! other on its connection, ShardingSphere's "connection strictly" mode:
//! a sorted merge reads the first row of every unit before the second row
//! of any, so those units' events must be buffered without bound, or the
//! job would wait on a unit the merge is not reading yet. A job with one
//! unit streams through a bounded channel instead, so a large result
//! never sits in proxy memory ("memory strictly").
//!
//! Rows stay raw ([`DataRow`](shardwire_protocol::pg::DataRow)); only the
//! merge decides whether to look inside them.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::{BackendError, Result};
use crate::pg::{CancelToken, Formats, Query, QueryEvent};
use crate::pool::PooledConnection;

/// Rows a single-unit job may run ahead of its reader.
const STREAM_AHEAD: usize = 64;

/// What one unit runs.
#[derive(Debug, Clone)]
pub enum Request {
    /// Simple query protocol: the SQL carries its own literals.
    Simple(String),
    /// Extended protocol: the unit's SQL with `$n` placeholders and the
    /// client's values, passed through as the client encoded them.
    Extended {
        sql: String,
        param_types: Arc<[u32]>,
        params: Arc<[Option<Bytes>]>,
        param_formats: Arc<[i16]>,
        result_formats: Arc<[i16]>,
    },
}

impl Request {
    /// Starts the request on `conn`.
    pub async fn start<'c>(&self, conn: &'c mut PooledConnection) -> Result<Query<'c>> {
        match self {
            Request::Simple(sql) => conn.query(sql).await,
            Request::Extended {
                sql,
                param_types,
                params,
                param_formats,
                result_formats,
            } => {
                conn.query_params(
                    sql,
                    param_types,
                    params,
                    Formats {
                        params: param_formats,
                        results: result_formats,
                    },
                )
                .await
            }
        }
    }
}

/// One connection and the units it runs, each with its index in the
/// statement's unit list.
#[derive(Debug)]
pub struct Job {
    pub conn: PooledConnection,
    pub units: Vec<(usize, Request)>,
}

/// The answers of one unit, in wire order. Ends after the unit's
/// completion or its first error.
#[derive(Debug)]
pub struct UnitEvents {
    rx: Receiver,
}

#[derive(Debug)]
enum Receiver {
    Bounded(mpsc::Receiver<Result<QueryEvent>>),
    Unbounded(mpsc::UnboundedReceiver<Result<QueryEvent>>),
}

#[derive(Debug, Clone)]
enum Sender {
    Bounded(mpsc::Sender<Result<QueryEvent>>),
    Unbounded(mpsc::UnboundedSender<Result<QueryEvent>>),
}

impl Sender {
    /// False once the reader is gone: nobody wants the rest.
    async fn send(&self, item: Result<QueryEvent>) -> bool {
        match self {
            Sender::Bounded(tx) => tx.send(item).await.is_ok(),
            Sender::Unbounded(tx) => tx.send(item).is_ok(),
        }
    }
}

impl UnitEvents {
    /// The next event; `None` when the unit is complete.
    pub async fn next(&mut self) -> Option<Result<QueryEvent>> {
        match &mut self.rx {
            Receiver::Bounded(rx) => rx.recv().await,
            Receiver::Unbounded(rx) => rx.recv().await,
        }
    }

    /// The events as a `futures::Stream`.
    pub fn into_stream(self) -> impl futures::Stream<Item = Result<QueryEvent>> + Send {
        futures::stream::unfold(self, |mut events| async move {
            events.next().await.map(|item| (item, events))
        })
    }
}

/// Running jobs: the units' event streams, and the connections, which come
/// back from [`Dispatch::finish`] once every job is done.
#[derive(Debug)]
pub struct Dispatch {
    /// Indexed like the statement's units.
    pub units: Vec<UnitEvents>,
    /// Cancel tokens of the connections in use, for a client's CancelRequest.
    pub cancel_tokens: Vec<CancelToken>,
    tasks: Vec<JoinHandle<PooledConnection>>,
}

impl Dispatch {
    /// Waits for every job and returns their connections. A job whose
    /// reader went away early leaves its connection with answers in flight;
    /// the pool discards such a connection when it comes back.
    pub async fn finish(self) -> Result<Vec<PooledConnection>> {
        let mut conns = Vec::with_capacity(self.tasks.len());
        for task in self.tasks {
            conns.push(
                task.await.map_err(|_| {
                    BackendError::Internal("a unit's task panicked or was cancelled")
                })?,
            );
        }
        Ok(conns)
    }
}

/// Starts every job on its own task. `unit_count` is the statement's number
/// of units; every index below it must appear in exactly one job.
pub fn dispatch(jobs: Vec<Job>, unit_count: usize) -> Result<Dispatch> {
    let mut receivers: Vec<Option<UnitEvents>> = (0..unit_count).map(|_| None).collect();
    let mut cancel_tokens = Vec::new();
    let mut tasks = Vec::with_capacity(jobs.len());
    for job in jobs {
        let mut senders = Vec::with_capacity(job.units.len());
        let streaming = job.units.len() == 1;
        for (index, _) in &job.units {
            let slot = receivers
                .get_mut(*index)
                .ok_or(BackendError::Internal("a job names a unit past the end"))?;
            let (tx, rx) = if streaming {
                let (tx, rx) = mpsc::channel(STREAM_AHEAD);
                (Sender::Bounded(tx), Receiver::Bounded(rx))
            } else {
                let (tx, rx) = mpsc::unbounded_channel();
                (Sender::Unbounded(tx), Receiver::Unbounded(rx))
            };
            if slot.replace(UnitEvents { rx }).is_some() {
                return Err(BackendError::Internal("two jobs run the same unit"));
            }
            senders.push(tx);
        }
        cancel_tokens.extend(job.conn.cancel_token());
        tasks.push(tokio::spawn(run_job(job, senders)));
    }
    let units = receivers
        .into_iter()
        .map(|r| r.ok_or(BackendError::Internal("a unit is in no job")))
        .collect::<Result<Vec<_>>>()?;
    Ok(Dispatch {
        units,
        cancel_tokens,
        tasks,
    })
}

async fn run_job(job: Job, senders: Vec<Sender>) -> PooledConnection {
    let Job { mut conn, units } = job;
    for ((_, request), tx) in units.iter().zip(senders) {
        let mut query = match request.start(&mut conn).await {
            Ok(q) => q,
            Err(e) => {
                tx.send(Err(e)).await;
                continue;
            }
        };
        loop {
            match query.next_event().await {
                Ok(Some(event)) => {
                    if !tx.send(Ok(event)).await {
                        // The reader is gone (the client left, or the merge
                        // needed no more rows): stop reading; the
                        // connection knows it has answers in flight.
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tx.send(Err(e)).await;
                    break;
                }
            }
        }
    }
    conn
}
