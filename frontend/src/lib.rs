//! Listeners, TLS and the per-connection session state machines for MySQL,
//! PostgreSQL and openGauss clients; kernel errors are mapped to the wire here,
//! in one place per protocol.
//!
//! # Layout
//! Empty until the PostgreSQL and MySQL end-to-end issues fill it.
#![deny(clippy::print_stdout)]
