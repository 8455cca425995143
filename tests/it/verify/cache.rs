//! The buffer cache in `analyze`'s notes, on real clusters: a recommended set that is a large
//! share of `shared_buffers` is warned about (read from the server by `collect`); an index in
//! use whose reads would move to a much larger surviving index is kept, with a note; a drop of
//! an unused one says so, with the sizes and `pg_prewarm` advice, in its note, the report and
//! its migration header.

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

/// The basket lines of the review's shop: a foreign-key style index `(basket_id)` (not
/// deduplicated, so it has the size of an index with few lines a basket) beside a unique
/// `(basket_id, line_reference)` with 32-character references, about 2.6 times larger: the
/// narrow one is redundant. 200 lines a basket: with 50, a lookup's share of either index is
/// under one page, the two cost the same and the planner takes the unique one (the narrow one
/// then has no scans).
const BASKET_LINES: &str = "
    CREATE TABLE {t} (id bigserial PRIMARY KEY, basket_id int NOT NULL,
                      line_reference text NOT NULL, quantity int NOT NULL);
    INSERT INTO {t} (basket_id, line_reference, quantity)
      SELECT i % 600, md5(i::text), 1 + i % 3
      FROM generate_series(1, 120000) i;
    CREATE INDEX {t}_basket_id_b615c905 ON {t} (basket_id) WITH (deduplicate_items = off);
    CREATE UNIQUE INDEX {t}_basket_id_line_reference_uniq ON {t} (basket_id, line_reference);
    ANALYZE {t};";

/// The review's basket lines (G1): `basket_line`'s narrow index serves 200 lookups (scans in
/// the statistics) and its reads would move to the unique index about three times larger, so
/// it is kept: no drop in `indexes.sql` or the report's drops, and a note (report.md, stderr)
/// with both sizes, the scans and what dropping it by hand would free. Its twin
/// `basket_line_old`, read by nothing (no scans), moves no reads: its drop is still proposed,
/// with the sizes and `pg_prewarm` advice in its note and above its DROP.
#[test]
fn r_g1_an_index_in_use_whose_reads_would_move_to_a_larger_index_is_kept() {
    let c = cluster();
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = c.create_database("cache_drop_larger");
    for t in ["basket_line", "basket_line_old"] {
        c.psql(&db, &BASKET_LINES.replace("{t}", t));
    }
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
            (k * 131) % 600
        ));
    }
    let file = tmp.path().join("lines.sql");
    std::fs::write(&file, sql).expect("write workload");
    c.psql_file(&db, &file);
    // The lookups' session reports its scans as it exits, which may be after psql returns.
    let scans = |index: &str| -> i64 {
        c.psql(
            &db,
            &format!("SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = '{index}'"),
        )
        .trim()
        .parse()
        .expect("idx_scan")
    };
    let started = std::time::Instant::now();
    while scans("basket_line_basket_id_b615c905") == 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the lookups never used the narrow index"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(scans("basket_line_old_basket_id_b615c905"), 0);

    let (_, report, md, stderr) = analyze(c, &db, tmp.path());
    let drops = report["drops"].as_array().expect("drops");
    assert!(
        drops
            .iter()
            .all(|d| d["index"] != "basket_line_basket_id_b615c905"),
        "the narrow index in use is not dropped: {drops:#?}"
    );
    let note = notes(&report)
        .into_iter()
        .find(|n| n.starts_with("cache: kept public.basket_line_basket_id_b615c905, not proposed for dropping: it is redundant by basket_line_basket_id_line_reference_uniq, but it is in use ("))
        .unwrap_or_else(|| panic!("a note on the kept index: {:#?}", report["notes"]));
    let real = |index: &str| -> i64 {
        c.psql(&db, &format!("SELECT pg_relation_size('{index}')"))
            .trim()
            .parse()
            .expect("size")
    };
    let (size, survivor) = (
        real("basket_line_basket_id_b615c905"),
        real("basket_line_basket_id_line_reference_uniq"),
    );
    assert!(survivor as f64 >= 1.5 * size as f64, "{survivor} vs {size}");
    let human = |b: i64| format!("{:.1} MiB", b as f64 / 1048576.0);
    assert!(
        note.contains(&format!(
            "its reads would move to basket_line_basket_id_line_reference_uniq ({}, {:.1}× its {})",
            human(survivor),
            survivor as f64 / size as f64,
            human(size)
        )) && note.contains(&format!("dropping it by hand would free {}", human(size))),
        "{note}"
    );
    assert!(!note.contains("pg_prewarm"), "{note}");
    assert!(md.contains(&format!("> **Note:** {note}")), "{md}");
    assert!(stderr.contains(&format!("warning: {note}")), "{stderr}");
    // Nothing to apply mentions it: no DROP, no header, no "drop … in the same change".
    let out = tmp.path().join(format!("{db}-out"));
    let script = std::fs::read_to_string(out.join("indexes.sql")).expect("indexes.sql");
    assert!(
        !script.contains(
            "DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"basket_line_basket_id_b615c905\""
        ),
        "{script}"
    );
    assert!(
        !md.contains("| `basket_line_basket_id_b615c905`")
            && !md.contains("drop public.basket_line_basket_id_b615c905"),
        "{md}"
    );
    let baseline =
        std::fs::read_to_string(out.join(idxadvise::verify::BASELINE_FILE)).expect("baseline");
    assert!(
        !baseline.contains("\"basket_line_basket_id_b615c905\""),
        "{baseline}"
    );

    // The twin without scans: dropped, with the sizes and pg_prewarm advice.
    let d = drops
        .iter()
        .find(|d| d["index"] == "basket_line_old_basket_id_b615c905")
        .unwrap_or_else(|| {
            panic!(
                "the unused narrow index is dropped: {drops:#?}\nkept: {:#}\nnotes: {:#}",
                report["kept"], report["notes"]
            )
        });
    assert_eq!(d["reason"], "redundant", "{d}");
    assert_eq!(
        d["covered_by_size_bytes"].as_i64(),
        Some(real("basket_line_old_basket_id_line_reference_uniq")),
        "{d}"
    );
    assert!(
        d["note"].as_str().expect("note").contains(
            "SELECT pg_prewarm('\"public\".\"basket_line_old_basket_id_line_reference_uniq\"')"
        ),
        "{d}"
    );
    // Review 4 (G6): it had no scans, so nothing is to be warmed "before the drop" (a step
    // one `migrate` run leaves no moment for).
    let note = d["note"].as_str().expect("note");
    assert!(
        note.contains("it had no scans, so no reads move") && !note.contains("before applying"),
        "{d}"
    );
    let header = script
        .lines()
        .find(|l| l.starts_with("--") && l.contains("pg_prewarm"))
        .unwrap_or_else(|| panic!("{script}"));
    assert!(
        header.contains("basket_line_old_basket_id_line_reference_uniq"),
        "{header}"
    );
    assert!(
        script.find("pg_prewarm").expect("prewarm")
            < script
                .find("DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"basket_line_old_basket_id_b615c905\"")
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
