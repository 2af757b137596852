//! Cancel requests: each session gets a (pid, secret) key at login; a
//! CancelRequest carrying that key, on a new connection, cancels whatever
//! backend queries the session is running at that moment.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use shardwire_backend::pg::CancelToken;

type Running = Arc<Mutex<Vec<CancelToken>>>;

#[derive(Debug, Default)]
pub struct CancelRegistry {
    next_pid: AtomicI32,
    sessions: Mutex<HashMap<i32, (i32, Running)>>,
}

/// A session's entry; dropping it unregisters the session.
#[derive(Debug)]
pub struct CancelHandle {
    pub pid: i32,
    pub secret: i32,
    running: Running,
    registry: Arc<CancelRegistry>,
}

impl CancelRegistry {
    /// Registers a new session under a fresh pid and a random secret.
    pub fn register(self: &Arc<Self>) -> CancelHandle {
        // Positive pids only: some drivers print them, none expect negatives.
        let pid = self
            .next_pid
            .fetch_add(1, Ordering::Relaxed)
            .rem_euclid(i32::MAX - 1)
            + 1;
        let mut secret = [0u8; 4];
        // Without entropy the secret is guessable; a zero secret still works
        // but only protects as much as the pid does.
        let _ = getrandom::fill(&mut secret);
        let secret = i32::from_be_bytes(secret);
        let running = Running::default();
        self.lock().insert(pid, (secret, Arc::clone(&running)));
        CancelHandle {
            pid,
            secret,
            running,
            registry: Arc::clone(self),
        }
    }

    /// Cancels the backend queries of the session with this key. A wrong
    /// key does nothing, silently, as PostgreSQL does.
    pub async fn cancel(&self, pid: i32, secret: i32) {
        let tokens = match self.lock().get(&pid) {
            Some((s, running)) if *s == secret => running
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            _ => {
                tracing::info!(pid, "cancel request with an unknown key ignored");
                return;
            }
        };
        tracing::info!(pid, queries = tokens.len(), "cancel request");
        for token in tokens {
            if let Err(e) = token.cancel().await {
                tracing::warn!(pid, "forwarding a cancel request failed: {e}");
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, (i32, Running)>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl CancelHandle {
    /// The backend queries now running for this session.
    pub fn set_running(&self, tokens: Vec<CancelToken>) {
        *self.running.lock().unwrap_or_else(PoisonError::into_inner) = tokens;
    }
}

impl Drop for CancelHandle {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.pid);
    }
}
