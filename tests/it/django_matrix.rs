//! The migration matrix (issue 14): one migration of every index kind idxadvise can propose
//! (plain, composite, DESC, partial, INCLUDE, expression, operator class, expression + operator
//! class, partial expression, RunSQL for a contrib table and for auto-created M2M tables in two
//! apps) and of every drop kind (a `Meta.indexes` entry, a ForeignKey's own index, an M2M
//! table's index), on Django 4.2, 5.2 and the newest, with and without
//! `django.contrib.postgres`. One throwaway project per (version, contrib) holds all kinds.
//!
//! Per combination: `sqlmigrate` of every file executes on a second database; `migrate` builds
//! every index valid, with the definition `indexes.sql` gives; `makemigrations --check` is
//! clean once the `meta_indexes.md` snippets (and the drops' field changes) are pasted (the
//! blog's `Article` inherits `Meta` from an abstract `TimestampedModel`); migrating back
//! removes every new index and restores every dropped one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use idxadvise::emit::{self, EmitError, FileKind, Target};
use idxadvise::model::{Catalog, ExistingIndex, Table};
use idxadvise::select::{DropProposal, DropReason, Recommendation};

use crate::django::{index_row, manage, must, plan_django, python, Planned};
use crate::support::{cluster, repo_root};

/// Copy the matrix project with `CONTRIB_POSTGRES` set.
fn project(contrib: bool) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_name() == "__pycache__" || e.file_name() == "recommendation.json" {
                continue;
            }
            if e.path().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(
        &repo_root().join("tests/fixtures/django/matrix"),
        dir.path(),
    );
    let settings = dir.path().join("matrixsite/settings.py");
    let text = std::fs::read_to_string(&settings).unwrap();
    let text = text.replace(
        "CONTRIB_POSTGRES = False",
        &format!(
            "CONTRIB_POSTGRES = {}",
            if contrib { "True" } else { "False" }
        ),
    );
    std::fs::write(settings, text).unwrap();
    dir
}

fn recommendation() -> Recommendation {
    serde_json::from_str(
        &std::fs::read_to_string(
            repo_root().join("tests/fixtures/django/matrix/recommendation.json"),
        )
        .unwrap(),
    )
    .unwrap()
}

/// The database's tables and indexes, with definitions and constraint names (what drops need).
fn catalog(db: &str) -> Catalog {
    let rows = cluster().psql(
        db,
        "select c.relname, coalesce(i.relname, ''), coalesce(pg_get_indexdef(x.indexrelid), ''), coalesce(k.conname, '') from pg_class c join pg_namespace n on n.oid = c.relnamespace left join pg_index x on x.indrelid = c.oid left join pg_class i on i.oid = x.indexrelid left join pg_constraint k on k.conindid = x.indexrelid and k.contype in ('p', 'u', 'x') where n.nspname = 'public' and c.relkind = 'r' order by 1, 2",
    );
    let mut tables: Vec<Table> = vec![];
    for l in rows.lines() {
        let parts: Vec<&str> = l.split('|').collect();
        if tables.last().is_none_or(|t| t.name != parts[0]) {
            tables.push(Table {
                oid: 0,
                schema: "public".into(),
                name: parts[0].into(),
                rows: 0.0,
                pages: 0,
                all_visible_frac: 0.0,
                size_bytes: 0,
                fillfactor: 100,
                columns: vec![],
                indexes: vec![],
                constraints: vec![],
            });
        }
        if parts[1].is_empty() {
            continue;
        }
        tables.last_mut().unwrap().indexes.push(ExistingIndex {
            name: parts[1].into(),
            definition: parts[2].into(),
            method: "btree".into(),
            keys: vec![],
            include: vec![],
            predicate: None,
            unique: false,
            primary: false,
            constraint: (!parts[3].is_empty()).then(|| parts[3].to_string()),
            valid: true,
            planner_ready: true,
            size_bytes: 8192,
            scans: 0,
        });
    }
    Catalog {
        tables,
        search_path: vec!["public".into()],
    }
}

