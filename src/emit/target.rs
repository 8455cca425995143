//! Stage `emit`: the output-target seam. A target turns the named recommendation into its
//! files (the SQL script; a framework's migrations) and says which of its files creates each
//! index.
//!
//! Invariant: a target never chooses a name (they come from [`crate::naming`]) and writes
//! nothing ([`super::write_plan`] is the only writer); the files it returns are in a fixed
//! order, so the same input gives byte-identical files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{EmitError, EmittedFile};
use crate::model::{Catalog, IndexSpec};
use crate::naming::Named;

/// What one target plans for a named recommendation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetFiles {
    /// Its files, in a fixed order, paths relative to the output folder.
    pub files: Vec<EmittedFile>,
    /// Index name → the file of this target that creates the index.
    pub index_files: BTreeMap<String, PathBuf>,
    /// Index name → what to add to the application's own declaration of the table, so the
    /// framework keeps the index (Django: the `Meta.indexes` entry). Empty when the target has
    /// no such declaration.
    pub declarations: BTreeMap<String, String>,
    /// Caveats for the report (why a migration is `RunSQL`, a drop left to the script, …).
    pub notes: Vec<String>,
}

/// One output target. The SQL script ([`super::sql::SqlTarget`]) is always written; at most one
/// project target (Django today, [`super::django::DjangoTarget`]) writes the migrations of the
/// application given on the command line.
pub trait Target: std::fmt::Debug {
    /// Index names the target's project already uses besides the catalog's, which new names
    /// must avoid (Django: every `Meta.indexes` entry, applied or not).
    fn reserved_names(&self) -> Vec<&str> {
        vec![]
    }

    /// The name the project already declares for exactly `spec` where nothing creates it yet
    /// (Django: a `Meta.indexes` entry that no migration adds and the database does not have),
    /// which [`crate::naming`] then gives the index instead of a new one.
    fn declared_name(&self, _spec: &IndexSpec, _catalog: &Catalog) -> Option<String> {
        None
    }

    /// Refusals known before any analysis, whatever is recommended (Django: an unknown
    /// `--migrations-app`, an app with several migration leaves; settings that do not load
    /// already stopped reading the project).
    fn check_early(&self) -> Result<(), EmitError> {
        Ok(())
    }

    /// Plan the files for `named`, writing nothing. A refusal plans no file at all.
    fn plan(
        &self,
        named: &Named,
        catalog: &Catalog,
        version: &str,
    ) -> Result<TargetFiles, EmitError>;

    /// What its migrations are called in progress lines and the summary ("Django migrations").
    fn migrations_label(&self) -> &'static str {
        "migrations"
    }

    /// The application's names for its tables (model classes, fields, relations), for the
    /// triage's examples; `None` when the target has no models.
    fn app_names(&self) -> Option<crate::model::AppNames> {
        None
    }

    /// The folder of the application project, where `--write-into-project` puts its migrations
    /// (`None`: the target has no project).
    fn project_root(&self) -> Option<&Path> {
        None
    }
}
