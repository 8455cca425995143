//! Issue 14: every recommended index earns its place, nothing redundant, and a limit never hides
//! a cheap win — on the planner's answers (HypoPG on the test cluster), not a fake.
//!
//! The property test builds random schemas (1–2 tables, 3–5 integer columns of random
//! cardinality) and random workloads (equality lookups, with ORDER BY … LIMIT, ranges, counts),
//! runs selection, and checks the chosen set with its own leave-one-out, costed afresh through
//! the engine: no index whose absence leaves the workload no dearer, no redundant pair (one's keys
//! leading the other's) unless both pay, each statement credited once and only when at least
//! `--min-improvement` cheaper.

use std::process::Command;

use idxadvise::config::{CollectConfig, ConnectionConfig, StorageBudget, WorkloadFilter};
use idxadvise::cost::ReadUnit;
use idxadvise::model::Snapshot;
use idxadvise::select::prune::covered_by;
use idxadvise::select::{select, SelectInput, SelectOptions};
use idxadvise::whatif::{estimate_index_size, Engine, EngineOptions, Request, WhatIf};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::support::{cluster, reset_statements};

#[derive(Debug, Clone)]
struct TableDef {
    rows: u32,
    /// Distinct values per column `c0…`.
    distinct: Vec<u32>,
}

#[derive(Debug, Clone)]
struct QueryDef {
    table: usize,
    kind: u8,
    eq: usize,
    other: usize,
    calls: u8,
}

#[derive(Debug, Clone)]
struct Case {
    tables: Vec<TableDef>,
    queries: Vec<QueryDef>,
}

fn case() -> impl Strategy<Value = Case> {
    let table = (
        4_000u32..20_000,
        prop::collection::vec(
            prop::sample::select(vec![2u32, 10, 100, 1000, 100_000]),
            3..6,
        ),
    )
        .prop_map(|(rows, distinct)| TableDef { rows, distinct });
    let query = (0usize..2, 0u8..4, 0usize..5, 0usize..5, 2u8..12).prop_map(
        |(table, kind, eq, other, calls)| QueryDef {
            table,
            kind,
            eq,
            other,
            calls,
        },
    );
    (
        prop::collection::vec(table, 1..3),
        prop::collection::vec(query, 3..9),
    )
        .prop_map(|(tables, queries)| Case { tables, queries })
}

/// Create the case's tables and data (deterministic: values from `hashint4`), then run its
/// workload so pg_stat_statements holds it.
fn load(db: &str, c: &Case) {
    let cl = cluster();
    let mut sql = String::new();
    for (t, def) in c.tables.iter().enumerate() {
        let cols: Vec<String> = (0..def.distinct.len())
            .map(|k| format!("c{k} int NOT NULL"))
            .collect();
        let vals: Vec<String> = def
            .distinct
            .iter()
            .enumerate()
            .map(|(k, d)| format!("abs(hashint4(g * {} + {k})) % {d}", 7 + k))
            .collect();
        sql.push_str(&format!(
            "CREATE TABLE t{t} (id int PRIMARY KEY, {}); INSERT INTO t{t} SELECT g, {} FROM generate_series(1, {}) g; ",
            cols.join(", "),
            vals.join(", "),
            def.rows
        ));
    }
    cl.psql(db, &sql);
    cl.psql(db, "VACUUM ANALYZE");
    reset_statements(cl, db);
    let mut work = String::new();
    for q in &c.queries {
        let t = q.table % c.tables.len();
        let def = &c.tables[t];
        let n = def.distinct.len();
        let (e, o) = (q.eq % n, q.other % n);
        for i in 0..q.calls as u32 {
            let v = (i * 37 + 3) % def.distinct[e];
            let w = (i * 11) % def.distinct[o].max(1);
            work.push_str(&match q.kind {
                0 => format!("SELECT id, c{o} FROM t{t} WHERE c{e} = {v};"),
                1 => format!("SELECT id FROM t{t} WHERE c{e} = {v} ORDER BY c{o} DESC LIMIT 10;"),
                2 => format!("SELECT id FROM t{t} WHERE c{e} = {v} AND c{o} > {w};"),
                _ => format!("SELECT count(*) FROM t{t} WHERE c{e} = {v};"),
            });
        }
    }
    cl.psql(db, &work);
}

