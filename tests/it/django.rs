//! Django end to end (issue 6): generated migrations on the example shop, on Django 4.2 LTS and
//! the newest Django, against the test cluster (every index kind on 4.2, 5.2 and the newest:
//! `django_matrix`). Venvs come from `.ci/django-venv` (built once, cached under
//! target/django-venvs, or $IDXADVISE_DJANGO_VENVS).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use idxadvise::emit::django::graph;
use idxadvise::emit::django::{DjangoConfig, DjangoPlan, DjangoProject, DjangoTarget};
use idxadvise::emit::{self, EmitError, Target};
use idxadvise::model::{Catalog, ExistingIndex, IndexKey, IndexSpec, Table};
use idxadvise::naming::{self, Named};
use idxadvise::select::Recommendation;

use crate::support::{cluster, repo_root};

/// (label, python, version) for Django 4.2 LTS (`lts`), 5.2 LTS (`lts-5.2`) and the newest
/// (`newest`), from `.ci/django-venv`.
pub(crate) fn venvs() -> &'static Vec<(String, PathBuf, String)> {
    static VENVS: OnceLock<Vec<(String, PathBuf, String)>> = OnceLock::new();
    VENVS.get_or_init(|| {
        let out = Command::new("bash")
            .arg(repo_root().join(".ci/django-venv"))
            .output()
            .expect("run .ci/django-venv");
        assert!(
            out.status.success(),
            ".ci/django-venv failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let parts: Vec<&str> = l.split_whitespace().collect();
                assert_eq!(parts.len(), 3, "unexpected django-venv line {l:?}");
                (
                    parts[0].to_string(),
                    PathBuf::from(parts[1]),
                    parts[2].to_string(),
                )
            })
            .collect()
    })
}

pub(crate) fn python(label: &str) -> (PathBuf, String) {
    let v = venvs()
        .iter()
        .find(|v| v.0 == label)
        .unwrap_or_else(|| panic!("no {label} venv"));
    (v.1.clone(), v.2.clone())
}

/// Copy the example project (without caches) into a temp dir.
pub(crate) fn copy_project() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let name = e.file_name();
            if name == "__pycache__" {
                continue;
            }
            let p = e.path();
            if p.is_dir() {
                copy(&p, &to.join(&name));
            } else if !name.to_string_lossy().ends_with(".sql") {
                std::fs::copy(&p, to.join(&name)).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&repo_root().join("examples/shop"), dir.path());
    dir
}

/// Run `python manage.py args…` in the project; returns (success, stdout+stderr).
pub(crate) fn manage(py: &Path, project: &Path, db_url: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(py)
        .current_dir(project)
        .arg("manage.py")
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run manage.py");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

pub(crate) fn must(py: &Path, project: &Path, db_url: &str, args: &[&str]) -> String {
    let (ok, out) = manage(py, project, db_url, args);
    assert!(ok, "manage.py {args:?} failed:\n{out}");
    out
}

pub(crate) fn rec() -> Recommendation {
    serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/fixtures/django/recommendation.json"))
            .unwrap(),
    )
    .unwrap()
}

/// A catalog with the database's tables and index names (what uniqueness needs).
pub(crate) fn catalog(db: &str) -> Catalog {
    let rows = cluster().psql(
        db,
        "select c.relname, coalesce(string_agg(i.relname, ',' order by i.relname), '') from pg_class c join pg_namespace n on n.oid = c.relnamespace left join pg_index x on x.indrelid = c.oid left join pg_class i on i.oid = x.indexrelid where n.nspname = 'public' and c.relkind = 'r' group by c.relname order by 1",
    );
    Catalog {
        tables: rows
            .lines()
            .map(|l| {
                let (t, ixs) = l.split_once('|').unwrap();
                Table {
                    oid: 0,
                    schema: "public".into(),
                    name: t.into(),
                    rows: 0.0,
                    pages: 0,
                    all_visible_frac: 0.0,
                    size_bytes: 0,
                    fillfactor: 100,
                    columns: vec![],
                    indexes: ixs
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|n| ExistingIndex {
                            name: n.into(),
                            definition: String::new(),
                            method: "btree".into(),
                            keys: vec![],
                            include: vec![],
                            predicate: None,
                            unique: false,
                            primary: false,
                            constraint: None,
                            valid: true,
                            planner_ready: true,
                            size_bytes: 0,
                            scans: 0,
                        })
                        .collect(),
                    constraints: vec![],
                }
            })
            .collect(),
        search_path: vec!["public".into()],
    }
}

