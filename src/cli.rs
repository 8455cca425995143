//! The command line: clap structs, turned into validated [`crate::config`] values, then the
//! library's stages. Progress and logs go to stderr; results to the writer given.

use std::io::Write;

use clap::{Args, Parser, Subcommand};

use crate::error::{Error, Kind, Result, EXIT_OK, EXIT_PREREQUISITE};

/// PostgreSQL index advisor for Django teams.
#[derive(Debug, Parser)]
#[command(name = "idxadvise", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Whether the result goes to stdout as JSON (`--format json`): errors are then printed
    /// there as JSON too ([`crate::error::Error::to_json`]), besides the `error:` line on stderr.
    pub fn json_output(&self) -> bool {
        let format = match &self.command {
            Command::Check(a) => &a.format,
            Command::Analyze(a) => &a.tuning.format,
            Command::Explain(a) => &a.tuning.format,
            Command::Verify(a) => &a.format,
            Command::Collect(_) | Command::Demo(_) => return false,
        };
        format == "json"
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Preflight: is the server ready for idxadvise, and what to fix if not.
    Check(CheckArgs),
    /// Read the workload, catalog and write statistics into a snapshot file.
    Collect(CollectArgs),
    /// Recommend indexes for the workload and write migrations, SQL, plan diffs and reports
    /// (into ./idxadvise-out unless --out DIR or --write-into-project is given).
    Analyze(Box<AnalyzeArgs>),
    /// Advice for one statement, with its plan diff (no pg_stat_statements needed).
    Explain(Box<ExplainArgs>),
    /// The main job on the bundled example: a throwaway cluster, the example Django shop, its
    /// workload, `analyze`, files written.
    Demo(DemoArgs),
    /// After the indexes are applied and traffic ran: measure their real effect against the
    /// prediction saved by `analyze` (baseline.json), and flag unused indexes and regressions.
    Verify(Box<VerifyArgs>),
}

