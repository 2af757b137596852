//! The protocol-neutral heart of the proxy: parse (with a cache), statement
//! context, route, rewrite and merge, plus DistSQL-style admin statements.
//! Execution is reached through a trait this crate defines and the backend
//! implements, so that data flows one way: frontend -> kernel -> backend.
//!
//! # Layout
//! Empty until the kernel issue fills it.
#![deny(clippy::print_stdout)]
