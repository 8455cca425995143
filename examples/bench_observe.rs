//! What sampling pg_stat_activity costs the server: `cargo run --release --example bench_observe`.
//!
//! A throwaway cluster (src/sandbox.rs) with pgbench's tables; pgbench's select-only workload
//! (the worst case for sampling: many tiny statements) runs `BENCH_SECONDS` (default 10) at a
//! time, alternately alone and while `collect --window` samples the running statements
//! every 15 ms; prints each run's throughput and the ratio with/without, and what the sampling
//! saw. Not a test: the machine is shared, so figures are noisy; the ratio is what to track.

#![allow(clippy::print_stdout)]

use std::process::Command;
use std::time::Duration;

use idxadvise::sandbox::{find_bindir, Sandbox};

fn pgbench(sb: &Sandbox, args: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let out = Command::new(find_bindir()?.join("pgbench"))
        .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
        .arg(sb.port().to_string())
        .args(args)
        .arg("bench")
        .output()?;
    if !out.status.success() {
        return Err(format!("pgbench failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn tps(out: &str) -> f64 {
    out.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l[6..].split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secs: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let mut sb = Sandbox::start()?;
    let r = run(&sb, secs);
    sb.stop();
    r
}

fn run(sb: &Sandbox, secs: u64) -> Result<(), Box<dyn std::error::Error>> {
    sb.psql("postgres", "CREATE DATABASE bench")?;
    sb.psql("bench", "CREATE EXTENSION pg_stat_statements")?;
    pgbench(sb, &["-i", "-q", "-s", "5"])?;
    let t = secs.to_string();
    let load = ["-n", "-S", "-c", "4", "-j", "2", "-T", t.as_str()];
    // Warm up and give pg_stat_statements the workload's entries.
    pgbench(sb, &["-n", "-S", "-c", "4", "-j", "2", "-T", "3"])?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let config = idxadvise::config::CollectConfig {
        filter: idxadvise::config::WorkloadFilter::default(),
        connection: idxadvise::config::ConnectionConfig::new(Some(sb.url("bench")), None, "60s")?,
        window: idxadvise::collect::window::WindowOptions::of(Duration::from_secs(secs), true),
    };
    let (mut off, mut on) = (vec![], vec![]);
    let mut seen = String::new();
    for round in 0..4 {
        if round % 2 == 0 {
            let out = pgbench(sb, &load)?;
            off.push(tps(&out));
        } else {
            let (out, collected) = std::thread::scope(|s| {
                let h = s.spawn(|| pgbench(sb, &load).map_err(|e| e.to_string()));
                let c = rt.block_on(idxadvise::collect::collect_with_warnings(&config));
                (h.join(), c)
            });
            let out = out.map_err(|_| "pgbench thread")??;
            on.push(tps(&out));
            let snap = collected?.snapshot;
            let s = &snap.observed.summary;
            seen = format!(
                "{} rounds in {:.1} s ({:.1} ms apart), {} active backends seen, {} matched to no statement, {} statements with values",
                s.activity_rounds,
                s.activity_seconds,
                1000.0 * s.activity_seconds / s.activity_rounds.max(1) as f64,
                s.activity_samples,
                s.unmatched_samples,
                snap.observed.statements.len()
            );
        }
        println!(
            "run {}: {} tps{}",
            round + 1,
            if round % 2 == 0 {
                off[off.len() - 1]
            } else {
                on[on.len() - 1]
            },
            if round % 2 == 0 { "" } else { " (sampling)" }
        );
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "\npgbench -S, 4 clients, {secs} s runs: {:.0} tps alone, {:.0} tps while sampling: ratio {:.3}",
        mean(&off),
        mean(&on),
        mean(&on) / mean(&off)
    );
    println!("sampling: {seen}");
    Ok(())
}
