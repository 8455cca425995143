//! Prediction accuracy, release to release: `cargo run --release --example bench_verify`.
//!
//! The whole loop on the bundled example in a throwaway cluster (src/sandbox.rs): load the shop
//! (src/demo.rs `prepare`) and replay its API workload, `analyze` (no observation window), apply the generated
//! indexes.sql (each statement on its own), replay the workload again without
//! resetting pg_stat_statements (`BENCH_ROUNDS` times, default 1), `verify`; then print, per
//! statement, the predicted and the measured speedup, and per index the estimated and real size.
//! `BENCH_HOT_VALUES` passes one `--hot-values` (e.g. `shop_order.status=pending`, what the
//! example's pending-orders page always asks for).
//! Not a test: timings vary from machine to machine; the direction and the order of magnitude
//! are what to track.

#![allow(clippy::print_stdout)]

use idxadvise::analyze::{OutputFormat, Source};
use idxadvise::demo::{prepare, Example};
use idxadvise::sandbox::Sandbox;
use idxadvise::verify::compare::Change;
use idxadvise::verify::{Measurement, VerifyConfig};

fn short(q: &str, n: usize) -> String {
    let one: String = q.split_whitespace().collect::<Vec<_>>().join(" ");
    one.chars().take(n).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let example = Example::bundled()?;
    let mut sandbox = Sandbox::start()?;
    let result = run(&sandbox, &example, rounds);
    sandbox.stop();
    result
}

fn run(
    sandbox: &Sandbox,
    example: &Example,
    rounds: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let say = |m: &str| eprintln!("bench_verify: {m}");
    let url = prepare(sandbox, example, None, &mut |m| say(m))?;
    // `analyze` reads the cumulative counters here (no observation window): replay first.
    say("replaying the example API workload");
    sandbox.psql_file("shop", &example.dir.join("workload.sql"))?;
    sandbox.psql("shop", "ANALYZE")?;
    let tmp = tempfile::tempdir()?;
    let out_dir = tmp.path().join("analysis");
    let conn = idxadvise::config::ConnectionConfig::new(Some(url.clone()), None, "60s")?;
    let source = Source::Live(idxadvise::config::CollectConfig {
        filter: idxadvise::config::WorkloadFilter::default(),
        connection: conn.clone(),
        window: idxadvise::collect::window::WindowOptions::none(),
    });
    let emit = idxadvise::cli::EmitArgs {
        out: Some(out_dir.clone()),
        ..Default::default()
    };
    let tuning = idxadvise::cli::TuningArgs {
        format: "text".into(),
        quiet: true,
        hot_values: std::env::var("BENCH_HOT_VALUES").ok().into_iter().collect(),
        ..Default::default()
    };
    let config = idxadvise::cli::base_config(source, conn.clone(), tuning, emit, None)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    say("analyze");
    let mut sink: Vec<u8> = vec![];
    rt.block_on(idxadvise::analyze::run(&config, &mut sink))?;
    let script = std::fs::read_to_string(out_dir.join("indexes.sql"))?;
    // Every statement of the script, one at a time (the CREATE INDEX CONCURRENTLY and the
    // ANALYZE after an expression index), as `psql -f indexes.sql` would.
    for stmt in script
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("--"))
    {
        say(&format!("applying {}", short(stmt, 100)));
        sandbox.psql("shop", stmt)?;
    }
    for r in 0..rounds {
        say(&format!(
            "replaying the workload again ({}/{rounds})",
            r + 1
        ));
        sandbox.psql_file("shop", &example.dir.join("workload.sql"))?;
    }
    say("verify");
    let vcfg = VerifyConfig {
        baseline: out_dir.clone(),
        measurement: Measurement::Live(idxadvise::config::CollectConfig {
            filter: idxadvise::config::WorkloadFilter::default(),
            connection: conn,
            window: idxadvise::collect::window::WindowOptions::none(),
        }),
        out: None,
        django: None,
        format: OutputFormat::Json,
        quiet: true,
    };
    let mut sink: Vec<u8> = vec![];
    let outcome = rt.block_on(idxadvise::verify::run(&vcfg, &mut sink))?;
    let report = outcome.report;

    println!("## Indexes\n");
    println!(
        "| index | estimated | real | error | scans | verdict |\n|---|---:|---:|---:|---:|---|"
    );
    for ix in &report.indexes {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            ix.name,
            ix.estimated_size_bytes,
            ix.real_size_bytes.unwrap_or(0),
            ix.size_error
                .map(|e| format!("{:+.1}%", 100.0 * e))
                .unwrap_or_else(|| "-".into()),
            ix.scans.unwrap_or(0),
            ix.verdict.label()
        );
    }
    println!("\n## Statements: predicted versus measured speedup\n");
    println!("| queryid | calls after | ms before | ms predicted | ms measured | speedup predicted | speedup measured | measured/predicted | statement |\n|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut right_direction = 0;
    let mut judged = 0;
    let mut log_errors: Vec<f64> = vec![];
    for s in &report.statements {
        let measured = s.measured_speedup.unwrap_or(f64::NAN);
        if s.predicted && s.change != Change::TooFewCalls {
            judged += 1;
            if (s.predicted_speedup > 1.0) == (measured > 1.0) {
                right_direction += 1;
            }
            if measured.is_finite() && measured > 0.0 {
                log_errors.push((measured / s.predicted_speedup).log10().abs());
            }
        }
        println!(
            "| {} | {} | {:.3} | {} | {} | {} | {:.1}× | {} | `{}` |",
            s.queryid,
            s.after_calls,
            s.before_ms,
            if s.predicted {
                format!("{:.3}", s.predicted_after_ms)
            } else {
                "(no change)".into()
            },
            s.after_ms
                .map(|a| format!("{a:.3}"))
                .unwrap_or_else(|| "-".into()),
            if s.predicted {
                format!("{:.1}×", s.predicted_speedup)
            } else {
                "-".into()
            },
            measured,
            if s.predicted {
                format!("{:.2}", measured / s.predicted_speedup)
            } else {
                "-".into()
            },
            short(&s.query, 70).replace('|', "\\|")
        );
    }
    log_errors.sort_by(f64::total_cmp);
    let median = log_errors
        .get(log_errors.len() / 2)
        .map(|m| 10f64.powf(*m))
        .unwrap_or(f64::NAN);
    println!(
        "\nDirection right for {right_direction} of {judged} predicted statements; median factor between predicted and measured speedup: {median:.1}×."
    );
    Ok(())
}
