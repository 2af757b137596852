//! SNOWFLAKE: ShardingSphere's 64-bit layout, `(ms - EPOCH) << 22 |
//! worker_id << 12 | sequence`, with its epoch (2016-11-01T00:00:00Z).
//!
//! One `AtomicU64` holds `ms << 12 | sequence` of the last id; each id is a
//! compare-and-swap from the previous state:
//! - the clock is past the state's millisecond: start that millisecond at
//!   sequence `ms % (max-vibration-offset + 1)`, so ids from a quiet
//!   generator are not all even (ShardingSphere's vibration, which
//!   alternates instead);
//! - otherwise (same millisecond, the clock went backwards, or 4096 ids
//!   already this millisecond): the state plus one. A full sequence carries
//!   into the next millisecond, borrowing from the future.
//!
//! So ids are strictly increasing per generator and never repeat, whatever
//! the clock does, and no caller waits or fails: ShardingSphere sleeps out
//! a backwards step up to `max-tolerate-time-difference-milliseconds` and
//! fails beyond it; here the prop is accepted and checked but not needed.
//! The cost of a clock that jumps back by an hour is that ids run ahead of
//! it for at most that hour, still unique.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{GeneratedKey, KeyGenerator};
use crate::error::AlgorithmError;
use crate::props::Props;

const TYPE: &str = "SNOWFLAKE";

/// 2016-11-01T00:00:00Z in Unix milliseconds, ShardingSphere's epoch.
pub const EPOCH_MS: i64 = 1_477_958_400_000;

const SEQUENCE_BITS: u32 = 12;
const WORKER_ID_BITS: u32 = 10;
const SEQUENCE_MASK: u64 = (1 << SEQUENCE_BITS) - 1;
pub const MAX_WORKER_ID: u64 = (1 << WORKER_ID_BITS) - 1;
pub const MAX_VIBRATION_OFFSET: u64 = SEQUENCE_MASK;
/// The timestamp has 41 bits, so ids stay positive `i64`s until 2086.
const MAX_MS: u64 = (1 << 41) - 1;

/// Unix time in milliseconds; injected so tests can move time.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

fn system_clock() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        // Before 1970: treated like any clock behind the state.
        Err(_) => 0,
    }
}

pub struct Snowflake {
    worker_id: u64,
    max_vibration_offset: u64,
    /// `ms_since_epoch << 12 | sequence` of the last id handed out.
    state: AtomicU64,
    clock: Clock,
}

