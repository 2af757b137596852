//! Runs a statement's route units on backend connections in parallel and
//! hands each unit's answers to the caller as its own stream of events.
//!
//! The caller decides which connection runs which units (a connection
//! held by a transaction, or fresh ones from the pools) and passes them in
//! as [`Job`]s; every job runs on its own task, so units on different
//! connections overlap. A job with several units runs them one after the
//! other on its connection, ShardingSphere's "connection strictly" mode:
//! a sorted merge reads the first row of every unit before the second row
//! of any, so the job must run ahead of the merge, or it would wait on a
//! unit the merge is not reading yet. Those units' events wait in
//! [`spill_queue`](crate::spill_queue)s that share one memory budget per
//! statement and spill rows to a temporary file beyond it. A job with one
//! unit streams through a bounded channel instead, so a large result
//! never sits in proxy memory ("memory strictly").
//!
//! Rows stay raw ([`DataRow`](shardwire_protocol::pg::DataRow), MySQL
//! text and binary rows); only the merge decides whether to look inside
//! them.
//!
//! Both protocols share this code through [`UnitConnection`]: a pooled
//! connection that runs one request and hands over its answers one event at
//! a time. The PostgreSQL types are the defaults of the generic parameters,
//! so PostgreSQL callers name `Job`, `Dispatch` and `UnitEvents` bare.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::{BackendError, Result};
use crate::pg::{CancelToken, Formats, Query, QueryEvent};
use crate::pool::PooledConnection;
use crate::spill_queue::{spill_queue, Budget, Spill, SpillReceiver, SpillSender};

/// A connection the executor can run units on.
pub trait UnitConnection: Send + 'static {
    /// What one unit runs.
    type Request: Send + Sync + 'static;
    /// One answer of a running unit.
    type Event: Spill + Send + 'static;
    /// What interrupts the connection's running statement from elsewhere.
    type CancelToken: Send + 'static;

    fn cancel_token(&self) -> Option<Self::CancelToken>;

    /// Runs `request` and hands each answer to `sink`, stopping at the
    /// first error (handed over too) or when the sink's reader is gone.
    fn run_unit(
        &mut self,
        request: &Self::Request,
        sink: &EventSink<Self::Event>,
    ) -> impl Future<Output = ()> + Send;
}

impl UnitConnection for PooledConnection {
    type Request = Request;
    type Event = QueryEvent;
    type CancelToken = CancelToken;

    fn cancel_token(&self) -> Option<CancelToken> {
        crate::pg::PgConnection::cancel_token(self)
    }

    async fn run_unit(&mut self, request: &Request, sink: &EventSink<QueryEvent>) {
        let mut query = match request.start(self).await {
            Ok(q) => q,
            Err(e) => {
                sink.send(Err(e)).await;
                return;
            }
        };
        loop {
            match query.next_event().await {
                Ok(Some(event)) => {
                    if !sink.send(Ok(event)).await {
                        // The reader is gone (the client left, or the merge
                        // needed no more rows): stop reading; the
                        // connection knows it has answers in flight.
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    sink.send(Err(e)).await;
                    return;
                }
            }
        }
    }
}

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
                conn.query_cached(
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
pub struct Job<C: UnitConnection = PooledConnection> {
    pub conn: C,
    pub units: Vec<(usize, C::Request)>,
}

/// The answers of one unit, in wire order. Ends after the unit's
/// completion or its first error.
#[derive(Debug)]
pub struct UnitEvents<E = QueryEvent> {
    rx: Receiver<E>,
}

#[derive(Debug)]
enum Receiver<E> {
    Bounded(mpsc::Receiver<Result<E>>),
    Spilling(SpillReceiver<E>),
}

/// Where a running unit puts its answers.
#[derive(Debug)]
pub struct EventSink<E> {
    tx: Sender<E>,
}

#[derive(Debug)]
enum Sender<E> {
    Bounded(mpsc::Sender<Result<E>>),
    Spilling(SpillSender<E>),
}

impl<E: Spill + Send> EventSink<E> {
    /// False once the reader is gone: nobody wants the rest.
    pub async fn send(&self, item: Result<E>) -> bool {
        match &self.tx {
            Sender::Bounded(tx) => tx.send(item).await.is_ok(),
            Sender::Spilling(tx) => tx.send(item),
        }
    }
}

impl<E: Spill + Send + 'static> UnitEvents<E> {
    /// The next event; `None` when the unit is complete.
    pub async fn next(&mut self) -> Option<Result<E>> {
        match &mut self.rx {
            Receiver::Bounded(rx) => rx.recv().await,
            Receiver::Spilling(rx) => rx.recv().await,
        }
    }

    /// The events as a `futures::Stream`.
    pub fn into_stream(self) -> impl futures::Stream<Item = Result<E>> + Send {
        futures::stream::unfold(self, |mut events| async move {
            events.next().await.map(|item| (item, events))
        })
    }
}

/// Running jobs: the units' event streams, and the connections, which come
/// back from [`Dispatch::finish`] once every job is done.
#[derive(Debug)]
pub struct Dispatch<C: UnitConnection = PooledConnection> {
    /// Indexed like the statement's units.
    pub units: Vec<UnitEvents<C::Event>>,
    /// Cancel tokens of the connections in use, for a client's CancelRequest.
    pub cancel_tokens: Vec<C::CancelToken>,
    tasks: Vec<JoinHandle<C>>,
}

impl<C: UnitConnection> Dispatch<C> {
    /// Waits for every job and returns their connections. A job whose
    /// reader went away early leaves its connection with answers in flight;
    /// the pool discards such a connection when it comes back.
    pub async fn finish(self) -> Result<Vec<C>> {
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
/// of units; every index below it must appear in exactly one job. Units
/// that wait their turn on a shared connection hold at most
/// [`DEFAULT_MEMORY_BUDGET`](crate::spill_queue::DEFAULT_MEMORY_BUDGET)
/// bytes in memory between them.
pub fn dispatch<C: UnitConnection>(jobs: Vec<Job<C>>, unit_count: usize) -> Result<Dispatch<C>> {
    dispatch_within(
        jobs,
        unit_count,
        Budget::new(crate::spill_queue::DEFAULT_MEMORY_BUDGET),
    )
}

/// [`dispatch`] with the memory of waiting units counted against `budget`.
pub fn dispatch_within<C: UnitConnection>(
    jobs: Vec<Job<C>>,
    unit_count: usize,
    budget: Arc<Budget>,
) -> Result<Dispatch<C>> {
    let mut receivers: Vec<Option<UnitEvents<C::Event>>> = (0..unit_count).map(|_| None).collect();
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
                let (tx, rx) = spill_queue(Arc::clone(&budget));
                (Sender::Spilling(tx), Receiver::Spilling(rx))
            };
            if slot.replace(UnitEvents { rx }).is_some() {
                return Err(BackendError::Internal("two jobs run the same unit"));
            }
            senders.push(EventSink { tx });
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

async fn run_job<C: UnitConnection>(job: Job<C>, sinks: Vec<EventSink<C::Event>>) -> C {
    let Job { mut conn, units } = job;
    for ((_, request), sink) in units.iter().zip(sinks) {
        conn.run_unit(request, &sink).await;
    }
    conn
}