/// The one non-unique index of `table` whose definition ends with `(column)`.
fn field_index(cat: &Catalog, table: &str, column: &str) -> String {
    let t = cat.tables.iter().find(|t| t.name == table).unwrap();
    t.indexes
        .iter()
        .find(|i| i.constraint.is_none() && i.definition.ends_with(&format!("({column})")))
        .unwrap_or_else(|| panic!("no index on {table}({column})"))
        .name
        .clone()
}

fn drop(table: &str, index: &str) -> DropProposal {
    DropProposal {
        schema: "public".into(),
        table: table.into(),
        index: index.into(),
        reason: DropReason::Unused,
        covered_by: None,
        size_bytes: 8192,
        verified: true,
        write_saving_ms_per_s: 0.01,
        superseded_by: None,
        covered_by_size_bytes: None,
        note: None,
    }
}

/// `sqlmigrate` of each migration, in one Python process (one Django start-up, not one each).
fn sqlmigrate_all(py: &Path, root: &Path, url: &str, migrations: &[(String, String)]) -> String {
    let calls: String = migrations
        .iter()
        .map(|(app, name)| format!("call_command('sqlmigrate', {app:?}, {name:?}, stdout=out)\n"))
        .collect();
    let script = format!(
        "import io, sys\nfrom django.core.management import call_command\nout = io.StringIO()\n{calls}sys.stdout.write('@@SQL@@\\n' + out.getvalue())\n"
    );
    let text = must(py, root, url, &["shell", "-v", "0", "-c", &script]);
    text.split_once("@@SQL@@\n")
        .unwrap_or_else(|| panic!("no sqlmigrate output:\n{text}"))
        .1
        .to_string()
}

/// The definition PostgreSQL stores for `indexes.sql`'s statement, in Django's spelling of a
/// text constant (`'v'::text` for `('v'::character varying)::text`).
fn normalise(def: &str) -> String {
    let mut out = def.to_string();
    while let Some(start) = out.find("('") {
        let Some(end) = out[start..].find("'::character varying)::text") else {
            break;
        };
        let value = out[start + 1..start + end + 1].to_string();
        out.replace_range(
            start..start + end + "'::character varying)::text".len(),
            &format!("{value}::text"),
        );
    }
    out
}