/// Selection limits and analysis options shared by `analyze` and `explain`.
#[derive(Debug, Clone, Default, Args)]
pub struct TuningArgs {
    /// Storage budget for new indexes: bytes (`500MB`, `2GB`) or a share of the database
    /// size (`10%`). Default: 25%.
    #[arg(long, env = "IDXADVISE_BUDGET")]
    pub budget: Option<String>,
    /// Most new indexes in all (default 10).
    #[arg(long, env = "IDXADVISE_MAX_INDEXES")]
    pub max_indexes: Option<usize>,
    /// Most new indexes per table (default 3).
    #[arg(long, env = "IDXADVISE_MAX_PER_TABLE")]
    pub max_per_table: Option<usize>,
    /// Least improvement for a statement to count as helped (`10%` or `0.1`; default 10%).
    #[arg(long)]
    pub min_improvement: Option<String>,
    /// Least net benefit of an index, as a share of the workload's time (default 0.5%).
    #[arg(long)]
    pub min_benefit: Option<String>,
    /// Parallel what-if sessions (default: the number of cores).
    #[arg(long)]
    pub connections: Option<usize>,
    /// Leave out statements on this table (`table` or `schema.table`; repeatable).
    #[arg(long = "exclude-table", value_name = "TABLE")]
    pub exclude_tables: Vec<String>,
    /// Values the application really compares a column with, which pg_stat_statements cannot
    /// tell (`shop_order.status=pending`, `[schema.]table.column=v1,v2`; repeatable): statements
    /// filtering that column by a parameter are costed with these values.
    #[arg(long = "hot-values", value_name = "TABLE.COLUMN=VALUES")]
    pub hot_values: Vec<String>,
    /// Round-trip overhead of one call outside the database (client, network, driver, ORM),
    /// in ms, added to each statement's weight in the Django findings so thousands of fast
    /// lookups rank as what they cost a request (default 0.4, measured over loopback; measure yours with the example's
    /// `manage.py measure_overhead`).
    #[arg(long, value_name = "MS")]
    pub per_call_overhead: Option<f64>,
    /// Output on stdout: text, json or markdown.
    #[arg(long, default_value = "text")]
    pub format: String,
    /// No progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The observation window (`analyze`, `collect`, `verify`).
#[derive(Debug, Clone, Default, Args)]
pub struct WindowArgs {
    /// Watch the server(s) this long and take the counters' deltas as today's workload
    /// (`60s`, `2min`; `0`: the cumulative counters at once). Default 60s, or `window` in
    /// `[tool.idxadvise]`.
    #[arg(long, env = "IDXADVISE_WINDOW", value_name = "DURATION")]
    pub window: Option<String>,
}

impl WindowArgs {
    /// The validated window: the flag (or `IDXADVISE_WINDOW`), else `window` in the Django
    /// project's `[tool.idxadvise]`, else 60 s.
    pub fn resolve(
        &self,
        project: Option<&std::path::Path>,
        quiet: bool,
    ) -> Result<crate::collect::window::WindowOptions> {
        let from_project = match (&self.window, project) {
            (None, Some(p)) => crate::pyproject::load(p)?.window,
            _ => None,
        };
        let length = match self.window.as_deref().or(from_project.as_deref()) {
            Some(w) => crate::collect::window::parse_window(w)?,
            None => crate::collect::window::DEFAULT_WINDOW,
        };
        Ok(crate::collect::window::WindowOptions::of(length, quiet))
    }
}

/// `--observe-values SECONDS`, deprecated: sampling runs during the observation window, so
/// the flag sets the window's length (one note on stderr says so).
fn deprecated_observe_values(
    window: crate::collect::window::WindowOptions,
    seconds: Option<f64>,
) -> Result<crate::collect::window::WindowOptions> {
    let Some(seconds) = seconds else {
        return Ok(window);
    };
    let length = crate::config::observe_duration(seconds)?;
    eprintln!(
        "note: --observe-values is deprecated: the running statements are sampled during the observation window; this run watches for {} s (use --window {}s)",
        length.as_secs_f64(),
        length.as_secs_f64()
    );
    Ok(crate::collect::window::WindowOptions { length, ..window })
}

/// `analyze` arguments.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Analyse a snapshot written by `collect` instead of reading pg_stat_statements now (the
    /// what-if stage still connects, to ask the planner).
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<std::path::PathBuf>,
    /// Leave out statements called fewer times than this.
    #[arg(long, default_value_t = 1)]
    pub min_calls: u64,
    /// Keep only the N statements with the highest total time.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Keep the most expensive statements up to this share of the total time (e.g. 0.95).
    #[arg(long, value_name = "SHARE")]
    pub top_share: Option<f64>,
    /// Deprecated: the running statements are sampled during `--window`; this sets the window.
    #[arg(long = "observe-values", value_name = "SECONDS", hide = true)]
    pub observe_values: Option<f64>,
    /// Limits and options.
    #[command(flatten)]
    pub tuning: TuningArgs,
    /// Any skipped statement is an error.
    #[arg(long)]
    pub strict: bool,
    /// Observation window.
    #[command(flatten)]
    pub window: WindowArgs,
    /// Output files.
    #[command(flatten)]
    pub emit: EmitArgs,
    /// Server log files.
    #[command(flatten)]
    pub log: LogArgs,
}

/// `explain` arguments.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The statement (`$n` placeholders or constants).
    #[arg(conflicts_with = "file", required_unless_present = "file")]
    pub sql: Option<String>,
    /// Read the statement from a file.
    #[arg(long, value_name = "FILE")]
    pub file: Option<std::path::PathBuf>,
    /// Limits and options.
    #[command(flatten)]
    pub tuning: TuningArgs,
    /// Output files (optional: without --out nothing is written).
    #[command(flatten)]
    pub emit: EmitArgs,
}

/// `demo` arguments.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output folder (default: ./idxadvise-demo-out, or the next free -N variant).
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
    /// A Python with Django (and psycopg2) to run the example project with; without it the
    /// schema comes from the example's schema.sql and only indexes.sql is written (default: the
    /// Python next to this binary, then python3, when it has them).
    #[arg(long, value_name = "PATH", env = "IDXADVISE_DEMO_PYTHON")]
    pub python: Option<std::path::PathBuf>,
    /// No progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
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
    /// Deprecated: the running statements are sampled during `--window`; this sets the window.
    #[arg(long = "observe-values", value_name = "SECONDS", hide = true)]
    pub observe_values: Option<f64>,
    /// Write the snapshot here (atomically; an existing file is never overwritten); `-` or
    /// nothing writes it to stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Observation window.
    #[command(flatten)]
    pub window: WindowArgs,
    /// No progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Server log files.
    #[command(flatten)]
    pub log: LogArgs,
}

