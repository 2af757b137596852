//! [`FastPath`]: the one object the frontend holds.
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::config::FastPathConfig;
use crate::detect::{self, Findings};
use crate::kernel::{self, KernelPath};
use crate::session::{EndKind, Path, Side, SpliceOutcome, SplicePair};
use crate::stats::{Counters, MapEntries, PairBytes, Stats};
use crate::userspace;

/// Which path sessions take, decided once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Spliced by the sk_skb programs.
    Kernel,
    /// Copied by tokio; `reason` says why the kernel path is off.
    UserSpace { reason: String },
}

/// The fast path of one process: the loaded BPF programs and maps (when the
/// kernel path is on) and the counters. Create one at start-up and share it
/// (`Arc<FastPath>`); every session calls [`FastPath::splice`].
#[derive(Debug)]
pub struct FastPath {
    kernel: Option<KernelPath>,
    mode: Mode,
    findings: Findings,
    config: FastPathConfig,
    counters: Counters,
}

impl FastPath {
    /// Detects with default options; `force_user_space` is the config switch.
    pub fn detect(force_user_space: bool) -> Self {
        Self::detect_with(FastPathConfig {
            force_user_space,
            ..FastPathConfig::default()
        })
    }

    pub fn detect_with(config: FastPathConfig) -> Self {
        let (kernel, findings) = detect::detect(&config);
        let (kernel, mode) = match kernel {
            Ok(k) => (Some(k), Mode::Kernel),
            Err(reason) => (None, Mode::UserSpace { reason }),
        };
        Self {
            kernel,
            mode,
            findings,
            config,
            counters: Counters::default(),
        }
    }

    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    /// One line for the start-up log: which path, and why.
    pub fn describe(&self) -> String {
        match &self.mode {
            Mode::Kernel => format!(
                "passthrough sessions are spliced in the kernel (eBPF sk_skb sockmap; kernel {}; {}; up to {} sessions)",
                self.findings.kernel_release, self.findings.bpffs, self.config.max_kernel_sessions
            ),
            Mode::UserSpace { reason } => format!(
                "passthrough sessions are copied in user space: kernel splice unavailable: {reason}"
            ),
        }
    }

    /// Forwards bytes between `client` and `backend` until one of them
    /// closes. The pending bytes go first; then the kernel carries the
    /// session, or tokio when the kernel path is off or the pair cannot be
    /// set up (the outcome says which and why).
    pub async fn splice(&self, pair: SplicePair) -> SpliceOutcome {
        Counters::add(&self.counters.sessions_total, 1);
        let SplicePair {
            mut client,
            mut backend,
            client_pending,
            backend_pending,
            keep_backend,
            farewell,
        } = pair;
        let intended = if self.kernel.is_some() {
            Path::Kernel
        } else {
            Path::UserSpace
        };
        if let Some(failed) = self
            .write_pending(
                &mut client,
                &client_pending,
                &mut backend,
                &backend_pending,
                intended,
            )
            .await
        {
            return failed;
        }
        let (mut to_backend, mut to_client) =
            (client_pending.len() as u64, backend_pending.len() as u64);

        let mut reason = None;
        let (client, backend) = match &self.kernel {
            Some(k) => {
                let prepared = kernel::Prepared {
                    client,
                    backend,
                    pending_to_backend: to_backend,
                    pending_to_client: to_client,
                    keep_backend,
                    farewell,
                };
                let limits = kernel::Limits {
                    drain_timeout: self.config.drain_timeout,
                    max_in_flight: self.config.max_in_flight,
                    idle_check: self.config.idle_check,
                };
                match kernel::splice(k, &self.counters, prepared, limits).await {
                    Ok(outcome) => return outcome,
                    Err((e, prepared)) => {
                        reason = Some(if kernel::either_closed(&prepared) {
                            // The kernel takes only established sockets;
                            // a session whose peer already left is not a
                            // failure of the kernel path.
                            format!("a peer closed before the kernel splice was set up ({e})")
                        } else {
                            Counters::add(&self.counters.kernel_setup_failures, 1);
                            tracing::warn!(
                                error = %e,
                                "kernel splice set-up failed; the session is copied in user space"
                            );
                            format!("kernel set-up failed: {e}")
                        });
                        // Set-up may have forwarded queued bytes by hand.
                        to_backend = prepared.pending_to_backend;
                        to_client = prepared.pending_to_client;
                        (prepared.client, prepared.backend)
                    }
                }
            }
            None => (client, backend),
        };
        let reason = reason.or_else(|| match &self.mode {
            Mode::UserSpace { reason } => Some(reason.clone()),
            Mode::Kernel => None,
        });

        let (ended, backend) =
            userspace::copy_tcp(client, backend, keep_backend, &self.counters, farewell).await;
        SpliceOutcome {
            path: Path::UserSpace,
            user_space_reason: reason,
            ended_by: ended.side,
            end: ended.end,
            client_to_backend: to_backend + ended.client_to_backend,
            backend_to_client: to_client + ended.backend_to_client,
            backend,
            farewell_held: ended.farewell_held,
        }
    }