fn run(label: &str, contrib: bool) {
    let started = Instant::now();
    let (py, version) = python(label);
    let c = cluster();
    let tag = format!("{}_{}", label.replace(['-', '.'], ""), contrib);
    let db = c.create_database(&format!("matrix_{tag}"));
    let scratch = c.create_database(&format!("matrix_sql_{tag}"));
    let url = c.url(&db);
    let dir = project(contrib);
    let root = dir.path();
    must(&py, root, &url, &["migrate", "-v", "0"]);
    must(&py, root, &c.url(&scratch), &["migrate", "-v", "0"]);

    let django = emit::django::introspect(root, Some(&py), None).expect("introspect");
    assert_eq!(django.django_version, version);
    assert_eq!(django.has_contrib_postgres(), contrib);
    let cat = catalog(&db);
    let mut rec = recommendation();
    let fk_index = field_index(&cat, "blog_comment", "author_id");
    let m2m_index = field_index(&cat, "people_profile_follows", "from_profile_id");
    rec.drop = vec![
        drop("blog_comment", "blog_comment_created_idx"),
        drop("blog_comment", &fk_index),
        drop("people_profile_follows", &m2m_index),
    ];
    let Planned {
        named,
        plan,
        django: django_plan,
    } = plan_django(&rec, &cat, &django, Some("blog")).expect("plan");
    let migrations = plan.migrations();
    // Every create and every drop has its own file; M2M and drops stay in the app that owns
    // the table (people), the contrib table's goes to --migrations-app (blog).
    assert_eq!(migrations.len(), rec.create.len() + rec.drop.len());
    let in_app = |app: &str| {
        migrations
            .iter()
            .filter(|f| matches!(&f.kind, FileKind::Migration { chain } if chain == app))
            .count()
    };
    assert_eq!(
        in_app("people"),
        4,
        "people: 2 expressions, 1 M2M create, 1 M2M drop"
    );
    for f in &migrations {
        if let FileKind::Migration { chain } = &f.kind {
            assert!(
                !(chain == "blog" && f.contents.contains("people_profile")),
                "a people table's migration went into blog: {}",
                f.path.display()
            );
        }
    }
    // The OpClass expression index: AddIndexConcurrently only where Django can render it.
    let opclass_file = migrations
        .iter()
        .find(|f| f.contents.contains("OpClass(Upper(\"name\")"))
        .expect("expression + operator class migration");
    assert_eq!(
        opclass_file.contents.contains("SeparateDatabaseAndState"),
        !contrib,
        "{}",
        opclass_file.contents
    );
    // Drops: SeparateDatabaseAndState, the FK's with db_index=False in the state.
    let fk_file = migrations
        .iter()
        .find(|f| {
            f.contents.contains(&format!(
                "DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"{fk_index}\""
            ))
        })
        .expect("FK drop");
    assert!(
        fk_file.contents.contains("migrations.AlterField(")
            && fk_file.contents.contains("db_index=False"),
        "{}",
        fk_file.contents
    );
    emit::write_files(root, &migrations).expect("write into the project");
    let placed: Vec<PathBuf> = migrations.iter().map(|f| root.join(&f.path)).collect();
    let black = Command::new(&py)
        .args(["-m", "black", "--check", "-q"])
        .args(&placed)
        .output()
        .unwrap();
    assert!(
        black.status.success(),
        "black would reformat a migration:\n{}",
        String::from_utf8_lossy(&black.stderr)
    );

    // sqlmigrate's SQL executes on the test cluster (a second database).
    let names: Vec<(String, String)> = migrations
        .iter()
        .map(|f| {
            let FileKind::Migration { chain } = &f.kind else {
                unreachable!()
            };
            (
                chain.clone(),
                f.path.file_stem().unwrap().to_string_lossy().to_string(),
            )
        })
        .collect();
    let sql = sqlmigrate_all(&py, root, &url, &names);
    let sql_file = root.join("sqlmigrate.sql");
    std::fs::write(&sql_file, &sql).unwrap();
    c.psql_file(&scratch, &sql_file);

    // migrate: every index valid, with indexes.sql's definition; every drop gone.
    must(&py, root, &url, &["migrate", "-v", "0"]);
    let mut defs = vec![];
    for (p, name) in rec.create.iter().zip(&named.names) {
        let row = index_row(&db, name);
        let (valid, def) = row.split_once('|').unwrap_or_else(|| {
            panic!("{tag}: index {name} ({}) missing after migrate", p.rules[0])
        });
        assert_eq!(valid, "true", "{tag}: {name} is INVALID");
        assert_eq!(
            index_row(&scratch, name),
            row,
            "{tag}: sqlmigrate built {name} differently"
        );
        defs.push((p.spec.clone(), name.clone(), def.to_string()));
    }
    for d in &rec.drop {
        assert_eq!(
            index_row(&db, &d.index),
            "",
            "{tag}: {} not dropped",
            d.index
        );
        assert_eq!(
            index_row(&scratch, &d.index),
            "",
            "{tag}: sqlmigrate kept {}",
            d.index
        );
    }

    // Without the snippets, Django wants changes; with them (and the drops' model edits), none.
    let (ok, _) = manage(&py, root, &url, &["makemigrations", "--check", "--dry-run"]);
    assert!(!ok, "{tag}: makemigrations --check clean before pasting");
    paste(&py, root, &django_plan, &django);
    let (ok, out) = manage(&py, root, &url, &["makemigrations", "--check", "--dry-run"]);
    assert!(
        ok,
        "{tag}: makemigrations --check after pasting the snippets:\n{out}"
    );

    // Back to the initial migrations: new indexes gone, dropped ones back and valid.
    must(&py, root, &url, &["migrate", "blog", "0001", "-v", "0"]);
    must(&py, root, &url, &["migrate", "people", "0001", "-v", "0"]);
    for (_, name, _) in &defs {
        assert_eq!(
            index_row(&db, name),
            "",
            "{tag}: {name} still there after reversing"
        );
    }
    for d in &rec.drop {
        assert!(
            index_row(&db, &d.index).starts_with("true|"),
            "{tag}: {} not restored valid by the reverse",
            d.index
        );
    }
    // indexes.sql's statement builds the same index Django did.
    for (spec, name, django_def) in &defs {
        c.psql(&db, &spec.create_sql(name, false));
        let ours = normalise(&index_row(&db, name)[5..]);
        assert_eq!(&ours, django_def, "{tag}: definition of {name}");
        c.psql(&db, &format!("DROP INDEX \"{name}\""));
    }
    eprintln!(
        "django matrix {label} ({version}), contrib.postgres {contrib}: {} migrations, {:.1} s",
        migrations.len(),
        started.elapsed().as_secs_f64()
    );
}

