//! The command line: clap structs, turned into validated [`crate::config`] values, then the
//! library's stages. Progress and logs go to stderr; results to the writer given.

use std::io::Write;

use clap::{Args, Parser, Subcommand};

use crate::error::{Error, Result, EXIT_OK, EXIT_PREREQUISITE};

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
    Check(CheckArgs),
    /// Read the workload, catalog and write statistics into a snapshot file.
    Collect(CollectArgs),
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

impl ConnArgs {
    fn config(self) -> Result<crate::config::ConnectionConfig> {
        crate::config::ConnectionConfig::new(
            self.database_url,
            self.primary_url,
            &self.statement_timeout,
        )
    }
}

/// `check` arguments.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Output format: text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
}

/// `collect` arguments.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Leave out statements called fewer times than this.
    #[arg(long, default_value_t = 1)]
    pub min_calls: u64,
    /// Keep only the N statements with the highest total time.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Keep the most expensive statements up to this share of the total time (e.g. 0.95).
    #[arg(long, value_name = "SHARE")]
    pub top_share: Option<f64>,
    /// Write the snapshot here (atomically); `-` or nothing writes it to stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))
}

/// Run a parsed command line, writing results to `out`. Returns the exit code.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<i32> {
    match cli.command {
        Command::Check(args) => {
            let config = crate::config::CheckConfig {
                format: crate::config::OutputFormat::parse(&args.format)?,
                connection: args.conn.config()?,
            };
            let facts = runtime()?.block_on(crate::check::facts(&config.connection))?;
            let findings = crate::check::evaluate(&facts);
            let text = match config.format {
                crate::config::OutputFormat::Text => {
                    crate::check::finding::render_text(&facts.target, &findings)
                }
                crate::config::OutputFormat::Json => {
                    crate::check::finding::render_json(&facts, &findings)
                }
            };
            out.write_all(text.as_bytes())?;
            Ok(if crate::check::ready(&findings) {
                EXIT_OK
            } else {
                EXIT_PREREQUISITE
            })
        }
        Command::Collect(args) => {
            let config = crate::config::CollectConfig {
                filter: crate::config::WorkloadFilter::new(
                    args.min_calls,
                    args.top,
                    args.top_share,
                )?,
                connection: args.conn.config()?,
            };
            let collected = runtime()?.block_on(crate::collect::collect_with_warnings(&config))?;
            for w in &collected.warnings {
                eprintln!("warning: {w}");
            }
            let json = crate::collect::to_json(&collected.snapshot)?;
            let s = &collected.snapshot;
            match args.output.as_deref() {
                Some(p) if p != std::path::Path::new("-") => {
                    crate::collect::write_atomic(p, json.as_bytes())?;
                    eprintln!(
                        "wrote {}: {} statements ({} left out), {} tables, write statistics: {}",
                        p.display(),
                        s.workload.statements.len(),
                        s.workload.excluded.len(),
                        s.catalog.tables.len(),
                        match s.write_stats.source {
                            crate::model::WriteSource::Local => "from this primary",
                            crate::model::WriteSource::Primary => "from --primary-url",
                            crate::model::WriteSource::Unavailable => "unavailable",
                        }
                    );
                }
                _ => out.write_all(json.as_bytes())?,
            }
            Ok(EXIT_OK)
        }
    }
}

/// Where `analyze` writes migrations, `Meta.indexes` lines and the SQL script (flatten into the
/// `analyze` arguments with `#[command(flatten)]`).
#[derive(Debug, Clone, Default, Args)]
pub struct EmitArgs {
    /// Write indexes.sql, meta_indexes.md and the migrations (mirroring the project's layout,
    /// `<app>/migrations/NNNN_….py`) into this folder. Never overwrites a file.
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
    /// The Django project (the folder with manage.py): write Django migrations, read from the
    /// project's own Django. Without it, only indexes.sql.
    #[arg(long, value_name = "DIR")]
    pub django_project: Option<std::path::PathBuf>,
    /// The project's Python (default: <project>/.venv/bin/python, <project>/venv/bin/python,
    /// else python3).
    #[arg(long, value_name = "PATH")]
    pub python: Option<std::path::PathBuf>,
    /// Django settings module (passed to manage.py as --settings).
    #[arg(long, value_name = "MODULE")]
    pub settings: Option<String>,
    /// The app whose migrations hold RunSQL migrations for tables without an editable model
    /// (django.contrib, third-party apps, auto-created many-to-many tables).
    #[arg(long, value_name = "APP_LABEL")]
    pub migrations_app: Option<String>,
    /// Write the migrations straight into the project's migration folders (same checks; the
    /// other files go to --out when given).
    #[arg(long)]
    pub write_into_project: bool,
}

impl EmitArgs {
    /// The validated configuration, or `None` when nothing is to be written (no `--out`, no
    /// `--write-into-project`).
    pub fn into_config(self) -> Result<Option<crate::emit::EmitConfig>> {
        if self.out.is_none() && !self.write_into_project {
            if self.django_project.is_some() || self.migrations_app.is_some() {
                return Err(Error::Usage(
                    "--django-project and --migrations-app need somewhere to write\n(add --out DIR or --write-into-project)".into(),
                ));
            }
            return Ok(None);
        }
        let cfg = crate::emit::EmitConfig {
            out_dir: self.out,
            django_project: self.django_project,
            python: self.python,
            settings: self.settings,
            migrations_app: self.migrations_app,
            write_into_project: self.write_into_project,
        };
        cfg.validate().map_err(Error::from)?;
        Ok(Some(cfg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        emit: EmitArgs,
    }

    #[test]
    fn emit_flags_validate() {
        let parse = |a: &[&str]| {
            T::try_parse_from(std::iter::once("t").chain(a.iter().copied()))
                .unwrap()
                .emit
                .into_config()
        };
        assert_eq!(parse(&[]).unwrap(), None);
        let cfg = parse(&[
            "--out",
            "o",
            "--django-project",
            "p",
            "--migrations-app",
            "shop",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(cfg.migrations_app.as_deref(), Some("shop"));
        assert!(parse(&["--write-into-project"]).is_err());
        assert!(parse(&["--django-project", "p"]).is_err());
        assert!(parse(&["--out", "o", "--settings", "x"]).is_err());
    }
}
