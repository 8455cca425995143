//! Drops around indexes the planner does not use yet: a plain `CREATE INDEX` built over rows
//! HOT-updated under an older transaction that is still open gets `pg_index.indcheckxmin` and
//! is left out of every plan until that transaction ends. The what-if plans count it in through
//! a hypothetical stand-in; a drop check hides the stand-in with the index (HypoPG 1.4 hides
//! hypothetical indexes too), and costs a statement whose plans lean on such a stand-in once
//! more without it, as it plans until the transaction ends.
//!
//! A ready index whose only cover is a waiting one is never dropped as "verified": dropped
//! now, its statements have no usable index until the older transactions end.

use serde_json::Value;

use crate::cli::{analyze_into, collect_snapshot};
use crate::support::{cluster, example_database, pg_major, replay_workload, run_times, Cluster};

/// The monthly report: the five largest orders (an index on `total`, or a sort of 300,000).
const REPORT: &str =
    "SELECT \"shop_order\".\"id\", \"shop_order\".\"total\" FROM \"shop_order\" ORDER BY \"shop_order\".\"total\" DESC LIMIT 5";

/// The rare audit count of soft-deleted orders (a quarter of them in this test): a partial
/// index of those, or a scan of every order.
const AUDIT: &str =
    "SELECT COUNT(*) AS \"__count\" FROM \"shop_order\" WHERE \"shop_order\".\"deleted_at\" IS NOT NULL";

/// The example shop in `db` after `before`, with room on every page (so that updates are HOT
/// updates), `ready` built concurrently (the planner uses it at once), then `waiting` built by a plain
/// CREATE INDEX while an older transaction is open and rows were HOT-updated: not usable by
/// the planner until that transaction ends. Returns the held transaction and the report.
fn shop_with_waiting_index<'c>(
    c: &'c Cluster,
    db: &str,
    before: &[&str],
    ready: &str,
    waiting: &str,
    traffic: &str,
) -> (crate::support::Held<'c>, Value, Value) {
    replay_workload(db);
    for sql in before {
        c.psql(db, sql);
    }
    c.psql(db, "ALTER TABLE shop_order SET (fillfactor = 50)");
    c.psql(db, "VACUUM FULL ANALYZE shop_order");
    // VACUUM FULL leaves the visibility map empty: a plain VACUUM fills it.
    c.psql(db, "VACUUM shop_order");
    c.psql(db, ready);
    let hold = c.hold_transaction(db, &format!("{db}_hold"));
    c.psql(db, "UPDATE shop_order SET total = total WHERE id <= 500");
    c.psql(db, waiting);
    run_times(db, traffic, 20);
    let tmp = tempfile::tempdir().expect("tempdir");
    let snap_path = tmp.path().join("snap.json");
    let mut snap = collect_snapshot(&c.url(db), &snap_path, &[]);
    // Unused indexes are proposed only when the statistics cover a week: say they do.
    snap["write_stats"]["seconds"] = serde_json::json!(8.0 * 86400.0);
    std::fs::write(&snap_path, snap.to_string()).expect("write snapshot");
    let report = analyze_into(&c.url(db), Some(&snap_path), &tmp.path().join("out")).1;
    (hold, snap, report)
}

/// An existing index of the snapshot's catalog, by name.
fn planner_ready(snap: &Value, name: &str) -> bool {
    snap["catalog"]["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .flat_map(|t| t["indexes"].as_array().expect("indexes"))
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("{name} in the snapshot"))["planner_ready"]
        .as_bool()
        .expect("planner_ready")
}

fn find<'r>(report: &'r Value, list: &str, index: &str) -> Option<&'r Value> {
    report[list]
        .as_array()
        .and_then(|l| l.iter().find(|d| d["index"] == index))
}

