//! The buffer cache in `analyze`'s notes, on real clusters: a recommended set that is a large
//! share of `shared_buffers` is warned about (read from the server by `collect`), and a drop
//! whose reads move to a larger surviving index says so, with the sizes and `pg_prewarm`
//! advice, in its note, the report and its migration header.

use std::path::Path;

use crate::cli::idxadvise;
use crate::support::{cluster, Cluster};

/// A table of events read by account, newest first: `(account_id, created_at)` is what the
/// workload needs (about 5 MiB for 150,000 rows), nothing covers it yet.
fn events(c: &Cluster, name: &str) -> String {
    let db = c.create_database(name);
    c.psql(
        &db,
        "CREATE TABLE events (id bigserial PRIMARY KEY, account_id int NOT NULL, kind int NOT NULL,
                              created_at timestamptz NOT NULL, payload text NOT NULL);
         INSERT INTO events (account_id, kind, created_at, payload)
           SELECT i % 3000, i % 7, now() - i * interval '1 minute', repeat('x', 60)
           FROM generate_series(1, 150000) i;
         ANALYZE events;",
    );
    db
}

/// The workload: 300 account pages, run through psql.
fn replay_events(c: &Cluster, db: &str, dir: &Path) {
    c.psql(
        "postgres",
        &format!(
            "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = '{db}'), 0)"
        ),
    );
    let mut sql = String::new();
    for k in 0..300 {
        sql.push_str(&format!(
            "SELECT id, kind, created_at FROM events WHERE account_id = {} ORDER BY created_at DESC LIMIT 20;\n",
            (k * 37) % 3000
        ));
    }
    let file = dir.join(format!("{db}.sql"));
    std::fs::write(&file, sql).expect("write workload");
    c.psql_file(db, &file);
}

/// collect → analyze --snapshot: the snapshot, the report's JSON and markdown, stderr.
fn analyze(
    c: &Cluster,
    db: &str,
    dir: &Path,
) -> (serde_json::Value, serde_json::Value, String, String) {
    let snap = dir.join(format!("{db}-snap.json"));
    let url = c.url(db);
    let r = idxadvise(&[
        "collect",
        "--database-url",
        &url,
        "-o",
        snap.to_str().expect("utf-8"),
    ]);
    assert_eq!(r.code, 0, "collect: {}", r.stderr);
    let snapshot: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&snap).expect("snapshot")).expect("json");
    let out = dir.join(format!("{db}-out"));
    let r = idxadvise(&[
        "analyze",
        "--snapshot",
        snap.to_str().expect("utf-8"),
        "--database-url",
        &url,
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(
        r.code == 0 || r.code == 1,
        "analyze ({}): {}",
        r.code,
        r.stderr
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("report.json")).expect("report.json"),
    )
    .expect("report is JSON");
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    (snapshot, report, md, r.stderr)
}

