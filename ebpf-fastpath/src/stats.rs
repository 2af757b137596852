//! Counters for metrics: sessions by path, and bytes each way.
//!
//! User-space sessions add their bytes as they copy them. Kernel sessions'
//! bytes are counted by the verdict program in the `sw_pair_bytes` map and
//! folded into the totals here when the pair is torn down, so a reading adds
//! the live map on top (see `FastPath::stats`).
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) kernel_active: AtomicU64,
    pub(crate) user_space_active: AtomicU64,
    pub(crate) sessions_total: AtomicU64,
    /// Sessions meant for the kernel that were copied in user space because
    /// setting up the pair failed (map full, socket state).
    pub(crate) kernel_setup_failures: AtomicU64,
    /// Kernel sessions moved to user space because a side fell behind.
    pub(crate) demoted: AtomicU64,
    pub(crate) client_to_backend: AtomicU64,
    pub(crate) backend_to_client: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn sub(counter: &AtomicU64, n: u64) {
        counter.fetch_sub(n, Ordering::Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A reading of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Sessions spliced in the kernel right now.
    pub kernel_active: u64,
    /// Sessions copied in user space right now.
    pub user_space_active: u64,
    /// Sessions started since start-up, both paths.
    pub sessions_total: u64,
    /// Sessions that fell back to user space because the kernel set-up failed.
    pub kernel_setup_failures: u64,
    /// Kernel sessions moved to user space because one side read slower than
    /// the other sent (see `FastPathConfig::max_in_flight`).
    pub demoted: u64,
    /// Bytes forwarded client -> backend since start-up, live sessions included.
    pub client_to_backend: u64,
    /// Bytes forwarded backend -> client since start-up, live sessions included.
    pub backend_to_client: u64,
}

/// Bytes of one live kernel pair, read from the `sw_pair_bytes` map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairBytes {
    /// The client socket's cookie, which names the pair.
    pub client_cookie: u64,
    pub backend_cookie: u64,
    pub client_to_backend: u64,
    pub backend_to_client: u64,
}

/// How many entries each BPF map holds: all zero when no session is spliced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MapEntries {
    pub intercept: usize,
    pub targets: usize,
    pub peers: usize,
    pub pair_bytes: usize,
    /// Pairs in the crate's own bookkeeping.
    pub pairs: usize,
}
