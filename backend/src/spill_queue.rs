//! The answers of a unit that waits its turn on a shared connection, held
//! in memory up to a budget the statement's queues share, and in an
//! unnamed temporary file beyond it.
//!
//! When several units run one after the other on one connection (a
//! transaction, `max-connections-size-per-query: 1`, pool pressure), a
//! sorted merge reads the first row of every unit before the second of
//! any, so the job must run ahead of its reader: the first unit's whole
//! answer waits here while the merge looks at the second's first row. The
//! database would answer such a query whatever its size, so beyond the
//! budget the rows go to disk rather than to an error, and a slow reader
//! never grows the proxy's memory past the budget.
//!
//! Only rows (and COPY data) spill: they are what a result is made of.
//! The few other events (descriptions, completions, notices) stay in the
//! queue in memory, in order between the spilled runs.

use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Buf, Bytes, BytesMut};
use tokio::sync::Notify;

use crate::error::{BackendError, Result};

/// Default bytes of unread answers one statement holds in memory across
/// its units before they spill.
pub const DEFAULT_MEMORY_BUDGET: usize = 64 * 1024 * 1024;

/// How far events that cannot spill may take memory past the budget.
pub const OVER_BUDGET: usize = 1024 * 1024;

/// Spilled records are written to the file in chunks of about this size,
/// and read back in chunks of it.
const FILE_CHUNK: usize = 64 * 1024;

/// A spilled record's header: kind (1), aux (4), length (4).
const HEADER: usize = 9;

/// An event that can be written to disk and read back.
pub trait Spill: Sized {
    /// The event as a record to write, or `None` when it stays in memory.
    fn record(&self) -> Option<Record<'_>>;
    /// The event a record stood for.
    fn from_record(kind: u8, aux: u32, bytes: Bytes) -> Result<Self>;
    /// About how many bytes the event holds while in memory.
    fn weight(&self) -> usize;
}

/// What a spilled event is on disk: a kind and a small number of the
/// event type's choosing (e.g. a row's column count) around the raw bytes.
#[derive(Debug)]
pub struct Record<'a> {
    pub kind: u8,
    pub aux: u32,
    pub bytes: &'a [u8],
}

/// The memory the queues of one statement share.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    used: AtomicUsize,
    spilled: AtomicU64,
}

impl Budget {
    pub fn new(limit: usize) -> Arc<Budget> {
        Arc::new(Budget {
            limit,
            used: AtomicUsize::new(0),
            spilled: AtomicU64::new(0),
        })
    }

    /// Bytes held in memory right now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Bytes written to spill files so far.
    pub fn spilled(&self) -> u64 {
        self.spilled.load(Ordering::Relaxed)
    }

    /// Takes `weight` bytes if they fit.
    fn take(&self, weight: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used + weight <= self.limit).then_some(used + weight)
            })
            .is_ok()
    }

    /// Takes `weight` bytes past the limit, up to [`OVER_BUDGET`] more.
    fn force(&self, weight: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used + weight <= self.limit + OVER_BUDGET).then_some(used + weight)
            })
            .is_ok()
    }

    fn give_back(&self, weight: usize) {
        self.used.fetch_sub(weight, Ordering::AcqRel);
    }
}

enum Entry<E> {
    /// In memory, with the weight it took of the budget.
    Event(Result<E>, usize),
    /// This many records, next in the file.
    Spilled(usize),
}

struct SpillFile {
    file: File,
    /// Bytes written to the file.
    written: u64,
    /// Records not yet written (at most about [`FILE_CHUNK`]).
    pending: Vec<u8>,
    /// Where the next chunk is read from.
    read_at: u64,
    /// Read from the file, not yet handed out.
    readbuf: BytesMut,
}

impl SpillFile {
    fn create() -> std::io::Result<SpillFile> {
        Ok(SpillFile {
            file: tempfile::tempfile()?,
            written: 0,
            pending: Vec::new(),
            read_at: 0,
            readbuf: BytesMut::new(),
        })
    }

