//! Prediction accuracy, release to release: `cargo run --release --example bench_verify`.
//!
//! The whole loop on the bundled example in a throwaway cluster (src/sandbox.rs): load the shop
//! (src/demo.rs `prepare`) and replay its API workload, `analyze` (no observation window), apply the generated
//! indexes.sql (each statement on its own), replay the workload again without
//! resetting pg_stat_statements (`BENCH_ROUNDS` times, default 1), `verify`; then print, per
//! statement, the predicted and the measured speedup, and per index the estimated and real size.
//! `BENCH_HOT_VALUES` passes one `--hot-values` (e.g. `shop_order.status=pending`, what the
//! example's pending-orders page always asks for). `BENCH_OBSERVE_SECONDS` (e.g. 8) instead
//! replays the workload in the background while `collect` samples pg_stat_activity during an
//! observation window that long (`--window`), then analyzes with those observed values and counters read after
//! the traffic stopped: the values come from observation, not from the user.
//! Not a test: timings vary from machine to machine; the direction and the order of magnitude
//! are what to track.

#![allow(clippy::print_stdout)]

use idxadvise::analyze::Source;
use idxadvise::config::OutputFormat;
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
    let observe: f64 = std::env::var("BENCH_OBSERVE_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let collect = |seconds: f64| idxadvise::config::CollectConfig {
        filter: idxadvise::config::WorkloadFilter::default(),
        connection: conn.clone(),
        window: idxadvise::collect::window::WindowOptions::of(
            std::time::Duration::from_secs_f64(seconds),
            true,
        ),
    };
    let mut source = Source::Live(collect(0.0));
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if observe > 0.0 {
        // Observe while the workload replays in the background; then, with the traffic
        // stopped, read the counters afresh, so that verify's "after" window holds no call
        // made before the indexes.
        let stop = std::sync::atomic::AtomicBool::new(false);
        let observed = std::thread::scope(|scope| {
            say("replaying the workload in the background while collect observes");
            scope.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Err(e) = sandbox.psql_file("shop", &example.dir.join("workload.sql")) {
                        say(&format!("background replay: {}", e.message()));
                        break;
                    }
                }
            });
            let r = rt.block_on(idxadvise::collect::collect(&collect(observe)));
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            r
        })?
        .observed;
        let mut snap = rt.block_on(idxadvise::collect::collect(&collect(0.0)))?;
        snap.observed = observed;
        let path = tmp.path().join("snapshot.json");
        std::fs::write(&path, idxadvise::collect::to_json(&snap)?)?;
        source = Source::Snapshot(path);
    }
    let config = idxadvise::cli::base_config(source, conn.clone(), tuning, emit, None)?;
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
        project: None,
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
    // The acceptance figures: the pending page's speedup, and any statement holding ≥1% of the
    // time that got more than 1.2× slower.
    let time = |s: &idxadvise::verify::compare::StatementResult| s.before_ms * s.after_calls as f64;
    let total: f64 = report.statements.iter().map(time).sum();
    for s in &report.statements {
        let share = time(s) / total.max(f64::MIN_POSITIVE);
        let m = s.measured_speedup.unwrap_or(f64::NAN);
        if s.query.contains("\"status\" = $1 ORDER BY") {
            println!(
                "\nPending page: {:.3} ms -> {} ms, {m:.1}x faster ({:.1}% of the time).",
                s.before_ms,
                s.after_ms
                    .map(|a| format!("{a:.3}"))
                    .unwrap_or_else(|| "-".into()),
                100.0 * share
            );
        }
        if share >= 0.01 && m.is_finite() && m < 1.0 / 1.2 {
            println!(
                "SLOWER: {:.1}% of the time, {:.2}x: `{}`",
                100.0 * share,
                m,
                short(&s.query, 90)
            );
        }
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
