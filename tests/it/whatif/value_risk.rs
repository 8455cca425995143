//! The risk rule on a real cluster: a queue page `status = $1 ORDER BY created_at LIMIT 50`
//! whose values were never observed (`--window 0`, no `--hot-values`), on a table whose rare
//! status sits at the newest end of the order (the shape of a real queue). An index on
//! `(created_at)` alone looks good for every status on the planner's even-spread LIMIT costing
//! and walks almost the whole index for the rare one; the advisor must not credit it, and
//! say so if it recommends it, and give the page a status-led or partial index.

use std::process::Command;

use crate::support::{cluster, reset_statements};

/// A queue: 200,000 items in `created_at` order (as a table fills), 97% 'done', 2.5% 'failed',
/// and the 0.5% 'pending' items are the newest ones.
const SETUP: &str = "
CREATE TABLE queue_item (
    id bigint PRIMARY KEY,
    status text NOT NULL,
    created_at timestamptz NOT NULL,
    payload text NOT NULL
);
INSERT INTO queue_item
SELECT i,
       CASE WHEN i > 199000 THEN 'pending' WHEN i % 40 = 0 THEN 'failed' ELSE 'done' END,
       timestamptz '2026-01-01' + i * interval '1 minute',
       repeat('x', 40)
FROM generate_series(1, 200000) AS i;
";

/// A queue database `name` with the page (20 calls) and a page by date (`by_date` calls) in
/// pg_stat_statements.
fn queue_database(name: &str, by_date: usize) -> String {
    {
        let c = cluster();
        let db = c.create_database(name);
        c.psql(&db, SETUP);
        c.psql(&db, "VACUUM ANALYZE queue_item");
        reset_statements(c, &db);
        // The application pages through the pending items only (the value pg_stat_statements
        // does not keep).
        let mut page = String::new();
        for _ in 0..20 {
            page.push_str(
                "SELECT id, status, created_at FROM queue_item WHERE status = 'pending' ORDER BY created_at LIMIT 50;\n",
            );
        }
        // The same index order also serves a page of the items since a date, which only an
        // index led by `created_at` helps: `(created_at)` alone is the cheapest set on paper.
        for day in 0..by_date {
            page.push_str(&format!(
                "SELECT id, status, created_at FROM queue_item WHERE created_at >= timestamptz '2026-03-01' + {day} * interval '1 day' ORDER BY created_at LIMIT 50;\n"
            ));
        }
        c.psql(&db, &page);
        db
    }
}

/// `analyze --window 0` (no values observed, no `--hot-values`) within `budget`: the report,
/// the queue page's entry, and the SQL of the recommended indexes credited with it.
fn analyze(db: &str, budget: &str) -> (serde_json::Value, serde_json::Value, Vec<String>) {
    analyze_with(db, &["--budget", budget])
}

/// [`analyze`] with other limits (`args`).
fn analyze_with(db: &str, args: &[&str]) -> (serde_json::Value, serde_json::Value, Vec<String>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_idxadvise"))
        .env_remove("DATABASE_URL")
        .args(["analyze", "--quiet", "--window", "0"])
        .args(args)
        .arg("--database-url")
        .arg(cluster().url(db))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run analyze");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("report.json")).expect("report.json"),
    )
    .expect("report.json is JSON");
    let page = report["statements"]
        .as_array()
        .expect("statements")
        .iter()
        .find(|s| {
            s["query"]
                .as_str()
                .unwrap_or("")
                .contains("WHERE status = $1")
        })
        .expect("the queue page is in the report")
        .clone();
    let page_id = page["queryid"].as_i64().expect("queryid");
    let helping = report["indexes"]
        .as_array()
        .expect("indexes")
        .iter()
        .filter(|ix| {
            ix["helps"]
                .as_array()
                .is_some_and(|h| h.iter().any(|h| h["queryid"].as_i64() == Some(page_id)))
        })
        .filter_map(|ix| ix["sql"].as_str().map(str::to_string))
        .collect();
    (report, page, helping)
}

/// An index that holds the status: led by it, or partial on it.
fn keyed(sql: &str) -> bool {
    sql.contains("(\"status\"") || sql.contains("WHERE") && sql.contains("\"status\"")
}

/// With room for one index, the page gets one led by the status, not `(created_at)` (which
/// serves both pages on the planner's even-spread costing and was chosen before the rule).
#[test]
fn an_unobserved_rare_status_under_order_by_limit_is_not_credited_to_the_order_index() {
    let db = queue_database("value_risk_queue", 5);
    let (report, page, helping) = analyze(&db, "8MiB");
    assert!(
        helping.iter().any(|s| keyed(s)),
        "the queue page gets no status-led or partial index: {helping:?}\n{}",
        report["indexes"]
    );
    // An index on `created_at` alone is never credited with it without the risk said.
    let risk = page["risk"].as_str().unwrap_or("");
    for sql in helping.iter().filter(|s| !keyed(s)) {
        assert!(
            risk.contains("depends on values not observed"),
            "{sql} is credited with the queue page and no risk is reported: {page}"
        );
    }
}

/// With the page by date called most and room only for one index, `(created_at)` (for it), the
/// queue page's plan uses it too: the report says that it depends on values not observed,
/// names the rare value and how to observe the real ones. (With 5 MiB and no limit on the
/// count, the selection also fits small partial indexes on the rare statuses, which serve the
/// queue page: then nothing is at risk.)
#[test]
fn the_order_index_recommended_for_another_page_reports_the_queue_page_at_risk() {
    let db = queue_database("value_risk_queue_by_date", 60);
    let (report, page, _) = analyze_with(&db, &["--budget", "5MiB", "--max-indexes", "1"]);
    let sqls: Vec<&str> = report["indexes"]
        .as_array()
        .expect("indexes")
        .iter()
        .filter_map(|ix| ix["sql"].as_str())
        .collect();
    assert!(
        sqls.iter().any(|s| s.ends_with("btree (\"created_at\")")),
        "{sqls:?}"
    );
    let risk = page["risk"].as_str().unwrap_or("");
    assert!(
        risk.contains("depends on values not observed") && risk.contains("'pending'"),
        "{page}\n{sqls:?}"
    );
    assert!(risk.contains("--window"), "says how to observe: {risk}");
}

/// The same workload with 5 MiB and no limit on the count: beside `(created_at)` the selection
/// fits partial indexes on the rare statuses (a few hundred KiB), found by the branch and bound
/// over what fits (`select::bound`); the queue page is served by its own and nothing is left
/// at risk.
#[test]
fn with_room_for_partial_indexes_the_queue_page_gets_its_own() {
    let db = queue_database("value_risk_queue_partials", 60);
    let (report, page, helping) = analyze(&db, "5MiB");
    assert!(
        helping
            .iter()
            .any(|s| s.contains("WHERE") && s.contains("'pending'")),
        "the queue page gets no partial index on 'pending': {helping:?}\n{}",
        report["indexes"]
    );
    assert!(
        page["risk"].as_str().unwrap_or("").is_empty(),
        "served by its own index, the page is not at risk: {page}"
    );
    // Each partial serves one rare value of the same page, credited to one of them: the other
    // lists the page it is needed for, never "helps 0 statements".
    for ix in report["indexes"].as_array().expect("indexes") {
        assert!(
            ix["helps"].as_array().is_some_and(|h| !h.is_empty()),
            "an index helps no statement: {ix}"
        );
    }
}
