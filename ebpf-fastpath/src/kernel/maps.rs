//! The BPF maps of one loaded fast path and the crate's own list of pairs,
//! changed together under one lock so they never disagree.
//!
//! Set-up order (see bpf/splice.bpf.c for why two socket hashes): both
//! sockets into `sw_targets`, byte counters and peer entries, then both into
//! `sw_intercept`. Tear-down runs it backwards, and stops interception before
//! dropping the peers, so no byte is ever passed to a socket's user-space
//! queue while it is spliced.
use std::collections::HashMap as StdHashMap;
use std::os::fd::{AsRawFd, BorrowedFd};

use aya::maps::{HashMap, MapData, MapError, SockHash};

use crate::stats::{MapEntries, PairBytes};
use crate::FastPathError;

const DIR_CLIENT: u64 = 0;
const DIR_BACKEND: u64 = 1;
/// Flags of a peer entry, as in bpf/splice.bpf.c.
const FLAG_FAREWELL: u64 = 1;
const FLAG_HELD: u64 = 2;

/// A peer entry: [peer cookie, pair id, direction, farewell, flags].
pub(crate) type Peer = [u64; 5];

/// The client's goodbye as the verdict compares it: its five bytes in
/// memory order in a u64.
fn farewell_word(bytes: [u8; 5]) -> u64 {
    let [a, b, c, d, e] = bytes;
    u64::from_ne_bytes([a, b, c, d, e, 0, 0, 0])
}

pub(crate) struct Maps {
    intercept: SockHash<MapData, u64>,
    targets: SockHash<MapData, u64>,
    peers: HashMap<MapData, u64, Peer>,
    pair_bytes: HashMap<MapData, u64, [u64; 2]>,
    /// client cookie -> backend cookie, for every pair set up and not yet
    /// torn down.
    pairs: StdHashMap<u64, u64>,
}

impl std::fmt::Debug for Maps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // aya's SockHash has no Debug; the pair list is what matters.
        f.debug_struct("Maps")
            .field("pairs", &self.pairs)
            .finish_non_exhaustive()
    }
}

/// The cookies of a spliced pair.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PairKey {
    pub(crate) client: u64,
    pub(crate) backend: u64,
}

impl Maps {
    pub(crate) fn new(
        intercept: SockHash<MapData, u64>,
        targets: SockHash<MapData, u64>,
        peers: HashMap<MapData, u64, Peer>,
        pair_bytes: HashMap<MapData, u64, [u64; 2]>,
    ) -> Self {
        Self {
            intercept,
            targets,
            peers,
            pair_bytes,
            pairs: StdHashMap::new(),
        }
    }

    /// Puts a pair in the maps; on failure removes whatever was added.
    pub(crate) fn add_pair(
        &mut self,
        key: PairKey,
        client: BorrowedFd<'_>,
        backend: BorrowedFd<'_>,
        farewell: Option<[u8; 5]>,
    ) -> Result<(), FastPathError> {
        if key.client == key.backend || self.pairs.contains_key(&key.client) {
            return Err(FastPathError::Internal(format!(
                "socket cookie {} is already spliced",
                key.client
            )));
        }
        let result = self.try_add(key, client, backend, farewell);
        if result.is_err() {
            self.remove_entries(key);
        } else {
            self.pairs.insert(key.client, key.backend);
        }
        result
    }

    fn try_add(
        &mut self,
        key: PairKey,
        client: BorrowedFd<'_>,
        backend: BorrowedFd<'_>,
        farewell: Option<[u8; 5]>,
    ) -> Result<(), FastPathError> {
        let (c, b) = (key.client, key.backend);
        self.targets
            .insert(c, client.as_raw_fd(), 0)
            .map_err(FastPathError::map("adding the client to sw_targets"))?;
        self.targets
            .insert(b, backend.as_raw_fd(), 0)
            .map_err(FastPathError::map("adding the backend to sw_targets"))?;
        let (word, flags) = farewell.map_or((0, 0), |f| (farewell_word(f), FLAG_FAREWELL));
        self.pair_bytes
            .insert(c, [0, 0], 0)
            .map_err(FastPathError::map("adding the pair's byte counters"))?;
        self.peers
            .insert(c, [b, c, DIR_CLIENT, word, flags], 0)
            .map_err(FastPathError::map("adding the client's peer entry"))?;
        self.peers
            .insert(b, [c, c, DIR_BACKEND, 0, 0], 0)
            .map_err(FastPathError::map("adding the backend's peer entry"))?;
        self.intercept
            .insert(c, client.as_raw_fd(), 0)
            .map_err(FastPathError::map("adding the client to sw_intercept"))?;
        self.intercept
            .insert(b, backend.as_raw_fd(), 0)
            .map_err(FastPathError::map("adding the backend to sw_intercept"))?;
        Ok(())
    }

    /// Bytes the verdict program forwarded for a live pair so far.
    pub(crate) fn bytes(&self, key: PairKey) -> [u64; 2] {
        self.pair_bytes.get(&key.client, 0).unwrap_or([0, 0])
    }

    /// Whether the verdict held the client's farewell back, and with it
    /// every client byte since (they wait in the client socket's queue).
    pub(crate) fn held(&self, key: PairKey) -> bool {
        self.peers
            .get(&key.client, 0)
            .is_ok_and(|p| p[4] & FLAG_HELD != 0)
    }

    /// Stops running the programs on both sockets: new bytes stay in their
    /// receive queues. They stay redirect targets, keeping what the kernel
    /// queued for them.
    pub(crate) fn stop_intercept(&mut self, key: PairKey) {
        best_effort(self.intercept.remove(&key.client));
        best_effort(self.intercept.remove(&key.backend));
    }

    /// Takes a pair out of every map; returns its final byte counts.
    pub(crate) fn remove_pair(&mut self, key: PairKey) -> [u64; 2] {
        let bytes = self.bytes(key);
        self.remove_entries(key);
        self.pairs.remove(&key.client);
        bytes
    }

    fn remove_entries(&mut self, key: PairKey) {
        let (c, b) = (key.client, key.backend);
        // A missing key is expected here (partial set-up, or the kernel
        // already dropped a closed socket); other failures cannot be acted
        // on during tear-down, and `entries()` exposes any leftovers.
        best_effort(self.intercept.remove(&c));
        best_effort(self.intercept.remove(&b));
        best_effort(self.peers.remove(&c));
        best_effort(self.peers.remove(&b));
        best_effort(self.targets.remove(&c));
        best_effort(self.targets.remove(&b));
        best_effort(self.pair_bytes.remove(&c));
    }

    pub(crate) fn live_pairs(&self) -> Vec<PairBytes> {
        self.pairs
            .iter()
            .map(|(&client, &backend)| {
                let [to_backend, to_client] = self.bytes(PairKey { client, backend });
                PairBytes {
                    client_cookie: client,
                    backend_cookie: backend,
                    client_to_backend: to_backend,
                    backend_to_client: to_client,
                }
            })
            .collect()
    }

    /// Counts entries by walking each map's keys in the kernel.
    pub(crate) fn entries(&self) -> MapEntries {
        MapEntries {
            intercept: self.intercept.keys().count(),
            targets: self.targets.keys().count(),
            peers: self.peers.keys().count(),
            pair_bytes: self.pair_bytes.keys().count(),
            pairs: self.pairs.len(),
        }
    }
}

fn best_effort(result: Result<(), MapError>) {
    let _ = result;
}
