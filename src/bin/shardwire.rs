//! The Shardwire proxy.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "shardwire",
    version,
    about = "A sharding and SQL-routing database proxy"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load and validate a conf directory; print every logical table with
    /// its expanded data nodes and strategies as JSON. Exit 1 on a bad config.
    Check {
        /// The conf directory (global.yaml and database-*.yaml).
        #[arg(long)]
        config: PathBuf,
    },
    /// Run the proxy: bind the listeners of global.yaml and serve until
    /// SIGINT or SIGTERM. Logs go to stderr (RUST_LOG=debug for more).
    Serve {
        /// The conf directory (global.yaml and database-*.yaml).
        #[arg(long)]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => match shardwire::check::check(&config) {
            Ok(json) => {
                print_json(&json);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Serve { config } => {
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .init();
            match shardwire::serve::serve(&config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Prints `json`; a reader that stopped early (`| head`) is not an error.
fn print_json(json: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{json}").and_then(|()| out.flush());
}
