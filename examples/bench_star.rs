//! Analytical (star schema) benchmark of index selection: idxadvise against a per-query
//! single-column advisor, on TPC-DS SF1 (about 1 GB), with the indexes built for real.
//!
//! Prepare the data and queries first: `examples/tpcds/prepare.sh` (default `target/tpcds`).
//! Then `cargo run --release --example bench_star [DIR]`. What it does:
//! 1. starts a throwaway cluster (tests/support), loads the 24 tables with their primary keys,
//!    `VACUUM ANALYZE`;
//! 2. runs the 99 queries once each with pg_stat_statements on, under a `statement_timeout`
//!    (`STAR_TIMEOUT_S`, default 20 s); a query that fails or times out is dropped and said so;
//!    the others are the workload (pg_stat_statements holds their normalised texts, as for a
//!    user);
//! 3. idxadvise: `collect` → `parse` → `candidates` → what-if (HypoPG) → `select`, the stages
//!    of `analyze` through the library, default options except the budget (the per-query
//!    advisor's real size) and the caps on index counts (off: the budget is the limit); and a
//!    second selection with the per-index minimum net benefit at 0 (same engine, cached costs);
//! 4. the per-query single-column advisor (Dexter-like baseline): for each query of the
//!    workload, every column it uses in a predicate (equality, range, IS [NOT] NULL, LIKE
//!    prefix, join) that is not already the leading column of an existing index is tried
//!    alone as a hypothetical single-column B-tree; the one giving the query its lowest planner
//!    cost is kept if it lowers it by at least 1%; the union over all queries is the advice;
//! 5. real relative cost: each set is built with `CREATE INDEX`, `ANALYZE`, and the Σ planner
//!    total cost of the literal queries with the indexes ÷ without; real sizes from
//!    `pg_relation_size`.
//!
//! Prints both side by side, with index counts, sizes, idxadvise's EXPLAIN count and time.
#![allow(clippy::print_stdout)]

#[allow(clippy::zombie_processes)] // the watchdog outlives us on purpose
#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use idxadvise::candidates::CandidateSet;
use idxadvise::config::{
    CollectConfig, ConnectionConfig, MinBenefit, StorageBudget, WorkloadFilter,
};
use idxadvise::model::{Catalog, IndexKey, IndexSpec, Statement};
use idxadvise::pg::ConnectOptions;
use idxadvise::select::{select, SelectInput, SelectOptions};
use idxadvise::whatif::{Engine, EngineOptions, WhatIf};
use tokio_postgres::{Client, NoTls};

type BoxError = Box<dyn std::error::Error>;

/// Least improvement for the per-query advisor to keep its best index for a query.
const BASELINE_MIN_GAIN: f64 = 0.01;

async fn connect(url: &str) -> Result<Client, BoxError> {
    let (c, conn) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(conn);
    Ok(c)
}

async fn plan_cost(client: &Client, text: &str) -> Result<f64, tokio_postgres::Error> {
    let row = client
        .query_one(&format!("EXPLAIN (FORMAT JSON) {text}"), &[])
        .await?;
    let v: serde_json::Value = row.get(0);
    Ok(v[0]["Plan"]["Total Cost"].as_f64().unwrap_or(f64::NAN))
}

