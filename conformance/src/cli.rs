//! What `shardctl replay` and `shardctl record` do, so the binary only
//! parses arguments and prints.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::compare::CompareOptions;
use crate::error::{ConformanceError, Result};
use crate::login_pg::Credentials;
use crate::relay::{shutdown_signal, RecordOptions, RecordSummary, Recorder};
use crate::replay::{replay_file, ReplayOptions};

/// Exit code: every answer agreed.
pub const EXIT_AGREE: u8 = 0;
/// Exit code: some answer differed (the report says which).
pub const EXIT_DIFFER: u8 = 1;
/// Exit code: the capture cannot be used (the message says why).
pub const EXIT_UNUSABLE: u8 = 2;

/// `shardctl replay` arguments.
#[derive(Debug, Clone)]
pub struct ReplayArgs {
    pub capture: PathBuf,
    pub target: String,
    pub user: String,
    pub password: String,
    pub database: Option<String>,
    pub json: bool,
    pub unordered_rows: bool,
    pub generated_keys: bool,
    pub timeout: Duration,
}

/// What the command prints and returns.
#[derive(Debug, Clone)]
pub struct CommandOutput {
    pub code: u8,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a replay to completion on its own runtime.
pub fn replay_command(args: &ReplayArgs) -> CommandOutput {
    let opts = ReplayOptions {
        target: args.target.clone(),
        credentials: Credentials {
            user: args.user.clone(),
            password: args.password.clone(),
            database: args.database.clone(),
        },
        compare: CompareOptions {
            unordered_rows: args.unordered_rows,
            generated_keys: args.generated_keys,
        },
        timeout: args.timeout,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return CommandOutput {
                code: EXIT_UNUSABLE,
                stdout: String::new(),
                stderr: format!("error: starting the runtime: {e}\n"),
            }
        }
    };
    match runtime.block_on(replay_file(&args.capture, &opts)) {
        Ok(report) => {
            let code = if report.agrees() {
                EXIT_AGREE
            } else {
                EXIT_DIFFER
            };
            let stdout = if args.json {
                serde_json::to_string_pretty(&report)
                    .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
                    + "\n"
            } else {
                report.to_text()
            };
            CommandOutput {
                code,
                stdout,
                stderr: String::new(),
            }
        }
        Err(e) => {
            let code = match e {
                ConformanceError::Unusable(_) | ConformanceError::Io { .. } => EXIT_UNUSABLE,
                _ => EXIT_DIFFER,
            };
            let stdout = if args.json {
                serde_json::json!({ "error": e.to_string(), "exit": code }).to_string() + "\n"
            } else {
                String::new()
            };
            CommandOutput {
                code,
                stdout,
                stderr: format!("error: {} {}\n", args.capture.display(), e),
            }
        }
    }
}

/// Runs the recording relay until SIGINT / SIGTERM or the connection
/// limit; `on_ready` gets the bound address before the first accept.
pub fn record_command(
    opts: RecordOptions,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<RecordSummary> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ConformanceError::io("starting the runtime", e))?;
    runtime.block_on(async move {
        let recorder = Recorder::bind(opts).await?;
        let stop = shutdown_signal()?;
        on_ready(recorder.local_addr()?);
        recorder.run(stop).await
    })
}