/// `(total)` is ready and serves the report; `(total, id)` waits for the held transaction. By
/// the catalog `(total)` is redundant; hidden, the report's plan moves to the waiting index's
/// stand-in at the same cost. But that index is no use until the transaction ends: on HypoPG
/// 1.4 the drop is costed again without it, the report sorts every order, and `(total)` is
/// kept until the waiting index can be used. On HypoPG 1.3 nothing can be hidden: the drop
/// is proposed "not verified", saying that its cover is not usable yet.
#[test]
fn a_ready_index_covered_only_by_one_the_planner_cannot_use_yet_is_kept() {
    let c = cluster();
    let db = example_database("drops_lean_on_waiting");
    let (hold, snap, report) = shop_with_waiting_index(
        c,
        &db,
        &[],
        "CREATE INDEX CONCURRENTLY shop_order_total_ready ON shop_order (total)",
        "CREATE INDEX shop_order_total_id_waiting ON shop_order (total, id)",
        REPORT,
    );
    drop(hold);
    assert!(planner_ready(&snap, "shop_order_total_ready"));
    assert!(
        !planner_ready(&snap, "shop_order_total_id_waiting"),
        "built over broken HOT chains"
    );
    let drops = &report["drops"];
    if pg_major() >= 17 {
        assert!(
            find(&report, "drops", "shop_order_total_ready").is_none(),
            "the report's only usable index must not be dropped: {drops:#}"
        );
        let k = find(&report, "kept", "shop_order_total_ready")
            .unwrap_or_else(|| panic!("kept: {:#}\ndrops: {drops:#}", report["kept"]));
        eprintln!("kept: {k}");
        assert_eq!(k["proposed_as"], "redundant", "{k}");
        assert_eq!(
            k["until_usable"],
            serde_json::json!(["shop_order_total_id_waiting"]),
            "{k}"
        );
        let (with, without) = (
            k["cost_with"].as_f64().expect("cost"),
            k["cost_without"].as_f64().expect("cost"),
        );
        assert!(without > 10.0 * with, "{with} -> {without}");
        let note = report["notes"]
            .as_array()
            .expect("notes")
            .iter()
            .filter_map(Value::as_str)
            .find(|n| n.starts_with("kept public.shop_order_total_ready"))
            .unwrap_or_else(|| panic!("{:#}", report["notes"]));
        assert!(
            note.contains("until public.shop_order_total_id_waiting can be used")
                && note.contains("indcheckxmin"),
            "{note}"
        );
    } else {
        let d = find(&report, "drops", "shop_order_total_ready")
            .unwrap_or_else(|| panic!("proposed, not verified: {drops:#}"));
        assert_eq!(d["reason"], "redundant", "{d}");
        assert_eq!(d["covered_by"], "shop_order_total_id_waiting", "{d}");
        assert_eq!(d["verified"], false, "{d}");
        assert!(
            d["note"].as_str().unwrap_or("").contains(
                "covered by public.shop_order_total_id_waiting, which the planner does not use yet"
            ),
            "{d}"
        );
    }
}

/// A waiting partial index `(created_at) WHERE deleted_at IS NOT NULL` serves a rare audit
/// count; by the catalog it is redundant with the ready `(created_at, id)`. On HypoPG 1.4 its
/// drop is measured by hiding it with its stand-in: the count scans every order, so it is
/// kept. On HypoPG 1.3 it is proposed "not verified", saying why.
#[test]
fn a_waiting_index_a_rare_count_needs_is_kept() {
    let c = cluster();
    let db = example_database("drops_waiting_needed");
    let (hold, snap, report) = shop_with_waiting_index(
        c,
        &db,
        // A partial index worth a migration (redundant drops start at 1 MiB).
        &["UPDATE shop_order SET deleted_at = created_at WHERE deleted_at IS NULL AND id % 4 = 0"],
        "CREATE INDEX CONCURRENTLY shop_order_created_id ON shop_order (created_at, id)",
        "CREATE INDEX shop_order_deleted_waiting ON shop_order (created_at) WHERE deleted_at IS NOT NULL",
        AUDIT,
    );
    drop(hold);
    assert!(!planner_ready(&snap, "shop_order_deleted_waiting"));
    let drops = &report["drops"];
    if pg_major() >= 17 {
        assert!(
            find(&report, "drops", "shop_order_deleted_waiting").is_none(),
            "the audit's index must not be dropped: {drops:#}"
        );
        let k = find(&report, "kept", "shop_order_deleted_waiting")
            .unwrap_or_else(|| panic!("kept: {:#}\ndrops: {drops:#}", report["kept"]));
        eprintln!("kept: {k}");
        assert_eq!(k["proposed_as"], "redundant", "{k}");
        assert!(k.get("until_usable").is_none(), "{k}");
        let (with, without) = (
            k["cost_with"].as_f64().expect("cost"),
            k["cost_without"].as_f64().expect("cost"),
        );
        assert!(without > 2.0 * with, "{with} -> {without}");
    } else {
        let d = find(&report, "drops", "shop_order_deleted_waiting")
            .unwrap_or_else(|| panic!("proposed, not verified: {drops:#}"));
        assert_eq!(d["verified"], false, "{d}");
        assert!(
            d["note"].as_str().unwrap_or("").contains("indcheckxmin"),
            "{d}"
        );
    }
}
