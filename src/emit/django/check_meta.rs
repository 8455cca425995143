//! Stage `emit/django`: check, before recommending them, that the `Meta.indexes` snippets (and
//! the model changes the drops assume) leave Django with nothing to migrate.
//!
//! I/O: copies the project folder to a temp dir (never edits the user's files), writes the
//! planned migrations there, pastes the snippets with `paste_meta.py` exactly as
//! `meta_indexes.md` says, and runs the project's own `manage.py makemigrations --check
//! --dry-run`. Invariant: a verdict is [`MetaCheck::Clean`] only when Django itself found no
//! change; anything that prevents the check is [`MetaCheck::NotChecked`], never a pass.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::introspect::DjangoProject;
use super::plan::DjangoPlan;
use super::ModelEdit;
use crate::emit::FileKind;

/// The paste script, run with the project's Python in the copy.
pub const PASTE_SCRIPT: &str = include_str!("paste_meta.py");

/// Folders never copied: version control, virtualenvs, caches, front-end dependencies.
const SKIP_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".venv",
    "venv",
    "env",
    "node_modules",
    "__pycache__",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "target",
    "site-packages",
];

/// Files larger than this are not copied (media, dumps); Django needs none of them to compare
/// its models with its migrations.
const MAX_FILE_BYTES: u64 = 8 << 20;

/// The outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaCheck {
    /// `makemigrations --check --dry-run` found no change after pasting.
    Clean,
    /// Django still wants a migration: its own summary of the changes.
    Changes(String),
    /// The check could not run (why).
    NotChecked(String),
}

/// Run the check for `plan` in a copy of `project`, with `python` (and `settings`, the
/// `--settings` module, if given).
pub fn check(
    project: &DjangoProject,
    python: &Path,
    settings: Option<&str>,
    plan: &DjangoPlan,
) -> MetaCheck {
    match run(project, python, settings, plan) {
        Ok(c) => c,
        Err(e) => MetaCheck::NotChecked(e),
    }
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for e in entries {
        let e = e.map_err(|e| e.to_string())?;
        let name = e.file_name();
        let ty = e.file_type().map_err(|e| e.to_string())?;
        if ty.is_symlink() {
            continue;
        }
        let path = e.path();
        if ty.is_dir() {
            if SKIP_DIRS.iter().any(|s| name == *s) || path.join("pyvenv.cfg").exists() {
                continue;
            }
            copy_tree(&path, &to.join(&name))?;
        } else if e.metadata().map(|m| m.len()).unwrap_or(u64::MAX) <= MAX_FILE_BYTES {
            std::fs::copy(&path, to.join(&name)).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// The model's source file inside the copy.
fn source_in(project: &DjangoProject, copy: &Path, app: &str, model: &str) -> Option<PathBuf> {
    let m = project
        .models
        .iter()
        .find(|m| m.app_label == app && m.model_name == model)?;
    let rel = m.source_file.as_ref()?.strip_prefix(&project.root).ok()?;
    Some(copy.join(rel))
}

fn run(
    project: &DjangoProject,
    python: &Path,
    settings: Option<&str>,
    plan: &DjangoPlan,
) -> Result<MetaCheck, String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let copy = tmp.path().join("project");
    copy_tree(&project.root, &copy)?;
    for f in &plan.files {
        if matches!(f.kind, FileKind::Migration { .. }) {
            std::fs::write(copy.join(&f.path), &f.contents).map_err(|e| e.to_string())?;
        }
    }
    let spec = paste_spec(project, &copy, plan)?;
    paste(python, &copy, &spec, tmp.path())?;
    let mut cmd = Command::new(python);
    cmd.current_dir(&copy)
        .args(["manage.py", "makemigrations", "--check", "--dry-run"])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(std::process::Stdio::null());
    if let Some(s) = settings {
        cmd.arg("--settings").arg(s);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    if out.status.success() {
        return Ok(MetaCheck::Clean);
    }
    if out.status.code() == Some(1) && stdout.contains("Migrations for ") {
        let summary: Vec<&str> = stdout
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("- ") || l.starts_with("~ ") || l.starts_with("+ "))
            .collect();
        return Ok(MetaCheck::Changes(summary.join("; ")));
    }
    Err(format!(
        "makemigrations failed: {}",
        last_line(&String::from_utf8_lossy(&out.stderr))
    ))
}

/// What `paste_meta.py` is to do in the project folder `target` (the project itself or a copy
/// of it): the snippets exactly as `meta_indexes.md` gives them, and the drops' model changes.
pub fn paste_spec(
    project: &DjangoProject,
    target: &Path,
    plan: &DjangoPlan,
) -> Result<serde_json::Value, String> {
    let missing = |app: &str, model: &str| {
        format!("the source of {app}.{model} is not inside the project folder")
    };
    let file = |app: &str, model: &str| {
        source_in(project, target, app, model).ok_or_else(|| missing(app, model))
    };
    let mut edits = vec![];
    for m in &plan.meta_indexes {
        edits.push(serde_json::json!({
            "file": file(&m.app_label, &m.model_name)?,
            "class": m.model_name,
            "class_line": m.class_line,
            "list_open": m.list_open,
            "entries": m.entries.iter().flat_map(|e| e.lines()).collect::<Vec<_>>(),
            "imports": m.imports,
        }));
    }
    let mut remove = vec![];
    let mut no_db_index = vec![];
    for e in &plan.model_edits {
        match e {
            ModelEdit::RemoveMetaIndex {
                app_label,
                model_name,
                name,
            } => remove.push(serde_json::json!({
                "file": file(app_label, model_name)?,
                "class": model_name,
                "name": name,
            })),
            ModelEdit::NoDbIndex {
                app_label,
                model_name,
                field,
            } => no_db_index.push(serde_json::json!({
                "file": file(app_label, model_name)?,
                "class": model_name,
                "field": field,
            })),
        }
    }
    Ok(serde_json::json!({"edits": edits, "remove_index": remove, "no_db_index": no_db_index}))
}

/// Run `paste_meta.py` with `spec` in the folder `target`; `scratch` holds the script and the
/// spec file.
pub fn paste(
    python: &Path,
    target: &Path,
    spec: &serde_json::Value,
    scratch: &Path,
) -> Result<(), String> {
    let spec_file = scratch.join("paste.json");
    std::fs::write(&spec_file, spec.to_string()).map_err(|e| e.to_string())?;
    let script = scratch.join("paste_meta.py");
    std::fs::write(&script, PASTE_SCRIPT).map_err(|e| e.to_string())?;
    let out = Command::new(python)
        .current_dir(target)
        .arg(&script)
        .arg(&spec_file)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "pasting failed: {}",
            last_line(&String::from_utf8_lossy(&out.stderr))
        ))
    }
}

fn last_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
        .trim()
        .to_string()
}

/// The sentence for `meta_indexes.md` and the report.
pub fn verdict(check: &MetaCheck, django_version: &str) -> String {
    match check {
        MetaCheck::Clean => format!(
            "Checked: with these entries pasted into a copy of the project (and the migrations added), `makemigrations --check --dry-run` (Django {django_version}) finds no change."
        ),
        MetaCheck::Changes(c) => format!(
            "WARNING: with these entries pasted into a copy of the project, `makemigrations --check --dry-run` (Django {django_version}) still wants: {c}. Compare the model's Meta with the snippet before pasting."
        ),
        MetaCheck::NotChecked(why) => format!(
            "Not checked with makemigrations ({why}): run `python manage.py makemigrations --check --dry-run` after pasting."
        ),
    }
}