/// Σ over statements of calls × cost saved, a saving under `min_improvement` counting zero (the
/// selection's objective in planner-cost units, computed here from fresh engine answers).
fn objective(costs: &[(f64, f64, f64)], min_improvement: f64) -> f64 {
    costs
        .iter()
        .map(|&(calls, base, cost)| {
            let saved = base - cost;
            if saved >= 0.0 && saved < min_improvement * base {
                0.0
            } else {
                calls * saved
            }
        })
        .sum()
}

fn check_case(n: usize, c: &Case) -> Result<(), TestCaseError> {
    let db = cluster().create_database(&format!("select_earns_{n}"));
    load(&db, c);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let config = CollectConfig {
        connection: ConnectionConfig::new(Some(cluster().url(&db)), None, "10s").expect("config"),
        filter: WorkloadFilter::default(),
        window: idxadvise::collect::window::WindowOptions::none(),
    };
    let snap: Snapshot = rt
        .block_on(idxadvise::collect::collect(&config))
        .expect("collect");
    let (shapes, _) = idxadvise::parse::parse_workload(&snap.workload, &snap.catalog);
    let cands = idxadvise::candidates::generate(&shapes, &snap.catalog);
    let sizes: Vec<i64> = cands
        .candidates
        .iter()
        .map(|c| estimate_index_size(&c.spec, &snap.catalog).expect("B-tree"))
        .collect();
    let opts = SelectOptions {
        unit: ReadUnit::Cost,
        budget: StorageBudget::Bytes(1 << 30),
        ..SelectOptions::default()
    };
    let min_imp = opts.min_improvement.share();
    rt.block_on(async {
        let eopts = EngineOptions {
            connect: config.connection.target.clone(),
            connections: 1,
            progress: false,
            ..EngineOptions::default()
        };
        let mut engine = Engine::new(eopts, &snap.server, &snap.catalog, &shapes, &cands)
            .await
            .expect("engine");
        let rec = select(
            SelectInput {
                shapes: &shapes,
                candidates: &cands,
                snapshot: &snap,
                sizes: &sizes,
            },
            &opts,
            &mut engine,
        )
        .await
        .expect("select");
        let set: Vec<usize> = rec.create.iter().map(|p| p.candidate).collect();
        // Fresh costs of every statement under the set and under the set without each index.
        let mut configs: Vec<Vec<usize>> = vec![vec![], set.clone()];
        for &c in &set {
            configs.push(set.iter().copied().filter(|&x| x != c).collect());
        }
        let mut costs: Vec<Vec<(f64, f64, f64)>> = vec![vec![]; configs.len()];
        for sh in &shapes {
            let Some(st) = snap.workload.get(sh.queryid) else {
                continue;
            };
            let reqs: Vec<Request> = configs
                .iter()
                .map(|cfg| Request {
                    queryid: sh.queryid,
                    config: cfg.clone(),
                })
                .collect();
            let answers = engine.evaluate(&reqs).await.expect("evaluate");
            let Ok(base) = &answers[0] else {
                continue;
            };
            for (k, a) in answers.iter().enumerate() {
                let cost = a.as_ref().map(|e| e.cost).unwrap_or(base.cost);
                costs[k].push((st.calls as f64, base.cost, cost));
            }
        }
        engine.close().await.ok();
        let with = objective(&costs[1], min_imp);
        let mut loss = Vec::new();
        for (i, p) in rec.create.iter().enumerate() {
            let without = objective(&costs[2 + i], min_imp);
            prop_assert!(
                with - without > 0.0,
                "case {n}: leaving {} out costs nothing ({with} vs {without}); {rec:#?}",
                p.spec.label()
            );
            prop_assert!(
                !p.helps.is_empty(),
                "case {n}: {} helps nothing",
                p.spec.label()
            );
            for h in &p.helps {
                prop_assert!(
                    h.before_cost - h.after_cost >= min_imp * h.before_cost,
                    "case {n}: {} credited with {h:?} under the minimum improvement",
                    p.spec.label()
                );
            }
            loss.push(with - without);
        }
        let skip = snap.server.has_btree_skip_scan();
        for (i, a) in rec.create.iter().enumerate() {
            for (j, b) in rec.create.iter().enumerate() {
                if i != j && covered_by(&a.spec, &b.spec, skip) {
                    prop_assert!(
                        loss[i] > 0.0 && loss[j] > 0.0,
                        "case {n}: redundant pair {} / {} without both paying",
                        a.spec.label(),
                        b.spec.label()
                    );
                }
            }
        }
        let mut credited: Vec<i64> = rec
            .create
            .iter()
            .flat_map(|p| p.helps.iter().map(|h| h.queryid))
            .collect();
        let all = credited.len();
        credited.sort_unstable();
        credited.dedup();
        prop_assert_eq!(
            credited.len(),
            all,
            "case {}: a statement credited twice",
            n
        );
        Ok(())
    })?;
    cluster().psql("postgres", &format!("DROP DATABASE {db} WITH (FORCE)"));
    Ok(())
}