    /// [`FastPath::splice`] for streams the kernel cannot splice (TLS on
    /// either side, or anything not a plain socket): always the user-space
    /// copy, with the same semantics.
    pub async fn splice_streams<C, B>(&self, pair: SplicePair<C, B>) -> SpliceOutcome<B>
    where
        C: AsyncRead + AsyncWrite + Unpin,
        B: AsyncRead + AsyncWrite + Unpin,
    {
        Counters::add(&self.counters.sessions_total, 1);
        let SplicePair {
            mut client,
            mut backend,
            client_pending,
            backend_pending,
            keep_backend,
            farewell,
        } = pair;
        let reason = Some("the session's streams are not plain sockets (TLS)".to_string());
        if let Some(failed) = self
            .write_pending(
                &mut client,
                &client_pending,
                &mut backend,
                &backend_pending,
                Path::UserSpace,
            )
            .await
        {
            return SpliceOutcome {
                user_space_reason: reason,
                backend: None,
                ..failed
            };
        }
        let active = userspace::Active::new(&self.counters.user_space_active);
        let (mut cr, mut cw) = tokio::io::split(client);
        let (mut br, mut bw) = tokio::io::split(backend);
        let ended =
            userspace::copy(&mut cr, &mut cw, &mut br, &mut bw, &self.counters, farewell).await;
        drop(active);
        let keep = keep_backend && ended.side == Side::Client && ended.end == EndKind::Eof;
        let backend = if keep {
            Some(br.unsplit(bw))
        } else {
            let survivor = match ended.side {
                Side::Client => bw.shutdown().await,
                Side::Backend => cw.shutdown().await,
            };
            // The survivor may already be gone too; nothing left to tell it.
            let _ = survivor;
            None
        };
        SpliceOutcome {
            path: Path::UserSpace,
            user_space_reason: reason,
            ended_by: ended.side,
            end: ended.end,
            client_to_backend: client_pending.len() as u64 + ended.client_to_backend,
            backend_to_client: backend_pending.len() as u64 + ended.backend_to_client,
            backend,
            farewell_held: ended.farewell_held,
        }
    }

    /// Writes the bytes the caller read ahead; on failure, the outcome that
    /// ends the session there (the streams are dropped, closing them).
    async fn write_pending<C, B, X>(
        &self,
        client: &mut C,
        client_pending: &Bytes,
        backend: &mut B,
        backend_pending: &Bytes,
        path: Path,
    ) -> Option<SpliceOutcome<X>>
    where
        C: AsyncWrite + Unpin,
        B: AsyncWrite + Unpin,
    {
        let failed = |side: Side, e: std::io::Error, to_backend: u64| SpliceOutcome {
            path,
            user_space_reason: None,
            ended_by: side,
            end: EndKind::Error(e.kind()),
            client_to_backend: to_backend,
            backend_to_client: 0,
            backend: None,
            farewell_held: false,
        };
        if let Err(e) = userspace::write_flush(backend, client_pending).await {
            return Some(failed(Side::Backend, e, 0));
        }
        Counters::add(
            &self.counters.client_to_backend,
            client_pending.len() as u64,
        );
        if let Err(e) = userspace::write_flush(client, backend_pending).await {
            return Some(failed(Side::Client, e, client_pending.len() as u64));
        }
        Counters::add(
            &self.counters.backend_to_client,
            backend_pending.len() as u64,
        );
        None
    }

    /// Counters for metrics; kernel pairs' live bytes are read from the map.
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        let (live_to_backend, live_to_client) =
            self.live_pairs().iter().fold((0, 0), |(b, c), p| {
                (b + p.client_to_backend, c + p.backend_to_client)
            });
        Stats {
            kernel_active: Counters::get(&c.kernel_active),
            user_space_active: Counters::get(&c.user_space_active),
            sessions_total: Counters::get(&c.sessions_total),
            kernel_setup_failures: Counters::get(&c.kernel_setup_failures),
            demoted: Counters::get(&c.demoted),
            client_to_backend: Counters::get(&c.client_to_backend) + live_to_backend,
            backend_to_client: Counters::get(&c.backend_to_client) + live_to_client,
        }
    }

    /// Per-pair bytes of the sessions spliced in the kernel right now.
    pub fn live_pairs(&self) -> Vec<PairBytes> {
        self.kernel
            .as_ref()
            .map(KernelPath::live_pairs)
            .unwrap_or_default()
    }

    /// Entries in each BPF map (None in user-space mode): for diagnostics
    /// and for tests that check nothing is left behind.
    pub fn map_entries(&self) -> Option<MapEntries> {
        self.kernel.as_ref().map(KernelPath::entries)
    }
}
