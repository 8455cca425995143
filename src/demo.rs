//! `idxadvise demo`: the main job on the bundled example with nothing to configure.
//!
//! I/O. Starts a throwaway cluster ([`crate::sandbox`]), creates the example shop's schema
//! (through the example Django project's own `migrate` when a Python with Django is available,
//! else from `examples/shop/schema.sql`), loads its data, replays its API workload (as Django
//! sent it) so pg_stat_statements holds it, and hands the database to `analyze`. The cluster is
//! stopped when the demo ends, whatever happens.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::Error;
use crate::sandbox::Sandbox;

/// The example shop, as files.
#[derive(Debug, Clone)]
pub struct Example {
    /// `examples/shop`: the Django project (manage.py) and its SQL files.
    pub dir: PathBuf,
}

impl Example {
    /// The bundled example, found next to the sources this binary was built from, or in the
    /// current folder.
    pub fn bundled() -> Result<Example, Error> {
        let candidates = [
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/shop"),
            PathBuf::from("examples/shop"),
        ];
        candidates
            .into_iter()
            .find(|d| d.join("manage.py").exists() && d.join("data.sql").exists())
            .map(|dir| Example { dir })
            .ok_or_else(|| {
                Error::Usage(
                    "the bundled example (examples/shop) was not found\n(run the demo from the idxadvise repository)".into(),
                )
            })
    }
}

/// Whether `python` can import Django.
pub fn has_django(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import django"])
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
    match python.filter(|p| has_django(p)) {
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
                .map_err(|e| Error::Internal(format!("cannot run {}: {e}", py.display())))?;
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
            progress(
                "creating the schema from examples/shop/schema.sql (no Python with Django given)",
            );
            sandbox.psql_file(db, &example.dir.join("schema.sql"))?;
        }
    }
    progress("loading the example data (300,000 orders)");
    sandbox.psql_file(db, &example.dir.join("data.sql"))?;
    progress("replaying the example API workload");
    sandbox.psql(db, "SELECT pg_stat_statements_reset()")?;
    sandbox.psql_file(db, &example.dir.join("workload.sql"))?;
    sandbox.psql(db, "ANALYZE")?;
    Ok(url)
}
