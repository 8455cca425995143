//! Observed parameter values (issue 13): each source on its own, against a real cluster with
//! real concurrent traffic while it is observed — never canned activity rows.
//!
//! - pg_stat_activity sampling on the example shop while its workload replays: the queue page
//!   (`status = $1 ORDER BY created_at LIMIT`) and a pending-orders count get an index on the
//!   status without `--hot-values`, and the report says which values were seen.
//! - pg_qualstats on a cluster of its own (it must be preloaded): its constants alone give the
//!   rare-status count its index.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::cli::{analyze_into, collect_snapshot, idxadvise};
use crate::support::{
    cluster, example_database, replay_workload, repo_root, Cluster, ClusterOptions, Traffic,
};

/// 200,000 tickets: 1% `pending`, 9% `open`, the rest `closed` (VACUUM ANALYZE after it).
const TICKETS: &str = "CREATE TABLE tickets (id bigserial PRIMARY KEY, status text NOT NULL, opened_at timestamptz NOT NULL);
    INSERT INTO tickets (status, opened_at)
      SELECT CASE WHEN i % 100 = 0 THEN 'pending' WHEN i % 10 = 0 THEN 'open' ELSE 'closed' END,
             now() - i * interval '1 minute'
      FROM generate_series(1, 200000) i;";

/// Django's pending-orders count, as the ORM sends it (client-side binding), `n` times.
const PENDING_COUNT: &str = "SELECT COUNT(*) AS \"__count\" FROM \"shop_order\" WHERE \"shop_order\".\"status\" = 'pending';\n";

fn write_repeated(dir: &Path, name: &str, sql: &str, n: usize) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, sql.repeat(n)).expect("write sql");
    p
}

/// The report's statement whose text contains every needle.
fn statement<'a>(r: &'a serde_json::Value, needles: &[&str]) -> &'a serde_json::Value {
    r["statements"]
        .as_array()
        .expect("statements")
        .iter()
        .find(|s| {
            let t = s["query"].as_str().unwrap_or("");
            needles.iter().all(|n| t.contains(n))
        })
        .unwrap_or_else(|| panic!("no statement with {needles:?}"))
}

fn index_for(r: &serde_json::Value, queryid: i64) -> Option<String> {
    r["indexes"]
        .as_array()
        .expect("indexes")
        .iter()
        .find(|ix| {
            ix["helps"]
                .as_array()
                .is_some_and(|h| h.iter().any(|h| h["queryid"].as_i64() == Some(queryid)))
        })
        .and_then(|ix| ix["sql"].as_str())
        .map(str::to_string)
}

fn verdict(r: &serde_json::Value, queryid: i64) -> String {
    r["triage"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["queryid"].as_i64() == Some(queryid))
        .map(|e| e["verdict"].to_string())
        .unwrap_or_default()
}

const PAGE: &[&str] =
    &["WHERE \"shop_order\".\"status\" = $1 ORDER BY \"shop_order\".\"created_at\""];
const COUNT: &[&str] = &["COUNT(*)", "WHERE \"shop_order\".\"status\" = $1"];

