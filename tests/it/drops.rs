//! Drops measured by hiding the index (HypoPG 1.4, PostgreSQL 17 and 18): an index with no
//! scans since the reset that serves a rare, expensive report is kept; a copy of an index is
//! dropped, verified. On HypoPG 1.3 (PostgreSQL 15) both are proposed "not verified".

use crate::cli::{analyze_into, collect_snapshot, read_json};
use crate::support::{cluster, example_database, pg_major, replay_workload};

/// The monthly report: the five largest orders. Served by `(total)`, which makes it a short
/// backward index scan; without it a sort of all 300,000 orders.
const REPORT: &str =
    "SELECT \"shop_order\".\"id\", \"shop_order\".\"total\" FROM \"shop_order\" ORDER BY \"shop_order\".\"total\" DESC LIMIT 5";

/// An existing index of the snapshot's catalog, by name.
fn snapshot_index<'s>(snap: &'s serde_json::Value, name: &str) -> &'s serde_json::Value {
    snap["catalog"]["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .flat_map(|t| t["indexes"].as_array().expect("indexes"))
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("{name} in the snapshot"))
}

#[test]
fn hiding_keeps_the_index_a_rare_report_needs_and_drops_a_copy() {
    let c = cluster();
    let db = example_database("drops_hidden");
    replay_workload(&db);
    // Concurrently: a plain CREATE INDEX over the replay's updated rows may wait for every
    // older transaction of the cluster (another test's) before the planner uses it
    // (pg_index.indcheckxmin; tests below); a concurrent build waits only for this database's.
    for sql in [
        "CREATE INDEX CONCURRENTLY shop_order_total_report ON shop_order (total)",
        "CREATE INDEX CONCURRENTLY shop_order_customer_x_copy ON shop_order (customer_id)",
    ] {
        c.psql(&db, sql);
    }
    c.psql(&db, REPORT);
    // Its session reports the scan as it exits, which may be after psql returns: wait for the
    // count, so that the reset below comes after it.
    let started = std::time::Instant::now();
    while c
        .psql(
            &db,
            "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'shop_order_total_report'",
        )
        .trim()
        == "0"
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the report's scan was never counted"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The report ran before the statistics were reset: the index looks unused.
    c.psql(
        &db,
        "SELECT pg_stat_reset_single_table_counters('shop_order_total_report'::regclass)",
    );
    let scans = c.psql(
        &db,
        "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname IN ('shop_order_total_report', 'shop_order_customer_x_copy')",
    );
    assert_eq!(scans.trim(), "0\n0", "both look unused");

    let tmp = tempfile::tempdir().expect("tempdir");
    let snap_path = tmp.path().join("snap.json");
    let mut snap = collect_snapshot(&c.url(&db), &snap_path, &[]);
    assert_eq!(
        snapshot_index(&snap, "shop_order_total_report")["planner_ready"],
        true
    );
    // Unused indexes are proposed only when the statistics cover a week: say they do.
    snap["write_stats"]["seconds"] = serde_json::json!(8.0 * 86400.0);
    // The report's one run is pinned at what an idle machine records for a short backward
    // index scan: its recorded time grows with the machine's load, and a heavier report earns
    // a new index led by `total` that would supersede the one this test is about.
    let report_run = snap["workload"]["statements"]
        .as_array_mut()
        .expect("statements")
        .iter_mut()
        .find(|s| {
            s["query"]
                .as_str()
                .is_some_and(|q| q.contains("ORDER BY \"shop_order\".\"total\" DESC LIMIT"))
        })
        .expect("the report is in the snapshot");
    let calls = report_run["calls"].as_f64().expect("calls");
    report_run["mean_time_ms"] = serde_json::json!(0.05);
    report_run["total_time_ms"] = serde_json::json!(0.05 * calls);
    report_run["stddev_time_ms"] = serde_json::json!(0.0);
    std::fs::write(&snap_path, snap.to_string()).expect("write snapshot");

    let out = tmp.path().join("out");
    let report = analyze_into(&c.url(&db), Some(&snap_path), &out).1;
    let drops = report["drops"].as_array().expect("drops");
    let drop_of = |name: &str| drops.iter().find(|d| d["index"] == name);
    let copy = drop_of("shop_order_customer_x_copy").expect("the copy is dropped");
    assert_eq!(copy["reason"], "duplicate", "{copy}");

    if pg_major() >= 17 {
        // HypoPG 1.4: measured.
        assert_eq!(copy["verified"], true, "{copy}");
        // The original of the copy stays, unless a recommended index led by customer_id
        // supersedes both (then both go, each because of the new index).
        if let Some(original) = drop_of("shop_order_customer_id_f638df20") {
            assert!(original["superseded_by"].is_u64(), "{original}");
            assert_eq!(copy["superseded_by"], original["superseded_by"], "{copy}");
            assert_eq!(copy["covered_by"], original["covered_by"], "{copy}");
        }
        // The report must stay served: hidden, its index is missed, so it is kept.
        assert!(
            drop_of("shop_order_total_report").is_none(),
            "the report's index must not be dropped: {drops:#?}\nindexes: {:#}\nskipped: {:#}\nstatements: {:#}",
            report["indexes"],
            report["workload"]["skipped"],
            report["statements"]
        );
        let k = report["kept"]
            .as_array()
            .and_then(|kept| {
                kept.iter()
                    .find(|k| k["index"] == "shop_order_total_report")
            })
            .unwrap_or_else(|| {
                panic!(
                    "kept: {:#}\ndrops: {drops:#?}\nnotes: {:#}\nindexes: {:#}",
                    report["kept"], report["notes"], report["indexes"]
                )
            });
        assert_eq!(k["proposed_as"], "unused");
        let report_query = report["statements"]
            .as_array()
            .expect("statements")
            .iter()
            .find(|s| s["queryid"] == k["queryid"])
            .expect("the statement that needs it is in the report");
        assert!(
            report_query["query"]
                .as_str()
                .expect("query")
                .contains("ORDER BY \"shop_order\".\"total\" DESC LIMIT $1"),
            "{report_query}"
        );
        let (with, without) = (
            k["cost_with"].as_f64().expect("cost"),
            k["cost_without"].as_f64().expect("cost"),
        );
        assert!(without > 10.0 * with, "{with} -> {without}");
        assert!(
            report["notes"].as_array().expect("notes").iter().any(|n| n
                .as_str()
                .unwrap_or("")
                .starts_with("kept public.shop_order_total_report")),
            "{:#?}",
            report["notes"]
        );
        let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
        assert!(md.contains("verified (hidden)"), "{md}");
    } else {
        // HypoPG 1.3: both proposed, neither verified, and the report says so.
        assert_eq!(copy["verified"], false, "{copy}");
        let report_index = drop_of("shop_order_total_report").expect("proposed unverified");
        assert_eq!(report_index["verified"], false);
        assert!(report["kept"].is_null(), "{}", report["kept"]);
    }
}

