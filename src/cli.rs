//! The command line: clap structs, turned into validated [`crate::config`] values, then the
//! library's stages. Progress and logs go to stderr; results to the writer given.

use std::io::Write;

use clap::{Args, Parser, Subcommand};

use crate::error::{Error, Result, EXIT_OK};

/// PostgreSQL index advisor for Django teams.
#[derive(Debug, Parser)]
#[command(name = "idxadvise", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Preflight: is the server ready for idxadvise, and what to fix if not.
    Check(ConnArgs),
}

/// How to reach the server.
#[derive(Debug, Args)]
pub struct ConnArgs {
    /// The server to analyse (usually a read replica): a postgres:// URL or libpq conninfo.
    /// Without it, the PG* environment variables and ~/.pgpass are used, as psql does.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The primary, read-only, for write statistics when the analysed server is a replica.
    #[arg(long, env = "IDXADVISE_PRIMARY_URL", hide_env_values = true)]
    pub primary_url: Option<String>,
    /// statement_timeout for every statement idxadvise sends.
    #[arg(long, default_value = "10s")]
    pub statement_timeout: String,
}

/// Run a parsed command line, writing results to `out`. Returns the exit code.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<i32> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    match cli.command {
        Command::Check(args) => {
            let _conn = crate::config::ConnectionConfig::new(
                args.database_url,
                args.primary_url,
                &args.statement_timeout,
            )?;
            let _ = rt;
            writeln!(out, "check: not implemented yet")?;
            Ok(EXIT_OK)
        }
    }
}
