//! `idxadvise collect` against the example shop: the snapshot's workload, catalog and write
//! statistics, on a primary and on a standby, and that collecting leaves no trace.

use idxadvise::model::{Snapshot, WriteSource};

use crate::cli::idxadvise;
use crate::support::{cluster, example_database, replay_workload, reset_statements};

fn pgss_entries(db: &str) -> String {
    pgss_entries_on(cluster(), db)
}

fn pgss_entries_on(c: &crate::support::Cluster, db: &str) -> String {
    let q = "select count(*) || '/' || coalesce(sum(calls), 0) from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = current_database() and query not like '%pg_stat_statements s join pg_database%'";
    c.psql(db, q).trim().to_string()
}

fn collect_to_file(url: &str, extra: &[&str]) -> (crate::cli::Run, Option<Snapshot>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("snapshot.json");
    let p = path.to_str().expect("utf-8 path");
    let mut args = vec!["collect", "--database-url", url, "-o", p];
    args.extend_from_slice(extra);
    let run = idxadvise(&args);
    let snap = std::fs::read_to_string(&path)
        .ok()
        .map(|t| Snapshot::from_json(&t).expect("a valid snapshot"));
    (run, snap)
}

#[test]
fn collect_example_workload_and_catalog() {
    let c = cluster();
    let db = example_database("collect_example");
    replay_workload(&db);
    let before = pgss_entries(&db);
    assert_eq!(before, pgss_entries(&db), "counting is stable");
    let url = c.url(&db).replace("postgres@", "postgres:s3cret-pw@");
    let t0 = std::time::Instant::now();
    let (run, snap) = collect_to_file(&url, &[]);
    eprintln!("collect of the example took {:?}", t0.elapsed());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("s3cret-pw"), "{}", run.stderr);
    eprintln!("{}", run.stderr);
    let snap = snap.expect("snapshot written");
    assert_eq!(
        pgss_entries(&db),
        before,
        "collect left no entry in pg_stat_statements"
    );

    // Server.
    assert_eq!(snap.server.database, db);
    assert_eq!(snap.server.major(), crate::support::pg_major());
    assert!(!snap.server.in_recovery);
    assert!(snap.server.hypopg_version.is_some());

    // Workload.
    let w = &snap.workload;
    let history = w
        .statements
        .iter()
        .find(|s| {
            s.query.starts_with("SELECT \"shop_order\".\"id\"")
                && s.query
                    .contains("ORDER BY \"shop_order\".\"created_at\" DESC LIMIT $")
        })
        .expect("the order-history statement");
    assert!(history.calls >= 10, "{history:?}");
    assert!(history.total_time_ms > 0.0 && history.mean_time_ms > 0.0);
    assert!(history.shared_blks_hit + history.shared_blks_read > 0);
    assert!(
        w.statements.iter().any(|s| s.query.starts_with("UPDATE")),
        "writes are part of the workload"
    );
    for s in &w.statements {
        assert!(!s.query.starts_with("BEGIN") && !s.query.starts_with("COMMIT"));
        assert!(!s.query.contains("FOR KEY SHARE"), "{}", s.query);
        assert!(!s.query.starts_with("-- idxadvise:"), "{}", s.query);
    }
    let reasons: Vec<&str> = w.excluded.iter().map(|e| e.reason.as_str()).collect();
    assert!(
        reasons.contains(&"utility statement (BEGIN)"),
        "{reasons:?}"
    );
    assert!(reasons.contains(&"foreign-key check"), "{reasons:?}");
    let times: Vec<f64> = w.statements.iter().map(|s| s.total_time_ms).collect();
    assert!(
        times.windows(2).all(|p| p[0] >= p[1]),
        "sorted by total time"
    );
    assert!(w.stats_since.is_some());

    // Catalog.
    let cat = &snap.catalog;
    assert_eq!(cat.search_path, vec!["public"]);
    let names: Vec<&str> = cat.tables.iter().map(|t| t.name.as_str()).collect();
    for t in [
        "auth_user",
        "django_migrations",
        "reviews",
        "shop_customer",
        "shop_order",
        "shop_orderitem",
        "shop_product",
        "shop_product_tags",
        "shop_tag",
    ] {
        assert!(names.contains(&t), "{t} missing from {names:?}");
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "tables sorted");
    let order = cat.table("public", "shop_order").expect("shop_order");
    assert!((order.rows - 300_000.0).abs() < 1.0, "{}", order.rows);
    assert!(order.pages > 0 && order.size_bytes > 8192 * order.pages / 2);
    assert_eq!(order.fillfactor, 100);
    assert!(
        order.all_visible_frac > 0.9,
        "vacuumed: {}",
        order.all_visible_frac
    );
    let cols: Vec<(&str, &str, bool)> = order
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.type_name.as_str(), c.not_null))
        .collect();
    assert_eq!(
        cols,
        vec![
            ("id", "bigint", true),
            ("status", "character varying(20)", true),
            ("created_at", "timestamp with time zone", true),
            ("total", "numeric(12,2)", true),
            ("deleted_at", "timestamp with time zone", false),
            ("customer_id", "bigint", true),
        ]
    );
    assert!(order.columns.iter().all(|c| c.collation.is_none()));
    let status = order.column("status").expect("status");
    let st = status.stats.as_ref().expect("pg_stats for status");
    assert_eq!(
        st.most_common_vals.first().map(String::as_str),
        Some("delivered")
    );
    assert!((st.most_common_freqs[0] - 0.9).abs() < 0.03, "{st:?}");
    assert_eq!(st.most_common_vals.len(), st.most_common_freqs.len());
    let created = order.column("created_at").expect("created_at");
    assert!(
        created
            .stats
            .as_ref()
            .expect("stats")
            .histogram_bounds
            .len()
            > 10
    );

    let fk = order
        .indexes
        .iter()
        .find(|i| i.name == "shop_order_customer_id_f638df20")
        .expect("the FK index");
    assert_eq!(fk.keys.len(), 1);
    assert_eq!(fk.keys[0].expr, "customer_id");
    assert!(!fk.keys[0].is_expression && !fk.keys[0].desc && fk.keys[0].opclass.is_none());
    assert!(fk.valid && !fk.unique && !fk.primary && fk.size_bytes > 0);
    assert_eq!(fk.method.name(), "btree");
    let pk = order.indexes.iter().find(|i| i.primary).expect("pk");
    assert_eq!(pk.constraint.as_deref(), Some("shop_order_pkey"));
    let fkc = order
        .constraints
        .iter()
        .find(|c| c.kind == "f")
        .expect("fk constraint");
    assert_eq!(fkc.columns, vec!["customer_id"]);
    assert!(
        fkc.definition.contains("REFERENCES shop_customer(id)"),
        "{}",
        fkc.definition
    );

    let product = cat.table("public", "shop_product").expect("shop_product");
    let like = product
        .indexes
        .iter()
        .find(|i| i.name == "shop_product_sku_code_62636c57_like")
        .expect("the sku_code pattern index");
    assert_eq!(like.keys[0].expr, "sku_code");
    assert_eq!(like.keys[0].opclass.as_deref(), Some("varchar_pattern_ops"));
    for t in ["shop_orderitem", "reviews"] {
        let t = cat.table("public", t).expect("table");
        assert!(
            t.indexes.iter().filter(|i| !i.primary).count() >= 2,
            "FK indexes of {}",
            t.name
        );
    }

    // Write statistics from the primary itself.
    assert_eq!(snap.write_stats.source, WriteSource::Local);
    let ow = snap
        .write_stats
        .table("public", "shop_order")
        .expect("shop_order writes");
    assert!(
        ow.n_tup_ins >= 150 && ow.n_tup_upd >= 150,
        "the replayed inserts and updates: {ow:?}"
    );
    assert!(snap.write_stats.statements.is_empty());

    // The same snapshot again: deterministic apart from the counters that moved.
    let text = serde_json::to_string(&snap).expect("json");
    assert!(!text.contains("s3cret-pw"));
}