/// Sampling pg_stat_activity while the example's workload and a pending count run: without
/// `--hot-values` the queue page and the count get an index led by (or restricted to) the
/// status, the count is not triaged "no index helps", and the report, its markdown and the
/// plan diff say which values were seen.
#[test]
fn activity_sampling_gives_the_pending_page_and_count_a_status_index() {
    let c = cluster();
    let db = example_database("observe_activity");
    replay_workload(&db);
    // No other test's replay is timed while this traffic runs.
    let _heavy = crate::support::replays()
        .write()
        .unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().expect("tempdir");
    let count = write_repeated(tmp.path(), "count.sql", PENDING_COUNT, 40);
    c.psql_file(&db, &count);
    let traffic = Traffic::start(
        c,
        &db,
        vec![repo_root().join("examples/shop/workload.sql"), count],
    );
    let out = tmp.path().join("out");
    let snap = tmp.path().join("snap.json");
    let s = collect_snapshot(&c.url(&db), &snap, &["--window", "4s"]);
    let rounds = traffic.stop();
    assert!(rounds.iter().all(|r| *r >= 1), "traffic ran: {rounds:?}");

    // The snapshot keeps what was observed.
    let summary = &s["observed"]["summary"];
    assert!(
        summary["activity_rounds"].as_u64().unwrap_or(0) > 50,
        "{summary}"
    );
    assert_eq!(
        summary["query_id"],
        serde_json::Value::Bool(true),
        "{summary}"
    );

    let (run, r) = analyze_into(&c.url(&db), Some(&snap), &out);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for (needles, what) in [(PAGE, "queue page"), (COUNT, "pending count")] {
        let st = statement(&r, needles);
        let id = st["queryid"].as_i64().expect("queryid");
        let values = st["values"].as_str().unwrap_or("");
        assert!(
            values.contains("status = 'pending': 100% of"),
            "{what}: {values}"
        );
        let ix = index_for(&r, id).unwrap_or_default();
        assert!(ix.contains("\"status\""), "{what}: {ix}");
        assert!(!verdict(&r, id).contains("no index"), "{what}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(md.contains("## Observed parameter values"), "{md}");
    let page = statement(&r, PAGE);
    let diff = page["plan_diff"].as_str().expect("the page's plan changes");
    let diff = std::fs::read_to_string(out.join(diff)).expect("diff");
    assert!(
        diff.contains("# observed values: status = 'pending'"),
        "{diff}"
    );
    assert!(diff.contains("'pending'"), "{diff}");
}

/// pg_qualstats alone (no sampling): on a cluster that preloads it, its constants for a count
/// of the rare status reach the snapshot, the what-if costs the count with them, and the count
/// gets an index on the status. Also runs sql/qualstats.sql for real.
#[test]
fn qualstats_constants_give_the_rare_status_count_its_index() {
    let c: &'static Cluster = Box::leak(Box::new(Cluster::start_with(&ClusterOptions {
        extra_conf: "shared_preload_libraries = 'pg_stat_statements,pg_qualstats'\npg_qualstats.sample_rate = 1\n".into(),
        extensions_sql: "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; CREATE EXTENSION IF NOT EXISTS hypopg; CREATE EXTENSION IF NOT EXISTS pg_qualstats;".into(),
        ..ClusterOptions::default()
    })));
    let db = c.create_database("qualstats");
    c.psql(&db, TICKETS);
    c.psql(&db, "VACUUM ANALYZE tickets");
    c.psql(
        "postgres",
        "SELECT pg_stat_statements_reset(); SELECT pg_qualstats_reset();",
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let count = write_repeated(
        tmp.path(),
        "count.sql",
        "SELECT count(*) FROM tickets WHERE status = 'pending';\n",
        30,
    );
    c.psql_file(&db, &count);
    let snap = tmp.path().join("snap.json");
    let s = collect_snapshot(&c.url(&db), &snap, &[]);
    assert_eq!(
        s["observed"]["summary"]["qualstats"],
        serde_json::Value::Bool(true)
    );
    assert_eq!(s["observed"]["summary"]["activity_rounds"], 0);
    let observed = s["observed"]["statements"].to_string();
    assert!(observed.contains("\"value\":\"pending\""), "{observed}");
    assert!(
        observed.contains("\"column\":\"tickets.status\""),
        "{observed}"
    );
    assert!(observed.contains("\"qualstats\""), "{observed}");
    // `check` says it is there, as information (never a warning).
    let url = c.url(&db);
    let o = idxadvise(&["check", "--format", "json", "--database-url", &url]);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("check json");
    let q = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["id"] == "qualstats")
        .cloned()
        .expect("a pg_qualstats finding");
    assert_eq!(q["level"], "ok", "{q}");
    assert!(
        q["what"]
            .as_str()
            .unwrap_or("")
            .contains("loaded and created (sample_rate 1)"),
        "{q}"
    );

    let out = tmp.path().join("out");
    let (run, r) = analyze_into(&c.url(&db), Some(&snap), &out);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let st = statement(&r, &["count(*) FROM tickets WHERE status = $1"]);
    let id = st["queryid"].as_i64().expect("queryid");
    let values = st["values"].as_str().unwrap_or("");
    assert!(
        values.contains("tickets.status = 'pending': 100% of"),
        "{values}"
    );
    let ix = index_for(&r, id).unwrap_or_default();
    assert!(ix.contains("\"status\""), "{ix}");
    assert!(!verdict(&r, id).contains("no index"));
}

