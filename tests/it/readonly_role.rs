//! Issue 14, item 7: with the README's role (`pg_monitor` + `pg_read_all_data`, no write
//! privilege), UPDATE and DELETE statements are costed (as the SELECT of their rows), INSERTs
//! are left to the write model, and whatever still cannot be planned is listed with its reason
//! in report.md and report.json: nothing is skipped silently.

use crate::cli::idxadvise;
use crate::support::{cluster, example_database, replay_workload};

/// Create the README's role (section "Prepare the server"), once per cluster. The test
/// cluster trusts local connections, so the password is never asked for.
pub fn readme_role() -> &'static str {
    static ONCE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        let c = cluster();
        let exists = c.psql(
            "postgres",
            "SELECT count(*) FROM pg_roles WHERE rolname = 'idxadvise'",
        );
        if exists.trim() == "0" {
            c.psql(
                "postgres",
                "CREATE ROLE idxadvise LOGIN PASSWORD 'not-used-under-trust';
                 GRANT pg_monitor TO idxadvise;
                 GRANT pg_read_all_data TO idxadvise;
                 GRANT SET ON PARAMETER pg_stat_statements.track TO idxadvise;",
            );
        }
    });
    "idxadvise"
}

/// The URL of `db` for the README's role.
pub fn readme_role_url(db: &str) -> String {
    let role = readme_role();
    cluster().url(db).replace("postgres@", &format!("{role}@"))
}

#[test]
fn r14_readme_role_costs_updates_and_deletes_and_lists_every_skip() {
    let c = cluster();
    let db = example_database("readme_role_costs_writes");
    // A select_for_update() as Django sends it, and a DELETE, next to the example workload.
    replay_workload(&db);
    for id in 1..=5 {
        c.psql(
            &db,
            &format!(
                "BEGIN; SELECT \"shop_order\".\"id\", \"shop_order\".\"status\" FROM \"shop_order\" WHERE \"shop_order\".\"id\" = {id} LIMIT 1 FOR UPDATE; ROLLBACK;"
            ),
        );
        c.psql(
            &db,
            &format!("BEGIN; DELETE FROM \"shop_order\" WHERE \"shop_order\".\"customer_id\" = {id} AND \"shop_order\".\"deleted_at\" IS NOT NULL; ROLLBACK;"),
        );
    }
    let url = readme_role_url(&db);

    let check = idxadvise(&["check", "--database-url", &url]);
    assert_eq!(
        check.code, 0,
        "check with the README's role:\n{}{}",
        check.stdout, check.stderr
    );

    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let run = idxadvise(&[
        "analyze",
        "--quiet",
        "--database-url",
        &url,
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(
        run.code == 0 || run.code == 1,
        "analyze with the README's role: exit {}\n{}{}",
        run.code,
        run.stdout,
        run.stderr
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("report.json")).expect("report.json"),
    )
    .expect("JSON");
    let baseline: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("baseline.json")).expect("baseline.json"),
    )
    .expect("JSON");
    let costed: Vec<i64> = baseline["predictions"]
        .as_array()
        .expect("predictions")
        .iter()
        .map(|p| p["queryid"].as_i64().expect("queryid"))
        .collect();
    let skipped = report["workload"]["skipped"].as_array().expect("skipped");
    for s in skipped {
        assert!(
            !s["detail"]
                .as_str()
                .unwrap_or("")
                .contains("permission denied"),
            "a statement was skipped for a privilege the README's role lacks: {s}"
        );
    }
    // Every UPDATE, DELETE and locking SELECT of the workload was costed.
    let mut writes = 0;
    for st in baseline["statements"].as_array().expect("statements") {
        let q = st["query"].as_str().expect("query");
        let id = st["queryid"].as_i64().expect("queryid");
        let upper = q.trim_start().to_ascii_uppercase();
        if upper.starts_with("UPDATE")
            || upper.starts_with("DELETE")
            || upper.contains("FOR UPDATE")
        {
            writes += 1;
            assert!(
                costed.contains(&id),
                "not costed with the README's role: {q}\nskipped: {skipped:?}"
            );
        }
    }
    assert!(
        writes >= 3,
        "the workload has UPDATE, DELETE and FOR UPDATE statements ({writes})"
    );
    // Whatever was skipped is listed in report.md with its reason and why.
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    for s in skipped {
        let id = s["queryid"].as_i64().expect("queryid").to_string();
        assert!(
            md.lines().any(|l| l.starts_with(&format!("| {id} |"))),
            "skipped statement {id} is not listed in report.md:\n{md}"
        );
    }
}