impl fmt::Debug for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snowflake")
            .field("worker_id", &self.worker_id)
            .field("max_vibration_offset", &self.max_vibration_offset)
            .field("state", &self.state.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Snowflake {
    /// A generator on the system clock, `max-vibration-offset` 1.
    pub fn new(worker_id: u64) -> Result<Self, AlgorithmError> {
        Self::with_clock(worker_id, Arc::new(system_clock))
    }

    /// A generator on the given clock (Unix milliseconds).
    pub fn with_clock(worker_id: u64, clock: Clock) -> Result<Self, AlgorithmError> {
        if worker_id > MAX_WORKER_ID {
            return Err(AlgorithmError::KeyGenerator {
                generator: TYPE.to_owned(),
                reason: format!("worker id {worker_id} is not in 0..={MAX_WORKER_ID}"),
            });
        }
        Ok(Snowflake {
            worker_id,
            max_vibration_offset: 1,
            state: AtomicU64::new(0),
            clock,
        })
    }

    pub fn with_max_vibration_offset(mut self, offset: u64) -> Result<Self, AlgorithmError> {
        if offset > MAX_VIBRATION_OFFSET {
            return Err(AlgorithmError::KeyGenerator {
                generator: TYPE.to_owned(),
                reason: format!(
                    "max vibration offset {offset} is not in 0..={MAX_VIBRATION_OFFSET}"
                ),
            });
        }
        self.max_vibration_offset = offset;
        Ok(self)
    }

    /// From `props:`: `worker-id` (0..=1023, default 0),
    /// `max-vibration-offset` (0..=4095, default 1),
    /// `max-tolerate-time-difference-milliseconds` (>= 0, default 10).
    pub fn from_props(props: &Props) -> Result<Self, AlgorithmError> {
        let ranged = |key: &str, default: i64, max: u64| -> Result<u64, AlgorithmError> {
            let v = props.get_i64(key)?.unwrap_or(default);
            u64::try_from(v)
                .ok()
                .filter(|v| *v <= max)
                .ok_or_else(|| props.bad(key, &v.to_string(), &format!("must be in 0..={max}")))
        };
        let worker_id = ranged("worker-id", 0, MAX_WORKER_ID)?;
        let vibration = ranged("max-vibration-offset", 1, MAX_VIBRATION_OFFSET)?;
        ranged(
            "max-tolerate-time-difference-milliseconds",
            10,
            i64::MAX.unsigned_abs(),
        )?;
        Self::new(worker_id)?.with_max_vibration_offset(vibration)
    }

    pub fn worker_id(&self) -> u64 {
        self.worker_id
    }

    pub fn next_id(&self) -> Result<i64, AlgorithmError> {
        // A clock before the epoch counts as the epoch: the state is ahead
        // of it, so ids keep counting up from the state.
        let now = u64::try_from((self.clock)().saturating_sub(EPOCH_MS)).unwrap_or(0);
        // Relaxed is enough: uniqueness and order come from the CAS on this
        // one location; no other memory is published with it.
        let mut current = self.state.load(Ordering::Relaxed);
        loop {
            let next = if now > current >> SEQUENCE_BITS {
                (now << SEQUENCE_BITS) | (now % (self.max_vibration_offset + 1))
            } else {
                current + 1
            };
            if next >> SEQUENCE_BITS > MAX_MS {
                return Err(AlgorithmError::KeyGenerator {
                    generator: TYPE.to_owned(),
                    reason: "the 41-bit timestamp is exhausted (year 2086)".to_owned(),
                });
            }
            match self.state.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(self.compose(next)),
                Err(actual) => current = actual,
            }
        }
    }

    fn compose(&self, state: u64) -> i64 {
        let ms = state >> SEQUENCE_BITS;
        let id = (ms << (SEQUENCE_BITS + WORKER_ID_BITS))
            | (self.worker_id << SEQUENCE_BITS)
            | (state & SEQUENCE_MASK);
        // ms <= MAX_MS keeps the id below 2^63.
        id as i64
    }
}

impl KeyGenerator for Snowflake {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn next_key(&self) -> Result<GeneratedKey, AlgorithmError> {
        self.next_id().map(GeneratedKey::Int)
    }
}

