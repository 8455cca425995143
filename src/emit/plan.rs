//! Stage `emit`: from a recommendation to the list of files (SQL script, migrations,
//! Meta.indexes), without writing anything.
//!
//! Pure. Invariants: names are chosen once ([`super::django::naming`]) and used everywhere;
//! migrations of one app form a chain starting at the app's single leaf on disk; a refusal
//! (several leaves, no app for RunSQL) plans no file at all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::django::graph::{next_number, single_leaf};
use super::django::introspect::DjangoProject;
use super::django::mapping::{map_index, Mapping};
use super::django::meta::{self as meta_place, MetaPlace};
use super::django::migration::{AlterField, MigrationFile, Operation};
use super::django::naming::{module_fragment, Namer};
use super::django::pyfmt::{Arg, Py};
use super::{evidence, sql, EmitError, EmitOptions, EmittedFile, FileKind, MetaIndexes, Plan};
use crate::model::Catalog;
use crate::pg::quote::ident;
use crate::select::Recommendation;

/// One migration to be numbered and placed.
struct Item {
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

/// Plan every file for `rec`. Without a Django project: the SQL script only (and a note).
pub fn plan_files(
    rec: &Recommendation,
    catalog: &Catalog,
    django: Option<&DjangoProject>,
    opts: &EmitOptions,
) -> Result<Plan, EmitError> {
    let mut namer = Namer::new(
        catalog
            .tables
            .iter()
            .flat_map(|t| {
                std::iter::once(t.name.as_str())
                    .chain(t.indexes.iter().map(|i| i.name.as_str()))
                    .chain(t.constraints.iter().map(|c| c.name.as_str()))
            })
            .chain(
                django
                    .iter()
                    .flat_map(|d| d.models.iter())
                    .flat_map(|m| m.indexes.iter().map(|i| i.name.as_str())),
            ),
    );
    let names: Vec<String> = rec.create.iter().map(|p| namer.name(&p.spec)).collect();
    let mut plan = Plan {
        names: names.clone(),
        ..Plan::default()
    };
    plan.files.push(EmittedFile {
        path: PathBuf::from("indexes.sql"),
        contents: sql::render(rec, &names, &opts.version),
        kind: FileKind::SqlScript,
    });
    let Some(project) = django else {
        plan.notes.push(
            "SQL only: no Django project was given (--django-project), so no migrations were written"
                .into(),
        );
        return Ok(plan);
    };

    let timeouts = project.timeout_settings();
    let mut items: Vec<Item> = vec![];
    let mut meta: BTreeMap<(String, String), MetaIndexes> = BTreeMap::new();
    for (p, name) in rec.create.iter().zip(&names) {
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
                header.push(format!(
                    "Add this to the Meta.indexes of {app_label}.{model_name}{}, or the next makemigrations will generate a RemoveIndex:",
                    source
                        .as_ref()
                        .map(|s| format!(" ({s})"))
                        .unwrap_or_default()
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
                m.entries.push(entry);
                for i in &imports {
                    if !m.imports.contains(i) {
                        m.imports.push(i.clone());
                    }
                }
                m.imports.sort();
                header.push(String::new());
                if split {
                    header.push("SeparateDatabaseAndState, not AddIndexConcurrently: django.contrib.postgres is not in INSTALLED_APPS, and without it Django renders an OpClass inside an expression index as invalid SQL. The database gets CREATE INDEX CONCURRENTLY from SQL; Django's state gets the same AddIndex.".into());
                    header.push(String::new());
                }
                analyze_note(&mut header, &p.spec);
                recovery(&mut header, &p.spec.schema, name, &timeouts);
                let drop_sql = format!(
                    "DROP INDEX CONCURRENTLY IF EXISTS {}.{}",
                    ident(&p.spec.schema),
                    ident(name)
                );
                items.push(Item {
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
                    host: host_app,
                    owner: owner_app,
                    fragment: module_fragment(name),
                    header,
                    operation: Operation::RunSql {
                        sql: std::iter::once(p.spec.create_sql(name, true))
                            .chain(p.spec.analyze_sql())
                            .collect(),
                        reverse_sql: vec![format!(
                            "DROP INDEX CONCURRENTLY IF EXISTS {}.{}",
                            ident(&p.spec.schema),
                            ident(name)
                        )],
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
        match &opts.migrations_app {
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
            Some(app) if !own_apps.contains(app) => {
                return Err(EmitError::UnknownApp(app.clone(), own_apps.join(", ")))
            }
            Some(app) => {
                for i in items.iter_mut().filter(|i| i.host.is_none()) {
                    i.host = Some(app.clone());
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
            Err(super::django::graph::LeafError::NoMigrations(_)) if !is_host => {}
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
            .ok_or_else(|| super::django::graph::LeafError::NoMigrations(host.clone()))?;
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
            plan.files.push(EmittedFile {
                path: rel.join(format!("{name}.py")),
                contents: file.render(&opts.version),
                kind: FileKind::Migration {
                    app_label: host.clone(),
                },
            });
            prev = Some(name);
        }
    }

    plan.meta_indexes = meta.into_values().collect();
    if !plan.meta_indexes.is_empty() || !plan.model_edits.is_empty() {
        plan.files.push(EmittedFile {
            path: PathBuf::from("meta_indexes.md"),
            contents: render_meta(&plan.meta_indexes, &plan.model_edits),
            kind: FileKind::MetaIndexes,
        });
    }
    Ok(plan)
}

fn relative(dir: &Path, root: &Path) -> Option<PathBuf> {
    dir.strip_prefix(root).ok().map(Path::to_path_buf)
}

fn recovery(header: &mut Vec<String>, schema: &str, name: &str, timeouts: &[(String, String)]) {
    header.push("If this migration fails, the concurrent build leaves an INVALID index and the retry fails with \"already exists\". Recover with:".into());
    header.push(format!(
        "    DROP INDEX CONCURRENTLY IF EXISTS {}.{};",
        ident(schema),
        ident(name)
    ));
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
    edits: &mut Vec<super::ModelEdit>,
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
        edits.push(super::ModelEdit::RemoveMetaIndex {
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
            edits.push(super::ModelEdit::NoDbIndex {
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
        host,
        owner,
        fragment: format!("drop_{}", module_fragment(&d.index)),
        header,
        operation: Operation::DropIndex {
            sql: format!(
                "DROP INDEX CONCURRENTLY IF EXISTS {}.{}",
                ident(&d.schema),
                ident(&d.index)
            ),
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

fn render_meta(meta: &[MetaIndexes], edits: &[super::ModelEdit]) -> String {
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
                super::ModelEdit::RemoveMetaIndex {
                    app_label,
                    model_name,
                    name,
                } => s.push_str(&format!(
                    "- {app_label}.{model_name}: remove the entry named `{name}` from `Meta.indexes`.\n"
                )),
                super::ModelEdit::NoDbIndex {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::{DropProposal, DropReason};

    fn project() -> DjangoProject {
        serde_json::from_str(include_str!("../../tests/fixtures/django/shop.json"))
            .expect("fixture")
    }

    fn rec() -> Recommendation {
        serde_json::from_str(include_str!(
            "../../tests/fixtures/django/recommendation.json"
        ))
        .expect("fixture")
    }

    fn opts() -> EmitOptions {
        EmitOptions {
            version: "0.0.0-test".into(),
            migrations_app: Some("shop".into()),
        }
    }

    #[test]
    fn plans_the_example_shop() {
        let plan = plan_files(&rec(), &Catalog::default(), Some(&project()), &opts()).unwrap();
        let paths: Vec<String> = plan
            .files
            .iter()
            .map(|f| f.path.display().to_string())
            .collect();
        assert_eq!(
            paths,
            vec![
                "indexes.sql",
                "shop/migrations/0002_order_shop_order_custome_da1929_idx.py",
                "shop/migrations/0003_customer_shop_custom_email_d81302_idx.py",
                "shop/migrations/0004_review_reviews_product_500bf4_idx.py",
                "shop/migrations/0005_product_shop_produc_sku_cod_f47732_idx.py",
                "shop/migrations/0006_auth_user_last_lo_5f5610_idx.py",
                "shop/migrations/0007_shop_produc_tag_id_2e0b10_idx.py",
                "shop/migrations/0008_order_shop_order_created_921c1c_idx.py",
                "meta_indexes.md",
            ]
        );
        for f in &plan.files {
            let name = f.path.file_name().map(|n| n.to_string_lossy().to_string());
            insta::assert_snapshot!(name.unwrap_or_default(), f.contents);
        }
        // The Meta.indexes entry is the migration's models.Index(...) character for character.
        let order = &plan.meta_indexes[1];
        assert_eq!(order.model_name, "Order");
        let in_migration = order.entries[0].replacen("models.Index(", "index=models.Index(", 1);
        assert!(
            plan.files[1].contents.contains(&in_migration),
            "{in_migration}"
        );
    }

    #[test]
    fn the_only_own_app_holds_runsql_without_migrations_app() {
        let without = plan_files(
            &rec(),
            &Catalog::default(),
            Some(&project()),
            &EmitOptions {
                migrations_app: None,
                ..opts()
            },
        )
        .unwrap();
        let with = plan_files(&rec(), &Catalog::default(), Some(&project()), &opts()).unwrap();
        assert_eq!(without.files, with.files);
        assert!(
            without
                .notes
                .iter()
                .any(|n| n.contains("auth_user go into app shop, the project's only app")),
            "{:?}",
            without.notes
        );
    }

    #[test]
    fn refuses_without_migrations_app_and_plans_nothing() {
        // A second app of the project's own with migrations: no single home.
        let mut p = project();
        let mut blog = p.apps.iter().find(|a| a.label == "shop").unwrap().clone();
        blog.label = "blog".into();
        blog.path = "/project/blog".into();
        blog.migrations_dir = Some("/project/blog/migrations".into());
        p.apps.push(blog);
        let err = plan_files(
            &rec(),
            &Catalog::default(),
            Some(&p),
            &EmitOptions {
                migrations_app: None,
                ..opts()
            },
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("--migrations-app"), "{msg}");
        assert!(
            msg.starts_with("1 migration(s) (1 new index(es), 0 drop(s))")
                && msg.contains("auth_user")
                && !msg.contains("shop_product_tags"),
            "{msg}"
        );
    }

    #[test]
    fn sql_only_without_django_and_drops() {
        let mut r = rec();
        r.drop.push(DropProposal {
            schema: "public".into(),
            table: "shop_order".into(),
            index: "shop_order_status_old".into(),
            reason: DropReason::Redundant,
            covered_by: Some("shop_order_status_x".into()),
            size_bytes: 123456,
            verified: false,
            write_saving_ms_per_s: 0.0,
            note: None,
        });
        let plan = plan_files(&r, &Catalog::default(), None, &opts()).unwrap();
        assert_eq!(plan.files.len(), 1);
        assert!(plan.notes[0].starts_with("SQL only"));
        let sql = &plan.files[0].contents;
        assert_eq!(
            sql.lines()
                .filter(|l| l.starts_with("CREATE INDEX CONCURRENTLY"))
                .count(),
            7
        );
        assert!(
            sql.contains("DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"shop_order_status_old\";")
        );
        insta::assert_snapshot!("sql_only_with_drop", sql);
    }

    #[test]
    fn names_avoid_the_catalog_and_meta_indexes() {
        let mut p = project();
        let order = p
            .models
            .iter_mut()
            .find(|m| m.db_table == "shop_order")
            .unwrap();
        order
            .indexes
            .push(super::super::django::introspect::DjangoIndex {
                name: "shop_order_custome_da1929_idx".into(),
                fields: vec!["customer".into(), "-created_at".into()],
                expressions: vec![],
                condition: None,
                include: vec![],
                opclasses: vec![],
            });
        let plan = plan_files(&rec(), &Catalog::default(), Some(&p), &opts()).unwrap();
        assert_ne!(plan.names[0], "shop_order_custome_da1929_idx");
        assert!(plan.names[0].starts_with("shop_order_custome_") && plan.names[0].len() <= 30);
    }

    /// An `OpClass` expression index in a project without `django.contrib.postgres`: SQL for
    /// the database, `AddIndex` for the state (Django would render invalid SQL itself).
    #[test]
    fn opclass_expression_without_contrib_postgres_is_split() {
        let mut p = project();
        let mut r = rec();
        r.create.retain(|c| c.spec.table == "shop_customer");
        r.create[0].spec.keys[0].opclass = Some("text_pattern_ops".into());
        let with = plan_files(&r, &Catalog::default(), Some(&p), &opts()).unwrap();
        assert!(with.migrations()[0]
            .contents
            .contains("AddIndexConcurrently("));
        p.apps.retain(|a| a.name != "django.contrib.postgres");
        let without = plan_files(&r, &Catalog::default(), Some(&p), &opts()).unwrap();
        let mig = &without.migrations()[0];
        assert!(!mig.contents.contains("AddIndexConcurrently("));
        assert_eq!(with.meta_indexes, without.meta_indexes);
        insta::assert_snapshot!("opclass_split", mig.contents);
    }

    #[test]
    fn drops_remove_meta_indexes_or_run_sql() {
        let mut p = project();
        let order = p
            .models
            .iter_mut()
            .find(|m| m.db_table == "shop_order")
            .unwrap();
        order
            .indexes
            .push(super::super::django::introspect::DjangoIndex {
                name: "shop_order_status_63c2c0_idx".into(),
                fields: vec!["status".into()],
                expressions: vec![],
                condition: None,
                include: vec![],
                opclasses: vec![],
            });
        let existing = |name: &str, def: &str| crate::model::ExistingIndex {
            name: name.into(),
            definition: def.into(),
            method: "btree".into(),
            keys: vec![],
            include: vec![],
            predicate: None,
            unique: false,
            primary: false,
            constraint: None,
            valid: true,
            size_bytes: 8192,
            scans: 0,
        };
        let catalog = Catalog {
            tables: vec![crate::model::Table {
                oid: 1,
                schema: "public".into(),
                name: "shop_order".into(),
                rows: 0.0,
                pages: 0,
                all_visible_frac: 0.0,
                size_bytes: 0,
                fillfactor: 100,
                columns: vec![],
                indexes: vec![
                    existing(
                        "shop_order_customer_id_0a1b2c3d",
                        "CREATE INDEX shop_order_customer_id_0a1b2c3d ON public.shop_order USING btree (customer_id)",
                    ),
                    existing(
                        "shop_order_status_63c2c0_idx",
                        "CREATE INDEX shop_order_status_63c2c0_idx ON public.shop_order USING btree (status)",
                    ),
                ],
                constraints: vec![],
            }],
            search_path: vec!["public".into()],
        };
        let drop = |index: &str| DropProposal {
            schema: "public".into(),
            table: "shop_order".into(),
            index: index.into(),
            reason: DropReason::Redundant,
            covered_by: Some("shop_order_custome_da1929_idx".into()),
            size_bytes: 8192,
            verified: true,
            write_saving_ms_per_s: 0.0,
            note: None,
        };
        let r = Recommendation {
            drop: vec![
                drop("shop_order_status_63c2c0_idx"),
                drop("shop_order_customer_id_0a1b2c3d"),
            ],
            ..Recommendation::default()
        };
        let plan = plan_files(&r, &catalog, Some(&p), &opts()).unwrap();
        let migs = plan.migrations();
        assert_eq!(migs.len(), 2);
        assert!(migs[0]
            .path
            .ends_with("0002_remove_order_shop_order_status_63c2c0_idx.py"));
        assert!(migs[0].contents.contains("RemoveIndexConcurrently("));
        assert!(migs[1].contents.contains(
            "CREATE INDEX CONCURRENTLY shop_order_customer_id_0a1b2c3d ON public.shop_order"
        ));
        insta::assert_snapshot!("drop_meta_index", migs[0].contents);
        let md = &plan.files.last().unwrap().contents;
        assert!(
            md.contains("- shop.Order: remove the entry named `shop_order_status_63c2c0_idx`")
                && md.contains("- shop.Order.customer: add `db_index=False` to the field."),
            "{md}"
        );
        insta::assert_snapshot!("drop_db_index", migs[1].contents);
    }

    /// A foreign key's own index on a model the project cannot edit (a third-party app in
    /// site-packages): the header names the field, never "no field's own index".
    #[test]
    fn a_third_party_fields_index_is_named_in_the_drop() {
        let mut p = project();
        let order = p
            .models
            .iter_mut()
            .find(|m| m.db_table == "shop_order")
            .unwrap();
        order.source_file = Some("/venv/lib/python3.11/site-packages/shop/models.py".into());
        let index = "shop_order_customer_id_0a1b2c3d";
        assert!(order
            .fields
            .iter()
            .any(|f| f.name == "customer" && f.index_names == vec![index.to_string()]));
        let mut table = crate::model::Table {
            oid: 1,
            schema: "public".into(),
            name: "shop_order".into(),
            rows: 0.0,
            pages: 0,
            all_visible_frac: 0.0,
            size_bytes: 0,
            fillfactor: 100,
            columns: vec![],
            indexes: vec![],
            constraints: vec![],
        };
        table.indexes.push(crate::model::ExistingIndex {
            name: index.into(),
            definition: format!(
                "CREATE INDEX {index} ON public.shop_order USING btree (customer_id)"
            ),
            method: "btree".into(),
            keys: vec![],
            include: vec![],
            predicate: None,
            unique: false,
            primary: false,
            constraint: None,
            valid: true,
            size_bytes: 8192,
            scans: 0,
        });
        let catalog = Catalog {
            tables: vec![table],
            search_path: vec!["public".into()],
        };
        let r = Recommendation {
            drop: vec![DropProposal {
                schema: "public".into(),
                table: "shop_order".into(),
                index: index.into(),
                reason: DropReason::Redundant,
                covered_by: Some("shop_order_custome_da1929_idx".into()),
                size_bytes: 8192,
                verified: true,
                write_saving_ms_per_s: 0.0,
                note: None,
            }],
            ..Recommendation::default()
        };
        let plan = plan_files(&r, &catalog, Some(&p), &opts()).unwrap();
        let mig = plan.migrations()[0].contents.replace("\n# ", " ");
        assert!(
            mig.contains("own index of shop.Order.customer") && !mig.contains("no field's own"),
            "{mig}"
        );
    }
}