/// Table names of schema.sql, in order.
fn tables(schema: &str) -> Vec<String> {
    schema
        .lines()
        .filter_map(|l| l.strip_prefix("CREATE TABLE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Built indexes: (spec, name, real bytes).
struct Built {
    indexes: Vec<(IndexSpec, String, i64)>,
}

impl Built {
    fn bytes(&self) -> i64 {
        self.indexes.iter().map(|i| i.2).sum()
    }
}

async fn build(client: &Client, specs: &[IndexSpec], tag: &str) -> Result<Built, BoxError> {
    let mut indexes = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let name = format!("{tag}_{i}");
        client.batch_execute(&s.create_sql(&name, false)).await?;
        let row = client
            .query_one(
                "SELECT pg_relation_size(to_regclass($1))::bigint",
                &[&idxadvise::pg::quote::ident(&name)],
            )
            .await?;
        indexes.push((s.clone(), name, row.get::<_, i64>(0)));
    }
    client.batch_execute("ANALYZE").await?;
    Ok(Built { indexes })
}

async fn drop_all(client: &Client, built: &Built) -> Result<(), BoxError> {
    for (_, name, _) in &built.indexes {
        client
            .batch_execute(&format!("DROP INDEX {}", idxadvise::pg::quote::ident(name)))
            .await?;
    }
    Ok(())
}

/// Σ planner cost of the workload, and per query.
async fn workload_cost(
    client: &Client,
    queries: &[(u32, String)],
) -> Result<(f64, BTreeMap<u32, f64>), BoxError> {
    let mut per = BTreeMap::new();
    for (n, text) in queries {
        per.insert(*n, plan_cost(client, text).await?);
    }
    Ok((per.values().sum(), per))
}

/// The per-query single-column advisor (see the module header).
async fn per_query_advisor(
    client: &Client,
    queries: &[(u32, String)],
    catalog: &Catalog,
    base: &BTreeMap<u32, f64>,
) -> Result<(Vec<IndexSpec>, usize, usize), BoxError> {
    let mut chosen: BTreeSet<IndexSpec> = BTreeSet::new();
    let (mut explains, mut unparsed) = (0, 0);
    for (n, text) in queries {
        let stmt = Statement {
            queryid: *n as i64,
            query: text.clone(),
            calls: 1,
            total_time_ms: 1.0,
            mean_time_ms: 1.0,
            rows: 1,
            shared_blks_hit: 0,
            shared_blks_read: 0,
            stddev_time_ms: None,
        };
        let shape = match idxadvise::parse::parse_statement(&stmt, catalog) {
            Ok(s) => s,
            Err(_) => {
                unparsed += 1;
                continue;
            }
        };
        let mut cols: BTreeSet<(String, String, String)> = BTreeSet::new();
        for a in &shape.tables {
            let Some(t) = catalog.table(&a.schema, &a.table) else {
                continue;
            };
            let used = a
                .equality
                .iter()
                .chain(&a.ranges)
                .chain(&a.join_columns)
                .chain(a.null_tests.iter().map(|(c, _)| c))
                .chain(a.likes.iter().filter(|l| l.prefix).map(|l| &l.column));
            for c in used {
                let led = t.indexes.iter().any(|i| {
                    i.valid
                        && i.predicate.is_none()
                        && i.keys
                            .first()
                            .is_some_and(|k| !k.is_expression && k.expr == *c)
                });
                if !led && t.column(c).is_some() {
                    cols.insert((a.schema.clone(), a.table.clone(), c.clone()));
                }
            }
        }
        let before = base[n];
        let mut best: Option<(f64, IndexSpec)> = None;
        for (schema, table, c) in cols {
            let spec = IndexSpec::on(&schema, &table, vec![IndexKey::col(&c)]);
            client
                .query_one(
                    "SELECT indexrelid FROM hypopg_create_index($1)",
                    &[&spec.hypothetical_sql()],
                )
                .await?;
            let cost = plan_cost(client, text).await?;
            explains += 1;
            client.batch_execute("SELECT hypopg_reset()").await?;
            if best.as_ref().is_none_or(|(b, _)| cost < *b) {
                best = Some((cost, spec));
            }
        }
        if let Some((cost, spec)) = best {
            if cost < before * (1.0 - BASELINE_MIN_GAIN) {
                chosen.insert(spec);
            }
        }
    }
    Ok((chosen.into_iter().collect(), explains, unparsed))
}

fn mib(b: i64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn print_set(title: &str, built: &Built) {
    println!(
        "{title}: {} indexes, {:.1} MiB",
        built.indexes.len(),
        mib(built.bytes())
    );
    for (s, _, b) in &built.indexes {
        println!("  {} ({:.1} MiB)", s.label(), mib(*b));
    }
}

async fn load(client: &Client, dir: &Path) -> Result<Vec<String>, BoxError> {
    let schema = std::fs::read_to_string(dir.join("schema.sql"))?;
    client.batch_execute(&schema).await?;
    let names = tables(&schema);
    for t in &names {
        let path = dir.join(format!("data/{t}.dat"));
        if !path.exists() {
            continue;
        }
        let path = path.canonicalize()?;
        client
            .batch_execute(&format!(
                "COPY {t} FROM {} WITH (FORMAT text, DELIMITER '|', NULL '', ENCODING 'LATIN1')",
                idxadvise::pg::quote::literal(&path.display().to_string())
            ))
            .await?;
    }
    client.batch_execute("VACUUM ANALYZE").await?;
    Ok(names)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| support::repo_root().join("target/tpcds"));
    if !dir.join("data/store_sales.dat").exists() {
        return Err(format!(
            "no TPC-DS data in {} (run examples/tpcds/prepare.sh first)",
            dir.display()
        )
        .into());
    }
    let timeout_s: u64 = std::env::var("STAR_TIMEOUT_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let cluster = support::cluster();
    let db = cluster.create_database("bench_star");
    let url = cluster.url(&db);
    let admin = connect(&url).await?;
    let t0 = Instant::now();
    load(&admin, &dir).await?;
    let db_bytes: i64 = admin
        .query_one("SELECT pg_database_size(current_database())", &[])
        .await?
        .get(0);
    eprintln!(
        "loaded and analysed in {:.1} s ({:.0} MiB)",
        t0.elapsed().as_secs_f64(),
        mib(db_bytes)
    );

    // The workload, run once with pg_stat_statements on.
    support::reset_statements(cluster, &db);
    let runner = connect(&url).await?;
    runner
        .batch_execute(&format!("SET statement_timeout = '{timeout_s}s'"))
        .await?;
    let mut queries: Vec<(u32, String)> = Vec::new();
    let mut dropped: Vec<(u32, String)> = Vec::new();
    let mut run_ms: BTreeMap<u32, f64> = BTreeMap::new();
    let t1 = Instant::now();
    for n in 1..=99u32 {
        let path = dir.join(format!("queries/{n}.sql"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            dropped.push((n, "no query file".into()));
            continue;
        };
        let text = text.trim().trim_end_matches(';').to_string();
        let t = Instant::now();
        match runner.simple_query(&text).await {
            Ok(_) => {
                run_ms.insert(n, t.elapsed().as_secs_f64() * 1000.0);
                queries.push((n, text));
            }
            Err(e) => {
                let msg = e
                    .as_db_error()
                    .map(|d| d.message().to_string())
                    .unwrap_or_else(|| e.to_string());
                eprintln!("Q{n}: dropped: {msg}");
                dropped.push((n, msg));
            }
        }
    }
    let total_ms: f64 = run_ms.values().sum();
    let max_share = run_ms.values().fold(0.0f64, |m, v| m.max(*v)) / total_ms.max(1e-9);
    eprintln!(
        "workload: {} queries ran in {:.1} s, {} dropped",
        queries.len(),
        t1.elapsed().as_secs_f64(),
        dropped.len()
    );
    drop(runner);

    // idxadvise's collect, as a user runs it.
    let target = ConnectOptions {
        url: Some(url.clone()),
        ..Default::default()
    };
    let snapshot = idxadvise::collect::collect(&CollectConfig {
        connection: ConnectionConfig {
            target: target.clone(),
            primary: None,
        },
        filter: WorkloadFilter::default(),
        window: idxadvise::collect::window::WindowOptions::none(),
    })
    .await?;

    // Baseline cost and the per-query advisor.
    let (base_total, base_per) = workload_cost(&admin, &queries).await?;
    let t2 = Instant::now();
    let (pq_specs, pq_explains, pq_unparsed) =
        per_query_advisor(&admin, &queries, &snapshot.catalog, &base_per).await?;
    let pq_secs = t2.elapsed().as_secs_f64();
    let pq = build(&admin, &pq_specs, "pq").await?;
    let (pq_total, pq_per) = workload_cost(&admin, &queries).await?;
    drop_all(&admin, &pq).await?;
    admin.batch_execute("ANALYZE").await?;
    let budget = pq.bytes();
    eprintln!(
        "per-query advisor: {} indexes, {:.1} MiB real, relative cost {:.3}",
        pq.indexes.len(),
        mib(budget),
        pq_total / base_total
    );

    // idxadvise: parse → candidates → what-if → select.
    let mut observed = snapshot.observed.clone();
    let (shapes, parse_skipped) =
        idxadvise::parse::parse_workload(&snapshot.workload, &snapshot.catalog);
    idxadvise::whatif::rows_per_call::add_inferred(
        &mut observed,
        &shapes,
        &snapshot.workload,
        &snapshot.catalog,
    );
    let cands: CandidateSet = idxadvise::candidates::generate(&shapes, &snapshot.catalog);
    let sizes: Vec<i64> = cands
        .candidates
        .iter()
        .map(|c| idxadvise::whatif::estimate_index_size(&c.spec, &snapshot.catalog))
        .collect::<Result<_, _>>()?;
    let t3 = Instant::now();
    let mut engine = Engine::new(
        EngineOptions {
            connect: target.clone(),
            progress: false,
            lean_cache: true,
            ..Default::default()
        },
        &snapshot.server,
        &snapshot.catalog,
        &shapes,
        &cands,
    )
    .await?;
    engine.set_observed(std::sync::Arc::new(observed));
    let mut opts = SelectOptions {
        budget: StorageBudget::Bytes(budget),
        max_indexes: 1000,
        max_per_table: 1000,
        ..SelectOptions::default()
    };
    opts.can_hide = engine.can_hide();
    let input = SelectInput {
        shapes: &shapes,
        candidates: &cands,
        snapshot: &snapshot,
        sizes: &sizes,
    };
    let rec = select(input, &opts, &mut engine).await?;
    let c1 = engine.counters();
    let secs1 = t3.elapsed().as_secs_f64();
    let opts0 = SelectOptions {
        min_benefit: MinBenefit::new(0.0)?,
        ..opts.clone()
    };
    let input = SelectInput {
        shapes: &shapes,
        candidates: &cands,
        snapshot: &snapshot,
        sizes: &sizes,
    };
    let rec0 = select(input, &opts0, &mut engine).await?;
    let c0 = engine.counters();
    engine.close().await?;

    // Which query each pg_stat_statements entry is (matched by shape, as observation does).
    let index = idxadvise::parse::literals::ShapeIndex::new(&snapshot.workload);
    let query_of: BTreeMap<i64, u32> = queries
        .iter()
        .filter_map(|(n, text)| index.match_text(text, None, false).map(|m| (m.queryid, *n)))
        .collect();
    let mut skipped: BTreeMap<u32, String> = BTreeMap::new();
    for s in parse_skipped.iter().chain(&rec.skipped) {
        let q = query_of.get(&s.queryid).copied().unwrap_or(0);
        let detail: String = s.detail.chars().take(90).collect();
        skipped
            .entry(q)
            .or_insert_with(|| format!("{:?}: {detail}", s.reason));
    }
    let interval_skips = skipped
        .keys()
        .filter(|q| {
            query_of
                .iter()
                .find(|(_, n)| *n == *q)
                .and_then(|(id, _)| snapshot.workload.get(*id))
                .is_some_and(|st| st.query.contains("interval $"))
        })
        .count();

    let specs_of = |r: &idxadvise::select::Recommendation| -> Vec<IndexSpec> {
        r.create.iter().map(|p| p.spec.clone()).collect()
    };
    let ia = build(&admin, &specs_of(&rec), "ia").await?;
    let (ia_total, ia_per) = workload_cost(&admin, &queries).await?;
    drop_all(&admin, &ia).await?;
    let ia0 = build(&admin, &specs_of(&rec0), "ib").await?;
    let (ia0_total, ia0_per) = workload_cost(&admin, &queries).await?;
    drop_all(&admin, &ia0).await?;

    println!(
        "TPC-DS SF1 ({:.0} MiB database), PostgreSQL {} + HypoPG, max_parallel_workers_per_gather default",
        mib(db_bytes),
        support::pg_major()
    );
    println!(
        "workload: {} of 99 queries (statement_timeout {timeout_s} s), run once each in {:.1} s; largest share of time {:.1}%",
        queries.len(),
        total_ms / 1000.0,
        100.0 * max_share
    );
    for (n, why) in &dropped {
        println!("  dropped Q{n}: {why}");
    }
    println!(
        "pg_stat_statements statements seen by idxadvise: {} ({} matched to their query); parsed {}; not planned by idxadvise: {} ({} with `interval $n`)",
        snapshot.workload.statements.len(),
        query_of.len(),
        shapes.len(),
        skipped.len(),
        interval_skips
    );
    for (q, why) in &skipped {
        println!("  not planned Q{q}: {why}");
    }
    println!(
        "idxadvise: {} candidates; selection {} EXPLAINs in {:.1} s ({} more for the 0% run)",
        cands.candidates.len(),
        c1.explains,
        secs1,
        c0.explains - c1.explains
    );
    println!(
        "per-query advisor: {pq_explains} EXPLAINs in {pq_secs:.1} s ({pq_unparsed} queries it could not parse)"
    );
    println!();
    println!("| advisor | indexes | real size MiB | relative cost (real) |");
    println!("|---|---|---|---|");
    for (name, b, total) in [
        ("per-query single-column", &pq, pq_total),
        ("idxadvise (default 0.5% min benefit)", &ia, ia_total),
        ("idxadvise (0% min benefit)", &ia0, ia0_total),
    ] {
        println!(
            "| {name} | {} | {:.1} | {:.3} |",
            b.indexes.len(),
            mib(b.bytes()),
            total / base_total
        );
    }
    println!(
        "budget: {:.1} MiB (the per-query advisor's real size)",
        mib(budget)
    );
    // The same measure over the statements idxadvise could plan: what its candidates and
    // selection make of what it sees.
    let planned: Vec<u32> = queries
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| !skipped.contains_key(n))
        .collect();
    let sub = |per: &BTreeMap<u32, f64>| -> f64 {
        planned.iter().map(|n| per[n]).sum::<f64>()
            / planned.iter().map(|n| base_per[n]).sum::<f64>()
    };
    println!(
        "over the {} statements idxadvise plans: per-query {:.3}, idxadvise {:.3}, idxadvise 0% {:.3}",
        planned.len(),
        sub(&pq_per),
        sub(&ia_per),
        sub(&ia0_per)
    );
    // Were the per-query advisor's indexes idxadvise candidates, and by which rules?
    println!();
    println!("per-query advisor's indexes among idxadvise's candidates:");
    for s in &pq_specs {
        let found = cands.candidates.iter().find(|c| c.spec == *s);
        let rules: BTreeSet<String> = found
            .map(|c| c.sources.iter().map(|x| format!("{:?}", x.rule)).collect())
            .unwrap_or_default();
        println!(
            "  {}: {}",
            s.label(),
            if found.is_some() {
                format!(
                    "candidate ({})",
                    rules.into_iter().collect::<Vec<_>>().join(", ")
                )
            } else {
                "not a candidate".to_string()
            }
        );
    }
    println!();
    print_set("per-query advisor", &pq);
    print_set("idxadvise", &ia);
    print_set("idxadvise (0%)", &ia0);
    println!();
    println!("| query | share of run time % | base cost | per-query | idxadvise | idxadvise 0% |");
    println!("|---|---|---|---|---|---|");
    for (n, _) in &queries {
        println!(
            "| Q{n} | {:.1} | {:.0} | {:.3} | {:.3} | {:.3} |",
            100.0 * run_ms[n] / total_ms.max(1e-9),
            base_per[n],
            pq_per[n] / base_per[n],
            ia_per[n] / base_per[n],
            ia0_per[n] / base_per[n]
        );
    }
    cluster.stop();
    Ok(())
}