fn notes(report: &serde_json::Value) -> Vec<String> {
    report["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .map(|n| n.as_str().unwrap_or("").to_string())
        .collect()
}

/// On a cluster with a 2 MB `shared_buffers`, the recommended `(account_id, created_at)` is
/// several times the cache: `collect` reads the setting, `analyze` warns on stderr and in
/// `report.md` with the figures and what to do. The same data on the shared cluster (128 MB,
/// where the data and the set fit) gets no such note.
#[test]
fn r_f2_a_set_that_is_a_large_share_of_shared_buffers_is_warned() {
    let small = &Cluster::start_primary("shared_buffers = 2MB");
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = events(small, "cache_small");
    replay_events(small, &db, tmp.path());
    let (snapshot, report, md, stderr) = analyze(small, &db, tmp.path());
    assert_eq!(
        snapshot["server"]["shared_buffers_bytes"],
        serde_json::json!(2 * 1024 * 1024),
        "{}",
        snapshot["server"]
    );
    let create = report["indexes"].as_array().expect("indexes");
    assert!(
        create.iter().any(|i| i["sql"]
            .as_str()
            .unwrap_or("")
            .contains("(\"account_id\", \"created_at\" DESC)")
            || i["sql"].as_str().unwrap_or("").contains("account_id")),
        "an index on account_id is recommended: {create:#?}"
    );
    let note = notes(&report)
        .into_iter()
        .find(|n| n.starts_with("cache: the "))
        .unwrap_or_else(|| panic!("a cache note: {:#?}", report["notes"]));
    assert!(
        note.contains("of shared_buffers (2.0 MiB), with a database of"),
        "{note}"
    );
    assert!(
        note.contains("pg_prewarm") && note.contains("in steps"),
        "{note}"
    );
    assert!(md.contains(&format!("> **Note:** {note}")), "{md}");
    assert!(stderr.contains(&format!("warning: {note}")), "{stderr}");
    small.stop();

    // The shared cluster: 128 MB holds the data and the set.
    let c = cluster();
    let db = events(c, "cache_large");
    replay_events(c, &db, tmp.path());
    let (snapshot, report, _, stderr) = analyze(c, &db, tmp.path());
    assert_eq!(
        snapshot["server"]["shared_buffers_bytes"],
        serde_json::json!(128 * 1024 * 1024)
    );
    assert!(!report["indexes"].as_array().expect("indexes").is_empty());
    assert!(
        !notes(&report).iter().any(|n| n.starts_with("cache: the ")),
        "{:#?}",
        report["notes"]
    );
    assert!(!stderr.contains("cache: the "), "{stderr}");
}

/// A foreign-key style index `(basket_id)` (50 lines a basket, not deduplicated, so it has the
/// size of an index with few lines a basket) beside a unique `(basket_id, line_reference)` with
/// 32-character references: the narrow one is dropped as redundant, and its lookups move to an index
/// about three times larger. The drop's note, the report's notes and the migration header give
/// both sizes and `pg_prewarm` of the unique index.
#[test]
fn r_f2_a_drop_whose_reads_move_to_a_larger_index_says_so() {
    let c = cluster();
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = c.create_database("cache_drop_larger");
    c.psql(
        &db,
        "CREATE TABLE basket_line (id bigserial PRIMARY KEY, basket_id int NOT NULL,
                                   line_reference text NOT NULL, quantity int NOT NULL);
         INSERT INTO basket_line (basket_id, line_reference, quantity)
           SELECT i % 2400, md5(i::text), 1 + i % 3
           FROM generate_series(1, 120000) i;
         CREATE INDEX basket_line_basket_id_b615c905 ON basket_line (basket_id)
           WITH (deduplicate_items = off);
         CREATE UNIQUE INDEX basket_line_basket_id_line_reference_uniq
           ON basket_line (basket_id, line_reference);
         ANALYZE basket_line;",
    );
    c.psql(
        "postgres",
        &format!(
            "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = '{db}'), 0)"
        ),
    );
    let mut sql = String::new();
    for k in 0..200 {
        sql.push_str(&format!(
            "SELECT id, line_reference, quantity FROM basket_line WHERE basket_id = {};\n",
            (k * 131) % 2400
        ));
    }
    let file = tmp.path().join("lines.sql");
    std::fs::write(&file, sql).expect("write workload");
    c.psql_file(&db, &file);

    let (_, report, md, stderr) = analyze(c, &db, tmp.path());
    let drops = report["drops"].as_array().expect("drops");
    let d = drops
        .iter()
        .find(|d| d["index"] == "basket_line_basket_id_b615c905")
        .unwrap_or_else(|| {
            panic!(
                "the narrow index is dropped: {drops:#?}\nkept: {:#}\nnotes: {:#}",
                report["kept"], report["notes"]
            )
        });
    assert_eq!(d["reason"], "redundant", "{d}");
    assert_eq!(
        d["covered_by"], "basket_line_basket_id_line_reference_uniq",
        "{d}"
    );
    let (size, survivor) = (
        d["size_bytes"].as_i64().expect("size"),
        d["covered_by_size_bytes"]
            .as_i64()
            .expect("the survivor's size"),
    );
    // The survivor's size is the catalog's, and it is much larger.
    let real: i64 = c
        .psql(
            &db,
            "SELECT pg_relation_size('basket_line_basket_id_line_reference_uniq')",
        )
        .trim()
        .parse()
        .expect("size");
    assert_eq!(survivor, real);
    assert!(survivor as f64 >= 1.5 * size as f64, "{survivor} vs {size}");
    let note = d["note"].as_str().expect("note");
    assert!(
        note.contains("its reads move to basket_line_basket_id_line_reference_uniq (")
            && note.contains(
                "SELECT pg_prewarm('\"public\".\"basket_line_basket_id_line_reference_uniq\"')"
            ),
        "{note}"
    );
    let report_note = notes(&report)
        .into_iter()
        .find(|n| {
            n.starts_with("cache: drop public.basket_line_basket_id_b615c905: its reads move to")
        })
        .unwrap_or_else(|| panic!("{:#?}", report["notes"]));
    assert!(md.contains(&report_note), "{md}");
    assert!(stderr.contains(&report_note), "{stderr}");
    // The migration header (indexes.sql here) carries it too, above the DROP.
    let script = std::fs::read_to_string(tmp.path().join(format!("{db}-out")).join("indexes.sql"))
        .expect("indexes.sql");
    let header = script
        .lines()
        .find(|l| l.starts_with("--") && l.contains("pg_prewarm"))
        .unwrap_or_else(|| panic!("{script}"));
    assert!(
        header.contains("basket_line_basket_id_line_reference_uniq"),
        "{header}"
    );
    assert!(
        script.find("pg_prewarm").expect("prewarm")
            < script
                .find("DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"basket_line_basket_id_b615c905\"")
                .unwrap_or_else(|| panic!("{script}")),
        "{script}"
    );
}

