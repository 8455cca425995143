//! Stage `emit/django`: what Django itself says about a project: models, their tables and
//! columns, `Meta.indexes`, auto-created M2M tables, migration folders and the migration
//! files on disk.
//!
//! The only I/O of `emit`: runs a small read-only script (`introspect.py`) through the
//! project's own `python manage.py shell -v 0 -c …`, which writes JSON to a temp file (stdout
//! carries Django's noise on 5.2+). It touches no database: the migration graph comes from the
//! files on disk, never from `django_migrations`. Invariant: tables and columns are mapped to
//! Django names only from this data, never guessed.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

/// The introspection script, run inside the project's Django.
pub const SCRIPT: &str = include_str!("introspect.py");

/// Errors finding or introspecting a Django project.
#[derive(Debug, thiserror::Error)]
pub enum IntrospectError {
    /// No `manage.py` in the folder given.
    #[error("no manage.py in {0:?}\n(--django-project must be the folder that holds manage.py)")]
    NoManagePy(String),
    /// The Python interpreter could not be started.
    #[error("cannot run {python:?}: {source}\n(give the project's interpreter with --python)")]
    Spawn {
        /// Interpreter.
        python: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Django failed (import error, bad settings, …).
    #[error("introspecting the Django project failed ({status}):\n{stderr}\n(check that `{python} manage.py check` works, and --settings / --python)")]
    Failed {
        /// Interpreter.
        python: String,
        /// Exit status.
        status: String,
        /// The end of stderr.
        stderr: String,
    },
    /// Temp file or JSON trouble.
    #[error("cannot read the introspection result: {0}")]
    Output(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// What Django says about a project (the JSON `introspect.py` writes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DjangoProject {
    /// The project folder (holds manage.py), canonical. Set by [`introspect`].
    #[serde(default)]
    pub root: PathBuf,
    /// `django.get_version()`.
    pub django_version: String,
    /// The settings module in use.
    #[serde(default)]
    pub settings_module: Option<String>,
    /// Concrete models (not auto-created ones).
    pub models: Vec<DjangoModel>,
    /// Auto-created many-to-many tables.
    pub m2m_tables: Vec<M2mTable>,
    /// Installed apps.
    pub apps: Vec<DjangoApp>,
    /// `DATABASES`: per alias, engine and OPTIONS.
    #[serde(default)]
    pub databases: std::collections::BTreeMap<String, DatabaseConf>,
}

/// One model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DjangoModel {
    /// App label (`shop`).
    pub app_label: String,
    /// Class name (`Order`).
    pub model_name: String,
    /// `Meta.db_table`.
    pub db_table: String,
    /// `Meta.managed`.
    pub managed: bool,
    /// `Meta.proxy`.
    pub proxy: bool,
    /// Source file of the class, when known.
    pub source_file: Option<PathBuf>,
    /// Line of the class statement.
    pub source_line: Option<u32>,
    /// Local concrete fields.
    pub fields: Vec<DjangoField>,
    /// `Meta.indexes`.
    pub indexes: Vec<DjangoIndex>,
    /// The names of the indexes the project state of the migrations on disk gives the model
    /// (what its migrations create); `None` when not known (older JSON, a state Django could
    /// not build, a model no migration creates).
    #[serde(default)]
    pub migrated_indexes: Option<Vec<String>>,
    /// `Meta.constraints` (name, class).
    pub constraints: Vec<DjangoConstraint>,
    /// How the class statement declares `Meta` (read from its source), when known.
    #[serde(default)]
    pub meta: Option<MetaSource>,
}

/// How a model's class statement declares `Meta`, read from its source: Django keeps no trace
/// of whether a concrete model's `Meta` is its own or an abstract parent's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MetaSource {
    /// The class body has its own `class Meta`.
    pub own: bool,
    /// The bases of that `class Meta(…)`, as written.
    #[serde(default)]
    pub own_bases: Vec<String>,
    /// That `class Meta` assigns `indexes`.
    #[serde(default)]
    pub own_indexes: bool,
    /// The `Meta` of the nearest abstract parent (`TimestampedModel.Meta`), as the class
    /// statement names the parent: a `Meta` added without inheriting from it loses its options.
    #[serde(default)]
    pub parent_meta: Option<String>,
    /// The parent `Meta` whose `indexes` the model inherits (a new `indexes` list replaces
    /// them unless it starts with `*Parent.Meta.indexes`).
    #[serde(default)]
    pub inherited_indexes: Option<String>,
}