/// Paste Meta.indexes entries into models.py: into an existing `class Meta:` or a new one at
/// the end of the class body.
fn paste_meta(models_py: &Path, meta: &[emit::django::MetaIndexes]) {
    let mut lines: Vec<String> = std::fs::read_to_string(models_py)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    for m in meta {
        let start = lines
            .iter()
            .position(|l| l.starts_with(&format!("class {}(", m.model_name)))
            .unwrap_or_else(|| panic!("class {} not in models.py", m.model_name));
        let end = lines[start + 1..]
            .iter()
            .position(|l| !l.is_empty() && !l.starts_with(' '))
            .map_or(lines.len(), |p| start + 1 + p);
        let mut block = vec!["        indexes = [".to_string()];
        for e in &m.entries {
            block.extend(e.lines().map(str::to_string));
        }
        block.push("        ]".to_string());
        match lines[start..end]
            .iter()
            .position(|l| l == "    class Meta:")
        {
            Some(p) => {
                let at = start + p + 1;
                lines.splice(at..at, block);
            }
            None => {
                let mut at = end;
                while at > start && lines[at - 1].is_empty() {
                    at -= 1;
                }
                let mut new = vec![String::new(), "    class Meta:".to_string()];
                new.extend(block);
                lines.splice(at..at, new);
            }
        }
        for i in &m.imports {
            if !lines.contains(i) {
                lines.insert(
                    lines
                        .iter()
                        .position(|l| l == "from django.db import models")
                        .unwrap()
                        + 1,
                    i.clone(),
                );
            }
        }
    }
    std::fs::write(models_py, lines.join("\n") + "\n").unwrap();
}

/// `valid|definition` of an index, or "" when there is none.
pub(crate) fn index_row(db: &str, name: &str) -> String {
    cluster()
        .psql(
            db,
            &format!(
                "select x.indisvalid || '|' || pg_get_indexdef(x.indexrelid) from pg_index x join pg_class i on i.oid = x.indexrelid where i.relname = '{name}'"
            ),
        )
        .trim()
        .to_string()
}

/// What the emit stage plans for `rec` in `project`, as `analyze` gets there: `rec` named
/// (the project's `Meta.indexes` names avoided), then the script and the Django files planned
/// (the `Meta.indexes` snippets not checked).
pub(crate) struct Planned {
    /// The recommendation with its names.
    pub named: Named,
    /// Every file (`indexes.sql` first), which migration creates which index, the notes.
    pub plan: emit::Plan,
    /// The Django part, with its `Meta.indexes` entries and model changes.
    pub django: DjangoPlan,
}

pub(crate) fn plan_django(
    rec: &Recommendation,
    catalog: &Catalog,
    project: &DjangoProject,
    migrations_app: Option<&str>,
) -> Result<Planned, EmitError> {
    let target = DjangoTarget {
        project: project.clone(),
        config: DjangoConfig {
            project: project.root.clone(),
            migrations_app: migrations_app.map(str::to_string),
            ..Default::default()
        },
    };
    let named = naming::name(rec.clone(), catalog, target.reserved_names());
    let script = emit::sql::SqlTarget.plan(&named, catalog, "test")?;
    let django = target.plan_unchecked(&named, catalog, "test")?;
    let plan = emit::plan::combine(script, Some(django.clone().into_target_files()));
    Ok(Planned {
        named,
        plan,
        django,
    })
}

