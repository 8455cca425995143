//! The column proxy for `UPPER(col) = UPPER(v)` (Django's `iexact`) on a reviewer's shape: a
//! ticket table where an email matches about 7.5 of 300,000 rows, searched newest first. The
//! planner's guess for the expression (0.5% of the rows) made an index on `(created DESC)` look
//! like a win (measured 2× slower) and the expression index look poor (measured 500× faster).

use std::process::Command;

use crate::support::{cluster, reset_statements};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_idxadvise"));
    c.env_remove("DATABASE_URL");
    c.env("IDXADVISE_WINDOW", "0");
    c
}

const STATEMENT: &str = "SELECT * FROM t WHERE UPPER(email::text) = UPPER('cust15569@client.com') ORDER BY created DESC LIMIT 10";

/// 300,000 tickets, 40,000 distinct emails spread over the whole history, analysed.
fn tickets(name: &str) -> String {
    let cl = cluster();
    let db = cl.create_database(name);
    cl.psql(
        &db,
        "CREATE TABLE t (id serial PRIMARY KEY, email varchar(254), created timestamptz, pad text);
         INSERT INTO t (email, created, pad)
           SELECT 'cust' || (g::bigint * 7919 % 40000) || '@client.com',
                  timestamptz '2026-01-01' + g * interval '1 minute', repeat('x', 40)
           FROM generate_series(1, 300000) g;",
    );
    cl.psql(&db, "VACUUM ANALYZE t");
    db
}

