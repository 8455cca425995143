//! Stage `emit`: what the team applies: `indexes.sql` (plain SQL), Django migrations
//! (`AddIndexConcurrently`, `RunSQL` for tables without an editable model) and the
//! `Meta.indexes` lines.
//!
//! Pure ([`plan_files`]) except [`django::introspect`] (asks the project's Django) and
//! [`write_files`] (the only writer; never overwrites, all or nothing). Invariant: each index has
//! one name, used in the script, the migration and the `Meta.indexes` line; same input →
//! byte-identical files.

pub mod django;
pub mod evidence;
pub mod output;
pub mod plan;
#[cfg(test)]
mod prop_tests;
pub mod sql;

use std::path::PathBuf;

pub use output::write_files;
pub use plan::plan_files;

/// Options for [`plan_files`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmitOptions {
    /// The version written in headers (`env!("CARGO_PKG_VERSION")`).
    pub version: String,
    /// `--migrations-app`: the user app that holds `RunSQL` migrations for tables without an
    /// editable model (contrib and third-party apps, auto-created M2M tables).
    pub migrations_app: Option<String>,
}

impl Default for EmitOptions {
    fn default() -> Self {
        EmitOptions {
            version: env!("CARGO_PKG_VERSION").to_string(),
            migrations_app: None,
        }
    }
}

/// What a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// `indexes.sql`.
    SqlScript,
    /// A migration of an app (its path mirrors the project: `shop/migrations/0002_….py`).
    Migration {
        /// App label.
        app_label: String,
    },
    /// `meta_indexes.md`.
    MetaIndexes,
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

/// The `Meta.indexes` entries to add to one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaIndexes {
    /// App label.
    pub app_label: String,
    /// Model class name.
    pub model_name: String,
    /// `shop/models.py:36`, relative to the project, when known.
    pub source: Option<String>,
    /// Imports the entries need besides `from django.db import models`.
    pub imports: Vec<String>,
    /// Each entry, as in the migration: `models.Index(` … `),` indented by 12 spaces (inside
    /// `class Meta:` → `indexes = [`).
    pub entries: Vec<String>,
    /// The `class Meta` line to write (`    class Meta(TimestampedModel.Meta):` where the model
    /// inherits its parent's Meta), see [`django::meta`].
    pub class_line: String,
    /// The lines that open the `indexes` list (`*Parent.Meta.indexes,` kept).
    pub list_open: Vec<String>,
    /// Where the entries go, in one sentence.
    pub instruction: String,
}

/// Everything planned for one recommendation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// `names[i]` is the name of `rec.create[i]`.
    pub names: Vec<String>,
    /// Files, in a fixed order: `indexes.sql`, migrations (by app, then number),
    /// `meta_indexes.md`.
    pub files: Vec<EmittedFile>,
    /// Meta.indexes per model, for the report.
    pub meta_indexes: Vec<MetaIndexes>,
    /// Caveats for the report (RunSQL reasons, SQL-only output, …).
    pub notes: Vec<String>,
    /// Changes to models.py that the drops' migrations assume.
    pub model_edits: Vec<ModelEdit>,
}

/// A change to a model's source that a drop's migration assumes (its state already has it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelEdit {
    /// Remove the `Meta.indexes` entry with this name.
    RemoveMetaIndex {
        /// App label.
        app_label: String,
        /// Model class name.
        model_name: String,
        /// Index name.
        name: String,
    },
    /// Set `db_index=False` on this field.
    NoDbIndex {
        /// App label.
        app_label: String,
        /// Model class name.
        model_name: String,
        /// Field name.
        field: String,
    },
}

impl Plan {
    /// The migration files only (for `--write-into-project`).
    pub fn migrations(&self) -> Vec<EmittedFile> {
        self.files
            .iter()
            .filter(|f| matches!(f.kind, FileKind::Migration { .. }))
            .cloned()
            .collect()
    }

    /// Everything but migrations.
    pub fn others(&self) -> Vec<EmittedFile> {
        self.files
            .iter()
            .filter(|f| !matches!(f.kind, FileKind::Migration { .. }))
            .cloned()
            .collect()
    }
}

/// Where the files go and which Django project to read (validated from the CLI flags).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EmitConfig {
    /// `--out DIR`: every file, migrations mirroring the project's layout
    /// (`shop/migrations/0002_….py`), `indexes.sql`, `meta_indexes.md`.
    pub out_dir: Option<PathBuf>,
    /// `--django-project DIR` (the folder with manage.py).
    pub django_project: Option<PathBuf>,
    /// `--python` (default: the project's `.venv`/`venv`, else `python3`).
    pub python: Option<PathBuf>,
    /// `--settings` (a settings module, passed to manage.py).
    pub settings: Option<String>,
    /// `--migrations-app` (see [`EmitOptions::migrations_app`]).
    pub migrations_app: Option<String>,
    /// `--write-into-project`: migrations go into the project's migration folders (after the
    /// same checks); the other files into `--out` when given.
    pub write_into_project: bool,
}