/// Paste `meta_indexes.md`'s snippets as the user would (the class line and list opening it
/// gives), and make the model changes the drops assume (remove the dropped `Meta.indexes`
/// entry, `db_index=False` on the dropped FK index's field), through `paste_meta.py`.
fn paste(
    py: &Path,
    root: &Path,
    plan: &emit::django::DjangoPlan,
    django: &emit::django::DjangoProject,
) {
    use emit::django::check_meta;
    assert_eq!(plan.model_edits.len(), 2, "{:?}", plan.model_edits);
    let spec = check_meta::paste_spec(django, root, plan).expect("paste spec");
    let scratch = tempfile::tempdir().unwrap();
    check_meta::paste(py, root, &spec, scratch.path()).expect("paste");
    let blog = std::fs::read_to_string(root.join("blog/models.py")).unwrap();
    assert!(
        blog.contains("    class Meta(TimestampedModel.Meta):"),
        "Article's snippet must keep the inherited Meta:\n{blog}"
    );
    assert!(
        blog.contains("on_delete=models.CASCADE, db_index=False)")
            && !blog.contains("name=\"blog_comment_created_idx\""),
        "{blog}"
    );
}

#[test]
fn django_matrix_4_2_without_contrib_postgres() {
    run("lts", false);
}

#[test]
fn django_matrix_4_2_with_contrib_postgres() {
    run("lts", true);
}

#[test]
fn django_matrix_5_2_without_contrib_postgres() {
    run("lts-5.2", false);
}

#[test]
fn django_matrix_5_2_with_contrib_postgres() {
    run("lts-5.2", true);
}

#[test]
fn django_matrix_newest_without_contrib_postgres() {
    run("newest", false);
}

#[test]
fn django_matrix_newest_with_contrib_postgres() {
    run("newest", true);
}

/// An M2M-only recommendation needs no --migrations-app: each table's migration goes to the
/// app that owns it. A contrib table still needs one, and the refusal counts and names it once.
#[test]
fn m2m_only_needs_no_migrations_app() {
    let (py, _) = python("lts");
    let dir = project(false);
    let django = emit::django::introspect(dir.path(), Some(&py), None).expect("introspect");
    let mut rec = recommendation();
    let all = rec.create.clone();
    rec.create.retain(|p| p.rules[0].starts_with("m2m"));
    assert_eq!(rec.create.len(), 2);
    let Planned { plan, .. } = plan_django(&rec, &Catalog::default(), &django, None)
        .expect("M2M tables have an owning app");
    let paths: Vec<String> = plan
        .migrations()
        .iter()
        .map(|f| f.path.display().to_string())
        .collect();
    assert_eq!(paths.len(), 2);
    assert!(paths[0].starts_with("blog/migrations/0002_"), "{paths:?}");
    assert!(paths[1].starts_with("people/migrations/0002_"), "{paths:?}");

    rec.create = all
        .into_iter()
        .filter(|p| p.spec.table == "auth_user")
        .collect();
    rec.create.push(rec.create[0].clone());
    rec.create[1].spec.keys[0].desc = false;
    let Err(err) = plan_django(&rec, &Catalog::default(), &django, None) else {
        panic!("a contrib table planned without --migrations-app");
    };
    assert!(matches!(err, EmitError::MigrationsAppNeeded { .. }));
    let msg = err.to_string();
    assert!(
        msg.starts_with("2 migration(s) (2 new index(es), 0 drop(s))"),
        "{msg}"
    );
    assert_eq!(msg.matches("auth_user").count(), 1, "{msg}");
}