/// Existing indexes keep their real access method from the catalog to the drop decision: a
/// hash index and a GIN index (btree_gin) on the same columns as a B-tree are neither its
/// duplicates nor make it redundant, while a true B-tree copy still is a duplicate.
#[test]
fn hash_and_gin_indexes_are_not_taken_for_btrees() {
    let c = cluster();
    let db = example_database("drops_methods");
    replay_workload(&db);
    // Concurrently, each on its own: a plain CREATE INDEX over the replay's HOT-updated rows
    // while another test holds a transaction anywhere in the cluster (the tests below and
    // drops::waiting do) is not used by the planner until that ends (pg_index.indcheckxmin),
    // and the drops of indexes in that state are decided differently.
    c.psql(&db, "CREATE EXTENSION IF NOT EXISTS btree_gin");
    for sql in [
        "CREATE INDEX CONCURRENTLY shop_order_status_btree ON shop_order (status)",
        "CREATE INDEX CONCURRENTLY shop_order_status_btree_copy ON shop_order (status)",
        "CREATE INDEX CONCURRENTLY shop_order_status_hash ON shop_order USING hash (status)",
        "CREATE INDEX CONCURRENTLY shop_order_status_created_gin ON shop_order USING gin (status, created_at)",
    ] {
        c.psql(&db, sql);
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let snap_path = tmp.path().join("snap.json");
    let snap = collect_snapshot(&c.url(&db), &snap_path, &[]);
    let method_of = |name: &str| snapshot_index(&snap, name)["method"].clone();
    assert_eq!(method_of("shop_order_status_btree"), "btree");
    assert_eq!(method_of("shop_order_status_hash"), "hash");
    assert_eq!(method_of("shop_order_status_created_gin"), "gin");

    let out = tmp.path().join("out");
    let report = analyze_into(&c.url(&db), Some(&snap_path), &out).1;
    let drops = report["drops"].as_array().expect("drops");
    let btrees = ["shop_order_status_btree", "shop_order_status_btree_copy"];
    let copy = drops
        .iter()
        .find(|d| d["reason"] == "duplicate" && btrees.iter().any(|b| d["index"] == *b))
        .unwrap_or_else(|| panic!("the B-tree copy is a duplicate: {drops:#?}"));
    assert!(
        btrees.iter().any(|b| copy["covered_by"] == *b),
        "covered by the other B-tree: {copy}"
    );
    for other in ["shop_order_status_hash", "shop_order_status_created_gin"] {
        assert!(
            drops
                .iter()
                .all(|d| d["covered_by"] != other
                    && !(d["index"] == other && d["reason"] != "unused")),
            "{other} is not a B-tree: {drops:#?}"
        );
    }
}
mod superseded;
mod waiting;

/// A plain CREATE INDEX that meets rows updated under an older, still running transaction
/// (broken HOT chains) is left out of every plan until that transaction ends
/// (pg_index.indcheckxmin). It is never "unused" (it could not be scanned), and the report says
/// why. The plans count it in through a hypothetical copy, as the planner will once the
/// transaction ends: the report it serves, slow while it waits, gets no second index on
/// `total`. A copy of a ready index is a duplicate: on HypoPG 1.4 its drop is verified by
/// hiding it with its hypothetical copy (the ready original serves); on HypoPG 1.3 it is "not
/// verified", saying why.
#[test]
fn an_index_the_planner_cannot_use_yet_is_not_unused_and_its_copy_is_measured() {
    let c = cluster();
    let db = example_database("drops_not_ready");
    replay_workload(&db);
    // Room on every page, so that the updates below are HOT updates (same page).
    c.psql(&db, "ALTER TABLE shop_order SET (fillfactor = 50)");
    c.psql(&db, "VACUUM FULL ANALYZE shop_order");
    // A transaction older than the index, held open.
    let hold = c.hold_transaction(&db, "drops_hold");
    // HOT updates: the versions they replace are dead to everyone but the holder.
    c.psql(&db, "UPDATE shop_order SET total = total WHERE id <= 500");
    c.psql(
        &db,
        "CREATE INDEX shop_order_total_waiting ON shop_order (total); \
         CREATE INDEX shop_order_customer_waiting_copy ON shop_order (customer_id)",
    );
    let flags = c.psql(
        &db,
        "SELECT indcheckxmin FROM pg_index WHERE indexrelid IN ('shop_order_total_waiting'::regclass, 'shop_order_customer_waiting_copy'::regclass)",
    );
    assert_eq!(flags.trim(), "t\nt", "both built over broken HOT chains");
    // The report runs while the planner cannot use its index: a sort of every order each time.
    crate::support::run_times(&db, REPORT, 20);
    let tmp = tempfile::tempdir().expect("tempdir");
    let snap_path = tmp.path().join("snap.json");
    let mut snap = collect_snapshot(&c.url(&db), &snap_path, &[]);
    for name in [
        "shop_order_total_waiting",
        "shop_order_customer_waiting_copy",
    ] {
        assert_eq!(
            snapshot_index(&snap, name)["planner_ready"],
            false,
            "{name}"
        );
    }
    assert_eq!(
        snapshot_index(&snap, "shop_order_customer_id_f638df20")["planner_ready"],
        true
    );
    // Unused indexes are proposed only when the statistics cover a week: say they do.
    snap["write_stats"]["seconds"] = serde_json::json!(8.0 * 86400.0);
    std::fs::write(&snap_path, snap.to_string()).expect("write snapshot");
    let out = tmp.path().join("out");
    let report = analyze_into(&c.url(&db), Some(&snap_path), &out).1;
    drop(hold);

    let drops = report["drops"].as_array().expect("drops");
    assert!(
        drops
            .iter()
            .all(|d| d["index"] != "shop_order_total_waiting"),
        "not unused, only not usable yet: {drops:#?}"
    );
    let copy = drops
        .iter()
        .find(|d| d["index"] == "shop_order_customer_waiting_copy")
        .unwrap_or_else(|| panic!("the copy is still a duplicate: {drops:#?}"));
    assert_eq!(copy["reason"], "duplicate", "{copy}");
    assert_eq!(
        copy["covered_by"], "shop_order_customer_id_f638df20",
        "{copy}"
    );
    if pg_major() >= 17 {
        assert_eq!(copy["verified"], true, "{copy}");
        assert!(
            copy["note"]
                .as_str()
                .unwrap_or("")
                .contains("with the hypothetical copy that stands in for it"),
            "{copy}"
        );
    } else {
        assert_eq!(copy["verified"], false, "{copy}");
        assert!(
            copy["note"].as_str().unwrap_or("").contains("indcheckxmin"),
            "{copy}"
        );
    }
    let on_total: Vec<&serde_json::Value> = report["indexes"]
        .as_array()
        .expect("indexes")
        .iter()
        .filter(|i| {
            i["table"] == "public.shop_order"
                && i["sql"].as_str().is_some_and(|s| s.contains("(\"total\""))
        })
        .collect();
    assert!(
        on_total.is_empty(),
        "the waiting index serves the report: {on_total:#?}"
    );
    // Its cost today is the cost with the index: a short backward scan, not a sort of 300,000
    // orders (about 10,000 then).
    let queryid = report["statements"]
        .as_array()
        .expect("statements")
        .iter()
        .find(|s| {
            s["query"]
                .as_str()
                .is_some_and(|q| q.contains("ORDER BY \"shop_order\".\"total\" DESC LIMIT"))
        })
        .expect("the report is analysed")["queryid"]
        .clone();
    let baseline = read_json(&out.join("baseline.json"));
    let before = baseline["predictions"]
        .as_array()
        .expect("predictions")
        .iter()
        .find(|p| p["queryid"] == queryid)
        .expect("the report's prediction")["before_cost"]
        .as_f64()
        .expect("cost");
    assert!(before < 500.0, "costed without its index: {before}");
    let notes: Vec<&str> = report["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    assert!(
        notes.iter().any(|n| n.starts_with(
            "public.shop_order_total_waiting on shop_order is not used by the planner yet"
        ) && n.contains("count it in through a hypothetical copy")),
        "{notes:#?}"
    );
}