    fn write(&mut self, record: &Record<'_>) -> std::io::Result<()> {
        let len = u32::try_from(record.bytes.len())
            .map_err(|_| std::io::Error::other("a spilled event over 4 GiB"))?;
        self.pending.push(record.kind);
        self.pending.extend_from_slice(&record.aux.to_be_bytes());
        self.pending.extend_from_slice(&len.to_be_bytes());
        self.pending.extend_from_slice(record.bytes);
        if self.pending.len() >= FILE_CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    // Plain blocking file calls: the file is unnamed and fresh, so they
    // land in the page cache, and they happen only on the spill path.
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.write_all_at(&self.pending, self.written)?;
        self.written += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// The next record, in the order written.
    fn read(&mut self) -> std::io::Result<(u8, u32, Bytes)> {
        let header = self.fill(HEADER)?;
        let kind = header[0];
        let aux = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        let len = u32::from_be_bytes([header[5], header[6], header[7], header[8]]) as usize;
        let body = self.fill(HEADER + len)?;
        let mut record = body.split_to(HEADER + len).freeze();
        record.advance(HEADER);
        Ok((kind, aux, record))
    }

    /// Makes `readbuf` hold at least `n` bytes and lends it.
    fn fill(&mut self, n: usize) -> std::io::Result<&mut BytesMut> {
        while self.readbuf.len() < n {
            if self.read_at >= self.written {
                // The record is still in the write buffer.
                self.flush()?;
            }
            let want = (n - self.readbuf.len()).max(FILE_CHUNK);
            let available = (self.written - self.read_at) as usize;
            let take = want.min(available);
            if take == 0 {
                return Err(std::io::Error::other("the spill file ended early"));
            }
            let start = self.readbuf.len();
            self.readbuf.resize(start + take, 0);
            self.file
                .read_exact_at(&mut self.readbuf[start..], self.read_at)?;
            self.read_at += take as u64;
        }
        Ok(&mut self.readbuf)
    }
}

struct State<E> {
    entries: VecDeque<Entry<E>>,
    file: Option<SpillFile>,
    /// The memory this queue holds of the budget.
    held: usize,
    sender_done: bool,
    receiver_gone: bool,
}

struct Shared<E> {
    state: Mutex<State<E>>,
    ready: Notify,
    budget: Arc<Budget>,
}

impl<E> Shared<E> {
    fn lock(&self) -> MutexGuard<'_, State<E>> {
        // A panic while holding the lock leaves plain data behind.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The writing end; the reader sees the end of the unit when it is dropped.
pub struct SpillSender<E> {
    shared: Arc<Shared<E>>,
}

/// The reading end.
pub struct SpillReceiver<E> {
    shared: Arc<Shared<E>>,
}

impl<E> std::fmt::Debug for SpillSender<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpillSender")
    }
}

impl<E> std::fmt::Debug for SpillReceiver<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpillReceiver")
    }
}

/// A queue whose memory counts against `budget`.
pub fn spill_queue<E: Spill>(budget: Arc<Budget>) -> (SpillSender<E>, SpillReceiver<E>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            entries: VecDeque::new(),
            file: None,
            held: 0,
            sender_done: false,
            receiver_gone: false,
        }),
        ready: Notify::new(),
        budget,
    });
    (
        SpillSender {
            shared: Arc::clone(&shared),
        },
        SpillReceiver { shared },
    )
}