/// One field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DjangoField {
    /// Field name (`customer`).
    pub name: String,
    /// Attribute name (`customer_id`).
    pub attname: String,
    /// Database column (`customer_id`, `sku_code`).
    pub column: String,
    /// A relation (FK, one-to-one).
    pub is_relation: bool,
    /// `get_internal_type()`.
    pub internal_type: String,
    /// `db_index` (a ForeignKey's is on by default).
    #[serde(default)]
    pub db_index: bool,
    /// The names Django gives the field's own indexes (`db_index`): the plain one and, for
    /// varchar/text, the `_like` one.
    #[serde(default)]
    pub index_names: Vec<String>,
    /// The field with `db_index=False`, as the migration writer writes it (for the state of a
    /// drop).
    #[serde(default)]
    pub without_index: Option<FieldCode>,
    /// A foreign key's name from the model it points at, in lookups and aggregates
    /// (`related_query_name()`: `order` for `Count("order")`).
    #[serde(default)]
    pub related_query_name: Option<String>,
    /// A foreign key's reverse accessor (`order_set`), for `prefetch_related()`; `None` when
    /// hidden (`related_name="+"`).
    #[serde(default)]
    pub accessor: Option<String>,
}

/// A field definition as Django's migration writer writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldCode {
    /// Callable (`models.ForeignKey`).
    pub func: String,
    /// Keyword arguments, sorted, each value as Python code with black's quotes.
    pub kwargs: Vec<(String, String)>,
    /// Import lines the code needs.
    pub imports: Vec<String>,
}

/// One `Meta.indexes` entry, as `deconstruct()` gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DjangoIndex {
    /// Name.
    pub name: String,
    /// `fields`.
    pub fields: Vec<String>,
    /// Expressions (their repr).
    pub expressions: Vec<String>,
    /// Condition (its repr).
    pub condition: Option<String>,
    /// `include`.
    pub include: Vec<String>,
    /// `opclasses`.
    pub opclasses: Vec<String>,
    /// Any other keyword argument of `deconstruct()` (`db_tablespace`, …), sorted.
    #[serde(default)]
    pub other: Vec<String>,
}

/// One `Meta.constraints` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DjangoConstraint {
    /// Name.
    pub name: String,
    /// Class name (`UniqueConstraint`, …).
    pub kind: String,
}

/// An auto-created many-to-many table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct M2mTable {
    /// Table (`shop_product_tags`).
    pub db_table: String,
    /// App label of the through model.
    pub app_label: String,
    /// App of the model that declares the field.
    pub owner_app: String,
    /// Model that declares the field.
    pub owner_model: String,
    /// Its fields.
    pub fields: Vec<DjangoField>,
}

/// One installed app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DjangoApp {
    /// Label.
    pub label: String,
    /// Its name in INSTALLED_APPS (`django.contrib.postgres`).
    #[serde(default)]
    pub name: String,
    /// App folder.
    pub path: PathBuf,
    /// Migrations module (`shop.migrations`), if any.
    pub migrations_module: Option<String>,
    /// Migrations folder, when the module exists.
    pub migrations_dir: Option<PathBuf>,
    /// Migration files on disk.
    pub migrations: Vec<DiskMigration>,
    /// Django's own leaf nodes for this app (a cross-check for [`super::graph`]).
    pub leaves: Vec<String>,
}

/// One migration file on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskMigration {
    /// Name (`0002_order_status`).
    pub name: String,
    /// `dependencies` as (app label, name); `__first__`/`__latest__` kept as written.
    pub dependencies: Vec<(String, String)>,
    /// `replaces` (squashed migrations).
    pub replaces: Vec<(String, String)>,
}

/// One `DATABASES` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseConf {
    /// ENGINE.
    pub engine: String,
    /// OPTIONS, as JSON.
    pub options: serde_json::Value,
}

impl DjangoProject {
    /// The app with this label.
    pub fn app(&self, label: &str) -> Option<&DjangoApp> {
        self.apps.iter().find(|a| a.label == label)
    }

    /// Whether `django.contrib.postgres` is in INSTALLED_APPS: without it, Django renders an
    /// `OpClass` inside an expression index as invalid SQL.
    pub fn has_contrib_postgres(&self) -> bool {
        self.apps
            .iter()
            .any(|a| a.name == "django.contrib.postgres")
    }

    /// Whether migrations can be written into this app: it has a migrations folder inside the
    /// project folder, not inside an installed package.
    pub fn is_own_app(&self, label: &str) -> bool {
        self.app(label).is_some_and(|a| {
            a.migrations_dir.as_ref().is_some_and(|d| {
                d.starts_with(&self.root)
                    && !d.components().any(|c| {
                        c.as_os_str() == "site-packages" || c.as_os_str() == "dist-packages"
                    })
            })
        })
    }

    /// Whether the user can edit the model: its source file is inside the project folder and
    /// not inside an installed package (a venv under the project).
    pub fn is_editable(&self, model: &DjangoModel) -> bool {
        match &model.source_file {
            Some(f) => {
                f.starts_with(&self.root)
                    && !f.components().any(|c| {
                        c.as_os_str() == "site-packages" || c.as_os_str() == "dist-packages"
                    })
            }
            None => false,
        }
    }

