//! Stage `emit/django`: from a named recommendation to the Django files (migrations and
//! `meta_indexes.md`), without writing anything.
//!
//! Pure. Invariants: every name comes from [`crate::naming`]; migrations of one app form a
//! chain starting at the app's single leaf on disk; a refusal (several leaves, no app for
//! RunSQL) plans no file at all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::graph::{next_number, single_leaf};
use super::introspect::DjangoProject;
use super::mapping::{map_index, Mapping};
use super::meta::{self as meta_place, MetaPlace};
use super::migration::{module_fragment, AlterField, MigrationFile, Operation};
use super::pyfmt::{Arg, Py};
use super::{MetaIndexes, ModelEdit};
use crate::emit::sql::drop_index;
use crate::emit::target::TargetFiles;
use crate::emit::{evidence, EmitError, EmittedFile, FileKind};
use crate::model::Catalog;
use crate::naming::Named;

/// Everything planned for the Django project.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DjangoPlan {
    /// Files, in a fixed order: migrations (by app, then number), then `meta_indexes.md`.
    pub files: Vec<EmittedFile>,
    /// Index name → the migration that creates it.
    pub migrations: BTreeMap<String, PathBuf>,
    /// Index name → its `Meta.indexes` entry (as in [`MetaIndexes::entries`]).
    pub meta_entries: BTreeMap<String, String>,
    /// Meta.indexes per model.
    pub meta_indexes: Vec<MetaIndexes>,
    /// Caveats for the report (RunSQL reasons, drops left to the script, …).
    pub notes: Vec<String>,
    /// Changes to models.py that the drops' migrations assume.
    pub model_edits: Vec<ModelEdit>,
    /// One line per new index that its model already declares in `Meta.indexes` under the
    /// same name, with no migration creating it yet ([`super::declared`]).
    pub already_declared: Vec<String>,
}

impl DjangoPlan {
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

    /// What the emit stage sees of it.
    pub fn into_target_files(self) -> TargetFiles {
        TargetFiles {
            files: self.files,
            index_files: self.migrations,
            declarations: self.meta_entries,
            notes: self.notes,
        }
    }
}

/// One migration to be numbered and placed.
struct Item {
    /// The new index it creates (none for a drop).
    index: Option<String>,
    host: Option<String>,
    owner: Option<String>,
    fragment: String,
    header: Vec<String>,
    operation: Operation,
    /// `ANALYZE` after the operation (expression indexes).
    analyze: Option<String>,
    /// For the "needs --migrations-app" message: the table…
    what: String,
    /// …and why it has no home.
    why: String,
    /// A drop (not a new index), for the same message.
    drop: bool,
}