/// The parts of an id: (Unix ms, worker id, sequence).
pub fn decompose(id: i64) -> (i64, u64, u64) {
    let id = id as u64;
    let ms = (id >> (SEQUENCE_BITS + WORKER_ID_BITS)) as i64 + EPOCH_MS;
    (
        ms,
        (id >> SEQUENCE_BITS) & MAX_WORKER_ID,
        id & SEQUENCE_MASK,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::atomic::AtomicI64;
    use std::thread;

    use super::*;

    /// A clock the test moves by hand.
    fn manual(start: i64) -> (Arc<AtomicI64>, Clock) {
        let time = Arc::new(AtomicI64::new(start));
        let reader = Arc::clone(&time);
        (time, Arc::new(move || reader.load(Ordering::SeqCst)))
    }

    const T0: i64 = EPOCH_MS + 1_000_000;

    #[test]
    fn epoch_is_shardingsphere_s() {
        let epoch = chrono::DateTime::parse_from_rfc3339("2016-11-01T00:00:00Z")
            .expect("valid")
            .timestamp_millis();
        assert_eq!(EPOCH_MS, epoch);
    }

    #[test]
    fn layout_and_worker_bits() {
        let (_, clock) = manual(T0);
        let g = Snowflake::with_clock(1023, clock)
            .and_then(|g| g.with_max_vibration_offset(0))
            .expect("valid");
        let id = g.next_id().expect("id");
        assert_eq!(id, (1_000_000 << 22) | (1023 << 12));
        assert_eq!(decompose(id), (T0, 1023, 0));
        assert_eq!(decompose(g.next_id().expect("id")), (T0, 1023, 1));

        let (_, clock) = manual(T0);
        let g5 = Snowflake::with_clock(5, clock)
            .and_then(|g| g.with_max_vibration_offset(0))
            .expect("valid");
        let id5 = g5.next_id().expect("id");
        assert_eq!((id5 >> 12) & 0x3FF, 5);
        assert_eq!(id5 & 0xFFF, 0);
        assert_eq!(id5 >> 22, 1_000_000);
    }

    #[test]
    fn vibration_spreads_sequence_starts() {
        let (time, clock) = manual(T0);
        let g = Snowflake::with_clock(0, clock).expect("valid");
        // Default offset 1: a new millisecond starts at ms % 2.
        assert_eq!(decompose(g.next_id().expect("id")).2, 0);
        time.store(T0 + 1, Ordering::SeqCst);
        assert_eq!(decompose(g.next_id().expect("id")).2, 1);
        time.store(T0 + 2, Ordering::SeqCst);
        assert_eq!(decompose(g.next_id().expect("id")).2, 0);

        let (time, clock) = manual(T0);
        let g = Snowflake::with_clock(0, clock)
            .and_then(|g| g.with_max_vibration_offset(9))
            .expect("valid");
        time.store(T0 + 7, Ordering::SeqCst);
        // (1_000_000 + 7) % 10
        assert_eq!(decompose(g.next_id().expect("id")).2, 7);
    }

    #[test]
    fn full_sequence_borrows_the_next_millisecond() {
        let (time, clock) = manual(T0);
        let g = Snowflake::with_clock(3, clock)
            .and_then(|g| g.with_max_vibration_offset(0))
            .expect("valid");
        let ids: Vec<i64> = (0..4097).map(|_| g.next_id().expect("id")).collect();
        assert_eq!(decompose(ids[4095]), (T0, 3, 4095));
        assert_eq!(decompose(ids[4096]), (T0 + 1, 3, 0));
        // The real clock reaching the borrowed millisecond continues after it.
        time.store(T0 + 1, Ordering::SeqCst);
        assert_eq!(decompose(g.next_id().expect("id")), (T0 + 1, 3, 1));
        time.store(T0 + 2, Ordering::SeqCst);
        assert_eq!(decompose(g.next_id().expect("id")), (T0 + 2, 3, 0));
    }

    #[test]
    fn clock_going_backwards_keeps_ids_unique_and_increasing() {
        let (time, clock) = manual(T0);
        let g = Snowflake::with_clock(7, clock)
            .and_then(|g| g.with_max_vibration_offset(0))
            .expect("valid");
        let mut ids = Vec::new();
        for step in 0..100 {
            time.store(T0 + step, Ordering::SeqCst);
            ids.push(g.next_id().expect("id"));
        }
        let before = *ids.last().expect("ids");
        assert_eq!(decompose(before), (T0 + 99, 7, 0));
        // Five seconds back: ids carry on from the state.
        time.store(T0 + 99 - 5_000, Ordering::SeqCst);
        let after = g.next_id().expect("id");
        assert_eq!(after, before + 1);
        assert_eq!(decompose(after), (T0 + 99, 7, 1));
        for _ in 0..10_000 {
            ids.push(g.next_id().expect("id"));
        }
        // 10_000 more ids in the same frozen past millisecond borrow 2
        // milliseconds ahead: state T0+99 seq 1 plus 10_000.
        let last = *ids.last().expect("ids");
        assert_eq!(decompose(last), (T0 + 99 + 2, 7, 1 + 10_000 - 2 * 4096));
        // Back to a time ahead of the state: a fresh millisecond.
        time.store(T0 + 200, Ordering::SeqCst);
        ids.push(g.next_id().expect("id"));
        assert_eq!(decompose(*ids.last().expect("ids")), (T0 + 200, 7, 0));
        // And back again, by a minute.
        time.store(T0 - 60_000, Ordering::SeqCst);
        ids.push(g.next_id().expect("id"));
        assert_eq!(decompose(*ids.last().expect("ids")), (T0 + 200, 7, 1));

        ids.insert(100, after);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
        let unique: HashSet<i64> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len());
    }

    #[test]
    fn clock_before_the_epoch_still_counts_up() {
        let (_, clock) = manual(0);
        let g = Snowflake::with_clock(0, clock).expect("valid");
        assert_eq!(g.next_id(), Ok(1));
        assert_eq!(g.next_id(), Ok(2));
    }

    #[test]
    fn four_threads_a_million_ids_no_duplicates() {
        const THREADS: usize = 4;
        const PER_THREAD: usize = 250_000;
        let g = Arc::new(Snowflake::new(42).expect("valid"));
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let g = Arc::clone(&g);
                thread::spawn(move || {
                    let mut ids = Vec::with_capacity(PER_THREAD);
                    for _ in 0..PER_THREAD {
                        ids.push(g.next_id().expect("id"));
                    }
                    ids
                })
            })
            .collect();
        let mut all = HashSet::with_capacity(THREADS * PER_THREAD);
        for handle in handles {
            let ids = handle.join().expect("thread");
            assert!(
                ids.windows(2).all(|w| w[0] < w[1]),
                "strictly increasing within a thread"
            );
            assert!(ids.iter().all(|id| (id >> 12) & 0x3FF == 42));
            all.extend(ids);
        }
        assert_eq!(all.len(), THREADS * PER_THREAD);
    }

    #[test]
    fn props_are_checked() {
        let g = Snowflake::from_props(&Props::new(TYPE).with("worker-id", 1023)).expect("valid");
        assert_eq!(g.worker_id(), 1023);
        assert_eq!(g.max_vibration_offset, 1);
        let defaults = Snowflake::from_props(&Props::new(TYPE)).expect("valid");
        assert_eq!(defaults.worker_id(), 0);
        let bad = |key: &str, value: &str, reason: &str| {
            assert_eq!(
                Snowflake::from_props(&Props::new(TYPE).with(key, value)).unwrap_err(),
                AlgorithmError::BadProp {
                    algorithm: TYPE.into(),
                    prop: key.into(),
                    value: value.into(),
                    reason: reason.into(),
                },
                "{key}={value}"
            );
        };
        bad("worker-id", "1024", "must be in 0..=1023");
        bad("worker-id", "-1", "must be in 0..=1023");
        bad("worker-id", "one", "expected an integer");
        bad("max-vibration-offset", "4096", "must be in 0..=4095");
        bad(
            "max-tolerate-time-difference-milliseconds",
            "-5",
            "must be in 0..=9223372036854775807",
        );
        assert_eq!(
            Snowflake::new(1024).unwrap_err(),
            AlgorithmError::KeyGenerator {
                generator: TYPE.into(),
                reason: "worker id 1024 is not in 0..=1023".into(),
            }
        );
    }

    #[test]
    fn ids_from_the_system_clock_are_current() {
        let g = Snowflake::new(0).expect("valid");
        let before = system_clock();
        let id = g.next_id().expect("id");
        let after = system_clock();
        let (ms, _, _) = decompose(id);
        assert!(before <= ms && ms <= after, "{before} <= {ms} <= {after}");
        assert_eq!(
            g.next_key().map(|k| matches!(k, GeneratedKey::Int(_))),
            Ok(true)
        );
    }
}