impl EmitConfig {
    /// Check the combination of flags.
    pub fn validate(&self) -> Result<(), EmitError> {
        if self.write_into_project && self.django_project.is_none() {
            return Err(EmitError::Usage(
                "--write-into-project needs --django-project".into(),
            ));
        }
        if self.out_dir.is_none() && !self.write_into_project {
            return Err(EmitError::Usage(
                "nowhere to write: give --out DIR (or --write-into-project)".into(),
            ));
        }
        if self.django_project.is_none()
            && (self.python.is_some() || self.settings.is_some() || self.migrations_app.is_some())
        {
            return Err(EmitError::Usage(
                "--python, --settings and --migrations-app need --django-project".into(),
            ));
        }
        Ok(())
    }
}

/// The whole emit stage for the pipeline: introspect the Django project (when given), plan
/// every file, check that none exists, then write them. Returns the plan (names,
/// Meta.indexes, notes for the report) and the paths written.
pub fn emit(
    rec: &crate::select::Recommendation,
    catalog: &crate::model::Catalog,
    cfg: &EmitConfig,
    version: &str,
) -> Result<(Plan, Vec<PathBuf>), EmitError> {
    let (plan, project) = prepare(rec, catalog, cfg, version)?;
    let written = write_plan(&plan.files, project.as_ref(), cfg)?;
    Ok((plan, written))
}

/// Introspect the Django project (when given) and plan every file, writing nothing.
pub fn prepare(
    rec: &crate::select::Recommendation,
    catalog: &crate::model::Catalog,
    cfg: &EmitConfig,
    version: &str,
) -> Result<(Plan, Option<django::DjangoProject>), EmitError> {
    cfg.validate()?;
    let project = match &cfg.django_project {
        Some(dir) => Some(django::introspect(
            dir,
            cfg.python.as_deref(),
            cfg.settings.as_deref(),
        )?),
        None => None,
    };
    prepare_with(rec, catalog, cfg, version, project)
}

/// Read the Django project before any analysis, when files will be written: everything that
/// would make [`plan_files`] refuse whatever the recommendation (settings that do not load, a
/// `--migrations-app` that is not one of the project's apps, unmerged migrations, on which
/// `migrate` fails too) stops the run before minutes of work. Pass the result to
/// [`prepare_with`].
pub fn read_project_early(cfg: &EmitConfig) -> Result<Option<django::DjangoProject>, EmitError> {
    let Some(dir) = &cfg.django_project else {
        return Ok(None);
    };
    if cfg.out_dir.is_none() && !cfg.write_into_project {
        return Ok(None);
    }
    cfg.validate()?;
    let project = django::introspect(dir, cfg.python.as_deref(), cfg.settings.as_deref())?;
    let own: Vec<&django::introspect::DjangoApp> = project
        .apps
        .iter()
        .filter(|a| project.is_own_app(&a.label))
        .collect();
    if let Some(app) = &cfg.migrations_app {
        if !own.iter().any(|a| &a.label == app) {
            let labels: Vec<&str> = own.iter().map(|a| a.label.as_str()).collect();
            return Err(EmitError::UnknownApp(app.clone(), labels.join(", ")));
        }
    }
    for app in &own {
        django::graph::single_leaf(app)?;
    }
    Ok(Some(project))
}

/// [`prepare`] with the project already read ([`read_project_early`]).
pub fn prepare_with(
    rec: &crate::select::Recommendation,
    catalog: &crate::model::Catalog,
    cfg: &EmitConfig,
    version: &str,
    project: Option<django::DjangoProject>,
) -> Result<(Plan, Option<django::DjangoProject>), EmitError> {
    cfg.validate()?;
    let opts = EmitOptions {
        version: version.to_string(),
        migrations_app: cfg.migrations_app.clone(),
    };
    let mut plan = plan_files(rec, catalog, project.as_ref(), &opts)?;
    if let Some(p) = &project {
        check_snippets(&mut plan, p, cfg);
    }
    Ok((plan, project))
}

/// Check the `Meta.indexes` snippets and the drops' model changes in a copy of the project
/// ([`django::check_meta`]) and say the verdict in `meta_indexes.md` and the notes.
fn check_snippets(plan: &mut Plan, project: &django::DjangoProject, cfg: &EmitConfig) {
    if plan.meta_indexes.is_empty() && plan.model_edits.is_empty() {
        return;
    }
    let python = cfg
        .python
        .clone()
        .unwrap_or_else(|| django::introspect::default_python(&project.root));
    let check = django::check_meta::check(project, &python, cfg.settings.as_deref(), plan);
    let verdict = django::check_meta::verdict(&check, &project.django_version);
    for f in plan.files.iter_mut() {
        if f.kind == FileKind::MetaIndexes {
            f.contents.push_str(&format!("\n{verdict}\n"));
        }
    }
    plan.notes.push(format!("Meta.indexes: {verdict}"));
}

/// Write planned files (migrations and everything else, e.g. reports added by the pipeline):
/// with `--write-into-project` migrations go into the project and the rest into `--out`;
/// otherwise everything into `--out`. Every destination is checked before anything is written,
/// so a refusal writes nothing.
pub fn write_plan(
    files: &[EmittedFile],
    project: Option<&django::DjangoProject>,
    cfg: &EmitConfig,
) -> Result<Vec<PathBuf>, EmitError> {
    let is_migration = |f: &&EmittedFile| matches!(f.kind, FileKind::Migration { .. });
    let mut batches: Vec<(PathBuf, Vec<EmittedFile>)> = vec![];
    match (project, cfg.write_into_project) {
        (Some(p), true) => {
            batches.push((
                p.root.clone(),
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