/// Plan the Django files for `named` in `project`. `migrations_app`: the app that holds
/// `RunSQL` migrations for tables without an editable model (`--migrations-app`).
pub fn plan(
    named: &Named,
    catalog: &Catalog,
    project: &DjangoProject,
    migrations_app: Option<&str>,
    version: &str,
) -> Result<DjangoPlan, EmitError> {
    let rec = &named.rec;
    let mut plan = DjangoPlan::default();
    let timeouts = project.timeout_settings();
    let mut items: Vec<Item> = vec![];
    let mut meta: BTreeMap<(String, String), MetaIndexes> = BTreeMap::new();
    for (p, name) in named.creates() {
        let mut header = vec![format!("Index {name} on {}", p.spec.label()), String::new()];
        header.extend(evidence::lines(p, rec.write_rates.as_ref()));
        header.push(String::new());
        let mapping = map_index(project, &p.spec, name);
        match mapping {
            Mapping::Index {
                app_label,
                model_name,
                index,
                imports,
                split,
            } => {
                let entry = index.render(12, "", ",").join("\n");
                let model = project
                    .models
                    .iter()
                    .find(|m| m.app_label == app_label && m.model_name == model_name);
                let source = model.and_then(|m| {
                    let f = m.source_file.as_ref()?;
                    let rel = f.strip_prefix(&project.root).unwrap_or(f);
                    Some(match m.source_line {
                        Some(l) => format!("{}:{l}", rel.display()),
                        None => rel.display().to_string(),
                    })
                });
                let at = source
                    .as_ref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default();
                if super::declared::declared_name(project, catalog, &p.spec).as_deref()
                    == Some(name)
                {
                    header.push(format!(
                        "{app_label}.{model_name}{at} already declares this index in Meta.indexes under this name, and no migration creates it yet: this migration does. Nothing to add to Meta.indexes."
                    ));
                    header.push(String::new());
                    plan.notes.push(format!(
                        "{name}: {app_label}.{model_name} already declares it in Meta.indexes and no migration creates it yet; its migration creates it under that name, nothing to add to Meta.indexes"
                    ));
                    plan.already_declared.push(format!(
                        "- {app_label}.{model_name}{at}: `{name}` is already in its `Meta.indexes`; its migration creates it under that name (nothing to add)."
                    ));
                } else {
                    header.push(format!(
                        "Add this to the Meta.indexes of {app_label}.{model_name}{at}, or the next makemigrations will generate a RemoveIndex:"
                    ));
                    for i in &imports {
                        header.push(format!("    {i}"));
                    }
                    let place = model.map(meta_place::place);
                    match (&place, model) {
                        (Some(p @ MetaPlace::Inheriting(_)), Some(m)) => {
                            header.push(meta_place::class_line(p));
                            header.extend(meta_place::list_open(m));
                            header.extend(index.render(12, "", ","));
                            header.push("        ]".into());
                            header.push(meta_place::instruction(m));
                        }
                        _ => header.extend(index.render(4, "", ",")),
                    }
                    let m = meta
                        .entry((app_label.clone(), model_name.clone()))
                        .or_insert_with(|| MetaIndexes {
                            app_label: app_label.clone(),
                            model_name: model_name.clone(),
                            source: source.clone(),
                            imports: vec![],
                            entries: vec![],
                            class_line: place
                                .as_ref()
                                .map_or("    class Meta:".to_string(), meta_place::class_line),
                            list_open: model.map_or(
                                vec!["        indexes = [".to_string()],
                                meta_place::list_open,
                            ),
                            instruction: model.map(meta_place::instruction).unwrap_or_default(),
                        });
                    plan.meta_entries.insert(name.to_string(), entry.clone());
                    m.entries.push(entry);
                    for i in &imports {
                        if !m.imports.contains(i) {
                            m.imports.push(i.clone());
                        }
                    }
                    m.imports.sort();
                    header.push(String::new());
                }
                if split {
                    header.push("SeparateDatabaseAndState, not AddIndexConcurrently: django.contrib.postgres is not in INSTALLED_APPS, and without it Django renders an OpClass inside an expression index as invalid SQL. The database gets CREATE INDEX CONCURRENTLY from SQL; Django's state gets the same AddIndex.".into());
                    header.push(String::new());
                }
                analyze_note(&mut header, &p.spec);
                recovery(&mut header, &p.spec.schema, name, &timeouts);
                let drop_sql = drop_index(&p.spec.schema, name);
                items.push(Item {
                    index: Some(name.to_string()),
                    host: Some(app_label.clone()),
                    owner: Some(app_label),
                    fragment: format!("{}_{}", module_fragment(&model_name), module_fragment(name)),
                    header,
                    operation: Operation::AddIndex {
                        model_name: model_name.to_lowercase(),
                        index,
                        imports,
                        sql: split.then(|| (p.spec.create_sql(name, true), drop_sql)),
                    },
                    analyze: p.spec.analyze_sql(),
                    what: p.spec.table.clone(),
                    why: String::new(),
                    drop: false,
                });
            }
            Mapping::RunSql {
                host_app,
                owner_app,
                reason,
            } => {
                header.push(format!("RunSQL, not AddIndexConcurrently: {reason}."));
                header.push("Django's migration state does not know this index (no state_operations): nothing to add to Meta.indexes.".into());
                header.push(String::new());
                analyze_note(&mut header, &p.spec);
                recovery(&mut header, &p.spec.schema, name, &timeouts);
                plan.notes.push(format!("{name}: RunSQL because {reason}"));
                items.push(Item {
                    index: Some(name.to_string()),
                    host: host_app,
                    owner: owner_app,
                    fragment: module_fragment(name),
                    header,
                    operation: Operation::RunSql {
                        sql: std::iter::once(p.spec.create_sql(name, true))
                            .chain(p.spec.analyze_sql())
                            .collect(),
                        reverse_sql: vec![drop_index(&p.spec.schema, name)],
                    },
                    analyze: None,
                    what: p.spec.table.clone(),
                    why: reason,
                    drop: false,
                });
            }
        }
    }
    for d in &rec.drop {
        drop_item(
            project,
            catalog,
            d,
            &mut items,
            &mut plan.notes,
            &mut plan.model_edits,
        );
    }

    // Hosts: the chosen app for RunSQL without a home.
    let own_apps: Vec<String> = project
        .apps
        .iter()
        .filter(|a| a.migrations_dir.is_some() && a.path.starts_with(&project.root))
        .map(|a| a.label.clone())
        .collect();
    let homeless: Vec<&Item> = items.iter().filter(|i| i.host.is_none()).collect();
    if !homeless.is_empty() {
        match migrations_app {
            // One app of the project's own has migrations: it is the only possible home.
            None if own_apps.len() == 1 => {
                let app = own_apps[0].clone();
                let mut tables: Vec<&str> = homeless.iter().map(|i| i.what.as_str()).collect();
                tables.sort_unstable();
                tables.dedup();
                plan.notes.push(format!(
                    "the RunSQL migration(s) for {} go into app {app}, the project's only app with migrations (--migrations-app chooses another)",
                    tables.join(", ")
                ));
                for i in items.iter_mut().filter(|i| i.host.is_none()) {
                    i.host = Some(app.clone());
                }
            }
            None => {
                // Each table once, with the first reason given for it.
                let mut tables: BTreeMap<&str, &str> = BTreeMap::new();
                for i in &homeless {
                    tables.entry(&i.what).or_insert(&i.why);
                }
                return Err(EmitError::MigrationsAppNeeded {
                    creates: homeless.iter().filter(|i| !i.drop).count(),
                    drops: homeless.iter().filter(|i| i.drop).count(),
                    tables: tables
                        .into_iter()
                        .map(|(t, why)| format!("{t} ({why})"))
                        .collect(),
                    apps: own_apps,
                });
            }
            Some(app) if !own_apps.iter().any(|a| a == app) => {
                return Err(EmitError::UnknownApp(app.to_string(), own_apps.join(", ")))
            }
            Some(app) => {
                for i in items.iter_mut().filter(|i| i.host.is_none()) {
                    i.host = Some(app.to_string());
                }
            }
        }
    }

    // Leaves of every app involved, refusing several leaves before planning any file.
    let involved: BTreeSet<&str> = items
        .iter()
        .flat_map(|i| i.host.iter().chain(i.owner.iter()))
        .map(String::as_str)
        .collect();
    let mut leaves: BTreeMap<String, Option<String>> = BTreeMap::new();
    for label in involved {
        let Some(app) = project.app(label) else {
            continue;
        };
        let is_host = items.iter().any(|i| i.host.as_deref() == Some(label));
        match single_leaf(app) {
            Ok(leaf) => {
                leaves.insert(label.to_string(), leaf);
            }
            Err(super::graph::LeafError::NoMigrations(_)) if !is_host => {}
            Err(e) => return Err(e.into()),
        }
    }

    let mut by_host: BTreeMap<String, Vec<Item>> = BTreeMap::new();
    for i in items {
        let host = i.host.clone().unwrap_or_default();
        by_host.entry(host).or_default().push(i);
    }
    for (host, items) in by_host {
        let Some(app) = project.app(&host) else {
            return Err(EmitError::UnknownApp(host, own_apps.join(", ")));
        };
        let dir = app
            .migrations_dir
            .as_ref()
            .ok_or_else(|| super::graph::LeafError::NoMigrations(host.clone()))?;
        let rel = relative(dir, &project.root).ok_or_else(|| EmitError::NotInProject {
            app: host.clone(),
            dir: dir.display().to_string(),
        })?;
        let mut prev = leaves.get(&host).cloned().flatten();
        let first = next_number(prev.as_deref());
        for (number, item) in (first..).zip(items) {
            let mut deps: Vec<(String, String)> = vec![];
            if let Some(p) = &prev {
                deps.push((host.clone(), p.clone()));
            }
            if let Some(owner) = &item.owner {
                if owner != &host {
                    if let Some(Some(l)) = leaves.get(owner) {
                        deps.push((owner.clone(), l.clone()));
                    }
                }
            }
            deps.sort();
            let name = format!("{number:04}_{}", item.fragment);
            let file = MigrationFile {
                app_label: host.clone(),
                name: name.clone(),
                dependencies: deps,
                header: item.header,
                operation: item.operation,
                analyze: item.analyze,
            };
            let path = rel.join(format!("{name}.py"));
            if let Some(index) = item.index {
                plan.migrations.insert(index, path.clone());
            }
            plan.files.push(EmittedFile {
                path,
                contents: file.render(version),
                kind: FileKind::Migration {
                    chain: host.clone(),
                },
            });
            prev = Some(name);
        }
    }

    plan.meta_indexes = meta.into_values().collect();
    if !plan.meta_indexes.is_empty()
        || !plan.model_edits.is_empty()
        || !plan.already_declared.is_empty()
    {
        let mut contents = render_meta(&plan.meta_indexes, &plan.model_edits);
        if !plan.already_declared.is_empty() {
            contents.push_str("\n## Already declared\n\nThese new indexes are already in their model's `Meta.indexes` under the same name, and no migration creates them yet: their migrations do. Add nothing for them.\n\n");
            for l in &plan.already_declared {
                contents.push_str(l);
                contents.push('\n');
            }
        }
        plan.files.push(EmittedFile {
            path: PathBuf::from("meta_indexes.md"),
            contents,
            kind: FileKind::ModelChanges,
        });
    }
    Ok(plan)
}

