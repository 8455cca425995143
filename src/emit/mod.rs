//! Stage `emit`: what the team applies, from the named recommendation ([`crate::naming`]):
//! `indexes.sql` (plain SQL, always) and, when a project is given, its migrations (Django:
//! `AddIndexConcurrently`, `RunSQL` for tables without an editable model, and the
//! `Meta.indexes` lines).
//!
//! Pure ([`plan_files`]) except reading the project and checking its snippets (the Django
//! target asks the project's own Django) and [`write_plan`] (the only writer; never
//! overwrites, all or nothing). Invariant: each index has the one name `naming` gave it, used
//! in the script, the migration and the `Meta.indexes` line; same input → byte-identical files.
//!
//! Output targets sit behind one seam, [`Target`]: a target turns the named recommendation
//! into its files and says which of its files creates each index ([`TargetFiles`]); the report
//! takes those paths from there, never from the files' text. [`sql::SqlTarget`] writes the
//! script on every run; at most one project target, chosen by [`ProjectConfig`], writes the
//! application's migrations ([`django::DjangoTarget`]). Adding another framework (Alembic,
//! Rails) means one new folder beside `django/` with its target, and one variant of
//! [`ProjectConfig`] (with its arm in [`ProjectConfig::open`] and
//! [`ProjectConfig::preflight`]); the pipeline, the naming step and the report stay as they
//! are.

pub mod django;
pub mod evidence;
pub mod fallback;
pub mod output;
pub mod plan;
#[cfg(test)]
mod prop_tests;
pub mod sql;
pub mod target;

use std::path::{Path, PathBuf};

pub use output::write_files;
pub use plan::{plan_files, Plan};
pub use target::{Target, TargetFiles};

/// What a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// `indexes.sql`.
    SqlScript,
    /// A migration of the project (its path mirrors the project: `shop/migrations/0002_….py`);
    /// `--write-into-project` writes it into the project itself.
    Migration {
        /// The migration history it extends (Django: the app label).
        chain: String,
    },
    /// What to change in the application's models to match the migrations
    /// (`meta_indexes.md`).
    ModelChanges,
    /// `report.md`, `report.json`, `plans/<queryid>.diff` (added by the pipeline).
    Report,
}

/// One planned file, its path relative to the output folder (or the project folder, for
/// migrations written into the project).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmittedFile {
    /// Relative path.
    pub path: PathBuf,
    /// Contents.
    pub contents: String,
    /// What it is.
    pub kind: FileKind,
}

/// Where the files go and which project to write migrations for (validated from the CLI
/// flags).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EmitConfig {
    /// `--out DIR`: every file, migrations mirroring the project's layout
    /// (`shop/migrations/0002_….py`), `indexes.sql`, `meta_indexes.md`.
    pub out_dir: Option<PathBuf>,
    /// The project whose migrations to write (none: the SQL script only).
    pub project: Option<ProjectConfig>,
    /// `--write-into-project`: migrations go into the project's migration folders (after the
    /// same checks); the other files into `--out` when given.
    pub write_into_project: bool,
}

/// The project target, one variant per framework.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectConfig {
    /// `--django-project` and its flags.
    Django(django::DjangoConfig),
}

impl ProjectConfig {
    /// Checks of the flags that need no project code to run (the folder is a project).
    pub fn preflight(&self) -> crate::error::Result<()> {
        match self {
            ProjectConfig::Django(d) => {
                crate::preflight::django_project(&d.project, d.python.as_deref())
            }
        }
    }

    /// Read the project (with its own framework), checking nothing else yet.
    pub fn open(&self) -> Result<Box<dyn Target>, EmitError> {
        match self {
            ProjectConfig::Django(d) => Ok(Box::new(django::DjangoTarget::open(d)?)),
        }
    }
}

impl EmitConfig {
    /// Whether anything is written (`--out` or `--write-into-project`).
    pub fn writes(&self) -> bool {
        self.out_dir.is_some() || self.write_into_project
    }

    /// Check the combination of flags.
    pub fn validate(&self) -> Result<(), EmitError> {
        if self.write_into_project && self.project.is_none() {
            return Err(EmitError::Usage(
                "--write-into-project needs --django-project".into(),
            ));
        }
        if !self.writes() {
            return Err(EmitError::Usage(
                "nowhere to write: give --out DIR (or --write-into-project)".into(),
            ));
        }
        Ok(())
    }
}

/// The project target of `cfg`, read now (none without a project); nothing else is checked.
pub fn open_target(cfg: &EmitConfig) -> Result<Option<Box<dyn Target>>, EmitError> {
    cfg.validate()?;
    cfg.project.as_ref().map(ProjectConfig::open).transpose()
}

