//! Benchmark of a whole `analyze` at scale: `cargo run --release --example bench_scale`.
//!
//! Starts a throwaway PostgreSQL 15 cluster (the test harness) with `pg_stat_statements.max`
//! raised, creates a 500-table schema (2,000 rows a table), sends 10,000 distinct statements
//! (20 shapes a table: equality, pairs, ORDER BY … LIMIT, ranges, LIKE, and writes) through psql
//! so pg_stat_statements holds them, then runs `idxadvise analyze --out` in this process and
//! prints the wall time of each phase and the peak resident memory (VmHWM) of the process.
//! Target (issue 8): under 2 minutes and under 500 MB on the project's 2-core machine.
//! `BENCH_TABLES` changes the number of tables (20 statements each).
//!
//! `BENCH_MIN_BENEFIT` sets `--min-benefit` (default 0.5%, `analyze`'s own): every statement is
//! 0.01% of this uniform workload, so only `0` makes indexes worth it (the heaviest case).
//!
//! Measured (2026-11-26, release build, 2 cores shared): 10,000 entries, all analysed, 0 skipped;
//! 727,000 EXPLAINs. Default: 41 s, peak RSS 369 MB. `BENCH_MIN_BENEFIT=0`: 10 indexes, 52
//! files, 47 s, 369 MB. History: 1,108 MB with every plan of every value set cached, 750 MB
//! without plan texts, 561 MB slimming each answer as it arrived, 354 MB caching only the ranking
//! evaluation and no longer cloning outcomes to answer `evaluate` (369 MB once plan summaries
//! carried a ranking cost).

#![allow(clippy::print_stdout)]

#[allow(clippy::zombie_processes)] // the harness watchdog is meant to outlive its spawn
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use clap::Parser;

/// Peak and current resident memory of this process in kB (VmHWM, VmRSS).
fn memory_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn statements(t: usize) -> Vec<String> {
    let tb = format!("t{t:03}");
    let mut v = vec![];
    for col in ["a", "b", "c", "f"] {
        v.push(format!("SELECT * FROM {tb} WHERE {col} = 1;"));
    }
    v.push(format!("SELECT * FROM {tb} WHERE d = 'x';"));
    for (x, y) in [
        ("a", "b"),
        ("a", "c"),
        ("b", "c"),
        ("a", "f"),
        ("b", "f"),
        ("c", "f"),
    ] {
        v.push(format!("SELECT id FROM {tb} WHERE {x} = 1 AND {y} = 2;"));
    }
    for col in ["a", "b", "c", "f"] {
        v.push(format!(
            "SELECT id FROM {tb} WHERE {col} = 1 ORDER BY e DESC LIMIT 10;"
        ));
    }
    v.push(format!(
        "SELECT count(*) FROM {tb} WHERE e > now() - interval '1 day';"
    ));
    v.push(format!("SELECT id FROM {tb} WHERE d LIKE 'x%';"));
    v.push(format!("UPDATE {tb} SET b = b + 1 WHERE id = 5;"));
    v.push(format!(
        "INSERT INTO {tb} (a, b, c, d, e, f) VALUES (1, 2, 3, 'x', now(), 4);"
    ));
    v.push(format!("DELETE FROM {tb} WHERE id = -1;"));
    v
}

fn main() {
    let tables: usize = std::env::var("BENCH_TABLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    // Every statement is 0.01% of this uniform workload, so at the default 0.5% no index is
    // worth it; `0` takes every index that helps, the heaviest case for emit and plan diffs.
    let min_benefit = std::env::var("BENCH_MIN_BENEFIT").unwrap_or_else(|_| "0.5%".into());
    let t0 = Instant::now();
    let c = support::Cluster::start_primary(
        "pg_stat_statements.max = 20000\nmax_locks_per_transaction = 1024\n",
    );
    let db = c.create_database("bench_scale");
    let mut ddl = String::new();
    for t in 0..tables {
        ddl.push_str(&format!(
            "CREATE TABLE t{t:03} (id bigserial PRIMARY KEY, a int, b int, c int, d text, e timestamptz, f int);\n\
             INSERT INTO t{t:03} (a, b, c, d, e, f) SELECT g % 50, g % 200, g % 7, 'x' || (g % 300), now() - g * interval '1 hour', g % 1000 FROM generate_series(1, 2000) g;\n"
        ));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("schema.sql");
    std::fs::write(&f, ddl).expect("write schema");
    c.psql_file(&db, &f);
    c.psql(&db, "VACUUM ANALYZE");
    println!(
        "schema: {tables} tables, loaded in {:.1}s",
        t0.elapsed().as_secs_f64()
    );
    support::reset_statements(&c, &db);
    let t1 = Instant::now();
    let mut w = String::new();
    for t in 0..tables {
        for s in statements(t) {
            w.push_str(&s);
            w.push('\n');
        }
    }
    let f = dir.path().join("workload.sql");
    std::fs::write(&f, w).expect("write workload");
    c.psql_file(&db, &f);
    let entries = c.psql(
        "postgres",
        "SELECT count(*) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'bench_scale'",
    );
    println!(
        "workload: {} pg_stat_statements entries in {:.1}s",
        entries.trim(),
        t1.elapsed().as_secs_f64()
    );

    let out = dir.path().join("out");
    let url = c.url(&db);
    let (hwm_before, _) = memory_kb();
    let t2 = Instant::now();
    let cli = idxadvise::cli::Cli::parse_from([
        "idxadvise",
        "analyze",
        "--database-url",
        url.as_str(),
        "--out",
        out.to_str().expect("path"),
        "--min-benefit",
        min_benefit.as_str(),
        "--window",
        "0",
    ]);
    let mut stdout = Vec::new();
    let code = idxadvise::cli::run(cli, &mut stdout);
    let wall = t2.elapsed().as_secs_f64();
    let (hwm, rss) = memory_kb();
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("report.json")).unwrap_or_else(|_| "{}".into()),
    )
    .unwrap_or_default();
    println!(
        "analyze: exit {:?}, {:.1}s wall, peak RSS {:.0} MB (before analyze {:.0} MB, now {:.0} MB)",
        code.as_ref().map_err(|e| e.to_string()),
        wall,
        hwm as f64 / 1024.0,
        hwm_before as f64 / 1024.0,
        rss as f64 / 1024.0
    );
    println!(
        "report: {} statements, {} analysed, {} skipped, {} indexes, what-if {}",
        report["workload"]["statements"],
        report["workload"]["analysed"],
        report["workload"]["skipped"]
            .as_array()
            .map(|a| a.len())
            .unwrap_or(0),
        report["indexes"].as_array().map(|a| a.len()).unwrap_or(0),
        report["whatif"]
    );
    println!(
        "target: under 120 s and 500 MB: {}",
        if wall < 120.0 && hwm < 500 * 1024 {
            "met"
        } else {
            "NOT met"
        }
    );
    c.stop();
}
