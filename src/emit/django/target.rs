//! Stage `emit/django`: the Django project as an output target ([`crate::emit::Target`]):
//! what `--django-project`, `--python`, `--settings` and `--migrations-app` configure, the
//! checks made before any analysis, and the plan with its `Meta.indexes` snippets checked.
//!
//! I/O: reading the project ([`mod@super::introspect`]) and checking the snippets
//! ([`super::check_meta`]) run the project's own Django; planning is pure
//! ([`super::plan::plan`]). Invariant: a refusal plans no file at all.

use std::path::{Path, PathBuf};

use super::introspect::{default_python, DjangoApp, DjangoProject};
use super::plan::DjangoPlan;
use crate::emit::target::{Target, TargetFiles};
use crate::emit::{EmitError, FileKind};
use crate::model::{Catalog, IndexSpec};
use crate::naming::Named;

/// The Django project to write migrations for (validated from the CLI flags).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DjangoConfig {
    /// `--django-project DIR` (the folder with manage.py).
    pub project: PathBuf,
    /// `--python` (default: the project's `.venv`/`venv`, else `python3`).
    pub python: Option<PathBuf>,
    /// `--settings` (a settings module, passed to manage.py).
    pub settings: Option<String>,
    /// `--migrations-app`: the user app that holds `RunSQL` migrations for tables without an
    /// editable model (contrib and third-party apps, auto-created M2M tables).
    pub migrations_app: Option<String>,
}

/// The Django target: the project as read from its own Django, and how it was configured.
#[derive(Debug, Clone)]
pub struct DjangoTarget {
    /// The project.
    pub project: DjangoProject,
    /// Its configuration.
    pub config: DjangoConfig,
}

impl DjangoTarget {
    /// Read the project with its own Django (nothing else is checked yet).
    pub fn open(config: &DjangoConfig) -> Result<DjangoTarget, EmitError> {
        let project = super::introspect(
            &config.project,
            config.python.as_deref(),
            config.settings.as_deref(),
        )?;
        Ok(DjangoTarget {
            project,
            config: config.clone(),
        })
    }

    /// The plan, its `Meta.indexes` snippets and model changes not checked yet.
    pub fn plan_unchecked(
        &self,
        named: &Named,
        catalog: &Catalog,
        version: &str,
    ) -> Result<DjangoPlan, EmitError> {
        super::plan::plan(
            named,
            catalog,
            &self.project,
            self.config.migrations_app.as_deref(),
            version,
        )
    }

    /// Check the `Meta.indexes` snippets and the drops' model changes in a copy of the project
    /// ([`super::check_meta`]) and say the verdict in `meta_indexes.md` and the notes.
    pub fn check_snippets(&self, plan: &mut DjangoPlan) {
        if plan.meta_indexes.is_empty() && plan.model_edits.is_empty() {
            return;
        }
        let python = self
            .config
            .python
            .clone()
            .unwrap_or_else(|| default_python(&self.project.root));
        let check = super::check_meta::check(
            &self.project,
            &python,
            self.config.settings.as_deref(),
            plan,
        );
        let verdict = super::check_meta::verdict(&check, &self.project.django_version);
        for f in plan.files.iter_mut() {
            if f.kind == FileKind::ModelChanges {
                f.contents.push_str(&format!("\n{verdict}\n"));
            }
        }
        plan.notes.push(format!("Meta.indexes: {verdict}"));
    }
}

impl Target for DjangoTarget {
    fn reserved_names(&self) -> Vec<&str> {
        self.project
            .models
            .iter()
            .flat_map(|m| m.indexes.iter().map(|i| i.name.as_str()))
            .collect()
    }

    fn declared_name(&self, spec: &IndexSpec, catalog: &Catalog) -> Option<String> {
        super::declared::declared_name(&self.project, catalog, spec)
    }

    /// Everything that would make planning refuse whatever the recommendation: a
    /// `--migrations-app` that is not one of the project's apps, an app with unmerged
    /// migrations (on which `migrate` fails too).
    fn check_early(&self) -> Result<(), EmitError> {
        let project = &self.project;
        let own: Vec<&DjangoApp> = project
            .apps
            .iter()
            .filter(|a| project.is_own_app(&a.label))
            .collect();
        if let Some(app) = &self.config.migrations_app {
            if !own.iter().any(|a| &a.label == app) {
                let labels: Vec<&str> = own.iter().map(|a| a.label.as_str()).collect();
                return Err(EmitError::UnknownApp(app.clone(), labels.join(", ")));
            }
        }
        for app in &own {
            super::graph::single_leaf(app)?;
        }
        Ok(())
    }

    fn plan(
        &self,
        named: &Named,
        catalog: &Catalog,
        version: &str,
    ) -> Result<TargetFiles, EmitError> {
        let mut plan = self.plan_unchecked(named, catalog, version)?;
        self.check_snippets(&mut plan);
        Ok(plan.into_target_files())
    }

    fn migrations_label(&self) -> &'static str {
        "Django migrations"
    }

    fn project_root(&self) -> Option<&Path> {
        Some(&self.project.root)
    }

    fn app_names(&self) -> Option<crate::model::AppNames> {
        Some(super::names::app_names(&self.project))
    }
}