/// Server log files to read statements and their values from (`analyze`, `collect`).
#[derive(Debug, Clone, Default, Args)]
pub struct LogArgs {
    /// A PostgreSQL server log file (stderr, csvlog or jsonlog; detected) to read logged
    /// statements and their parameter values from. Repeatable.
    #[arg(long = "log", value_name = "FILE")]
    pub logs: Vec<std::path::PathBuf>,
    /// The server's log_line_prefix, for stderr logs (detected among common ones when not given).
    #[arg(long, value_name = "PREFIX", requires = "logs")]
    pub log_line_prefix: Option<String>,
}

impl LogArgs {
    /// Validate: every file can be opened (a clear error before any work is done).
    pub fn options(self) -> Result<crate::collect::log::LogOptions> {
        crate::collect::log::LogOptions::new(self.logs, self.log_line_prefix)
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            Error::caused(
                Kind::Internal,
                format!("cannot start the async runtime: {e}"),
                e,
            )
        })
}

/// Run a parsed command line, writing results to `out`. Returns the exit code.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<i32> {
    match cli.command {
        Command::Check(args) => {
            let config = crate::config::CheckConfig {
                format: crate::config::OutputFormat::parse_text_or_json(&args.format)?,
                connection: args.conn.config()?,
            };
            let facts = runtime()?.block_on(crate::check::facts(&config.connection))?;
            let findings = crate::check::evaluate(&facts);
            let text = match config.format {
                crate::config::OutputFormat::Text | crate::config::OutputFormat::Markdown => {
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
            let logs = args.log.options()?;
            let config = crate::config::CollectConfig {
                filter: crate::config::WorkloadFilter::new(
                    args.min_calls,
                    args.top,
                    args.top_share,
                )?,
                connection: args.conn.config()?,
                window: deprecated_observe_values(
                    args.window.resolve(None, args.quiet)?,
                    args.observe_values,
                )?,
            };
            if let Some(p) = args
                .output
                .as_deref()
                .filter(|p| *p != std::path::Path::new("-"))
            {
                crate::preflight::new_file(p)?;
            }
            let mut collected =
                runtime()?.block_on(crate::collect::collect_with_warnings(&config))?;
            for w in &collected.warnings {
                eprintln!("warning: {w}");
            }
            if !logs.paths.is_empty() {
                let read = crate::collect::log::read_logs(&logs)?;
                for w in &read.warnings {
                    eprintln!("warning: {w}");
                }
                eprintln!("{}", read.summary());
                collected.snapshot.logs = read;
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
        Command::Analyze(args) => {
            let args = *args;
            let config = analyze_config(args)?;
            let outcome = runtime()?.block_on(crate::analyze::run(&config, out))?;
            Ok(outcome.exit_code)
        }
        Command::Explain(args) => {
            let args = *args;
            let text = match (&args.sql, &args.file) {
                (Some(s), _) => s.clone(),
                (None, Some(f)) => std::fs::read_to_string(f).map_err(|e| {
                    let message = format!("cannot read {:?}: {e}", f.display().to_string());
                    Error::caused(Kind::Usage, message, e)
                })?,
                (None, None) => return Err(Error::Usage("give a statement or --file".into())),
            };
            let tuning = args.tuning.clone();
            let conn = args.conn.config()?;
            let mut config = base_config(
                crate::analyze::Source::Statement {
                    connection: conn.clone(),
                    text,
                },
                conn,
                tuning,
                args.emit,
                None,
            )?;
            config.explain = true;
            // One statement: keep its plan texts (explain prints the plan when nothing helps).
            config.engine.lean_cache = false;
            let outcome = runtime()?.block_on(crate::analyze::run(&config, out))?;
            Ok(outcome.exit_code)
        }
        Command::Demo(args) => {
            crate::demo::run(args.out, args.python, args.quiet, &demo_config, out)
        }
        Command::Verify(args) => {
            let config = verify_config(*args)?;
            let outcome = runtime()?.block_on(crate::verify::run(&config, out))?;
            Ok(outcome.exit_code)
        }
    }
}

fn analyze_config(args: AnalyzeArgs) -> Result<crate::analyze::AnalyzeConfig> {
    let logs = args.log.options()?;
    let conn = args.conn.config()?;
    let source = match args.snapshot {
        Some(p) => crate::analyze::Source::Snapshot(p),
        None => crate::analyze::Source::Live(crate::config::CollectConfig {
            filter: crate::config::WorkloadFilter::new(args.min_calls, args.top, args.top_share)?,
            connection: conn.clone(),
            window: deprecated_observe_values(
                args.window
                    .resolve(args.emit.django_project.as_deref(), args.tuning.quiet)?,
                args.observe_values,
            )?,
        }),
    };
    let mut c = base_config(
        source,
        conn,
        args.tuning,
        args.emit,
        Some(std::path::PathBuf::from("idxadvise-out")),
    )?;
    c.strict = args.strict;
    c.logs = logs;
    Ok(c)
}

/// The demo's run, configured as `analyze` would be with the same flags.
fn demo_config(d: crate::demo::DemoRun) -> Result<crate::analyze::AnalyzeConfig> {
    let emit = EmitArgs {
        out: Some(d.out_dir),
        django_project: d.django_project,
        python: d.python,
        settings: None,
        migrations_app: d.migrations_app,
        write_into_project: false,
    };
    let tuning = TuningArgs {
        format: "text".into(),
        quiet: d.quiet,
        ..Default::default()
    };
    base_config(d.source, d.connection, tuning, emit, None)
}

/// Build an analyze configuration: flags, then environment (clap), then `[tool.idxadvise]`
/// in the Django project's pyproject.toml, then defaults.
pub fn base_config(
    source: crate::analyze::Source,
    conn: crate::config::ConnectionConfig,
    tuning: TuningArgs,
    emit: EmitArgs,
    default_out: Option<std::path::PathBuf>,
) -> Result<crate::analyze::AnalyzeConfig> {
    use crate::config::{MinBenefit, MinImprovement, StorageBudget};
    let project_cfg = match &emit.django_project {
        Some(p) => crate::pyproject::load(p)?,
        None => crate::pyproject::ProjectConfig::default(),
    };
    let mut select = crate::select::SelectOptions::default();
    if let Some(b) = tuning.budget.as_deref().or(project_cfg.budget.as_deref()) {
        select.budget = StorageBudget::parse(b)?;
    }
    if let Some(n) = tuning.max_indexes.or(project_cfg.max_indexes) {
        select.max_indexes = n;
    }
    if let Some(n) = tuning.max_per_table.or(project_cfg.max_per_table) {
        select.max_per_table = n;
    }
    if let Some(m) = tuning
        .min_improvement
        .as_deref()
        .or(project_cfg.min_improvement.as_deref())
    {
        select.min_improvement = MinImprovement::parse(m)?;
    }
    if let Some(m) = tuning
        .min_benefit
        .as_deref()
        .or(project_cfg.min_benefit.as_deref())
    {
        select.min_benefit = MinBenefit::parse(m)?;
    }
    let format = crate::config::OutputFormat::parse(&tuning.format)?;
    let mut engine = crate::whatif::EngineOptions {
        connect: conn.target.clone(),
        progress: !tuning.quiet,
        lean_cache: true,
        ..Default::default()
    };
    if let Some(n) = tuning.connections {
        if n == 0 {
            return Err(Error::Usage("--connections must be at least 1".into()));
        }
        engine.connections = n;
    }
    let mut emit = emit;
    if emit.migrations_app.is_none() {
        emit.migrations_app = project_cfg.migrations_app.clone();
    }
    if emit.out.is_none() && !emit.write_into_project {
        emit.out = default_out;
    }
    // manage.py runs in the project's folder: a relative --python must not change meaning.
    emit.python = emit.python.map(|p| std::path::absolute(&p).unwrap_or(p));
    let emit_cfg = emit.emit_config()?;
    let mut exclude = tuning.exclude_tables;
    exclude.extend(project_cfg.exclude_tables);
    let hot_values = tuning
        .hot_values
        .iter()
        .chain(&project_cfg.hot_values)
        .map(|h| crate::config::HotValues::parse(h))
        .collect::<Result<Vec<_>>>()?;
    Ok(crate::analyze::AnalyzeConfig {
        source,
        engine,
        select,
        emit: emit_cfg,
        exclude_tables: exclude,
        hot_values,
        strict: false,
        format,
        quiet: tuning.quiet,
        explain: false,
        per_call_overhead_ms: per_call_overhead(tuning.per_call_overhead)?,
        during_window: None,
        logs: Default::default(),
    })
}

/// `--per-call-overhead`: a finite, non-negative number of ms (default
/// [`crate::report::patterns::DEFAULT_PER_CALL_OVERHEAD_MS`]).
fn per_call_overhead(ms: Option<f64>) -> Result<f64> {
    match ms {
        None => Ok(crate::report::patterns::DEFAULT_PER_CALL_OVERHEAD_MS),
        Some(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Some(v) => Err(Error::Usage(format!(
            "--per-call-overhead must be a non-negative number of milliseconds, got {v}"
        ))),
    }
}

/// `verify` arguments.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Connection (the same server `analyze` read, usually the replica; `--primary-url` for the
    /// write counters).
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The output folder of `analyze` (it holds baseline.json).
    #[arg(long, value_name = "DIR")]
    pub baseline: std::path::PathBuf,
    /// Compare with a snapshot written by `collect` instead of reading the server now.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<std::path::PathBuf>,
    /// Write verify.md and verify.json here instead of the baseline folder (never overwrites:
    /// a later run writes verify-2.md, …).
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
    /// The Django project (folder with manage.py): write a RemoveIndexConcurrently (or RunSQL)
    /// migration for each index to drop. Without it, the DROP INDEX CONCURRENTLY statements.
    #[arg(long, value_name = "DIR")]
    pub django_project: Option<std::path::PathBuf>,
    /// The project's Python.
    #[arg(long, value_name = "PATH")]
    pub python: Option<std::path::PathBuf>,
    /// Django settings module.
    #[arg(long, value_name = "MODULE")]
    pub settings: Option<String>,
    /// The app whose migrations hold RunSQL migrations for tables without an editable model.
    #[arg(long, value_name = "APP_LABEL")]
    pub migrations_app: Option<String>,
    /// Output on stdout: text, json or markdown.
    #[arg(long, default_value = "text")]
    pub format: String,
    /// No progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Observation window for the "after" measurement.
    #[command(flatten)]
    pub window: WindowArgs,
}

fn verify_config(args: VerifyArgs) -> Result<crate::verify::VerifyConfig> {
    let format = crate::config::OutputFormat::parse(&args.format)?;
    let measurement = match args.snapshot {
        Some(p) => crate::verify::Measurement::Snapshot(p),
        None => crate::verify::Measurement::Live(crate::config::CollectConfig {
            filter: crate::config::WorkloadFilter::default(),
            connection: args.conn.config()?,
            window: args
                .window
                .resolve(args.django_project.as_deref(), args.quiet)?,
        }),
    };
    if args.django_project.is_none()
        && (args.python.is_some() || args.settings.is_some() || args.migrations_app.is_some())
    {
        return Err(Error::Usage(
            "--python, --settings and --migrations-app need --django-project".into(),
        ));
    }
    let project = args.django_project.map(|p| {
        crate::emit::ProjectConfig::Django(crate::emit::django::DjangoConfig {
            project: p,
            // As for analyze: a relative --python is relative to the working directory, not
            // to the project (manage.py runs in the project's folder).
            python: args.python.map(|p| std::path::absolute(&p).unwrap_or(p)),
            settings: args.settings,
            migrations_app: args.migrations_app,
        })
    });
    Ok(crate::verify::VerifyConfig {
        baseline: args.baseline,
        measurement,
        out: args.out,
        project,
        format,
        quiet: args.quiet,
    })
}

/// Where `analyze` writes migrations, `Meta.indexes` lines and the SQL script (flatten into the
/// `analyze` arguments with `#[command(flatten)]`).
#[derive(Debug, Clone, Default, Args)]
pub struct EmitArgs {
    /// Write indexes.sql, meta_indexes.md and the migrations (mirroring the project's layout,
    /// `<app>/migrations/NNNN_….py`) into this folder, which must be new or empty. Never
    /// overwrites a file. Default for `analyze`: ./idxadvise-out (`explain` writes nothing
    /// without it).
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
    /// (django.contrib, third-party apps, auto-created many-to-many tables); default: the
    /// project's only app with migrations, when there is one.
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
        let cfg = self.emit_config()?;
        cfg.validate().map_err(Error::from)?;
        Ok(Some(cfg))
    }

    /// The flags as the emit stage takes them: the Django flags become the project target.
    /// When something is to be written, `--python`, `--settings` and `--migrations-app`
    /// without `--django-project` are refused (otherwise they are not used).
    fn emit_config(self) -> Result<crate::emit::EmitConfig> {
        let writes = self.out.is_some() || self.write_into_project;
        let stray =
            self.python.is_some() || self.settings.is_some() || self.migrations_app.is_some();
        if writes && self.django_project.is_none() && stray {
            return Err(Error::Usage(
                "--python, --settings and --migrations-app need --django-project".into(),
            ));
        }
        Ok(crate::emit::EmitConfig {
            out_dir: self.out,
            project: self.django_project.map(|p| {
                crate::emit::ProjectConfig::Django(crate::emit::django::DjangoConfig {
                    project: p,
                    python: self.python,
                    settings: self.settings,
                    migrations_app: self.migrations_app,
                })
            }),
            write_into_project: self.write_into_project,
        })
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
    fn verify_flags_validate() {
        let parse = |a: &[&str]| {
            let cli = Cli::try_parse_from(["idxadvise", "verify"].iter().chain(a.iter()))?;
            match cli.command {
                Command::Verify(v) => Ok::<_, clap::Error>(verify_config(*v)),
                _ => unreachable!(),
            }
        };
        assert!(parse(&[]).is_err(), "--baseline is required");
        let c = parse(&[
            "--baseline",
            "b",
            "--snapshot",
            "s.json",
            "--format",
            "json",
        ])
        .unwrap()
        .unwrap();
        assert!(matches!(
            c.measurement,
            crate::verify::Measurement::Snapshot(_)
        ));
        assert_eq!(c.format, crate::config::OutputFormat::Json);
        assert!(c.project.is_none());
        let err = parse(&["--baseline", "b", "--python", "py"])
            .unwrap()
            .unwrap_err();
        assert!(err.to_string().contains("--django-project"), "{err}");
        assert!(parse(&["--baseline", "b", "--format", "xml"])
            .unwrap()
            .is_err());
    }

    #[test]
    fn window_flag_resolves_from_flag_project_or_default() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[tool.idxadvise]\nwindow = \"15s\"\n",
        )
        .expect("write");
        let w = |flag: Option<&str>, project: Option<&std::path::Path>| {
            WindowArgs {
                window: flag.map(String::from),
            }
            .resolve(project, true)
            .map(|o| o.length)
        };
        let secs = std::time::Duration::from_secs;
        assert_eq!(w(None, None).expect("default"), secs(60));
        assert_eq!(w(None, Some(dir.path())).expect("project"), secs(15));
        assert_eq!(w(Some("0"), Some(dir.path())).expect("flag wins"), secs(0));
        assert_eq!(w(Some("2min"), None).expect("flag"), secs(120));
        let e = w(Some("soon"), None).expect_err("bad");
        assert_eq!(e.exit_code(), 2);
        let cli = Cli::try_parse_from(["idxadvise", "collect", "--window", "5s", "-q"]);
        assert!(cli.is_ok(), "collect takes --window and --quiet");
    }

    /// `--observe-values` is a hidden, deprecated alias: it sets the window's length (sampling
    /// runs during the window) and is left out of `--help`.
    #[test]
    fn observe_values_is_a_hidden_alias_of_the_window() {
        use clap::CommandFactory;
        let secs = std::time::Duration::from_secs;
        let base = crate::collect::window::WindowOptions::of(secs(0), true);
        let w = deprecated_observe_values(base, Some(8.0)).expect("valid");
        assert_eq!(w.length, secs(8));
        assert!(w.sample_values && w.quiet);
        assert_eq!(deprecated_observe_values(base, None).expect("unset"), base);
        let e = deprecated_observe_values(base, Some(-1.0)).expect_err("bad");
        assert_eq!(e.exit_code(), 2);
        let Ok(Cli {
            command: Command::Collect(args),
            ..
        }) = Cli::try_parse_from(["idxadvise", "collect", "--observe-values", "4"])
        else {
            panic!("collect still accepts --observe-values");
        };
        assert_eq!(args.observe_values, Some(4.0));
        let mut cmd = Cli::command();
        for sub in ["collect", "analyze"] {
            let help = cmd
                .find_subcommand_mut(sub)
                .expect("subcommand")
                .render_long_help()
                .to_string();
            assert!(!help.contains("observe-values"), "{sub}: {help}");
        }
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
        let Some(crate::emit::ProjectConfig::Django(django)) = cfg.project else {
            panic!("no Django project: {cfg:?}");
        };
        assert_eq!(django.migrations_app.as_deref(), Some("shop"));
        assert!(parse(&["--write-into-project"]).is_err());
        assert!(parse(&["--django-project", "p"]).is_err());
        assert!(parse(&["--out", "o", "--settings", "x"]).is_err());
    }
}
