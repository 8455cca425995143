//! A recommended index that a model already declares in `Meta.indexes`, with no migration
//! creating it yet (a pending model change) and nothing of that name in the database: the
//! migration uses the declared name, so `manage.py migrate` builds it once and
//! `makemigrations --check` finds nothing left to do (no second, duplicate index).

use std::path::Path;

use serde_json::Value;

use crate::cli::idxadvise;
use crate::django::{copy_project, must, python};
use crate::support::{cluster, reset_statements};

/// The example project's `shop` app, replaced by product views read newest first by product.
/// The foreign key has no index of its own, so nothing is proposed for dropping.
const MODELS: &str = r#"from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=100)


class ProductView(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, db_index=False)
    viewed_at = models.DateTimeField()
    pad = models.TextField()
"#;

/// The declared index, added to the model after its migration was made.
const DECLARED: &str = "shop_productview_recent_idx";

fn meta() -> String {
    format!(
        "\n    class Meta:\n        indexes = [\n            models.Index(fields=[\"product\", \"-viewed_at\"], name=\"{DECLARED}\"),\n        ]\n"
    )
}

const DATA: &str = "\
INSERT INTO shop_product (name) SELECT 'p' || g FROM generate_series(1, 100) g;
INSERT INTO shop_productview (product_id, viewed_at, pad)
  SELECT 1 + g % 100, timestamptz '2026-01-01' + g * interval '1 minute', repeat('y', 80)
  FROM generate_series(1, 200000) g";

fn workload() -> String {
    (0..150)
        .map(|i| {
            format!(
                "SELECT \"shop_productview\".\"id\", \"shop_productview\".\"pad\", \"shop_productview\".\"viewed_at\" FROM \"shop_productview\" WHERE \"shop_productview\".\"product_id\" = {} ORDER BY \"shop_productview\".\"viewed_at\" DESC LIMIT 10;\n",
                1 + i % 100
            )
        })
        .collect()
}

/// The shop project with [`MODELS`] and its own fresh initial migration.
fn project(py: &Path, url: &str) -> tempfile::TempDir {
    let dir = copy_project();
    let app = dir.path().join("shop");
    std::fs::remove_dir_all(app.join("management")).expect("remove management");
    std::fs::remove_file(app.join("migrations/0001_initial.py")).expect("remove 0001");
    std::fs::write(app.join("models.py"), MODELS).expect("write models.py");
    must(py, dir.path(), url, &["makemigrations", "shop", "-v", "0"]);
    dir
}

#[test]
fn a_declared_index_no_migration_creates_keeps_its_name() {
    let (py, _) = python("newest");
    let c = cluster();
    let db = c.create_database("django_declared_pending");
    let url = c.url(&db);
    let dir = project(&py, &url);
    let project = dir.path();
    must(&py, project, &url, &["migrate", "-v", "0"]);
    for statement in DATA.split(";\n") {
        c.psql(&db, statement);
    }
    for _ in 0..2 {
        c.psql(&db, "VACUUM (FREEZE, ANALYZE) shop_productview");
    }
    // The model now declares the index; no migration creates it.
    let models_py = project.join("shop/models.py");
    std::fs::write(&models_py, format!("{MODELS}{}", meta())).expect("declare");
    let (clean, pending) = crate::django::manage(
        &py,
        project,
        &url,
        &["makemigrations", "--check", "--dry-run"],
    );
    assert!(!clean && pending.contains(DECLARED), "{pending}");

    reset_statements(c, &db);
    let tmp = tempfile::tempdir().expect("tempdir");
    let wl = tmp.path().join("workload.sql");
    std::fs::write(&wl, workload()).expect("workload");
    c.psql_file(&db, &wl);

    let out = tmp.path().join("out");
    let out_s = out.to_str().expect("utf-8");
    let r = idxadvise(&[
        "analyze",
        "--quiet",
        "--database-url",
        &url,
        "--out",
        out_s,
        "--django-project",
        project.to_str().expect("utf-8"),
        "--python",
        py.to_str().expect("utf-8"),
        "--migrations-app",
        "shop",
    ]);
    assert_eq!(r.code, 1, "analyze recommends something: {}", r.stderr);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("report"))
            .expect("report is JSON");
    let indexes = report["indexes"].as_array().expect("indexes");
    let ix = indexes
        .iter()
        .find(|i| {
            i["sql"]
                .as_str()
                .is_some_and(|s| s.contains("(\"product_id\", \"viewed_at\" DESC)"))
        })
        .unwrap_or_else(|| panic!("(product_id, viewed_at DESC): {:#}", report["indexes"]));
    assert_eq!(ix["name"], DECLARED, "{ix:#}");
    assert!(ix["meta_index"].is_null(), "no second Meta entry: {ix:#}");
    assert!(
        report["notes"]
            .as_array()
            .expect("notes")
            .iter()
            .any(|n| n
                .as_str()
                .is_some_and(|n| n.starts_with(DECLARED)
                    && n.contains("already declares it in Meta.indexes"))),
        "{:#}",
        report["notes"]
    );
    let meta_md = std::fs::read_to_string(out.join("meta_indexes.md")).expect("meta_indexes.md");
    assert!(meta_md.contains("## Already declared"), "{meta_md}");
    assert!(!meta_md.contains("models.Index("), "{meta_md}");

    // The migration: AddIndexConcurrently under the declared name, applied by Django.
    let migrations = out.join("shop/migrations");
    let files: Vec<String> = std::fs::read_dir(&migrations)
        .expect("migrations")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(migrations.join(&files[0])).expect("read");
    assert!(files[0].ends_with(&format!("{DECLARED}.py")), "{files:?}");
    assert!(text.contains("AddIndexConcurrently"), "{text}");
    assert!(text.contains(&format!("name=\"{DECLARED}\"")), "{text}");
    assert!(text.contains("already declares this index"), "{text}");
    std::fs::copy(
        migrations.join(&files[0]),
        project.join("shop/migrations").join(&files[0]),
    )
    .expect("copy");
    must(&py, project, &url, &["migrate", "-v", "0"]);
    must(
        &py,
        project,
        &url,
        &["makemigrations", "--check", "--dry-run"],
    );
    let on_columns = c.psql(
        &db,
        "SELECT string_agg(i.relname, ',') FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
         WHERE x.indrelid = 'shop_productview'::regclass AND pg_get_indexdef(x.indexrelid) LIKE '%(product_id, viewed_at DESC)'",
    );
    assert_eq!(
        on_columns.trim(),
        DECLARED,
        "exactly one index on the columns"
    );
    c.psql("postgres", &format!("DROP DATABASE {db} WITH (FORCE)"));
}
