//! `idxadvise demo`: the main job on the bundled example with nothing to configure.
//!
//! I/O. Starts a throwaway cluster ([`crate::sandbox`]), creates the example shop's schema
//! (through the example Django project's own `migrate` when a Python with Django is available,
//! else from the example's `schema.sql`), loads its data, and runs `analyze` on it while its API
//! workload (as Django sent it) is replayed during the observation window ([`DEMO_WINDOW`]), so
//! the window's deltas are the workload. The cluster is
//! stopped when the demo ends, whatever happens.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Kind};
use crate::sandbox::Sandbox;

/// The example shop, as files.
#[derive(Debug)]
pub struct Example {
    /// The Django project (manage.py) and its SQL files.
    pub dir: PathBuf,
    /// Holds the temporary folder the embedded example was written into (removed on drop).
    _tmp: tempfile::TempDir,
}

impl Example {
    /// The example embedded in this binary ([`crate::example`]), written into a temporary
    /// folder: the demo needs no checkout and works from any folder.
    pub fn bundled() -> Result<Example, Error> {
        let tmp = tempfile::Builder::new()
            .prefix("idxadvise-example-")
            .tempdir()
            .map_err(|e| {
                Error::caused(Kind::Internal, format!("cannot create a temp dir: {e}"), e)
            })?;
        let dir = tmp.path().join("shop");
        crate::example::extract(&dir).map_err(|e| {
            let message = format!(
                "cannot write the example project into {}: {e}",
                dir.display()
            );
            Error::caused(Kind::Internal, message, e)
        })?;
        Ok(Example { dir, _tmp: tmp })
    }
}

/// The Python for the example project when none is given: the first that can run it of the Python
/// next to this binary (the venv `pip install idxadvise` put it in) and `python3` on `PATH`.
pub fn find_python() -> Option<PathBuf> {
    let mut candidates = vec![];
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        candidates.push(dir.join("python3"));
        candidates.push(dir.join("python"));
    }
    candidates.push(PathBuf::from("python3"));
    candidates.into_iter().find(|p| can_run_example(p))
}

