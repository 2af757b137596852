//! Wire formats of the protocols Shardwire speaks, for both directions:
//! MySQL, PostgreSQL and the openGauss deltas, with `tokio_util::codec` framing
//! and the authentication crypto. No sockets and no kernel types live here, so
//! that the frontend (server side) and the backend (client side) share one codec.
//!
//! # Layout
//! Empty until the PostgreSQL and MySQL end-to-end issues fill it.
#![deny(clippy::print_stdout)]
