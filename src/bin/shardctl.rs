//! `shardctl`, the DBA's command line. Today it previews routes; status and
//! the admin commands arrive with the admin API.

use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use shardwire_conformance::cli::ReplayArgs;
use shardwire_conformance::relay::RecordOptions;
use shardwire_kernel::Dialect;

#[derive(Parser)]
#[command(name = "shardctl", version, about = "The Shardwire DBA command line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum DialectArg {
    Mysql,
    /// Also openGauss.
    Postgresql,
}

#[derive(Subcommand)]
enum Command {
    /// Show where a statement would be routed, the SQL each data source
    /// would run, how their rows would be merged and any generated keys, as
    /// JSON. Exit 1 on bad SQL or an unsupported statement.
    Preview {
        /// The conf directory (global.yaml and database-*.yaml).
        #[arg(long)]
        config: PathBuf,
        /// The logical database (`databaseName`).
        #[arg(long)]
        database: String,
        #[arg(long, value_enum, default_value = "mysql")]
        dialect: DialectArg,
        /// A value for the next placeholder (`?` or `$n`); repeatable.
        #[arg(long = "param")]
        params: Vec<String>,
        /// The statement.
        sql: String,
    },
    /// Replay a pcap/pcapng capture of database sessions against a server
    /// and compare the answers. Exit 0 when all agree, 1 with a report of
    /// the differences, 2 when the capture cannot be used.
    Replay {
        /// The capture file (pcap or pcapng).
        capture: PathBuf,
        /// The server to replay against, HOST:PORT.
        #[arg(long)]
        target: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        password: String,
        /// Log in to this database instead of the captured one.
        #[arg(long)]
        database: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Declared difference: rows of requests without ORDER BY compare
        /// as a multiset.
        #[arg(long)]
        unordered_rows: bool,
        /// Declared difference: MySQL last insert ids are not compared.
        #[arg(long)]
        generated_keys: bool,
        /// Seconds to wait for any one answer.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
    /// Relay connections to a server and record them as a pcap, without
    /// root or tcpdump. Stops on SIGINT / SIGTERM or after --connections.
    Record {
        /// Where clients connect, HOST:PORT.
        #[arg(long)]
        listen: String,
        /// The server, HOST:PORT.
        #[arg(long)]
        upstream: String,
        /// The pcap to write.
        #[arg(long)]
        out: PathBuf,
        /// Stop after this many connections have come and gone.
        #[arg(long)]
        connections: Option<usize>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Replay {
            capture,
            target,
            user,
            password,
            database,
            json,
            unordered_rows,
            generated_keys,
            timeout,
        } => {
            let out = shardwire_conformance::cli::replay_command(&ReplayArgs {
                capture,
                target,
                user,
                password,
                database,
                json,
                unordered_rows,
                generated_keys,
                timeout: Duration::from_secs(timeout),
            });
            print_text(&out.stdout);
            eprint!("{}", out.stderr);
            ExitCode::from(out.code)
        }
        Command::Record {
            listen,
            upstream,
            out,
            connections,
        } => {
            let opts = RecordOptions {
                listen,
                upstream,
                out,
                connections,
            };
            let result = shardwire_conformance::cli::record_command(opts, |addr| {
                eprintln!("recording: listening on {addr}");
            });
            match result {
                Ok(summary) => {
                    eprintln!(
                        "recorded {} connection(s), {} packet(s)",
                        summary.connections, summary.packets
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Preview {
            config,
            database,
            dialect,
            params,
            sql,
        } => {
            let dialect = match dialect {
                DialectArg::Mysql => Dialect::MySql,
                DialectArg::Postgresql => Dialect::PostgreSql,
            };
            let params: Vec<_> = params
                .iter()
                .map(|p| shardwire::preview::parse_param(p))
                .collect();
            match shardwire::preview::preview(&config, &database, dialect, &sql, &params) {
                Ok(json) => {
                    print_json(&json);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Prints text as is; a reader that stopped early is not an error.
fn print_text(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().write_all(text.as_bytes());
}

/// Prints `json`; a reader that stopped early (`| head`) is not an error.
fn print_json(json: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{json}").and_then(|()| out.flush());
}