/// The emit stage on its own, as `analyze` runs it: read the project, name `rec`, plan every
/// file (the snippets checked), write them.
fn emit_all(
    rec: &Recommendation,
    cfg: &emit::EmitConfig,
) -> Result<(emit::Plan, Vec<PathBuf>), EmitError> {
    let target = emit::open_target(cfg)?;
    let reserved = target
        .as_ref()
        .map(|t| t.reserved_names())
        .unwrap_or_default();
    let named = naming::name(rec.clone(), &Catalog::default(), reserved);
    let plan = emit::plan_files(&named, &Catalog::default(), target.as_deref(), "test")?;
    let root = target.as_ref().and_then(|t| t.project_root());
    let written = emit::write_plan(&plan.files, root, cfg)?;
    Ok((plan, written))
}

fn e2e(label: &str) {
    let (py, version) = python(label);
    let c = cluster();
    let db = c.create_database(&format!("django_e2e_{label}"));
    let url = c.url(&db);
    let project = copy_project();
    let root = project.path();
    must(&py, root, &url, &["migrate", "-v", "0"]);

    let django = emit::django::introspect(root, Some(&py), None).expect("introspect");
    assert_eq!(django.django_version, version);
    // Our leaves (petgraph over the files' dependencies) are Django's.
    for app in &django.apps {
        assert_eq!(graph::leaves(app), app.leaves, "leaves of {}", app.label);
    }

    let rec = rec();
    let cat = catalog(&db);
    // shop is the project's only app with migrations: the auth_user RunSQL goes there
    // without --migrations-app, as with it.
    let no_app = plan_django(&rec, &cat, &django, None).expect("plan without --migrations-app");
    let Planned {
        named,
        plan,
        django: django_plan,
    } = plan_django(&rec, &cat, &django, Some("shop")).expect("plan");
    assert_eq!(no_app.plan.files, plan.files);
    let migrations = plan.migrations();
    assert_eq!(migrations.len(), 7);
    let placed = emit::write_files(root, &migrations).expect("write into the project");
    let out = tempfile::tempdir().unwrap();
    emit::write_files(out.path(), &plan.others()).expect("write the rest");
    assert!(out.path().join("indexes.sql").exists() && out.path().join("meta_indexes.md").exists());
    // Never overwrite.
    assert!(matches!(
        emit::write_files(root, &migrations),
        Err(EmitError::Exists(_))
    ));

    // black leaves the files as they are.
    let black = Command::new(&py)
        .args(["-m", "black", "--check", "-q"])
        .args(&placed)
        .output()
        .unwrap();
    assert!(
        black.status.success(),
        "black --check failed:\n{}",
        String::from_utf8_lossy(&black.stderr)
    );

    let applied = must(&py, root, &url, &["migrate", "-v", "1"]);
    assert!(applied.contains("0008_"), "{applied}");

    // Every index exists, is valid, and is what was recommended.
    let mut defs = vec![];
    for (p, name) in rec.create.iter().zip(&named.names) {
        let row = index_row(&db, name);
        let (valid, def) = row
            .split_once('|')
            .unwrap_or_else(|| panic!("index {name} missing after migrate"));
        assert_eq!(valid, "true", "{name} is INVALID");
        defs.push((p.spec.clone(), name.clone(), def.to_string()));
    }

    // Back to the base: every index is gone.
    must(&py, root, &url, &["migrate", "shop", "0001", "-v", "0"]);
    for (_, name, _) in &defs {
        assert_eq!(
            index_row(&db, name),
            "",
            "{name} still there after reversing"
        );
    }
    // The same definitions from IndexSpec::create_sql, normalised by PostgreSQL itself.
    for (spec, name, django_def) in &defs {
        c.psql(&db, &spec.create_sql(name, false));
        let ours = index_row(&db, name);
        // `col = 'v'::character varying` is stored as `(col)::text = ('v'::character
        // varying)::text`, Django's `col = 'v'` as `(col)::text = 'v'::text`: the same predicate
        // once the planner folds constants.
        let ours = ours[5..].replace("('pending'::character varying)::text", "'pending'::text");
        assert_eq!(&ours, django_def, "definition of {name}");
        c.psql(&db, &format!("DROP INDEX \"{name}\""));
    }

    // Without the Meta.indexes lines, Django wants to remove the indexes again.
    let (ok, out) = manage(&py, root, &url, &["makemigrations", "--check", "--dry-run"]);
    assert!(
        !ok && out.contains("Remove index"),
        "expected pending RemoveIndex:\n{out}"
    );

    // Meta.indexes pasted into models.py: makemigrations sees no change.
    paste_meta(&root.join("shop/models.py"), &django_plan.meta_indexes);
    let (ok, out) = manage(&py, root, &url, &["makemigrations", "--check", "--dry-run"]);
    assert!(
        ok,
        "makemigrations --check after pasting Meta.indexes:\n{out}"
    );
}