/// Whether `python` can run the example project: it imports Django and a PostgreSQL driver
/// (psycopg2 or psycopg 3).
pub fn can_run_example(python: &Path) -> bool {
    let script =
        "import django\ntry:\n    import psycopg2\nexcept ImportError:\n    import psycopg\n";
    Command::new(python)
        .args(["-c", script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Create and fill the example database in the sandbox; returns its URL. `python` (with Django)
/// makes the schema through the example project's migrations, as a real project has it.
pub fn prepare(
    sandbox: &Sandbox,
    example: &Example,
    python: Option<&Path>,
    progress: &mut dyn FnMut(&str),
) -> Result<String, Error> {
    let db = "shop";
    sandbox.psql("postgres", "CREATE DATABASE shop")?;
    sandbox.psql(
        db,
        "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION hypopg;",
    )?;
    let url = sandbox.url(db);
    match python.filter(|p| can_run_example(p)) {
        Some(py) => {
            progress(
                "creating the schema with the example project's migrations (manage.py migrate)",
            );
            let out = Command::new(py)
                .arg("manage.py")
                .args(["migrate", "-v", "0"])
                .current_dir(&example.dir)
                .env("DATABASE_URL", &url)
                .stdin(Stdio::null())
                .output()
                .map_err(|e| {
                    Error::caused(
                        Kind::Internal,
                        format!("cannot run {}: {e}", py.display()),
                        e,
                    )
                })?;
            if !out.status.success() {
                return Err(Error::Internal(format!(
                    "manage.py migrate failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                        .lines()
                        .last()
                        .unwrap_or("")
                )));
            }
        }
        None => {
            progress("creating the schema from the example's schema.sql (no Python with Django)");
            sandbox.psql_file(db, &example.dir.join("schema.sql"))?;
        }
    }
    progress("loading the example data (300,000 orders)");
    sandbox.psql_file(db, &example.dir.join("data.sql"))?;
    sandbox.psql(db, "ANALYZE")?;
    sandbox.psql(db, "SELECT pg_stat_statements_reset()")?;
    Ok(url)
}

/// The demo's observation window: the example's replay takes a few seconds; the window stays
/// open until the replay has finished in any case.
pub const DEMO_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

/// The first free output folder: `base`, else `base-2`, `base-3`, … (never an existing
/// non-empty folder: the demo never overwrites).
fn free_out_dir(base: &Path) -> PathBuf {
    let empty_or_missing = |p: &Path| match std::fs::read_dir(p) {
        Ok(mut d) => d.next().is_none(),
        Err(_) => !p.exists(),
    };
    if empty_or_missing(base) {
        return base.to_path_buf();
    }
    (2..)
        .map(|n| PathBuf::from(format!("{}-{n}", base.display())))
        .find(|p| empty_or_missing(p))
        .unwrap_or_else(|| base.to_path_buf())
}

/// What the demo analyses and where it writes, for [`run`]'s `configure`: the equivalent of
/// `analyze --out DIR [--django-project DIR --python PATH --migrations-app shop]`.
#[derive(Debug, Clone)]
pub struct DemoRun {
    /// The throwaway cluster, observed live.
    pub source: crate::analyze::Source,
    /// The throwaway cluster's connection.
    pub connection: crate::config::ConnectionConfig,
    /// `--out`.
    pub out_dir: PathBuf,
    /// `--django-project`: the example project, when a Python with Django was found.
    pub django_project: Option<PathBuf>,
    /// `--python`.
    pub python: Option<PathBuf>,
    /// `--migrations-app`.
    pub migrations_app: Option<String>,
    /// `--quiet`.
    pub quiet: bool,
}

/// `idxadvise demo`: start a throwaway cluster, load the example, run `analyze` on it with the
/// example Django project, write the output folder, say what to look at, stop the cluster.
/// `configure` turns the demo's choices into the run's configuration the way the command line
/// does (the caller, `cli`, owns that translation: the demo does not depend on it).
pub fn run(
    out_dir: Option<PathBuf>,
    python: Option<PathBuf>,
    quiet: bool,
    configure: &dyn Fn(DemoRun) -> Result<crate::analyze::AnalyzeConfig, Error>,
    out: &mut dyn std::io::Write,
) -> Result<i32, Error> {
    let say = |m: &str| {
        if !quiet {
            eprintln!("demo: {m}");
        }
    };
    let example = Example::bundled()?;
    let out_dir = match out_dir {
        Some(d) => d,
        None => free_out_dir(Path::new("idxadvise-demo-out")),
    };
    say("starting a throwaway PostgreSQL 15 cluster (pg_stat_statements, HypoPG)");
    let mut sandbox = Sandbox::start()?;
    // manage.py runs in the example's folder: make a relative path absolute first (without
    // resolving symlinks: a venv's python is a symlink to the base interpreter).
    let python = match python {
        Some(p) => Some(std::path::absolute(&p).unwrap_or(p)).filter(|p| can_run_example(p)),
        None => find_python(),
    };
    match &python {
        Some(p) => say(&format!("the example Django project runs with {}", p.display())),
        None => say("no Python with Django and psycopg found (--python, the Python next to idxadvise, python3): the schema comes from schema.sql and only indexes.sql is written\n(for the Django migrations too: `pip install Django psycopg2-binary` next to idxadvise, or give --python PATH)"),
    }
    let url = prepare(&sandbox, &example, python.as_deref(), &mut |m| say(m))?;
    let conn = crate::config::ConnectionConfig::new(Some(url), None, "30s")?;
    let source = crate::analyze::Source::Live(crate::config::CollectConfig {
        filter: crate::config::WorkloadFilter::new(1, None, None)?,
        connection: conn.clone(),
        window: crate::collect::window::WindowOptions::of(DEMO_WINDOW, quiet),
    });
    let mut config = configure(DemoRun {
        source,
        connection: conn,
        out_dir: out_dir.clone(),
        django_project: python.as_ref().map(|_| example.dir.clone()),
        python: python.clone(),
        migrations_app: python.as_ref().map(|_| "shop".to_string()),
        quiet,
    })?;
    say("analyze: the example's API workload and planted Django patterns are replayed during the observation window");
    let replayer = sandbox.replayer();
    let dir = example.dir.clone();
    config.during_window = Some(crate::analyze::DuringWindow(std::sync::Arc::new(
        move || {
            // The API workload, then the Django patterns the example plants (N+1, paginator
            // counts, deep pages, search, …) for the triage's findings.
            for file in ["workload.sql", "patterns.sql"] {
                if let Err(e) = replayer.psql_file("shop", &dir.join(file)) {
                    eprintln!("demo: the replay of {file} failed: {}", e.message());
                }
            }
        },
    )));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            Error::caused(
                Kind::Internal,
                format!("cannot start the async runtime: {e}"),
                e,
            )
        })?;
    let result = rt.block_on(crate::analyze::run(&config, out));
    sandbox.stop();
    let outcome = result?;
    writeln!(
        out,
        "\nThe demo cluster is stopped. Look at:\n  {d}/report.md        the triage and every recommended index with its evidence\n  {d}/plans/           each affected statement's plan, before and after\n  {d}/indexes.sql      plain SQL (CREATE INDEX CONCURRENTLY)\n  {d}/shop/migrations/ the Django migrations, and {d}/meta_indexes.md for the models",
        d = out_dir.display()
    )?;
    let _ = outcome.exit_code;
    Ok(crate::error::EXIT_OK)
}
