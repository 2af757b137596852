//! Data sources, native client connections, pools, health checks,
//! read/write splitting and the transaction manager.
//!
//! # Layout
//! Empty until the PostgreSQL and MySQL end-to-end issues fill it.
#![deny(clippy::print_stdout)]
