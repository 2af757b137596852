//! `shardctl`, the DBA's command line. Today it previews routes; status and
//! the admin commands arrive with the admin API.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
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

/// Prints `json`; a reader that stopped early (`| head`) is not an error.
fn print_json(json: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{json}").and_then(|()| out.flush());
}
