//! Benchmark of the what-if engine: `cargo run --release --example bench_whatif`.
//!
//! Starts a throwaway PostgreSQL 15 cluster with the example shop (the test harness), generates
//! 1,000 distinct statements from the example workload's shapes, costs each under its baseline,
//! every single candidate on its tables and all of them together, with 1 and then 2 sessions,
//! and prints EXPLAIN calls per second, the cache hit rate of a second identical pass, and wall
//! times.

#![allow(clippy::print_stdout)]

#[allow(clippy::zombie_processes)] // the harness watchdog is meant to outlive its spawn
#[path = "../tests/support/mod.rs"]
mod support;

#[path = "../tests/it/whatif/fixtures.rs"]
mod fixtures;

use std::time::Instant;

use idxadvise::parse::shape::QueryShape;
use idxadvise::whatif::{Engine, Request, WhatIf};

const STATEMENTS: usize = 1000;

fn variants(base: &[QueryShape]) -> Vec<QueryShape> {
    (0..STATEMENTS)
        .map(|i| {
            let b = &base[i % base.len()];
            let mut s = b.clone();
            s.queryid = 1000 + i as i64;
            let table = &b.tables[0].table;
            let guard = format!(
                " WHERE {}.{} > -{} AND ",
                idxadvise::pg::quote::ident(table),
                idxadvise::pg::quote::ident("id"),
                i + 1
            );
            s.plan_text = b.plan_text.replacen(" WHERE ", &guard, 1);
            s
        })
        .collect()
}

fn requests(shapes: &[QueryShape], cands: &idxadvise::candidates::CandidateSet) -> Vec<Request> {
    let mut out = vec![];
    for s in shapes {
        let on: Vec<usize> = cands
            .candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| s.tables.iter().any(|t| t.table == c.spec.table))
            .map(|(i, _)| i)
            .collect();
        out.push(Request {
            queryid: s.queryid,
            config: vec![],
        });
        for &c in &on {
            out.push(Request {
                queryid: s.queryid,
                config: vec![c],
            });
        }
        out.push(Request {
            queryid: s.queryid,
            config: on.clone(),
        });
    }
    out
}

fn main() {
    let db = support::example_database("bench_whatif");
    let url = support::cluster().url(&db);
    let rt = fixtures::rt();
    let catalog = rt.block_on(fixtures::load_catalog(&url));
    let server = rt.block_on(fixtures::load_server(&url));
    let shapes = variants(&fixtures::shapes());
    let cands = fixtures::candidates();
    let reqs = requests(&shapes, &cands);
    println!(
        "{} statements, {} candidates, {} requests (baseline, each candidate, all together)",
        shapes.len(),
        cands.candidates.len(),
        reqs.len()
    );
    for generic in [false, true] {
        for n in [1, 2] {
            let mut opts = fixtures::options(&url, n);
            opts.generic = generic;
            rt.block_on(async {
                let mut e = Engine::new(opts, &server, &catalog, &shapes, &cands).await.expect("engine");
                let t = Instant::now();
                let out = e.evaluate(&reqs).await.expect("evaluate");
                let wall = t.elapsed().as_secs_f64();
                let first = e.counters();
                let skipped = out.iter().filter(|r| r.is_err()).count();
                let t2 = Instant::now();
                e.evaluate(&reqs).await.expect("evaluate again");
                let wall2 = t2.elapsed().as_secs_f64();
                let c = e.counters();
                println!(
                    "generic plans {:5} | {} connection(s): {:>6} EXPLAINs in {:>6.2} s = {:>7.0} EXPLAINs/s ({:.0} evaluations/s, {} skipped) | second pass {:.3} s, cache hit rate {:.1}% overall ({} lookups, {} hits)",
                    generic,
                    n,
                    first.explains,
                    wall,
                    first.explains as f64 / wall,
                    reqs.len() as f64 / wall,
                    skipped,
                    wall2,
                    100.0 * c.cache_hits as f64 / c.lookups as f64,
                    c.lookups,
                    c.cache_hits
                );
                e.close().await.expect("close");
            });
        }
    }
}
