//! The sk_skb sockmap programs that splice a passthrough session's client
//! socket to its backend socket in the kernel, their loader, and the
//! user-space fallback with the same API.
//!
//! The frontend authenticates a session in user space, then hands both
//! sockets to [`FastPath::splice`], which resolves when either side closes.
//! Nothing about BPF leaks out: [`FastPath::detect`] decides once which path
//! the process uses ([`Mode`]), [`FastPath::describe`] is the log line, and
//! [`FastPath::stats`] the metrics.
//!
//! ```no_run
//! # async fn session(fast: &shardwire_fastpath::FastPath,
//! #     client: tokio::net::TcpStream, backend: tokio::net::TcpStream) {
//! use shardwire_fastpath::SplicePair;
//! let outcome = fast.splice(SplicePair::new(client, backend)).await;
//! # let _ = outcome;
//! # }
//! ```
//!
//! # Layout
//! - `fastpath`: [`FastPath`], [`Mode`]: detection result and the splice entry points.
//! - `session`: [`SplicePair`] in, [`SpliceOutcome`] out.
//! - `config`: [`FastPathConfig`].
//! - `detect`: privilege, bpffs, kernel checks at start-up; `probe`: the
//!   loopback self-test that proves the kernel path works.
//! - `kernel`: loading the BPF object (bpf/splice.bpf.c, built by build.rs),
//!   the maps, one kernel-spliced session, close detection.
//! - `userspace`: the tokio copy.
//! - `stats`: counters.
//! - `sys`: the few raw socket calls (the crate's only `unsafe`).
//! - [`error`]: the crate error, [`FastPathError`].
#![deny(clippy::print_stdout)]

mod config;
mod detect;
pub mod error;
mod fastpath;
mod kernel;
mod probe;
mod session;
mod stats;
mod sys;
mod userspace;

pub use config::FastPathConfig;
pub use error::FastPathError;
pub use fastpath::{FastPath, Mode};
pub use session::{EndKind, Path, Side, SpliceOutcome, SplicePair};
pub use stats::{MapEntries, PairBytes, Stats};