    /// `lock_timeout` / `statement_timeout` settings found in any `DATABASES[…]["OPTIONS"]`,
    /// as `(alias, text)`: each can cancel a concurrent build and leave an INVALID index.
    pub fn timeout_settings(&self) -> Vec<(String, String)> {
        let mut out = vec![];
        for (alias, db) in &self.databases {
            let mut texts = vec![];
            collect_strings(&db.options, "", &mut texts);
            for t in texts {
                let lower = t.to_ascii_lowercase();
                if lower.contains("lock_timeout") || lower.contains("statement_timeout") {
                    out.push((alias.clone(), t));
                }
            }
        }
        out
    }
}

fn collect_strings(v: &serde_json::Value, key: &str, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                collect_strings(v, k, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect_strings(v, key, out)),
        serde_json::Value::Null => {}
        serde_json::Value::String(s) if key.is_empty() || key == "options" => out.push(s.clone()),
        other => {
            let text = match other {
                serde_json::Value::String(s) => s.clone(),
                o => o.to_string(),
            };
            out.push(format!("{key}={text}"));
        }
    }
}

/// The Python to use: the given one, else the project's venv (`.venv/bin/python`,
/// `venv/bin/python`), else `python3`.
pub fn default_python(project: &Path) -> PathBuf {
    for venv in [".venv", "venv"] {
        let p = project.join(venv).join("bin").join("python");
        if p.exists() {
            return p;
        }
    }
    PathBuf::from("python3")
}

/// Run the introspection script in the project. `python`: `None` for [`default_python`];
/// `settings`: a settings module for `--settings`.
pub fn introspect(
    project: &Path,
    python: Option<&Path>,
    settings: Option<&str>,
) -> Result<DjangoProject, IntrospectError> {
    let root = project
        .canonicalize()
        .map_err(|_| IntrospectError::NoManagePy(project.display().to_string()))?;
    if !root.join("manage.py").is_file() {
        return Err(IntrospectError::NoManagePy(root.display().to_string()));
    }
    let python = python
        .map(Path::to_path_buf)
        .unwrap_or_else(|| default_python(&root));
    let dir = tempfile::tempdir().map_err(|e| IntrospectError::Output(e.into()))?;
    let out_path = dir.path().join("django.json");
    let mut cmd = Command::new(&python);
    cmd.current_dir(&root)
        .arg("manage.py")
        .arg("shell")
        .args(["-v", "0"])
        .arg("-c")
        .arg(SCRIPT)
        .env("IDXADVISE_INTROSPECT_OUT", &out_path)
        .stdin(std::process::Stdio::null());
    if let Some(s) = settings {
        cmd.arg("--settings").arg(s);
    }
    let output = cmd.output().map_err(|source| IntrospectError::Spawn {
        python: python.display().to_string(),
        source,
    })?;
    if !output.status.success() || !out_path.exists() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        return Err(IntrospectError::Failed {
            python: python.display().to_string(),
            status: output.status.to_string(),
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        });
    }
    let text = std::fs::read_to_string(&out_path).map_err(|e| IntrospectError::Output(e.into()))?;
    let mut project: DjangoProject =
        serde_json::from_str(&text).map_err(|e| IntrospectError::Output(e.into()))?;
    project.root = root;
    Ok(project)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_timeouts_in_options() {
        let mut p = DjangoProject::default();
        p.databases.insert(
            "default".into(),
            DatabaseConf {
                engine: "django.db.backends.postgresql".into(),
                options: serde_json::json!({"options": "-c lock_timeout=2s -c search_path=x", "sslmode": "require"}),
            },
        );
        p.databases.insert(
            "replica".into(),
            DatabaseConf {
                engine: "django.db.backends.postgresql".into(),
                options: serde_json::json!({"statement_timeout": 5000}),
            },
        );
        assert_eq!(
            p.timeout_settings(),
            vec![
                (
                    "default".to_string(),
                    "-c lock_timeout=2s -c search_path=x".to_string()
                ),
                ("replica".to_string(), "statement_timeout=5000".to_string()),
            ]
        );
    }

    #[test]
    fn contrib_and_venv_models_are_not_editable() {
        let p = DjangoProject {
            root: PathBuf::from("/p"),
            ..Default::default()
        };
        let m = |f: &str| DjangoModel {
            app_label: "a".into(),
            model_name: "M".into(),
            db_table: "t".into(),
            managed: true,
            proxy: false,
            source_file: Some(PathBuf::from(f)),
            source_line: Some(1),
            fields: vec![],
            indexes: vec![],
            migrated_indexes: None,
            constraints: vec![],
            meta: None,
        };
        assert!(p.is_editable(&m("/p/shop/models.py")));
        assert!(!p.is_editable(&m("/p/.venv/lib/python3.11/site-packages/x/models.py")));
        assert!(!p.is_editable(&m("/usr/lib/python3/django/contrib/auth/models.py")));
    }
}