#[test]
fn django_migrations_apply_and_reverse_on_django_lts() {
    e2e("lts");
}

#[test]
fn django_migrations_apply_and_reverse_on_newest_django() {
    e2e("newest");
}

/// Django's own automatic names, computed by Django in the venv, equal ours.
#[test]
fn naming_matches_django_itself() {
    let project = copy_project();
    let cases: Vec<(IndexSpec, &str, &str, Vec<&str>)> = vec![
        (
            IndexSpec::on(
                "public",
                "shop_order",
                vec![
                    IndexKey::col("customer_id"),
                    IndexKey::col_desc("created_at"),
                ],
            ),
            "shop",
            "Order",
            vec!["customer", "-created_at"],
        ),
        (
            IndexSpec::on("public", "shop_order", vec![IndexKey::col("status")]),
            "shop",
            "Order",
            vec!["status"],
        ),
        (
            IndexSpec::on(
                "public",
                "shop_order",
                vec![IndexKey::col_desc("created_at")],
            ),
            "shop",
            "Order",
            vec!["-created_at"],
        ),
        (
            IndexSpec::on("public", "shop_customer", vec![IndexKey::col("email")]),
            "shop",
            "Customer",
            vec!["email"],
        ),
        (
            IndexSpec::on("public", "auth_user", vec![IndexKey::col("last_login")]),
            "auth",
            "User",
            vec!["last_login"],
        ),
        (
            IndexSpec::on(
                "public",
                "shop_product",
                vec![IndexKey::col("sku_code"), IndexKey::col_desc("price")],
            ),
            "shop",
            "Product",
            vec!["sku", "-price"],
        ),
        (
            IndexSpec::on(
                "public",
                "reviews",
                vec![
                    IndexKey::col("product_id"),
                    IndexKey::col_desc("created_at"),
                ],
            ),
            "shop",
            "Review",
            vec!["product", "-created_at"],
        ),
    ];
    let script = cases
        .iter()
        .map(|(_, app, model, fields)| {
            format!(
                "ix = models.Index(fields={fields:?}); ix.set_name_with_model(apps.get_model({app:?}, {model:?})); print('NAME', ix.name)"
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let script = format!("from django.apps import apps\nfrom django.db import models\n{script}\n");
    for label in ["lts", "lts-5.2", "newest"] {
        let (py, _) = python(label);
        let out = must(
            &py,
            project.path(),
            "postgres://nobody@127.0.0.1:1/none",
            &["shell", "-v", "0", "-c", &script],
        );
        let names: Vec<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix("NAME "))
            .collect();
        assert_eq!(names.len(), cases.len(), "{out}");
        for ((spec, ..), django) in cases.iter().zip(names) {
            assert_eq!(
                naming::scheme::base_name(spec, 0),
                django,
                "{label}: {}",
                spec.label()
            );
        }
    }
}

/// Two leaf migrations in the app: a clear refusal and no file written.
#[test]
fn two_leaves_refuse_and_write_nothing() {
    let (py, _) = python("lts");
    let project = copy_project();
    let root = project.path();
    for n in ["0002_left", "0002_right"] {
        std::fs::write(
            root.join(format!("shop/migrations/{n}.py")),
            "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    dependencies = [(\"shop\", \"0001_initial\")]\n    operations = []\n",
        )
        .unwrap();
    }
    let django = emit::django::introspect(root, Some(&py), None).expect("introspect");
    let before: Vec<_> = std::fs::read_dir(root.join("shop/migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let Err(err) = plan_django(&rec(), &Catalog::default(), &django, Some("shop")) else {
        panic!("planned with two leaves");
    };
    let msg = err.to_string();
    assert!(msg.contains("makemigrations --merge shop"), "{msg}");
    assert!(msg.contains("0002_left, 0002_right"), "{msg}");
    let after: Vec<_> = std::fs::read_dir(root.join("shop/migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before.len(), after.len());
}

/// The emit stage with `--out`: the project's layout mirrored, nothing overwritten on a second
/// run; without a project, the SQL script only.
#[test]
fn emit_writes_out_dir_and_sql_only() {
    let (py, _) = python("lts");
    let project = copy_project();
    let out = tempfile::tempdir().unwrap();
    let cfg = emit::EmitConfig {
        out_dir: Some(out.path().to_path_buf()),
        project: Some(emit::ProjectConfig::Django(DjangoConfig {
            project: project.path().to_path_buf(),
            python: Some(py.clone()),
            migrations_app: Some("shop".into()),
            ..Default::default()
        })),
        ..Default::default()
    };
    let (plan, written) = emit_all(&rec(), &cfg).expect("emit");
    assert_eq!(written.len(), plan.files.len());
    assert!(out
        .path()
        .join("shop/migrations/0002_order_shop_order_custome_da1929_idx.py")
        .is_file());
    assert!(out.path().join("indexes.sql").is_file());
    // The snippets were checked with makemigrations in a copy of the project.
    let md = std::fs::read_to_string(out.path().join("meta_indexes.md")).unwrap();
    assert!(md.contains("Checked: with these entries pasted"), "{md}");
    // The project itself is untouched.
    assert!(!project
        .path()
        .join("shop/migrations/0002_order_shop_order_custome_da1929_idx.py")
        .exists());
    let again = emit_all(&rec(), &cfg);
    assert!(matches!(again, Err(EmitError::Exists(_))), "{again:?}");

    let sql_out = tempfile::tempdir().unwrap();
    let (plan, written) = emit_all(
        &rec(),
        &emit::EmitConfig {
            out_dir: Some(sql_out.path().to_path_buf()),
            ..Default::default()
        },
    )
    .expect("sql only");
    assert_eq!(written, vec![sql_out.path().join("indexes.sql")]);
    assert!(plan.notes[0].contains("no Django project"));
    // A folder without manage.py is a clear error.
    let Err(err) = emit_all(
        &rec(),
        &emit::EmitConfig {
            out_dir: Some(sql_out.path().join("x")),
            project: Some(emit::ProjectConfig::Django(DjangoConfig {
                project: sql_out.path().to_path_buf(),
                ..Default::default()
            })),
            ..Default::default()
        },
    ) else {
        panic!("a folder without manage.py was taken for a project");
    };
    assert!(err.to_string().contains("no manage.py"), "{err}");
}

/// Hostile table, column and index names: the generated RunSQL migration is valid Python that
/// black leaves alone, and its SQL strings are exactly the statements.
#[test]
fn hostile_names_stay_inside_their_strings() {
    let (py, _) = python("lts");
    let project = copy_project();
    let django = emit::django::introspect(project.path(), Some(&py), None).expect("introspect");
    let spec = IndexSpec::on(
        "public",
        "we\"ird'\n\\table",
        vec![IndexKey::col("co\"l'\u{e9}"), IndexKey::col_desc("x\ny")],
    );
    let mut rec = rec();
    rec.create.truncate(1);
    rec.create[0].spec = spec.clone();
    let Planned { named, plan, .. } =
        plan_django(&rec, &Catalog::default(), &django, Some("shop")).expect("plan");
    let mig = &plan.migrations()[0];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.py");
    std::fs::write(&file, &mig.contents).unwrap();
    let check = format!(
        "import ast, sys\ntree = ast.parse(open({:?}).read())\nsql = [n for n in ast.walk(tree) if isinstance(n, ast.keyword) and n.arg == 'sql'][0]\nsys.stdout.write(sql.value.elts[0].value)",
        file.display().to_string()
    );
    let out = Command::new(&py).args(["-c", &check]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        spec.create_sql(&named.names[0], true)
    );
    let black = Command::new(&py)
        .args(["-m", "black", "--check", "-q"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        black.status.success(),
        "black would reformat:\n{}",
        mig.contents
    );
}