/// Read the project before any analysis, when files will be written: everything that would
/// make [`plan_files`] refuse whatever the recommendation ([`Target::check_early`]: settings
/// that do not load, a `--migrations-app` that is not one of the project's apps, unmerged
/// migrations, on which `migrate` fails too) stops the run before minutes of work. Its
/// reserved names go to [`crate::naming::name`], the target itself to [`plan_files`].
pub fn read_project_early(cfg: &EmitConfig) -> Result<Option<Box<dyn Target>>, EmitError> {
    if cfg.project.is_none() || !cfg.writes() {
        return Ok(None);
    }
    let target = open_target(cfg)?;
    if let Some(t) = &target {
        t.check_early()?;
    }
    Ok(target)
}

/// Write planned files (migrations and everything else, e.g. reports added by the pipeline):
/// with `--write-into-project` migrations go into the project (`project_root`, from
/// [`Target::project_root`]) and the rest into `--out`; otherwise everything into `--out`.
/// Every destination is checked before anything is written, so a refusal writes nothing.
pub fn write_plan(
    files: &[EmittedFile],
    project_root: Option<&Path>,
    cfg: &EmitConfig,
) -> Result<Vec<PathBuf>, EmitError> {
    let is_migration = |f: &&EmittedFile| matches!(f.kind, FileKind::Migration { .. });
    let mut batches: Vec<(PathBuf, Vec<EmittedFile>)> = vec![];
    match (project_root, cfg.write_into_project) {
        (Some(root), true) => {
            batches.push((
                root.to_path_buf(),
                files.iter().filter(is_migration).cloned().collect(),
            ));
            if let Some(out) = &cfg.out_dir {
                batches.push((
                    out.clone(),
                    files.iter().filter(|f| !is_migration(f)).cloned().collect(),
                ));
            }
        }
        _ => {
            if let Some(out) = &cfg.out_dir {
                batches.push((out.clone(), files.to_vec()));
            }
        }
    }
    for (dir, files) in &batches {
        for f in files {
            if dir.join(&f.path).exists() {
                return Err(EmitError::Exists(dir.join(&f.path).display().to_string()));
            }
        }
    }
    let mut written = vec![];
    for (dir, files) in &batches {
        written.extend(write_files(dir, files)?);
    }
    Ok(written)
}

/// Errors planning or writing output.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// A bad combination of flags.
    #[error("{0}")]
    Usage(String),
    /// The Django project could not be introspected.
    #[error(transparent)]
    Introspect(#[from] django::IntrospectError),
    /// An app's migration graph has several leaves (or no migrations).
    #[error(transparent)]
    Leaf(#[from] django::graph::LeafError),
    /// Some tables have no editable model and no app was chosen for their RunSQL migrations.
    #[error("{} migration(s) ({creates} new index(es), {drops} drop(s)) belong to no app of this project: {}\n(choose the app whose migrations should hold them with --migrations-app <label>, one of: {})", creates + drops, tables.join("; "), apps.join(", "))]
    MigrationsAppNeeded {
        /// New indexes without a home.
        creates: usize,
        /// Drops without a home.
        drops: usize,
        /// `table (reason)`, each once, sorted.
        tables: Vec<String>,
        /// The project's own apps.
        apps: Vec<String>,
    },
    /// `--migrations-app` names no app of the project.
    #[error("--migrations-app {0:?} is not an app of this project with a migrations folder\n(one of: {1})")]
    UnknownApp(String, String),
    /// An app's migrations folder is outside the project folder.
    #[error("the migrations folder of app {app:?} ({dir}) is not inside the project folder\n(idxadvise mirrors the project's layout; write the files with --out and copy them)")]
    NotInProject {
        /// App label.
        app: String,
        /// Folder.
        dir: String,
    },
    /// A file is already there.
    #[error("{0:?} already exists; idxadvise never overwrites a file\n(choose an empty --out folder, or remove the file)")]
    Exists(String),
    /// Writing failed.
    #[error("cannot write {path:?}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

impl From<EmitError> for crate::error::Error {
    fn from(e: EmitError) -> Self {
        let message = e.to_string();
        match e {
            EmitError::Io { source, .. } => crate::error::Error::Output {
                message,
                source: Some(source),
            },
            EmitError::Exists(_) => crate::error::Error::Output {
                message,
                source: None,
            },
            other => crate::error::Error::caused(crate::error::Kind::Usage, message, other),
        }
    }
}

/// A write failure after the analysis: say what was completed (`creates` new indexes, `drops`
/// drops), and that nothing was left in `out_dir`.
pub fn not_written(
    e: EmitError,
    creates: usize,
    drops: usize,
    out_dir: &std::path::Path,
) -> crate::error::Error {
    use crate::error::Error;
    let done = format!(
        "the analysis completed ({creates} indexes to create, {drops} to drop) but its files were not written: "
    );
    match Error::from(e) {
        Error::Output { message, source } => Error::Output {
            message: format!(
                "{done}{message}\n(no file was left in {:?}; choose another --out, then run again)",
                out_dir.display().to_string(),
            ),
            source,
        },
        other => other,
    }
}