#[test]
fn collect_filters_and_stdout() {
    let c = cluster();
    let db = example_database("collect_filters");
    replay_workload(&db);
    let run = idxadvise(&[
        "collect",
        "--database-url",
        &c.url(&db),
        "--top",
        "3",
        "--min-calls",
        "2",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let snap = Snapshot::from_json(&run.stdout).expect("snapshot on stdout");
    assert_eq!(snap.workload.statements.len(), 3);
    assert!(snap.workload.statements.iter().all(|s| s.calls >= 2));
    assert!(snap
        .workload
        .excluded
        .iter()
        .any(|e| e.reason == "beyond --top 3"));
    let full = idxadvise(&["collect", "--database-url", &c.url(&db)]);
    assert_eq!(full.code, 0, "{}", full.stderr);
    let full = Snapshot::from_json(&full.stdout).expect("snapshot");
    let run = idxadvise(&[
        "collect",
        "--database-url",
        &c.url(&db),
        "--top-share",
        "0.5",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let half = Snapshot::from_json(&run.stdout).expect("snapshot");
    let total = full.workload.total_time_ms();
    let kept = half.workload.total_time_ms();
    let last = half.workload.statements.last().expect("one").total_time_ms;
    assert!(kept >= 0.5 * total, "{kept} of {total}");
    assert!(kept - last < 0.5 * total, "no more than needed");
    assert!(half.workload.statements.len() < full.workload.statements.len());
    assert!(half
        .workload
        .excluded
        .iter()
        .any(|e| e.reason == "beyond --top-share 0.5"));
}

#[test]
fn collect_on_standby_reads_writes_from_the_primary() {
    let _x = crate::support::exclusive();
    let c = cluster();
    let db = example_database("collect_standby");
    replay_workload(&db);
    let s = c.start_standby();
    c.wait_replayed(&s);
    // The standby's own pg_stat_statements holds what ran there: some reads.
    reset_statements(&s, &db);
    for id in [1, 2, 3, 680] {
        s.psql(
            &db,
            &format!("SELECT \"shop_order\".\"id\", \"shop_order\".\"status\" FROM \"shop_order\" WHERE (\"shop_order\".\"customer_id\" = {id} AND \"shop_order\".\"deleted_at\" IS NULL) ORDER BY \"shop_order\".\"created_at\" DESC LIMIT 20"),
        );
    }
    let before = (pgss_entries_on(&s, &db), pgss_entries_on(&s, &db));
    assert_eq!(before.0, before.1, "counting is stable");
    let primary_before = (pgss_entries(&db), pgss_entries(&db)).1;
    let (run, snap) = collect_to_file(&s.url(&db), &["--primary-url", &c.url(&db)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let snap = snap.expect("snapshot");
    assert_eq!(
        pgss_entries_on(&s, &db),
        before.0,
        "no new entry on the standby"
    );
    assert_eq!(
        pgss_entries(&db),
        primary_before,
        "no new entry on the primary"
    );
    assert!(snap.server.in_recovery);
    assert_eq!(snap.write_stats.source, WriteSource::Primary);
    let ow = snap
        .write_stats
        .table("public", "shop_order")
        .expect("shop_order writes");
    assert!(
        ow.n_tup_ins >= 150 && ow.n_tup_upd >= 150,
        "the replayed inserts and updates: {ow:?}"
    );
    assert!(
        snap.write_stats
            .statements
            .iter()
            .any(|st| st.query.starts_with("UPDATE \"shop_order\"")),
        "the primary's write statements"
    );
    // Issue 13: the primary's own statements are merged with the standby's, each tagged with
    // where it runs.
    let obs = snap.workload.observation.as_ref().expect("observation");
    assert_eq!(
        obs.primary_statements,
        idxadvise::model::PrimaryStatements::Merged
    );
    let update = snap
        .workload
        .statements
        .iter()
        .find(|st| st.query.starts_with("UPDATE \"shop_order\""))
        .expect("the primary's UPDATE is in the workload");
    assert_eq!(
        obs.runs_on(update.queryid),
        Some(idxadvise::model::RunsOn::Primary)
    );
    let read = snap
        .workload
        .statements
        .iter()
        .find(|st| {
            st.query
                .contains("SELECT \"shop_order\".\"id\", \"shop_order\".\"status\" FROM")
        })
        .expect("the standby's read");
    assert_eq!(read.calls, 4);
    assert_eq!(
        obs.runs_on(read.queryid),
        Some(idxadvise::model::RunsOn::Replica)
    );

    // Without the primary: no counters, and a clear warning.
    let (run, snap) = collect_to_file(&s.url(&db), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let snap = snap.expect("snapshot");
    assert_eq!(snap.write_stats.source, WriteSource::Unavailable);
    assert!(snap.write_stats.tables.is_empty());
    assert!(
        run.stderr
            .contains("warning: the server is a replica and no --primary-url was given")
            && run.stderr.contains("cannot be weighed"),
        "{}",
        run.stderr
    );

    // check on the standby: a replica, with the warning and its fix.
    let run = idxadvise(&["check", "--database-url", &s.url(&db)]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("on a replica (in recovery)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("WARNING  replica: write counters"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("fix: pass --primary-url"),
        "{}",
        run.stdout
    );
    let run = idxadvise(&[
        "check",
        "--database-url",
        &s.url(&db),
        "--primary-url",
        &c.url(&db),
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("write statistics will be read there"),
        "{}",
        run.stdout
    );
    s.stop();
}

#[test]
fn collect_library_api_returns_a_snapshot() {
    let c = cluster();
    let db = example_database("collect_api");
    replay_workload(&db);
    let config = idxadvise::config::CollectConfig {
        connection: idxadvise::config::ConnectionConfig::new(Some(c.url(&db)), None, "10s")
            .expect("config"),
        filter: idxadvise::config::WorkloadFilter::default(),
        window: idxadvise::collect::window::WindowOptions::none(),
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let snap = rt
        .block_on(idxadvise::collect::collect(&config))
        .expect("collect");
    assert!(!snap.workload.statements.is_empty());
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("s.json");
    idxadvise::collect::write_atomic(
        &p,
        idxadvise::collect::to_json(&snap).expect("json").as_bytes(),
    )
    .expect("write");
    let back = idxadvise::collect::load_snapshot(&p).expect("load");
    let (a, b) = (
        idxadvise::collect::to_json(&back).expect("json"),
        idxadvise::collect::to_json(&snap).expect("json"),
    );
    let diff: Vec<(&str, &str)> = a
        .lines()
        .zip(b.lines())
        .filter(|(x, y)| x != y)
        .take(3)
        .collect();
    assert!(
        diff.is_empty(),
        "a snapshot survives the file round trip: {diff:?}"
    );
}

mod inlist;