/// A thousand connections — 900 idle, 100 running a statement with a new value each time —
/// while the sampler runs: every round sees the active ones, and what it keeps stays bounded
/// (at most `MAX_TUPLES` value tuples for the statement, the rest counted, a small snapshot).
#[test]
fn sampling_stays_bounded_with_a_thousand_connections() {
    use idxadvise::model::observed::MAX_TUPLES;
    let c: &'static Cluster = Box::leak(Box::new(Cluster::start_with(&ClusterOptions {
        extra_conf: "max_connections = 1100\nshared_buffers = 64MB\n".into(),
        ..ClusterOptions::default()
    })));
    let db = c.create_database("many");
    let _heavy = crate::support::replays()
        .write()
        .unwrap_or_else(|p| p.into_inner());
    c.psql(
        &db,
        "CREATE TABLE t (id int, s text); INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 1000) i",
    );
    // One row matches, so each call sleeps 20 ms: the backend is active most of the time.
    let q = |v: u64| format!("SELECT pg_sleep(0.02) FROM t WHERE id = 1 AND s <> 'v{v}'");
    c.psql(&db, &q(0));
    let url = c.url(&db);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let stop = Arc::new(AtomicBool::new(false));
    let snapshot = rt.block_on(async {
        let mut clients = vec![];
        for _ in 0..1000 {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            clients.push(client);
        }
        let mut active = vec![];
        for (i, client) in clients.drain(..100).enumerate() {
            let stop = stop.clone();
            active.push(tokio::spawn(async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    client
                        .simple_query(&q(i as u64 * 1_000_000 + n))
                        .await
                        .expect("active query");
                    n += 1;
                }
                n
            }));
        }
        let config = idxadvise::config::CollectConfig {
            connection: idxadvise::config::ConnectionConfig::new(Some(url.clone()), None, "10s")
                .expect("config"),
            filter: idxadvise::config::WorkloadFilter::default(),
            window: idxadvise::collect::window::WindowOptions::of(
                std::time::Duration::from_secs(3),
                true,
            ),
        };
        let snap = idxadvise::collect::collect(&config).await.expect("collect");
        stop.store(true, Ordering::Relaxed);
        let mut runs = 0;
        for a in active {
            runs += a.await.expect("active task");
        }
        assert!(runs > 1000, "the active sessions ran: {runs}");
        assert_eq!(clients.len(), 900, "idle sessions stayed open");
        snap
    });
    let o = &snapshot.observed;
    assert!(o.summary.activity_rounds >= 20, "{:?}", o.summary);
    assert!(
        o.summary.activity_samples >= 50 * o.summary.activity_rounds,
        "most active backends are seen each round: {:?}",
        o.summary
    );
    let st = o
        .statements
        .iter()
        .find(|s| s.total() > 0)
        .expect("the statement's values");
    assert!(st.tuples.len() <= MAX_TUPLES, "{}", st.tuples.len());
    assert!(st.other_samples > 0, "rare tuples are counted, not kept");
    let json = serde_json::to_string(o).expect("json");
    assert!(
        json.len() < 64 * 1024,
        "observations stay small: {} bytes",
        json.len()
    );
}

/// pg_stat_statements' rows per call alone (no sampling, no pg_qualstats): a listing of the
/// rare status returns that status's row count per call, which names the value; the listing
/// is costed with it and gets an index on the status.
#[test]
fn rows_per_call_name_the_rare_status_of_a_listing() {
    let c = cluster();
    let db = c.create_database("observe_rows_per_call");
    c.psql(&db, TICKETS);
    c.psql(&db, "VACUUM ANALYZE tickets");
    crate::support::reset_statements(c, &db);
    let tmp = tempfile::tempdir().expect("tempdir");
    let listing = write_repeated(
        tmp.path(),
        "listing.sql",
        "SELECT id, opened_at FROM tickets WHERE status = 'pending';\n",
        20,
    );
    c.psql_file(&db, &listing);
    let out = tmp.path().join("out");
    let (run, r) = analyze_into(&c.url(&db), None, &out);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let st = statement(&r, &["FROM tickets WHERE status = $1"]);
    let id = st["queryid"].as_i64().expect("queryid");
    let values = st["values"].as_str().unwrap_or("");
    assert!(
        values.contains("status = 'pending': 100% of 20 calls (by rows per call)"),
        "{values}"
    );
    let ix = index_for(&r, id).unwrap_or_default();
    assert!(ix.contains("\"status\""), "{ix}");
}