/// `verify`'s control group lists the statements that moved on their own. The baseline: an
/// account page (which gets its index), three primary-key lookups and a count over a small
/// audit table (the control: no index touches them). Between the baseline and the "after"
/// traffic the audit table grows 100×, as a shop's own inserts grew its "last day" count in
/// the review: `verify` lists the count as "moved without a new index" (slower, with its
/// ratio), does not blame the new index for it, and still times the account page.
#[test]
fn r_f2_verify_lists_a_control_statement_that_moved_on_its_own() {
    let c = cluster();
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = events(c, "cache_control_movers");
    c.psql(
        &db,
        "CREATE TABLE settings (id int PRIMARY KEY, name text NOT NULL, value text NOT NULL);
         INSERT INTO settings SELECT i, 'k' || i, 'v' || i FROM generate_series(1, 1000) i;
         CREATE TABLE audit (id bigserial PRIMARY KEY, what text NOT NULL);
         INSERT INTO audit (what) SELECT 'a' || i FROM generate_series(1, 2000) i;
         ANALYZE settings; ANALYZE audit;",
    );
    let traffic = |name: &str| {
        let mut sql = String::new();
        for k in 0..60 {
            let id = 1 + (k * 17) % 1000;
            sql.push_str(&format!(
                "SELECT id, kind, created_at FROM events WHERE account_id = {} ORDER BY created_at DESC LIMIT 20;\n\
                 SELECT name FROM settings WHERE id = {id};\n\
                 SELECT value FROM settings WHERE id = {id};\n\
                 SELECT name, value FROM settings WHERE id = {id};\n\
                 SELECT count(*) FROM audit;\n",
                (k * 37) % 3000
            ));
        }
        let file = tmp.path().join(name);
        std::fs::write(&file, sql).expect("write traffic");
        c.psql_file(&db, &file);
    };
    c.psql(
        "postgres",
        &format!(
            "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = '{db}'), 0)"
        ),
    );
    traffic("before.sql");
    let out = tmp.path().join("out");
    let out_s = out.to_str().expect("utf-8");
    let a = idxadvise(&[
        "analyze",
        "--database-url",
        &c.url(&db),
        "--out",
        out_s,
        "-q",
    ]);
    assert_eq!(a.code, 1, "analyze recommends an index:\n{}", a.stderr);
    let script = std::fs::read_to_string(out.join("indexes.sql")).expect("indexes.sql");
    for stmt in script
        .lines()
        .filter(|l| !l.starts_with("--") && !l.is_empty())
    {
        c.psql(&db, stmt);
    }
    // The data grows under the count: 100× the rows.
    c.psql(
        &db,
        "INSERT INTO audit (what) SELECT 'b' || i FROM generate_series(1, 200000) i; ANALYZE audit;",
    );
    traffic("after.sql");

    let (_, report) = super::verify_json(&c.url(&db), out_s);
    let control = report.control.as_ref().expect("a control");
    assert!(control.statements.len() >= 4, "{control:#?}");
    assert!(
        control.spread.is_some() && control.spread_used.is_some(),
        "{control:#?}"
    );
    let count = control
        .movers
        .iter()
        .find(|m| m.query.contains("FROM audit"))
        .unwrap_or_else(|| panic!("the count moved: {control:#?}"));
    assert_eq!(
        count.direction,
        idxadvise::verify::control::MoveDirection::Slower
    );
    assert!(count.ratio > 10.0, "{count:#?}");
    // The primary-key lookups did not move.
    assert!(
        control.movers.iter().all(|m| !m.query.contains("settings")),
        "{control:#?}"
    );
    // Not blamed on the index; the account page is timed and faster.
    assert!(
        report
            .indexes
            .iter()
            .all(|i| i.verdict != idxadvise::verify::compare::IndexVerdict::Regression),
        "{:#?}",
        report.indexes
    );
    let page = report
        .statements
        .iter()
        .find(|s| s.query.contains("FROM events") || s.query.contains("FROM \"events\""))
        .expect("the account page is reported");
    assert_eq!(
        page.change,
        idxadvise::verify::compare::Change::Faster,
        "{page:#?}"
    );
    let text = idxadvise::verify::render::text(&report);
    assert!(
        text.contains("moved without a new index (cache, load or data growth?): ")
            && text.contains(&count.queryid.to_string()),
        "{text}"
    );
    let md = idxadvise::verify::render::markdown(&report);
    assert!(md.contains("- moved without a new index"), "{md}");
    assert!(md.contains("moved beyond the noise on their own"), "{md}");
}
