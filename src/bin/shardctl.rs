//! `shardctl`, the DBA's command line. Its commands (preview, status, ...)
//! arrive with the kernel and the admin API; today it only says so.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "shardctl {}: no commands yet; `shardwire check --config <dir>` validates a configuration",
        env!("CARGO_PKG_VERSION")
    );
    ExitCode::from(2)
}
