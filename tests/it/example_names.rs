//! The findings' examples in the application's own names, end to end on the example shop with
//! its planted patterns (`examples/shop/patterns.sql`): with the Django project given, the
//! examples name its classes exactly (`OrderItem`, `Review` behind `db_table = "reviews"`);
//! without a project, from the database's `django_content_type` rows (class capitals guessed,
//! and said so). With neither, the examples stay generic (`patterns::without_model_names_the_examples_stay_generic`).

use std::process::Command;

use crate::support::{cluster, example_database, replays, repo_root, reset_statements};

/// Analyze the example database `db` (workload and planted patterns replayed) with `extra`
/// arguments; returns report.json.
fn analyze(db: &str, extra: &[&str]) -> serde_json::Value {
    let c = cluster();
    c.psql(db, "SELECT pg_stat_reset()");
    reset_statements(c, db);
    {
        // A timed replay, as `replay_workload`'s: never under another test's heavy load.
        let _quiet = replays().read().unwrap_or_else(|p| p.into_inner());
        c.psql_file(db, &repo_root().join("examples/shop/workload.sql"));
        c.psql_file(db, &repo_root().join("examples/shop/patterns.sql"));
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_idxadvise"))
        .env_remove("DATABASE_URL")
        .args(["analyze", "--quiet", "--window", "0", "--database-url"])
        .arg(c.url(db))
        .arg("--out")
        .arg(&out)
        .args(["--per-call-overhead", "0.5"])
        .args(extra)
        .output()
        .expect("run analyze");
    let code = o.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "analyze failed ({code}):\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("report.json")).expect("report.json"),
    )
    .expect("json");
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(
        md.contains(&format!(
            "Examples: {}.",
            report["findings"]["names"].as_str().unwrap_or("?")
        )),
        "report.md states where the names come from"
    );
    report
}

/// The finding of `pattern` on a statement whose text contains `needle`.
fn finding(report: &serde_json::Value, pattern: &str, needle: &str) -> serde_json::Value {
    let ids: Vec<i64> = report["statements"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|s| s["query"].as_str().unwrap_or("").contains(needle))
        .filter_map(|s| s["queryid"].as_i64())
        .collect();
    report["findings"]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["pattern"] == pattern && ids.contains(&f["queryid"].as_i64().unwrap_or(0)))
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no {pattern} finding on {needle:?}: {}",
                serde_json::to_string_pretty(&report["findings"]).unwrap_or_default()
            )
        })
}

const DEEP_PAGE: &str =
    "FROM \"shop_order\" ORDER BY \"shop_order\".\"created_at\" ASC LIMIT $1 OFFSET $2";
const SEARCH: &str = "UPPER(\"shop_customer\".\"name\"::text) LIKE UPPER($1)";
const REVIEWS: &str = "FROM \"reviews\" WHERE \"reviews\".\"rating\" = $1";
const N_PLUS_ONE: &str = "FROM \"shop_customer\" WHERE \"shop_customer\".\"id\" = $1 LIMIT";

/// The content types `migrate` writes for the shop's app (Django's own apps left out).
const CONTENT_TYPES: &str = "INSERT INTO django_content_type (app_label, model) VALUES
    ('shop', 'customer'), ('shop', 'tag'), ('shop', 'product'), ('shop', 'order'),
    ('shop', 'orderitem'), ('shop', 'review')";

#[test]
fn without_a_project_the_examples_name_the_models_of_django_content_type() {
    let c = cluster();
    let db = example_database("example_names_ct");
    c.psql(&db, CONTENT_TYPES);
    let r = analyze(&db, &[]);
    assert!(
        r["findings"]["names"]
            .as_str()
            .unwrap_or("")
            .starts_with("model names from the database's django_content_type"),
        "{}",
        r["findings"]["names"]
    );
    // The deep page sorts by created_at ascending: keyset on that key, not the generic "-created_at".
    let f = finding(&r, "deep_offset", DEEP_PAGE);
    assert_eq!(
        f["example"],
        "Order.objects.filter(created_at__gt=last_seen).order_by(\"created_at\")[:50]",
        "{f}"
    );
    assert_eq!(f["names"], "content_types");
    let f = finding(&r, "contains_search", SEARCH);
    assert_eq!(
        f["example"],
        "Customer.Meta.indexes: GinIndex(OpClass(Upper(\"name\"), name=\"gin_trgm_ops\"), name=\"…\")  (TrigramExtension() first)",
        "{f}"
    );
    let f = finding(&r, "n_plus_one", N_PLUS_ONE);
    assert_eq!(
        f["example"], "Order.objects.select_related(\"customer\")",
        "{f}"
    );
    // `reviews` has its own db_table: django_content_type cannot name it, the example stays
    // generic and says nothing about its names.
    let f = finding(&r, "over_fetching", REVIEWS);
    assert_eq!(
        f["example"], "Article.objects.defer(\"body\")  /  .only(\"id\", \"title\")",
        "{f}"
    );
    assert!(f.get("names").is_none(), "{f}");
}

#[test]
fn with_the_project_the_examples_name_its_classes_exactly() {
    let (py, _) = crate::django::python("newest");
    let c = cluster();
    let db = example_database("example_names_project");
    // Lower-cased names in the database, exact ones from the project: the project wins.
    c.psql(&db, CONTENT_TYPES);
    let project = crate::django::copy_project();
    let r = analyze(
        &db,
        &[
            "--django-project",
            project.path().to_str().expect("utf-8"),
            "--python",
            py.to_str().expect("utf-8"),
        ],
    );
    assert!(
        r["findings"]["names"]
            .as_str()
            .unwrap_or("")
            .starts_with("model and field names from the Django project"),
        "{}",
        r["findings"]["names"]
    );
    // Review lives in "reviews" (db_table): only the project knows its class.
    let f = finding(&r, "over_fetching", REVIEWS);
    assert_eq!(f["example"], "Review.objects.defer(\"body\")", "{f}");
    assert_eq!(f["names"], "project");
    let f = finding(&r, "deep_offset", DEEP_PAGE);
    assert_eq!(
        f["example"],
        "Order.objects.filter(created_at__gt=last_seen).order_by(\"created_at\")[:50]",
        "{f}"
    );
    assert_eq!(f["names"], "project");
    // The relation's name from the project's own Django (related_query_name()).
    let f = finding(
        &r,
        "count_per_row",
        "COUNT(*) AS \"__count\" FROM \"shop_order\" WHERE \"shop_order\".\"customer_id\" = $1",
    );
    assert_eq!(
        f["example"], "Customer.objects.annotate(order_count=Count(\"order\"))",
        "{f}"
    );
    assert_eq!(f["names"], "project");
    // Every example that names a model names one of the project's classes.
    let classes = ["Customer", "Tag", "Product", "Order", "OrderItem", "Review"];
    for f in r["findings"]["findings"].as_array().expect("findings") {
        if f["names"] == "project" {
            let e = f["example"].as_str().unwrap_or("");
            assert!(classes.iter().any(|c| e.contains(c)), "{f}");
            assert!(!e.contains("Orderitem"), "a guessed class in {f}");
        }
    }
}