#[test]
fn r14_random_workloads_on_random_schemas_recommend_only_indexes_that_earn_their_place() {
    let mut runner = TestRunner::new(Config {
        cases: 12,
        failure_persistence: None,
        max_shrink_iters: 8,
        ..Config::default()
    });
    let counter = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&case(), |c| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            check_case(n, &c)
        })
        .expect("property holds");
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_idxadvise"));
    c.env_remove("DATABASE_URL");
    // The cumulative counters at once: only the window tests watch (with --window).
    c.env("IDXADVISE_WINDOW", "0");
    c
}

/// An 11 MB database (by `pg_database_size`) whose statement is a sequential scan that a
/// 1.1 MiB index on `b` removes: recommended at the default settings. Under a budget that
/// binds, triage says "left out by a limit" with the option to raise, never "no index helps".
#[test]
fn r14_a_small_index_on_a_small_database_is_recommended_and_a_binding_budget_says_so() {
    let cl = cluster();
    let db = cl.create_database("select_earns_small_db");
    cl.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY, a int NOT NULL, b int NOT NULL);
         INSERT INTO t SELECT g, g % 7, abs(hashint4(g)) % 1000000 FROM generate_series(1, 50000) g;",
    );
    cl.psql(&db, "VACUUM ANALYZE t");
    reset_statements(cl, &db);
    let work: String = (0..40)
        .map(|i| format!("SELECT id, a, b FROM t WHERE b = {};", i * 7919 % 1_000_000))
        .collect();
    cl.psql(&db, &work);
    let size: i64 = cl
        .psql(&db, "SELECT pg_database_size(current_database())")
        .trim()
        .parse()
        .expect("size");
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut run = 0;
    let mut analyze = |extra: &[&str]| -> serde_json::Value {
        run += 1;
        let o = bin()
            .args(["analyze", "--quiet", "--format", "json", "--database-url"])
            .arg(cl.url(&db))
            .arg("--out")
            .arg(tmp.path().join(format!("out{run}")))
            .args(extra)
            .output()
            .expect("run analyze");
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{stdout}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_str(&stdout).expect("json report")
    };
    let r = analyze(&[]);
    let limits = &r["limits"];
    assert_eq!(limits["database_bytes"].as_i64(), Some(size), "{limits}");
    assert!(
        limits["budget_rule"]
            .as_str()
            .is_some_and(|s| s.contains("pg_database_size")),
        "{limits}"
    );
    let sqls: Vec<&str> = r["indexes"]
        .as_array()
        .expect("indexes")
        .iter()
        .filter_map(|i| i["sql"].as_str())
        .collect();
    assert!(
        sqls.iter().any(|s| s.contains("(\"b\")")),
        "the (b) index is recommended at the default settings: {sqls:?}"
    );
    // A budget that binds: the statement is left out by it, and triage says how to raise it.
    let r = analyze(&["--budget", "64kB"]);
    assert!(r["indexes"].as_array().expect("indexes").is_empty(), "{r}");
    let entries = r["triage"]["entries"].as_array().expect("entries");
    let scan = entries
        .iter()
        .find(|e| e["calls"].as_i64() == Some(40))
        .expect("the statement");
    assert_eq!(scan["verdict"], "left_out_by_limit", "{scan}");
    let evidence = scan["evidence"].as_str().expect("evidence");
    assert!(
        evidence.contains("the budget") && evidence.contains("--budget"),
        "{evidence}"
    );
    assert_eq!(r["left_out"][0]["limit"], "budget", "{}", r["left_out"]);
    assert!(
        !r["triage"]["shares"]
            .as_array()
            .expect("shares")
            .iter()
            .any(|s| s[0] == "no_index_helps"),
        "{}",
        r["triage"]["shares"]
    );
}
