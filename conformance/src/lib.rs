//! Replays pcap captures of real drivers against any server and compares
//! the answers, to prove wire conformance; and records such captures with
//! a relay that needs neither root nor tcpdump.
//!
//! A capture goes through: reading (pcap / pcapng, link and IP layers) ->
//! TCP reassembly per connection -> protocol detection from the traffic
//! -> message splitting -> a [`Dialog`] per connection (login settings,
//! then requests in captured batching with the captured answers) ->
//! replay (a fresh login, requests written as captured, answers read as
//! far as the captured server answered) -> semantic comparison with the
//! masking rules of [`mask`].
//!
//! # Layout
//! - [`error`]: [`ConformanceError`], the one error type.
//! - [`pcap_read`]: pcap / pcapng files to TCP segments (etherparse).
//! - [`reassembly`]: TCP segments to connections with one stream per
//!   direction (out of order, retransmitted, overlapping segments).
//! - [`detect`]: which protocol, and which side is the client.
//! - [`frame`]: [`frame::Frame`], one message cut from a stream.
//! - [`pg_split`], [`mysql_split`]: streams to messages per protocol.
//! - [`answer`]: [`answer::Answer`], the comparable shape of an answer.
//! - [`mysql_response`]: reading one MySQL command's response.
//! - [`dialog`], `dialog_pg`, `dialog_mysql`: connections to dialogs.
//! - [`mask`]: every masking rule, each with its reason.
//! - [`compare`]: semantic comparison, declared differences.
//! - `wire`: the replay socket with a timeout on every read.
//! - [`login_pg`], `login_mysql`: the client side of logins.
//! - [`replay`]: running dialogs against a target; the [`replay::Report`].
//! - [`pcap_write`]: synthesised TCP/IP packets into a pcap.
//! - [`relay`]: the recording relay.
//! - [`manifest`]: the corpus manifest.
//! - [`cli`]: what `shardctl replay` / `shardctl record` run.
#![deny(clippy::print_stdout)]

pub mod answer;
pub mod cli;
pub mod compare;
pub mod detect;
pub mod dialog;
mod dialog_mysql;
mod dialog_pg;
pub mod error;
pub mod frame;
mod login_mysql;
pub mod login_pg;
pub mod manifest;
pub mod mask;
pub mod mysql_response;
pub mod mysql_split;
pub mod pcap_read;
pub mod pcap_write;
pub mod pg_split;
pub mod reassembly;
pub mod relay;
pub mod replay;
mod wire;

pub use dialog::{load_capture, Capture, Dialog};
pub use error::ConformanceError;
pub use replay::{replay, replay_file, ReplayOptions, Report};
