//! Parse throughput: parses the hand-written Django corpus (tests/fixtures/django_texts.txt)
//! against the example shop catalog, then each real Django corpus
//! (tests/fixtures/django_corpus_<version>.json, the statements `collect` keeps) against its
//! catalog, repeatedly on one thread, and prints statements per second (sqlparser alone, parse,
//! parse + candidates).
//!
//! Run: `cargo run --release --example bench_parse [seconds]` (default 3 s per measurement).

use std::io::Write;
use std::time::{Duration, Instant};

use idxadvise::candidates::generate;
use idxadvise::collect::workload::exclusion;
use idxadvise::model::{Catalog, Statement};
use idxadvise::parse::parse_statement;

/// Nanoseconds this thread has been on a CPU (Linux `/proc/thread-self/schedstat`), so the
/// figure is per core even on a busy shared machine; `None` elsewhere.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Statements per second by wall clock and by CPU time of this thread.
fn rates(n: u64, wall: Duration, cpu0: Option<u64>) -> String {
    let wall_rate = n as f64 / wall.as_secs_f64();
    match (cpu0, cpu_ns()) {
        (Some(a), Some(b)) if b > a => format!(
            "{:.0} statements/s per CPU-second ({wall_rate:.0}/s wall clock)",
            n as f64 / ((b - a) as f64 / 1e9)
        ),
        _ => format!("{wall_rate:.0} statements/s (wall clock)"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3.0);
    let mut out = std::io::stdout().lock();
    let catalog: Catalog =
        serde_json::from_str(include_str!("../tests/fixtures/shop_catalog.json"))?;
    let texts: Vec<String> = include_str!("../tests/fixtures/django_texts.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    bench(&mut out, "hand-written corpus", &texts, &catalog, secs)?;

    // The real corpora, captured from Django by tests/django_corpus/capture.sh.
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let catalog: Catalog = serde_json::from_str(&std::fs::read_to_string(
        fixtures.join("django_corpus_catalog.json"),
    )?)?;
    let mut files: Vec<_> = std::fs::read_dir(&fixtures)?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| {
            n.strip_prefix("django_corpus_").is_some_and(|s| {
                s.starts_with(|c: char| c.is_ascii_digit()) && s.ends_with(".json")
            })
        })
        .collect();
    files.sort();
    for name in files {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(fixtures.join(&name))?)?;
        let texts: Vec<String> = v["statements"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s["query"].as_str())
                    .filter(|q| exclusion(q).is_none())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let label = format!(
            "real corpus, Django {} ({name}, statements collect keeps)",
            v["django"].as_str().unwrap_or("?")
        );
        bench(&mut out, &label, &texts, &catalog, secs)?;
    }
    Ok(())
}

fn bench(
    out: &mut impl Write,
    label: &str,
    texts: &[String],
    catalog: &Catalog,
    secs: f64,
) -> std::io::Result<()> {
    let statements: Vec<Statement> = texts
        .iter()
        .enumerate()
        .map(|(k, l)| Statement {
            queryid: k as i64,
            query: l.to_string(),
            calls: 1,
            total_time_ms: 0.0,
            mean_time_ms: 0.0,
            rows: 0,
            shared_blks_hit: 0,
            shared_blks_read: 0,
            stddev_time_ms: None,
        })
        .collect();
    let bytes: usize = statements.iter().map(|s| s.query.len()).sum();
    writeln!(
        out,
        "{label}: {} statements, mean {} bytes",
        statements.len(),
        bytes / statements.len().max(1)
    )?;
    {
        // The ceiling: sqlparser alone on the same texts.
        let dialect = sqlparser::dialect::PostgreSqlDialect {};
        let start = Instant::now();
        let cpu0 = cpu_ns();
        let mut n: u64 = 0;
        while start.elapsed() < Duration::from_secs_f64(secs) {
            for s in &statements {
                std::hint::black_box(
                    sqlparser::parser::Parser::parse_sql(&dialect, &s.query).is_ok(),
                );
                n += 1;
            }
        }
        writeln!(
            out,
            "  sqlparser alone: {}",
            rates(n, start.elapsed(), cpu0)
        )?;
    }
    for with_candidates in [false, true] {
        let budget = Duration::from_secs_f64(secs);
        let start = Instant::now();
        let cpu0 = cpu_ns();
        let mut n: u64 = 0;
        let mut shapes = 0u64;
        while start.elapsed() < budget {
            for s in &statements {
                if let Ok(shape) = parse_statement(s, catalog) {
                    shapes += 1;
                    if with_candidates {
                        std::hint::black_box(generate(std::slice::from_ref(&shape), catalog));
                    }
                    std::hint::black_box(shape);
                }
                n += 1;
            }
        }
        writeln!(
            out,
            "  {}: {} ({n} statements, {shapes} shapes, one thread)",
            if with_candidates {
                "parse + candidates"
            } else {
                "parse"
            },
            rates(n, start.elapsed(), cpu0),
        )?;
    }
    Ok(())
}