impl<E: Spill> SpillSender<E> {
    /// Queues `item`; false once the reader is gone. A failure to spill
    /// is queued as the unit's error, and ends it.
    pub fn send(&self, item: Result<E>) -> bool {
        let mut state = self.shared.lock();
        if state.receiver_gone {
            return false;
        }
        let budget = &self.shared.budget;
        // How much of the budget the item takes in memory; `None` when it
        // went to the file instead.
        let kept = match &item {
            Ok(event) => {
                let weight = event.weight();
                if budget.take(weight) {
                    Some(Ok(weight))
                } else {
                    match event.record() {
                        Some(record) => match spill(&mut state, budget, &record) {
                            Ok(()) => None,
                            Err(e) => Some(Err(e)),
                        },
                        // Not a row (a description, a completion, a
                        // notice): small and few, so it stays in memory
                        // past the budget, up to a margin that only a flood
                        // of notices reaches.
                        None if budget.force(weight) => Some(Ok(weight)),
                        None => Some(Err(std::io::Error::other(format!(
                            "more than {OVER_BUDGET} bytes of notices and descriptions \
                             past the memory budget of {} bytes",
                            budget.limit
                        )))),
                    }
                }
            }
            Err(_) => Some(Ok(0)),
        };
        let ok = match kept {
            None => true,
            Some(Ok(weight)) => {
                state.held += weight;
                state.entries.push_back(Entry::Event(item, weight));
                true
            }
            Some(Err(e)) => {
                state.entries.push_back(Entry::Event(
                    Err(BackendError::Io(std::io::Error::other(format!(
                        "cannot hold the answers of a unit waiting its turn: {e}"
                    )))),
                    0,
                ));
                false
            }
        };
        drop(state);
        self.shared.ready.notify_one();
        ok
    }
}

fn spill<E>(state: &mut State<E>, budget: &Budget, record: &Record<'_>) -> std::io::Result<()> {
    let file = match &mut state.file {
        Some(file) => file,
        None => state.file.insert(SpillFile::create()?),
    };
    file.write(record)?;
    budget
        .spilled
        .fetch_add((HEADER + record.bytes.len()) as u64, Ordering::Relaxed);
    match state.entries.back_mut() {
        Some(Entry::Spilled(n)) => *n += 1,
        _ => state.entries.push_back(Entry::Spilled(1)),
    }
    Ok(())
}

impl<E> Drop for SpillSender<E> {
    fn drop(&mut self) {
        self.shared.lock().sender_done = true;
        self.shared.ready.notify_one();
    }
}

impl<E: Spill> SpillReceiver<E> {
    /// The next event; `None` once the sender is gone and all is read.
    pub async fn recv(&mut self) -> Option<Result<E>> {
        loop {
            // Registered before looking, so a send in between is not lost
            // (notify_one keeps a permit for a waiter still to come).
            let ready = self.shared.ready.notified();
            if let Some(item) = self.try_next() {
                return item;
            }
            ready.await;
        }
    }

    /// `Some(None)` at the end, `None` when nothing is there yet.
    fn try_next(&self) -> Option<Option<Result<E>>> {
        let mut guard = self.shared.lock();
        let state = &mut *guard;
        let done = state.sender_done;
        match state.entries.front_mut() {
            None if done => Some(None),
            None => None,
            Some(Entry::Spilled(n)) => {
                *n -= 1;
                if *n == 0 {
                    state.entries.pop_front();
                }
                let read = match &mut state.file {
                    Some(file) => file.read(),
                    None => Err(std::io::Error::other("spilled rows without a file")),
                };
                Some(Some(match read {
                    Ok((kind, aux, bytes)) => E::from_record(kind, aux, bytes),
                    Err(e) => Err(BackendError::Io(std::io::Error::other(format!(
                        "cannot read a unit's rows back from a temporary file: {e}"
                    )))),
                }))
            }
            Some(Entry::Event(..)) => {
                let Some(Entry::Event(item, weight)) = state.entries.pop_front() else {
                    return None;
                };
                state.held -= weight;
                self.shared.budget.give_back(weight);
                Some(Some(item))
            }
        }
    }
}

impl<E> Drop for SpillReceiver<E> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receiver_gone = true;
        state.entries.clear();
        state.file = None;
        let held = std::mem::take(&mut state.held);
        drop(state);
        self.shared.budget.give_back(held);
    }
}

#[cfg(test)]
#[path = "spill_queue_tests.rs"]
mod tests;
