//! Stage `emit`: from the named recommendation to the list of files of every target (the SQL
//! script first, then the project's migrations), without writing anything.
//!
//! Pure (a project target may run its project's own checks, see [`super::Target::plan`]).
//! Invariants: the files are in a fixed order; which file creates which index is the targets'
//! word ([`super::TargetFiles::index_files`]), never found by searching the files' text; a
//! refusal plans no file at all.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::sql::SqlTarget;
use super::target::{Target, TargetFiles};
use super::{EmitError, EmittedFile, FileKind};
use crate::model::Catalog;
use crate::naming::Named;

/// Everything planned for one named recommendation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Files, in a fixed order: `indexes.sql`, then the project target's (Django: migrations
    /// by app, then number, then `meta_indexes.md`).
    pub files: Vec<EmittedFile>,
    /// Index name → the project migration that creates it (empty without a project target).
    pub migration_of: BTreeMap<String, PathBuf>,
    /// Index name → what to add to the model so the framework keeps the index (Django: the
    /// `Meta.indexes` entry).
    pub declaration_of: BTreeMap<String, String>,
    /// Caveats for the report (RunSQL reasons, SQL-only output, …).
    pub notes: Vec<String>,
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

/// Plan every file for `named`: the SQL script, and the project target's files when there is
/// one ([`combine`]).
pub fn plan_files(
    named: &Named,
    catalog: &Catalog,
    project: Option<&dyn Target>,
    version: &str,
) -> Result<Plan, EmitError> {
    let script = SqlTarget.plan(named, catalog, version)?;
    let project = project
        .map(|t| t.plan(named, catalog, version))
        .transpose()?;
    Ok(combine(script, project))
}

