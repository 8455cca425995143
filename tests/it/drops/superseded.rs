//! Existing indexes a recommended new index makes redundant are proposed for dropping in the
//! same run, with the new index as the reason: a new `(a) INCLUDE (b)` or `(a, b DESC)` beside
//! an existing `(a)`. Never a unique index, never one with another operator class. Verified by
//! hiding it with the new indexes in place on HypoPG 1.4 (PostgreSQL 17, 18); "not verified"
//! on HypoPG 1.3 (PostgreSQL 15). With Django, the drop of a foreign key's own index is a
//! migration that `manage.py migrate` applies after the migration of the index that replaces
//! it.

use std::path::Path;

use serde_json::Value;

use crate::cli::idxadvise;
use crate::support::{cluster, example_database, pg_major, replay_workload};

/// Two tables shaped like the review's shop: order lines read by order (a covering index
/// pays), and product views read newest first by product (a sorted index pays), each with a
/// single-column index the new one makes redundant; beside them a unique partial index and a
/// `varchar_pattern_ops` index with the same leading column, which must stay. The single-column
/// indexes are built half full and without deduplication, so the new ones are not 1.5× larger:
/// an index in use whose reads would move to one that much larger is kept, not dropped
/// (`select::survivor`, tested in `verify::cache`).
const SCHEMA: &str = "\
CREATE TABLE sup_line (id bigserial PRIMARY KEY, order_id int NOT NULL, product_id int NOT NULL, quantity int NOT NULL, pad text NOT NULL);
INSERT INTO sup_line (order_id, product_id, quantity, pad)
  SELECT g % 1000, (g * 7) % 5000, 1 + g % 5, repeat('x', 80) FROM generate_series(1, 200000) g;
CREATE INDEX sup_line_order_id ON sup_line (order_id) WITH (deduplicate_items = off, fillfactor = 50);
CREATE TABLE sup_view (id bigserial PRIMARY KEY, product_id int NOT NULL, code varchar(20) NOT NULL, viewed_at timestamptz NOT NULL, featured boolean NOT NULL, pad text NOT NULL);
INSERT INTO sup_view (product_id, code, viewed_at, featured, pad)
  SELECT g % 100, 'c' || (g % 97), timestamptz '2026-01-01' + g * interval '1 minute', g <= 100, repeat('y', 80)
  FROM generate_series(1, 200000) g;
CREATE INDEX sup_view_product_id ON sup_view (product_id) WITH (deduplicate_items = off, fillfactor = 50);
CREATE UNIQUE INDEX sup_view_featured ON sup_view (product_id) WHERE featured;
CREATE INDEX sup_view_code_like ON sup_view (code varchar_pattern_ops);
";

fn workload() -> String {
    let mut s = String::new();
    for i in 0..150 {
        for j in 0..3 {
            s.push_str(&format!(
                "SELECT \"sup_line\".\"product_id\", \"sup_line\".\"quantity\" FROM \"sup_line\" WHERE \"sup_line\".\"order_id\" = {};\n",
                (i * 131 + j * 7) % 1000
            ));
        }
        s.push_str(&format!(
            "SELECT id, viewed_at FROM sup_view WHERE product_id = {} ORDER BY viewed_at DESC LIMIT 10;\n",
            i % 100
        ));
        s.push_str(&format!(
            "SELECT id, viewed_at FROM sup_view WHERE code = 'c{}' ORDER BY viewed_at DESC LIMIT 10;\n",
            i % 97
        ));
        s.push_str(&format!(
            "SELECT count(*) FROM sup_view WHERE code LIKE 'c{}%';\n",
            10 + i % 80
        ));
        s.push_str(&format!(
            "SELECT id FROM sup_view WHERE product_id = {} AND featured;\n",
            i % 100
        ));
    }
    s
}

fn analyze(url: &str, out: &Path, extra: &[&str]) -> Value {
    let out_s = out.to_str().expect("utf-8");
    let mut args = vec!["analyze", "--quiet", "--database-url", url, "--out", out_s];
    args.extend_from_slice(extra);
    let r = idxadvise(&args);
    assert_eq!(r.code, 1, "analyze recommends something: {}", r.stderr);
    serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("report.json"))
        .expect("report is JSON")
}

/// The recommended new index on `table` whose definition contains `keys`, by name.
fn new_index<'r>(report: &'r Value, table: &str, keys: &str) -> Option<&'r str> {
    report["indexes"]
        .as_array()
        .expect("indexes")
        .iter()
        .find(|i| i["table"] == table && i["sql"].as_str().is_some_and(|s| s.contains(keys)))
        .and_then(|i| i["name"].as_str())
}