/// Review 3 (F7): psycopg2 binds on the client, and a Django select list over 1 kB is cut at
/// `track_activity_query_size` before its WHERE. Its samples read "163 samples cut …; 163
/// samples bound server-side": counted twice, and the second is false. Sampled from real
/// backends here: such a text counts as cut only, and a statement bound server-side (the
/// extended protocol: `$n` in the running text) as bound only.
#[test]
fn texts_cut_before_their_values_are_cut_not_bound_server_side() {
    let c = cluster();
    let db = c.create_database("observe_cut_or_bound");
    c.psql(
        &db,
        "CREATE TABLE t (id int, s text); INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 1000) i; ANALYZE t;
         CREATE FUNCTION napping(x text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.02); RETURN x; END $$;",
    );
    assert_eq!(c.psql(&db, "SHOW track_activity_query_size").trim(), "1kB");
    // No constant before the cut: every value is after the first 1 kB.
    let cols: Vec<String> = (0..40)
        .map(|i| format!("t.s AS \"a_rather_long_column_alias_{i:02}\""))
        .collect();
    let select = format!("SELECT napping(t.s) AS nap, {} FROM t", cols.join(", "));
    assert!(select.len() > 1100, "{}", select.len());
    let literal = move |n: u64| format!("{select} WHERE t.id = 1 AND t.s <> 'v{n}'");
    let bound = "SELECT napping(t.s) AS nap FROM t WHERE t.id = $1 AND t.s <> $2";
    let url = c.url(&db);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let stop = Arc::new(AtomicBool::new(false));
    let snapshot = rt.block_on(async {
        let connect = || async {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            client
        };
        let (client_side, server_side) = (connect().await, connect().await);
        // Each runs once before the window, so both are in pg_stat_statements.
        client_side
            .simple_query(&literal(0))
            .await
            .expect("client-side binding");
        server_side
            .query(bound, &[&1i32, &"v0"])
            .await
            .expect("server-side binding");
        let (s1, s2) = (stop.clone(), stop.clone());
        let literal = literal.clone();
        let a = tokio::spawn(async move {
            let mut n = 1u64;
            while !s1.load(Ordering::Relaxed) {
                client_side
                    .simple_query(&literal(n))
                    .await
                    .expect("literal");
                n += 1;
            }
            n
        });
        let b = tokio::spawn(async move {
            let mut n = 1u64;
            while !s2.load(Ordering::Relaxed) {
                server_side
                    .query(bound, &[&1i32, &format!("v{n}")])
                    .await
                    .expect("bound");
                n += 1;
            }
            n
        });
        let config = idxadvise::config::CollectConfig {
            connection: idxadvise::config::ConnectionConfig::new(Some(url.clone()), None, "10s")
                .expect("config"),
            filter: idxadvise::config::WorkloadFilter::default(),
            window: idxadvise::collect::window::WindowOptions::of(
                std::time::Duration::from_secs(2),
                true,
            ),
        };
        let snap = idxadvise::collect::collect(&config).await.expect("collect");
        stop.store(true, Ordering::Relaxed);
        let runs = (a.await.expect("literal task"), b.await.expect("bound task"));
        assert!(runs.0 > 10 && runs.1 > 10, "both ran: {runs:?}");
        snap
    });
    let queryid = |needle: &str| {
        snapshot
            .workload
            .statements
            .iter()
            .find(|s| s.query.contains(needle))
            .unwrap_or_else(|| panic!("no statement with {needle}"))
            .queryid
    };
    let o = &snapshot.observed;
    let cut = o
        .get(queryid("a_rather_long_column_alias_39"))
        .expect("the cut statement's samples");
    assert!(cut.truncated_samples > 10, "{cut:?}");
    assert_eq!(cut.hidden_samples, 0, "cut, not bound: {cut:?}");
    assert_eq!(cut.total(), 0, "no value before the cut: {cut:?}");
    let server = o
        .get(queryid("AS nap FROM t WHERE"))
        .expect("the bound statement's samples");
    assert!(server.hidden_samples > 10, "{server:?}");
    assert_eq!(server.truncated_samples, 0, "{server:?}");
    let line = idxadvise::report::values::evidence(cut, None);
    assert!(
        line.starts_with("no values visible; ")
            && line.ends_with("samples cut at track_activity_query_size"),
        "{line}"
    );
    let line = idxadvise::report::values::evidence(server, None);
    assert!(
        line.ends_with("samples bound server-side (values not visible)")
            && !line.contains("cut at"),
        "{line}"
    );
}
