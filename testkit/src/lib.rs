//! Throwaway PostgreSQL and MariaDB servers for Shardwire's end-to-end
//! tests: each instance gets its own temp dir and a free 127.0.0.1 port, so
//! a test can ask for N shards, alongside any other test doing the same and
//! any system server on 5432 / 3306.
//!
//! No Docker: the distribution's binaries run as our child processes
//! (`postgres` as the `postgres` OS user when we are root, since it refuses
//! root). Logins over TCP use real password authentication (SCRAM for
//! PostgreSQL, `mysql_native_password` for MariaDB), durability is switched
//! off for speed, and the API is synchronous so both plain and tokio tests
//! can use it.
//!
//! ```no_run
//! let shards = shardwire_testkit::pg_shards(2)?;
//! for shard in &shards {
//!     assert_eq!(shard.psql("SELECT 1")?.trim(), "1");
//!     println!("{}", shard.url());
//! }
//! # Ok::<(), shardwire_testkit::HarnessError>(())
//! ```
//!
//! Environment: `SHARDWIRE_TEST_TMP` (where temp dirs go, default the system
//! temp dir), `SHARDWIRE_KEEP_DB=1` (keep dirs and logs after the test;
//! they are always kept when the test panics), `SHARDWIRE_PG_BINDIR`
//! (PostgreSQL binaries, default the newest of `/usr/lib/postgresql/*/bin`,
//! preferring 15).
//!
//! # Layout
//! - [`pg`]: [`PgInstance`], one PostgreSQL server, and its [`PgOptions`].
//! - [`mariadb`]: [`MariaDbInstance`] and [`MariaDbOptions`].
//! - `shards`: [`pg_shards`] / [`mariadb_shards`], N instances in parallel.
//! - `port`: [`free_port`].
//! - `process`: the server child process (signals, readiness, log tail) and
//!   running CLI tools.
//! - `workdir`: temp dirs that are kept when a test fails.
//! - `bins`: finding the programs, and which package provides them.
//! - `identity`: whether we are root, and the `postgres` account's ids.
//! - `escape`: quoting names and passwords into URLs and SQL.
//! - [`shardwire`]: [`ShardwireProcess`], the proxy binary run as a child.
//! - [`error`]: the one error type, [`HarnessError`].
#![deny(clippy::print_stdout)]

mod bins;
pub mod error;
mod escape;
mod identity;
pub mod mariadb;
pub mod pg;
mod pg_tls;
mod port;
mod process;
mod shards;
pub mod shardwire;
mod workdir;

pub use error::HarnessError;
pub use mariadb::{MariaDbInstance, MariaDbOptions};
pub use pg::{PgInstance, PgOptions};
pub use port::free_port;
pub use shards::{mariadb_shards, mariadb_shards_with, pg_shards, pg_shards_with};
pub use shardwire::{ShardwireOptions, ShardwireProcess};