fn drop_of<'r>(report: &'r Value, index: &str) -> Option<&'r Value> {
    report["drops"]
        .as_array()
        .expect("drops")
        .iter()
        .find(|d| d["index"] == index)
}

/// The drop of `old` is proposed because of the new index `new`, verified where HypoPG can
/// hide an index, with the report saying what it frees.
fn assert_superseded(report: &Value, old: &str, new: &str) {
    let d = drop_of(report, old).unwrap_or_else(|| {
        panic!(
            "{old} is proposed for dropping in the same run: {:#}\nindexes: {:#}\nnotes: {:#}",
            report["drops"], report["indexes"], report["notes"]
        )
    });
    assert_eq!(d["reason"], "redundant", "{d}");
    assert_eq!(d["covered_by"], new, "{d}");
    assert!(d["superseded_by"].is_u64(), "{d}");
    assert!(d["size_bytes"].as_i64().expect("size") > 1 << 20, "{d}");
    if pg_major() >= 17 {
        assert_eq!(d["verified"], true, "hidden with {new} in place: {d}");
    } else {
        assert_eq!(d["verified"], false, "{d}");
        assert!(
            d["note"].as_str().is_some_and(|n| n.contains("1.4")),
            "the reason it is not verified: {d}"
        );
    }
    let note = format!("drop public.{old} in the same change: the new index {new} serves");
    assert!(
        report["notes"].as_array().expect("notes").iter().any(|n| n
            .as_str()
            .is_some_and(|n| n.starts_with(&note) && n.contains("frees"))),
        "{:#}",
        report["notes"]
    );
}

#[test]
fn a_new_index_led_by_an_existing_ones_keys_drops_it_in_the_same_run() {
    let c = cluster();
    let db = c.create_database("drops_superseded");
    for statement in SCHEMA.split(";\n").filter(|s| !s.trim().is_empty()) {
        c.psql(&db, statement);
    }
    // Twice: the second pass marks the pages all-visible (an index-only scan pays).
    for _ in 0..2 {
        c.psql(&db, "VACUUM (FREEZE, ANALYZE) sup_line");
        c.psql(&db, "VACUUM (FREEZE, ANALYZE) sup_view");
    }
    crate::support::reset_statements(c, &db);
    let tmp = tempfile::tempdir().expect("tempdir");
    let wl = tmp.path().join("workload.sql");
    std::fs::write(&wl, workload()).expect("workload");
    c.psql_file(&db, &wl);

    let out = tmp.path().join("out");
    let report = analyze(&c.url(&db), &out, &[]);
    let indexes = &report["indexes"];

    // (order_id) INCLUDE (product_id, quantity), beside (order_id).
    let line = new_index(
        &report,
        "public.sup_line",
        "(\"order_id\") INCLUDE (\"product_id\", \"quantity\")",
    )
    .unwrap_or_else(|| panic!("a new index led by order_id: {report:#}"));
    assert_superseded(&report, "sup_line_order_id", line);
    // (product_id, viewed_at DESC) beside (product_id).
    let view = new_index(
        &report,
        "public.sup_view",
        "(\"product_id\", \"viewed_at\" DESC)",
    )
    .unwrap_or_else(|| panic!("(product_id, viewed_at DESC): {indexes:#}"));
    assert_superseded(&report, "sup_view_product_id", view);

    // The unique partial index on product_id enforces something: never proposed.
    assert!(
        drop_of(&report, "sup_view_featured").is_none(),
        "{report:#}"
    );
    // (code varchar_pattern_ops) serves LIKE, which (code, viewed_at DESC) cannot.
    let code = new_index(&report, "public.sup_view", "(\"code\", \"viewed_at\" DESC)")
        .unwrap_or_else(|| panic!("(code, viewed_at DESC): {indexes:#}"));
    assert!(
        drop_of(&report, "sup_view_code_like").is_none(),
        "another operator class is not superseded by {code}: {:#}",
        report["drops"]
    );

    // indexes.sql: each drop after the index that replaces it.
    let sql = std::fs::read_to_string(out.join("indexes.sql")).expect("indexes.sql");
    for (old, new) in [("sup_line_order_id", line), ("sup_view_product_id", view)] {
        let create = sql
            .find(&format!("CREATE INDEX CONCURRENTLY \"{new}\""))
            .unwrap_or_else(|| panic!("{new}: {sql}"));
        let drop = sql
            .find(&format!(
                "DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"{old}\";"
            ))
            .unwrap_or_else(|| panic!("{old}: {sql}"));
        assert!(create < drop, "{sql}");
        assert!(
            sql.contains(&format!("covered by the new index {new}")),
            "{sql}"
        );
    }
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(
        md.contains(&format!("| Redundant by new index `{line}` |")),
        "{md}"
    );
    c.psql("postgres", &format!("DROP DATABASE {db} WITH (FORCE)"));
}

