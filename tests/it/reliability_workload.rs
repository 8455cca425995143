//! Broken and extreme workloads: a real snapshot from `collect`, with hostile statements added
//! (truncated text, an IN list of 10,000 parameters, a 1 MB statement, deep nesting, several
//! statements in one text, comments holding SQL, a data-modifying CTE, a table dropped since
//! collection). Each bad statement is skipped with its reason, the run completes, and nothing in
//! any of them is ever executed.

use idxadvise::error::{EXIT_OK, EXIT_RECOMMENDATIONS};
use serde_json::{json, Value};

use crate::cli::idxadvise;
use crate::support::{cluster, example_database, replay_workload};

fn statement(queryid: i64, query: String) -> Value {
    json!({
        "queryid": queryid,
        "query": query,
        "calls": 1000,
        "total_time_ms": 5000.0,
        "mean_time_ms": 5.0,
        "rows": 1000,
        "shared_blks_hit": 0,
        "shared_blks_read": 0,
    })
}

const TRUNCATED: i64 = 900_001;
const IN_LIST: i64 = 900_002;
const HUGE: i64 = 900_003;
const NESTED: i64 = 900_004;
const MULTI: i64 = 900_005;
const COMMENTS: i64 = 900_006;
const DELETE_CTE: i64 = 900_007;
const DROPPED: i64 = 900_008;
const EMPTY: i64 = 900_009;
const PRIVILEGE: i64 = 900_010;

#[test]
fn hostile_statements_are_skipped_with_reasons_and_the_run_completes() {
    let c = cluster();
    let db = example_database("reliability_broken_workload");
    c.psql(
        &db,
        "CREATE TABLE gone_since (id int PRIMARY KEY, k int); INSERT INTO gone_since SELECT g, g % 10 FROM generate_series(1, 1000) g; ANALYZE gone_since",
    );
    replay_workload(&db);
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = dir.path().join("snap.json");
    let run = idxadvise(&[
        "collect",
        "--database-url",
        &c.url(&db),
        "-o",
        snap.to_str().expect("path"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut snapshot: Value =
        serde_json::from_str(&std::fs::read_to_string(&snap).expect("read")).expect("json");
    assert!(
        snapshot["catalog"].to_string().contains("gone_since"),
        "the table is in the collected catalog"
    );

    let in_list = (1..=10_000)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let padding = "x".repeat(1024 * 1024);
    let hostile = vec![
        statement(
            TRUNCATED,
            "SELECT \"shop_order\".\"id\", \"shop_order\".\"status\" FROM \"shop_order\" WHERE (\"shop_order\".\"customer_id\" = $1 AND \"shop_order\".\"sta".into(),
        ),
        statement(
            IN_LIST,
            format!("SELECT \"shop_order\".\"id\" FROM \"shop_order\" WHERE \"shop_order\".\"customer_id\" IN ({in_list})"),
        ),
        statement(
            HUGE,
            format!("SELECT \"shop_order\".\"id\" FROM \"shop_order\" WHERE \"shop_order\".\"customer_id\" = $1 AND \"shop_order\".\"status\" <> '{padding}'"),
        ),
        statement(
            NESTED,
            format!(
                "SELECT id FROM shop_order WHERE {}customer_id = $1{}",
                "(".repeat(100_000),
                ")".repeat(100_000)
            ),
        ),
        statement(
            MULTI,
            "SELECT id FROM shop_order WHERE customer_id = $1; DROP TABLE shop_order".into(),
        ),
        statement(
            COMMENTS,
            "/* DROP TABLE shop_order; */ SELECT id FROM shop_order WHERE customer_id = $1 -- ; DELETE FROM shop_order".into(),
        ),
        statement(
            DELETE_CTE,
            "WITH d AS (DELETE FROM shop_order WHERE customer_id = $1 RETURNING id) SELECT count(*) FROM d".into(),
        ),
        statement(DROPPED, "SELECT id FROM gone_since WHERE k = $1".into()),
        statement(EMPTY, String::new()),
        statement(PRIVILEGE, "<insufficient privilege>".into()),
    ];
    snapshot["workload"]["statements"]
        .as_array_mut()
        .expect("statements")
        .extend(hostile);
    std::fs::write(&snap, serde_json::to_string(&snapshot).expect("json")).expect("write");
    // Dropped since collection: the snapshot's catalog has it, the server does not.
    c.psql(&db, "DROP TABLE gone_since");
    let orders_before = c.psql(&db, "SELECT count(*) FROM shop_order");

    let out = dir.path().join("out");
    let run = idxadvise(&[
        "analyze",
        "--database-url",
        &c.url(&db),
        "--snapshot",
        snap.to_str().expect("path"),
        "--out",
        out.to_str().expect("path"),
        "--quiet",
    ]);
    assert!(
        run.code == EXIT_OK || run.code == EXIT_RECOMMENDATIONS,
        "the run completes: {}\n{}",
        run.code,
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("report.json")).expect("report.json"),
    )
    .expect("json");
    let skipped = report["workload"]["skipped"].as_array().expect("skipped");
    let reason = |id: i64| -> Option<(String, String)> {
        skipped.iter().find(|s| s["queryid"] == id).map(|s| {
            (
                s["reason"].as_str().unwrap_or("").to_string(),
                s["detail"].as_str().unwrap_or("").to_string(),
            )
        })
    };
    let expect = [
        (TRUNCATED, &["truncated", "unparseable"][..]),
        (NESTED, &["unparseable"][..]),
        (MULTI, &["multi_statement"][..]),
        (
            DROPPED,
            &["prepare_failed", "plan_failed", "unknown_table"][..],
        ),
        (EMPTY, &["unparseable", "no_table", "utility"][..]),
        (PRIVILEGE, &["unparseable", "utility"][..]),
    ];
    for (id, reasons) in expect {
        let (r, detail) = reason(id).unwrap_or_else(|| panic!("{id} skipped: {skipped:#?}"));
        assert!(reasons.contains(&r.as_str()), "{id}: {r} ({detail})");
        assert!(
            !detail.is_empty() && !detail.contains('\n'),
            "{id}: {detail:?}"
        );
        assert!(detail.len() < 2000, "{id}: the detail is one short line");
    }
    // No skip detail repeats a long text (the report stays readable).
    for s in skipped {
        let d = s["detail"].as_str().unwrap_or("");
        assert!(d.len() < 2000 && !d.contains('\n'), "{d:.200}");
    }
    // The long but valid statements are analysed or skipped with a reason, never an abort.
    let analysed: u64 = report["workload"]["analysed"].as_u64().expect("analysed");
    // A data-modifying CTE is only ever EXPLAINed (in a read-only transaction): analysed or
    // skipped, never run (checked below).
    for id in [IN_LIST, HUGE, DELETE_CTE] {
        eprintln!(
            "statement {id}: {:?}",
            reason(id).unwrap_or_else(|| ("analysed".into(), String::new()))
        );
    }
    assert!(analysed > 5, "the real workload is still analysed");
    assert!(
        reason(COMMENTS).is_none(),
        "comments holding SQL do not stop a statement: {:?}",
        reason(COMMENTS)
    );
    // Nothing in the hostile texts ran.
    assert_eq!(
        c.psql(&db, "SELECT count(*) FROM shop_order"),
        orders_before
    );
    c.psql("postgres", &format!("DROP DATABASE {db} WITH (FORCE)"));
}
