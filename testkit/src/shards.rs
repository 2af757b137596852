//! Starting several instances at once.

use std::thread;

use crate::{HarnessError, MariaDbInstance, MariaDbOptions, PgInstance, PgOptions};

/// Starts `n` PostgreSQL instances with default options in parallel.
pub fn pg_shards(n: usize) -> Result<Vec<PgInstance>, HarnessError> {
    pg_shards_with(n, &PgOptions::default())
}

/// Starts `n` PostgreSQL instances with `opts` in parallel.
pub fn pg_shards_with(n: usize, opts: &PgOptions) -> Result<Vec<PgInstance>, HarnessError> {
    start_parallel(n, || PgInstance::start_with(opts))
}

/// Starts `n` MariaDB instances with default options in parallel.
pub fn mariadb_shards(n: usize) -> Result<Vec<MariaDbInstance>, HarnessError> {
    mariadb_shards_with(n, &MariaDbOptions::default())
}

/// Starts `n` MariaDB instances with `opts` in parallel.
pub fn mariadb_shards_with(
    n: usize,
    opts: &MariaDbOptions,
) -> Result<Vec<MariaDbInstance>, HarnessError> {
    start_parallel(n, || MariaDbInstance::start_with(opts))
}

/// One thread per instance: a start is mostly waiting on initdb /
/// install-db and the server, not CPU. On any failure the first error is
/// returned and the instances that did start are dropped, which stops them.
fn start_parallel<T: Send>(
    n: usize,
    start: impl Fn() -> Result<T, HarnessError> + Sync,
) -> Result<Vec<T>, HarnessError> {
    let results: Vec<Result<T, HarnessError>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..n).map(|_| scope.spawn(&start)).collect();
        handles
            .into_iter()
            .map(|handle| {
                handle.join().unwrap_or_else(|_| {
                    Err(HarnessError::Internal(
                        "a thread starting an instance panicked".to_owned(),
                    ))
                })
            })
            .collect()
    });
    results.into_iter().collect()
}