fn relative(dir: &Path, root: &Path) -> Option<PathBuf> {
    dir.strip_prefix(root).ok().map(Path::to_path_buf)
}

fn recovery(header: &mut Vec<String>, schema: &str, name: &str, timeouts: &[(String, String)]) {
    header.push("If this migration fails, the concurrent build leaves an INVALID index and the retry fails with \"already exists\". Recover with:".into());
    header.push(format!("    {};", drop_index(schema, name)));
    header.push("then run `python manage.py migrate` again.".into());
    for (alias, setting) in timeouts {
        header.push(String::new());
        header.push(format!(
            "WARNING: DATABASES[{alias:?}][\"OPTIONS\"] sets {setting}: a short lock_timeout or statement_timeout cancels the build and leaves an INVALID index; run migrate with the timeouts off for this migration."
        ));
    }
}

fn drop_item(
    project: &DjangoProject,
    catalog: &Catalog,
    d: &crate::select::DropProposal,
    items: &mut Vec<Item>,
    notes: &mut Vec<String>,
    edits: &mut Vec<ModelEdit>,
) {
    let existing = catalog
        .table(&d.schema, &d.table)
        .and_then(|t| t.indexes.iter().find(|i| i.name == d.index));
    let Some(existing) = existing else {
        notes.push(format!(
            "drop {}: not in the catalog, left to indexes.sql",
            d.index
        ));
        return;
    };
    if let Some(c) = &existing.constraint {
        notes.push(format!(
            "drop {}: it backs constraint {c}; drop the constraint in Django instead",
            d.index
        ));
        return;
    }
    let header = vec![
        format!("Drop index {} on {}", d.index, d.table),
        String::new(),
        evidence::drop_line(d),
    ];
    let in_meta = project.models.iter().find(|m| {
        m.db_table == d.table
            && project.is_editable(m)
            && m.indexes.iter().any(|i| i.name == d.index)
    });
    if let Some(m) = in_meta {
        let mut header = header;
        header.push(String::new());
        header.push(format!(
            "Also remove the entry named {:?} from the Meta.indexes of {}.{}.",
            d.index, m.app_label, m.model_name
        ));
        items.push(Item {
            index: None,
            host: Some(m.app_label.clone()),
            owner: Some(m.app_label.clone()),
            fragment: format!(
                "remove_{}_{}",
                module_fragment(&m.model_name),
                module_fragment(&d.index)
            ),
            header,
            operation: Operation::RemoveIndex {
                model_name: m.model_name.to_lowercase(),
                name: d.index.clone(),
            },
            analyze: None,
            what: d.table.clone(),
            why: String::new(),
            drop: true,
        });
        edits.push(ModelEdit::RemoveMetaIndex {
            app_label: m.app_label.clone(),
            model_name: m.model_name.clone(),
            name: d.index.clone(),
        });
        return;
    }
    let model = project
        .models
        .iter()
        .find(|m| m.db_table == d.table && !m.proxy);
    let m2m = project.m2m_tables.iter().find(|t| t.db_table == d.table);
    let editable = model.filter(|m| project.is_editable(m));
    // The app that owns the table holds the drop, when it is one of the project's apps.
    let owner = model
        .map(|m| m.app_label.clone())
        .or_else(|| m2m.map(|t| t.app_label.clone()));
    let host = owner.clone().filter(|o| project.is_own_app(o));
    let reverse = existing
        .definition
        .replacen("INDEX ", "INDEX CONCURRENTLY ", 1);
    let mut header = header;
    header.push(String::new());
    // A field's own index (db_index=True, a ForeignKey's index): the state forgets it through
    // the field, with db_index=False.
    let field = editable.and_then(|m| {
        m.fields
            .iter()
            .find(|f| f.index_names.len() == 1 && f.index_names[0] == d.index)
            .and_then(|f| f.without_index.as_ref().map(|code| (m, f, code)))
    });
    let state = match field {
        Some((m, f, code)) => {
            header.push(format!(
                "SeparateDatabaseAndState: the database drops the index concurrently; Django's state records {}.{}.{} with db_index=False. Also set db_index=False on that field in your models.py, or the next makemigrations will want the index back.",
                m.app_label, m.model_name, f.name
            ));
            edits.push(ModelEdit::NoDbIndex {
                app_label: m.app_label.clone(),
                model_name: m.model_name.clone(),
                field: f.name.clone(),
            });
            if f.is_relation {
                header.push("Do not let makemigrations make this change: its AlterField drops and re-adds the foreign key constraint, a full validation scan with writes locked out.".into());
            }
            Some(AlterField {
                model_name: m.model_name.to_lowercase(),
                name: f.name.clone(),
                field: Py::Call {
                    func: code.func.clone(),
                    args: code
                        .kwargs
                        .iter()
                        .map(|(k, v)| Arg::kw(k, Py::atom(v.clone())))
                        .collect(),
                    explode: false,
                },
                imports: code.imports.iter().cloned().collect(),
            })
        }
        None => {
            let shared = editable.and_then(|m| {
                m.fields
                    .iter()
                    .find(|f| f.index_names.len() > 1 && f.index_names.contains(&d.index))
                    .map(|f| (m, f))
            });
            // The own index of a field of a model this project cannot edit (a third-party
            // app's ForeignKey): its app's migration state keeps the index.
            let foreign = model.filter(|m| !project.is_editable(m)).and_then(|m| {
                m.fields
                    .iter()
                    .find(|f| f.index_names.contains(&d.index))
                    .map(|f| (m, f))
            });
            header.push(match (m2m, shared, foreign) {
                (_, _, Some((m, f))) => format!(
                    "SeparateDatabaseAndState with no state change: this is the own index of {}.{}.{} (db_index), a field of app {}, which this project cannot edit; that app's migration state still records the index, and a later migration of that app which alters the field may create it again. Nothing to change in models.py.",
                    m.app_label, m.model_name, f.name, m.app_label
                ),
                (_, Some((m, f)), None) => format!(
                    "SeparateDatabaseAndState with no state change: {}.{}.{} declares this index with db_index=True together with {}; keep db_index as it is (db_index=False would drop both).",
                    m.app_label,
                    m.model_name,
                    f.name,
                    f.index_names
                        .iter()
                        .filter(|n| **n != d.index)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                (Some(t), None, None) => format!(
                    "SeparateDatabaseAndState with no state change: {} is the auto-created many-to-many table of {}.{}, and Django's migration state keeps no index of it. Nothing to change in models.py.",
                    d.table, t.owner_app, t.owner_model
                ),
                (None, None, None) => "SeparateDatabaseAndState with no state change: the index is in no Meta.indexes and is no field's own index, so Django's migration state does not know it. Nothing to change in models.py.".into(),
            });
            None
        }
    };
    notes.push(format!(
        "drop {}: DROP INDEX CONCURRENTLY{}",
        d.index,
        if state.is_some() {
            " with the field's db_index=False in Django's state"
        } else {
            ""
        }
    ));
    let why = match &owner {
        Some(o) => format!("app {o} is not part of this project"),
        None => format!("no Django model has db_table {:?}", d.table),
    };
    items.push(Item {
        index: None,
        host,
        owner,
        fragment: format!("drop_{}", module_fragment(&d.index)),
        header,
        operation: Operation::DropIndex {
            sql: drop_index(&d.schema, &d.index),
            reverse_sql: reverse,
            state,
        },
        analyze: None,
        what: d.table.clone(),
        why,
        drop: true,
    });
}

/// Why the migration runs ANALYZE after an expression index.
fn analyze_note(header: &mut Vec<String>, spec: &crate::model::IndexSpec) {
    if spec.analyze_sql().is_some() {
        header.push(
            "Then ANALYZE: the planner has no statistics for an indexed expression until ANALYZE gathers them, and does not use the index without them.".into(),
        );
        header.push(String::new());
    }
}

fn render_meta(meta: &[MetaIndexes], edits: &[ModelEdit]) -> String {
    let mut s = String::from(
        "# Meta.indexes to add\n\n\
         Each index created by an `AddIndexConcurrently` migration must also be in its model's\n\
         `Meta.indexes`, character for character, or the next `makemigrations` generates a\n\
         `RemoveIndex`. Merge these entries into the model's `class Meta` (keep its other\n\
         options), then check with `python manage.py makemigrations --check --dry-run`.\n",
    );
    for m in meta {
        s.push_str(&format!(
            "\n## {}.{}{}\n\n```python\n",
            m.app_label,
            m.model_name,
            m.source
                .as_ref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default()
        ));
        for i in &m.imports {
            s.push_str(i);
            s.push('\n');
        }
        if !m.imports.is_empty() {
            s.push('\n');
        }
        s.push_str(&m.class_line);
        s.push('\n');
        for l in &m.list_open {
            s.push_str(l);
            s.push('\n');
        }
        for e in &m.entries {
            s.push_str(e);
            s.push('\n');
        }
        s.push_str("        ]\n```\n");
        if !m.instruction.is_empty() {
            s.push_str(&format!("\n{}\n", m.instruction));
        }
    }
    if !edits.is_empty() {
        s.push_str("\n## Model changes the drops assume\n\nEach drop's migration already records this in Django's state; make the same change in the model so `makemigrations` finds nothing to do (do not let it generate the change).\n\n");
        for e in edits {
            match e {
                ModelEdit::RemoveMetaIndex {
                    app_label,
                    model_name,
                    name,
                } => s.push_str(&format!(
                    "- {app_label}.{model_name}: remove the entry named `{name}` from `Meta.indexes`.\n"
                )),
                ModelEdit::NoDbIndex {
                    app_label,
                    model_name,
                    field,
                } => s.push_str(&format!(
                    "- {app_label}.{model_name}.{field}: add `db_index=False` to the field.\n"
                )),
            }
        }
    }
    s
}
