//! The sk_skb sockmap programs that splice a passthrough session's client
//! socket to its backend socket in the kernel, their loader, and the
//! user-space fallback with the same API.
//!
//! # Layout
//! Empty until the eBPF fast path issue fills it.
#![deny(clippy::print_stdout)]