/// Buffers (hit + read) the real statement touches: a measurement that does not depend on the
/// machine's speed.
fn buffers(db: &str) -> i64 {
    let out = cluster().psql(
        db,
        &format!("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, FORMAT JSON) {STATEMENT}"),
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("explain json");
    let p = &v[0]["Plan"];
    p["Shared Hit Blocks"].as_i64().unwrap_or(0) + p["Shared Read Blocks"].as_i64().unwrap_or(0)
}

/// The `CREATE INDEX` lines `explain` prints.
fn explain(db: &str) -> (i32, String, Vec<String>) {
    let o = bin()
        .args(["explain", "--quiet", "--database-url"])
        .arg(cluster().url(db))
        .arg(STATEMENT)
        .output()
        .expect("run explain");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let code = o.status.code().unwrap_or(-1);
    assert!(
        matches!(code, 0 | 1),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    eprintln!("{out}");
    let creates = out
        .lines()
        .filter(|l| l.starts_with("CREATE"))
        .map(|l| l.trim_end_matches(';').to_string())
        .collect();
    (code, out, creates)
}

/// Build the recommended indexes for real (not concurrently: a test database), then ANALYZE.
fn build(db: &str, creates: &[String]) {
    for c in creates {
        cluster().psql(db, &c.replace(" CONCURRENTLY", ""));
    }
    cluster().psql(db, "ANALYZE t");
}

/// Run the iexact lookup `n` times with different emails after a statistics reset, then
/// `analyze --format json`: the report, and the triage entry of the lookup (found by its calls).
fn analyze_after_lookups(db: &str, n: usize) -> (serde_json::Value, serde_json::Value) {
    let cl = cluster();
    reset_statements(cl, db);
    let work: String = (0..n)
        .map(|i| {
            format!(
                "SELECT * FROM t WHERE UPPER(email::text) = UPPER('cust{}@client.com') ORDER BY created DESC LIMIT 10;",
                i * 1231 % 40000
            )
        })
        .collect();
    cl.psql(db, &work);
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = bin()
        .args(["analyze", "--quiet", "--format", "json", "--database-url"])
        .arg(cl.url(db))
        .arg("--out")
        .arg(tmp.path().join("out"))
        .output()
        .expect("run analyze");
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{stdout}\n{stderr}");
    let r: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    let entry = r["triage"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["calls"].as_u64() == Some(n as u64))
        .expect("the statement is triaged")
        .clone();
    (r, entry)
}

#[test]
fn r_iexact_is_costed_with_the_column_statistics_and_gets_the_expression_index() {
    let db = tickets("proxy_iexact");
    let (code, out, creates) = explain(&db);
    assert_eq!(code, 1, "an index is recommended:\n{out}");
    assert!(
        creates
            .iter()
            .any(|c| c.contains("upper((\"email\")::text)")),
        "the expression index on upper(email): {creates:?}\n{out}"
    );
    assert!(
        !creates
            .iter()
            .any(|c| c.contains("(\"created\" DESC)") && !c.contains("upper")),
        "never the ordering-only index: {creates:?}"
    );
    // Built for real, the recommendation makes the statement cheaper.
    let before = buffers(&db);
    build(&db, &creates);
    let after = buffers(&db);
    eprintln!("buffers {before} -> {after}");
    assert!(
        after * 10 < before,
        "buffers {before} -> {after} with {creates:?}"
    );
}

/// After migrate, the harmful index exists: the plan walks it for the order and its filter
/// discards almost every row. The expression index is still found, and triage does not call the
/// statement "already well indexed".
#[test]
fn r_an_ordering_index_walked_through_a_filter_is_not_well_indexed() {
    let cl = cluster();
    let db = tickets("proxy_after_migrate");
    cl.psql(&db, "CREATE INDEX t_created ON t (created DESC); ANALYZE t");
    let plan = cl.psql(&db, &format!("EXPLAIN {STATEMENT}"));
    assert!(plan.contains("t_created"), "the harmful plan: {plan}");
    let (code, out, creates) = explain(&db);
    assert_eq!(code, 1, "{out}");
    assert!(
        creates
            .iter()
            .any(|c| c.contains("upper((\"email\")::text)")),
        "{creates:?}\n{out}"
    );

    let (r, entry) = analyze_after_lookups(&db, 20);
    let sqls: Vec<&str> = r["indexes"]
        .as_array()
        .expect("indexes")
        .iter()
        .filter_map(|i| i["sql"].as_str())
        .collect();
    assert!(
        sqls.iter().any(|s| s.contains("upper((\"email\")::text)")),
        "{sqls:?}"
    );
    assert_ne!(entry["verdict"], "well_indexed", "{entry}");
}

/// Django's `created__date=d`: no B-tree candidate serves the expression, so nothing is
/// simulated; `explain` says so (never "no simulated index makes it cheaper") and gives the
/// range rewrite.
#[test]
fn r_a_date_lookup_says_nothing_was_simulated_and_gives_the_range_rewrite() {
    let db = tickets("proxy_date_lookup");
    let o = bin()
        .args(["explain", "--quiet", "--database-url"])
        .arg(cluster().url(&db))
        .arg("SELECT \"t\".\"id\" FROM \"t\" WHERE (\"t\".\"created\" AT TIME ZONE 'UTC')::date = '2026-03-01'::date ORDER BY \"t\".\"id\" ASC")
        .output()
        .expect("run explain");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out.contains("No simulated index makes"), "{out}");
    assert!(out.contains("No index was simulated"), "{out}");
    assert!(
        out.contains("created__date") && out.contains("created__lt="),
        "the range rewrite: {out}"
    );
}

/// Where the proxy cannot apply (the email column has no statistics), the harmful plan stays
/// the planner's choice: triage and `explain` say the index is walked through a filter, never
/// "already well indexed".
#[test]
fn r_without_column_statistics_the_filtered_walk_is_named() {
    let cl = cluster();
    let db = tickets("proxy_filtered_walk");
    cl.psql(
        &db,
        "ALTER TABLE t ALTER COLUMN email SET STATISTICS 0;
         CREATE INDEX t_created ON t (created DESC);",
    );
    // The first ANALYZE kept its statistics: remove them (a column never analysed).
    cl.psql(
        &db,
        "ANALYZE t; DELETE FROM pg_statistic WHERE starelid = 't'::regclass
           AND staattnum = (SELECT attnum FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'email')",
    );
    let stats = cl.psql(
        &db,
        "SELECT count(*) FROM pg_stats WHERE tablename = 't' AND attname = 'email'",
    );
    assert_eq!(stats.trim(), "0", "the column has no statistics");
    let (_, out, _) = explain(&db);
    assert!(
        out.contains("Not well indexed: plan walks t_created on t for the order only"),
        "{out}"
    );

    let (_, entry) = analyze_after_lookups(&db, 5);
    assert_eq!(entry["verdict"], "filtered_walk", "{entry}");
}