/// The example shop with its Django project: a recommended `shop_orderitem(product_id,
/// order_id)` makes the foreign key's own index redundant; its drop is written as the
/// code writes every foreign-key index drop (DROP INDEX CONCURRENTLY, `db_index=False` in
/// Django's state), after the new index's migration, and real `manage.py migrate` applies both.
#[test]
fn the_superseded_foreign_key_index_drop_migrates_with_django() {
    let (py, _) = crate::django::python("newest");
    let c = cluster();
    let db = example_database("drops_superseded_django");
    // The foreign key's index built half full and without deduplication, so that the new
    // index is not 1.5× larger (an index in use whose reads would move to one that much larger
    // is kept, not dropped: `select::survivor`). Concurrently: a plain REINDEX may leave the
    // index unusable by the planner for a while (pg_index.indcheckxmin).
    c.psql(
        &db,
        "ALTER INDEX shop_orderitem_product_id_48153f22 SET (deduplicate_items = off, fillfactor = 50)",
    );
    c.psql(
        &db,
        "REINDEX INDEX CONCURRENTLY shop_orderitem_product_id_48153f22",
    );
    replay_workload(&db);
    // A rarely sold product's latest order lines: (product_id, order_id) beside the foreign key's
    // own index on product_id.
    let extra: String = (0..300)
        .map(|i| {
            format!(
                "SELECT \"shop_orderitem\".\"order_id\", \"shop_orderitem\".\"quantity\" FROM \"shop_orderitem\" WHERE \"shop_orderitem\".\"product_id\" = {} ORDER BY \"shop_orderitem\".\"order_id\" DESC LIMIT 20;\n",
                1500 + i % 60
            )
        })
        .collect();
    let tmp = tempfile::tempdir().expect("tempdir");
    let extra_file = tmp.path().join("extra.sql");
    std::fs::write(&extra_file, extra).expect("write");
    c.psql_file(&db, &extra_file);
    let url = c.url(&db);
    let project = crate::django::copy_project();
    let project = project.path();
    crate::django::must(&py, project, &url, &["migrate", "--fake", "-v", "0"]);
    let out = tmp.path().join("out");
    let report = analyze(
        &url,
        &out,
        &[
            "--django-project",
            project.to_str().expect("utf-8"),
            "--python",
            py.to_str().expect("utf-8"),
            "--migrations-app",
            "shop",
            // Room for the order lines' index beside the example's own.
            "--budget",
            "200MB",
        ],
    );
    let new = new_index(
        &report,
        "public.shop_orderitem",
        "(\"product_id\", \"order_id\"",
    )
    .unwrap_or_else(|| {
        panic!(
            "{:#}\nleft out: {:#}",
            report["indexes"], report["left_out"]
        )
    })
    .to_string();
    let fk = "shop_orderitem_product_id_48153f22";
    assert_superseded(&report, fk, &new);

    let migrations = out.join("shop/migrations");
    let mut files: Vec<String> = std::fs::read_dir(&migrations)
        .expect("migrations")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let pos = |needle: &str| {
        files
            .iter()
            .position(|f| f.contains(needle))
            .unwrap_or_else(|| panic!("{needle}: {files:?}"))
    };
    let drop_file = pos(&format!("drop_{fk}"));
    assert!(pos(&new) < drop_file, "{files:?}");
    let text = std::fs::read_to_string(migrations.join(&files[drop_file])).expect("read");
    assert!(text.contains("SeparateDatabaseAndState"), "{text}");
    assert!(text.contains("db_index=False"), "{text}");
    assert!(
        text.contains(&format!(
            "DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"{fk}\""
        )),
        "{text}"
    );
    assert!(text.contains("the new index"), "the reason: {text}");
    assert!(text.contains(new.as_str()), "the reason: {text}");

    for f in &files {
        std::fs::copy(migrations.join(f), project.join("shop/migrations").join(f)).expect("copy");
    }
    crate::django::must(&py, project, &url, &["migrate", "-v", "0"]);
    let left = c.psql(
        &db,
        &format!(
            "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relname IN ('{fk}', '{new}')"
        ),
    );
    assert_eq!(
        left.trim(),
        new,
        "the new index is built and the old one is gone"
    );
}