/// The script's files and the project target's (none: a note says the output is SQL only), as
/// one plan.
pub fn combine(script: TargetFiles, project: Option<TargetFiles>) -> Plan {
    let mut plan = Plan {
        files: script.files,
        notes: script.notes,
        ..Plan::default()
    };
    match project {
        Some(p) => {
            plan.files.extend(p.files);
            plan.migration_of = p.index_files;
            plan.declaration_of = p.declarations;
            plan.notes.extend(p.notes);
        }
        None => plan.notes.push(
            "SQL only: no Django project was given (--django-project), so no migrations were written"
                .into(),
        ),
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::django::{DjangoPlan, DjangoProject};
    use crate::select::{DropProposal, DropReason, Recommendation};

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

    /// What the stage plans, with the Django part seen from inside (its snippets unchecked:
    /// the fixture project has no files to run).
    struct Planned {
        named: Named,
        plan: Plan,
        django: DjangoPlan,
    }

    /// Name `rec` (avoiding the project's `Meta.indexes`), then plan the script and the Django
    /// files, with `--migrations-app shop` unless `migrations_app` says otherwise.
    fn plan_with(
        rec: &Recommendation,
        catalog: &Catalog,
        project: Option<&DjangoProject>,
        migrations_app: Option<&str>,
    ) -> Result<Planned, EmitError> {
        let target = project.map(|p| crate::emit::django::DjangoTarget {
            project: p.clone(),
            config: crate::emit::django::DjangoConfig {
                migrations_app: migrations_app.map(str::to_string),
                ..Default::default()
            },
        });
        let reserved = target
            .as_ref()
            .map(|t| t.reserved_names())
            .unwrap_or_default();
        let named = crate::naming::name_declared(rec.clone(), catalog, reserved, |spec| {
            target.as_ref().and_then(|t| t.declared_name(spec, catalog))
        });
        let script = SqlTarget.plan(&named, catalog, "0.0.0-test")?;
        let django = target
            .as_ref()
            .map(|t| t.plan_unchecked(&named, catalog, "0.0.0-test"))
            .transpose()?;
        let plan = combine(script, django.clone().map(DjangoPlan::into_target_files));
        Ok(Planned {
            named,
            plan,
            django: django.unwrap_or_default(),
        })
    }

    fn plan(
        rec: &Recommendation,
        catalog: &Catalog,
        project: Option<&DjangoProject>,
    ) -> Result<Planned, EmitError> {
        plan_with(rec, catalog, project, Some("shop"))
    }

    #[test]
    fn plans_the_example_shop() {
        let Planned {
            named,
            plan,
            django,
        } = plan(&rec(), &Catalog::default(), Some(&project())).unwrap();
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
        let order = &django.meta_indexes[1];
        assert_eq!(order.model_name, "Order");
        let in_migration = order.entries[0].replacen("models.Index(", "index=models.Index(", 1);
        assert!(
            plan.files[1].contents.contains(&in_migration),
            "{in_migration}"
        );
        // Each index's migration and Meta.indexes entry come from the target, and are the
        // file and the entry that name it (RunSQL indexes have a migration and no entry).
        assert_eq!(plan.migration_of.len(), named.names.len());
        for name in &named.names {
            let quoted = format!("\"{name}\"");
            let file = plan
                .files
                .iter()
                .find(|f| f.path == plan.migration_of[name])
                .expect("the migration is planned");
            assert!(matches!(file.kind, FileKind::Migration { .. }));
            assert!(file.contents.contains(&quoted), "{name}");
            match plan.declaration_of.get(name) {
                Some(entry) => {
                    assert!(entry.contains(&quoted), "{entry}");
                    assert!(django
                        .meta_indexes
                        .iter()
                        .any(|m| m.entries.contains(entry)));
                }
                None => assert!(file.contents.contains("migrations.RunSQL("), "{name}"),
            }
        }
        assert_eq!(
            plan.migration_of["shop_order_custome_da1929_idx"],
            PathBuf::from("shop/migrations/0002_order_shop_order_custome_da1929_idx.py")
        );
    }

    #[test]
    fn the_only_own_app_holds_runsql_without_migrations_app() {
        let without = plan_with(&rec(), &Catalog::default(), Some(&project()), None)
            .unwrap()
            .plan;
        let with = plan(&rec(), &Catalog::default(), Some(&project()))
            .unwrap()
            .plan;
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
        let Err(err) = plan_with(&rec(), &Catalog::default(), Some(&p), None) else {
            panic!("planned without --migrations-app");
        };
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
            superseded_by: None,
            covered_by_size_bytes: None,
            note: None,
        });
        let Planned { plan, .. } = plan(&r, &Catalog::default(), None).unwrap();
        assert_eq!(plan.files.len(), 1);
        assert!(plan.migration_of.is_empty() && plan.declaration_of.is_empty());
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
                other: vec![],
            });
        let names = plan(&rec(), &Catalog::default(), Some(&p))
            .unwrap()
            .named
            .names;
        assert_ne!(names[0], "shop_order_custome_da1929_idx");
        assert!(names[0].starts_with("shop_order_custome_") && names[0].len() <= 30);
    }

    /// Every index name in `indexes.sql` and in a `RunSQL` migration is a quoted identifier,
    /// whatever it holds: a name that tries to end the statement stays inside its quotes.
    #[test]
    fn hostile_index_names_are_quoted_in_the_script_and_run_sql() {
        use crate::emit::django::pystr::python_str_black;
        use crate::emit::sql::drop_index;
        use crate::pg::quote::ident;
        let mut r = rec();
        r.create.retain(|c| c.spec.table == "auth_user");
        assert_eq!(r.create.len(), 1);
        let name = "ix\"; DROP TABLE auth_user; --";
        let named = Named {
            rec: r,
            names: vec![name.to_string()],
        };
        let spec = &named.rec.create[0].spec;
        let quoted = ident(name);
        assert_eq!(quoted, "\"ix\"\"; DROP TABLE auth_user; --\"");

        let script = SqlTarget.plan(&named, &Catalog::default(), "t").unwrap();
        let sql = &script.files[0].contents;
        assert!(
            sql.contains(&format!("\nCREATE INDEX CONCURRENTLY {quoted} ON ")),
            "{sql}"
        );
        assert!(
            sql.contains(&format!(
                "-- recovery: DROP INDEX CONCURRENTLY IF EXISTS \"public\".{quoted};"
            )),
            "{sql}"
        );
        for line in sql
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with("--"))
        {
            assert!(line.starts_with("CREATE INDEX CONCURRENTLY "), "{line}");
        }
        assert_eq!(script.index_files[name], PathBuf::from("indexes.sql"));

        let target = crate::emit::django::DjangoTarget {
            project: project(),
            config: crate::emit::django::DjangoConfig {
                migrations_app: Some("shop".into()),
                ..Default::default()
            },
        };
        let django = target
            .plan_unchecked(&named, &Catalog::default(), "t")
            .unwrap();
        let mig = &django.migrations()[0];
        assert!(
            mig.contents.contains("migrations.RunSQL("),
            "{}",
            mig.contents
        );
        assert!(
            mig.contents
                .contains(&python_str_black(&spec.create_sql(name, true))),
            "{}",
            mig.contents
        );
        assert!(
            mig.contents
                .contains(&python_str_black(&drop_index(&spec.schema, name))),
            "{}",
            mig.contents
        );
        assert!(
            mig.contents.contains(&format!(
                "#     DROP INDEX CONCURRENTLY IF EXISTS \"public\".{quoted};"
            )),
            "{}",
            mig.contents
        );
        assert_eq!(django.migrations[name], mig.path);
        assert!(django.meta_entries.is_empty());
    }

    /// An `OpClass` expression index in a project without `django.contrib.postgres`: SQL for
    /// the database, `AddIndex` for the state (Django would render invalid SQL itself).
    #[test]
    fn opclass_expression_without_contrib_postgres_is_split() {
        let mut p = project();
        let mut r = rec();
        r.create.retain(|c| c.spec.table == "shop_customer");
        r.create[0].spec.keys[0].opclass = Some("text_pattern_ops".into());
        let with = plan(&r, &Catalog::default(), Some(&p)).unwrap().django;
        assert!(with.migrations()[0]
            .contents
            .contains("AddIndexConcurrently("));
        p.apps.retain(|a| a.name != "django.contrib.postgres");
        let without = plan(&r, &Catalog::default(), Some(&p)).unwrap().django;
        let mig = &without.migrations()[0];
        assert!(!mig.contents.contains("AddIndexConcurrently("));
        assert_eq!(with.meta_indexes, without.meta_indexes);
        insta::assert_snapshot!("opclass_split", mig.contents);
    }

    /// An existing B-tree of 8 kB, valid, never scanned.
    fn existing_index(name: &str, definition: &str) -> crate::model::ExistingIndex {
        crate::model::ExistingIndex {
            name: name.into(),
            definition: definition.into(),
            method: "btree".into(),
            keys: vec![],
            include: vec![],
            predicate: None,
            unique: false,
            primary: false,
            constraint: None,
            valid: true,
            planner_ready: true,
            size_bytes: 8192,
            scans: 0,
        }
    }

    /// A catalog of one table, `public.shop_order`, with these indexes.
    fn shop_order_catalog(indexes: Vec<crate::model::ExistingIndex>) -> Catalog {
        Catalog {
            tables: vec![crate::model::Table {
                oid: 1,
                indexes,
                ..crate::model::Table::named("public", "shop_order")
            }],
            search_path: vec!["public".into()],
        }
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
                other: vec![],
            });
        let catalog = shop_order_catalog(vec![
            existing_index(
                "shop_order_customer_id_0a1b2c3d",
                "CREATE INDEX shop_order_customer_id_0a1b2c3d ON public.shop_order USING btree (customer_id)",
            ),
            existing_index(
                "shop_order_status_63c2c0_idx",
                "CREATE INDEX shop_order_status_63c2c0_idx ON public.shop_order USING btree (status)",
            ),
        ]);
        let drop = |index: &str| DropProposal {
            covered_by: Some("shop_order_custome_da1929_idx".into()),
            size_bytes: 8192,
            verified: true,
            ..DropProposal::of("shop_order", index, DropReason::Redundant)
        };
        let r = Recommendation {
            drop: vec![
                drop("shop_order_status_63c2c0_idx"),
                drop("shop_order_customer_id_0a1b2c3d"),
            ],
            ..Recommendation::default()
        };
        let Planned { plan, .. } = plan(&r, &catalog, Some(&p)).unwrap();
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
        let catalog = shop_order_catalog(vec![existing_index(
            index,
            &format!("CREATE INDEX {index} ON public.shop_order USING btree (customer_id)"),
        )]);
        let r = Recommendation {
            drop: vec![DropProposal {
                covered_by: Some("shop_order_custome_da1929_idx".into()),
                size_bytes: 8192,
                verified: true,
                ..DropProposal::of("shop_order", index, DropReason::Redundant)
            }],
            ..Recommendation::default()
        };
        let Planned { plan, .. } = plan(&r, &catalog, Some(&p)).unwrap();
        let mig = plan.migrations()[0].contents.replace("\n# ", " ");
        assert!(
            mig.contains("own index of shop.Order.customer") && !mig.contains("no field's own"),
            "{mig}"
        );
    }
}