/// The snippet for a model that inherits `Meta` from an abstract base is checked in a copy of
/// the project before it is recommended: ours (`class Meta(TimestampedModel.Meta):`) keeps
/// `makemigrations --check` clean; a plain `class Meta:` would drop the inherited ordering, and
/// the check says so.
#[test]
fn meta_snippet_is_checked_on_an_inherited_meta() {
    let (py, _) = python("lts-5.2");
    let dir = project(false);
    let mut rec = recommendation();
    rec.create
        .retain(|p| p.spec.table == "blog_article" && p.rules[0] != "expression_opclass");
    let target = emit::django::DjangoTarget::open(&emit::django::DjangoConfig {
        project: dir.path().to_path_buf(),
        python: Some(py.clone()),
        ..Default::default()
    })
    .expect("introspect");
    let named = idxadvise::naming::name(rec, &Catalog::default(), target.reserved_names());
    let mut plan = target
        .plan_unchecked(&named, &Catalog::default(), "test")
        .expect("plan");
    target.check_snippets(&mut plan);
    let django = &target.project;
    let md = plan
        .files
        .iter()
        .find(|f| f.kind == FileKind::ModelChanges)
        .unwrap();
    assert!(
        md.contents
            .contains("    class Meta(TimestampedModel.Meta):")
            && md.contents.contains("Checked: with these entries pasted"),
        "{}",
        md.contents
    );
    let mut lost = plan.clone();
    lost.meta_indexes[0].class_line = "    class Meta:".into();
    match emit::django::check_meta::check(django, &py, None, &lost) {
        emit::django::check_meta::MetaCheck::Changes(c) => {
            assert!(c.contains("Meta options on article"), "{c}")
        }
        other => panic!("a plain class Meta must be caught: {other:?}"),
    }
    // The user's project is untouched.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("blog/models.py")).unwrap(),
        std::fs::read_to_string(repo_root().join("tests/fixtures/django/matrix/blog/models.py"))
            .unwrap()
    );
    let mut files: Vec<String> = std::fs::read_dir(dir.path().join("blog/migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".py"))
        .collect();
    files.sort();
    assert_eq!(files, vec!["0001_initial.py", "__init__.py"]);
}

/// A refusal known before the analysis comes before it: an unknown --migrations-app stops
/// `analyze` before it connects (the server named here does not exist), in one line, exit 2.
#[test]
fn unknown_migrations_app_stops_analyze_before_collection() {
    let (py, _) = python("lts");
    let dir = project(false);
    let out = tempfile::tempdir().unwrap();
    let py = py.display().to_string();
    let project = dir.path().display().to_string();
    let target = out.path().join("out").display().to_string();
    let run = crate::cli::idxadvise(&[
        "analyze",
        "--quiet",
        "--database-url",
        "postgres://nobody@127.0.0.1:1/none?connect_timeout=1",
        "--out",
        &target,
        "--django-project",
        &project,
        "--python",
        &py,
        "--migrations-app",
        "nope",
    ]);
    run.assert_error(2, &["--migrations-app \"nope\"", "people, blog"]);
    assert!(!out.path().join("out").exists());
}
