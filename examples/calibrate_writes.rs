//! Calibrate the write-cost model (src/cost/write.rs) on a throwaway cluster.
//!
//! Starts a PostgreSQL 15 cluster (tests/support), and for 0…6 extra indexes measures:
//! batch INSERT throughput, UPDATE throughput with HOT possible (the set column is not
//! indexed) and impossible (it is), the HOT share the server reports, and VACUUM time per index
//! page. Prints a table and the fitted constants.
//!
//! Run: `cargo run --example calibrate_writes` (about two minutes). Environment: `ROWS`
//! (default 200000).
#![allow(clippy::print_stdout)]

#[allow(clippy::zombie_processes)] // the watchdog outlives us on purpose
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use tokio_postgres::{Client, NoTls};

const EXTRA: [&str; 6] = [
    "CREATE INDEX ON t (a)",
    "CREATE INDEX ON t (c)",
    "CREATE INDEX ON t (d, a)",
    "CREATE INDEX ON t (e)",
    "CREATE INDEX ON t (f)",
    "CREATE INDEX ON t (g)",
];

async fn setup(c: &Client, k: usize, rows: i64) -> Result<(), tokio_postgres::Error> {
    c.batch_execute(
        "DROP TABLE IF EXISTS t; CREATE TABLE t (id bigserial PRIMARY KEY, a int, b int, c text, \
         d int, e bigint, f text, g timestamptz, h int) WITH (fillfactor = 50, autovacuum_enabled = off)",
    )
    .await?;
    for ddl in EXTRA.iter().take(k) {
        c.batch_execute(ddl).await?;
    }
    let _ = rows;
    Ok(())
}

const INSERT: &str =
    "INSERT INTO t (a, b, c, d, e, f, g, h) SELECT (random()*1e6)::int, i, md5(i::text), \
     (random()*100)::int, i, md5(random()::text), now() - random() * interval '100 days', 0 \
     FROM generate_series(1, 1000) i";

async fn timed(c: &Client, sql: &str, times: i64) -> Result<f64, tokio_postgres::Error> {
    let t = Instant::now();
    for _ in 0..times {
        c.batch_execute(sql).await?;
    }
    Ok(t.elapsed().as_secs_f64())
}

async fn hot_share(c: &Client) -> Result<(i64, i64), tokio_postgres::Error> {
    c.batch_execute("SELECT pg_stat_force_next_flush()")
        .await
        .ok();
    let r = c
        .query_one(
            "SELECT pg_stat_get_xact_tuples_updated('t'::regclass), pg_stat_get_xact_tuples_hot_updated('t'::regclass)",
            &[],
        )
        .await?;
    Ok((r.get(0), r.get(1)))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: i64 = std::env::var("ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let batches = rows / 1000;
    let cluster = support::cluster();
    let db = cluster.create_database("calibrate_writes");
    let (client, conn) = tokio_postgres::connect(&cluster.url(&db), NoTls).await?;
    tokio::spawn(conn);
    let c = &client;
    println!("rows per run: {rows}, batches of 1000, fsync off");
    println!("| extra indexes | insert µs/row | insert rel. | HOT-able update µs/row | HOT % | non-HOT update µs/row | HOT % | non-HOT/HOT speed | vacuum ms | index pages |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut ins = Vec::new();
    let mut upd_hot = Vec::new();
    let mut upd_cold = Vec::new();
    let mut vac = Vec::new();
    for k in 0..=6usize {
        // Warm-up and measure inserts.
        setup(c, k, rows).await?;
        timed(c, INSERT, 5).await?;
        c.batch_execute("TRUNCATE t").await?;
        let secs = timed(c, INSERT, batches).await?;
        let us_ins = secs * 1e6 / rows as f64;
        c.batch_execute("VACUUM ANALYZE t").await?;
        // Updates of a column no index contains: HOT possible (fillfactor 50 leaves room for a new
        // version of every 4th row, the rows updated).
        // In one transaction per measurement so the xact counters tell the HOT share.
        let step = 1000;
        let span = 4 * step;
        let n_upd = rows.max(span);
        let mut hot_sql = String::from("BEGIN;");
        let mut cold_sql = String::from("BEGIN;");
        for lo in (1..=n_upd).step_by(span as usize) {
            let hi = lo + span - 1;
            hot_sql.push_str(&format!(
                "UPDATE t SET h = h + 1 WHERE id BETWEEN {lo} AND {hi} AND id % 4 = 0;"
            ));
            // `b` gets an index below, so this update is never HOT.
            cold_sql.push_str(&format!(
                "UPDATE t SET b = b + 1 WHERE id BETWEEN {lo} AND {hi} AND id % 4 = 0;"
            ));
        }
        let t0 = Instant::now();
        c.batch_execute(&hot_sql).await?;
        let el = t0.elapsed().as_secs_f64();
        let (u1, h1) = hot_share(c).await?;
        let us_hot = el * 1e6 / u1.max(1) as f64;
        c.batch_execute("COMMIT").await?;
        c.batch_execute("VACUUM t").await?;
        // Index b (an extra index on the set column) so every update is non-HOT.
        c.batch_execute("CREATE INDEX t_b ON t (b)").await?;
        c.batch_execute("VACUUM t").await?;
        let t0 = Instant::now();
        c.batch_execute(&cold_sql).await?;
        let el = t0.elapsed().as_secs_f64();
        let (u2, h2) = hot_share(c).await?;
        let us_cold = el * 1e6 / u2.max(1) as f64;
        c.batch_execute("COMMIT").await?;
        c.batch_execute("DROP INDEX t_b").await?;
        // VACUUM after deleting 10% of rows scans every index once.
        c.batch_execute(&format!("DELETE FROM t WHERE id % 10 = 0 AND id <= {rows}"))
            .await?;
        let pages: i64 = c
            .query_one(
                "SELECT coalesce(sum(pg_relation_size(indexrelid)), 0)::bigint / 8192 FROM pg_index WHERE indrelid = 't'::regclass",
                &[],
            )
            .await?
            .get(0);
        let t0 = Instant::now();
        c.batch_execute("VACUUM t").await?;
        let vac_ms = t0.elapsed().as_secs_f64() * 1e3;
        let pct = |u: i64, h: i64| {
            if u > 0 {
                100.0 * h as f64 / u as f64
            } else {
                0.0
            }
        };
        println!(
            "| {k} | {us_ins:.2} | {:.2} | {us_hot:.2} | {:.0} | {us_cold:.2} | {:.0} | {:.2} | {vac_ms:.1} | {pages} |",
            ins.first().map(|b: &f64| b / us_ins).unwrap_or(1.0),
            pct(u1, h1),
            pct(u2, h2),
            us_hot / us_cold,
        );
        ins.push(us_ins);
        upd_hot.push(us_hot);
        upd_cold.push(us_cold);
        vac.push((pages as f64, vac_ms));
    }
    // Least-squares fits: insert time = a + entry × k; vacuum = v0 + per_page × pages.
    let fit = |pts: &[(f64, f64)]| {
        let n = pts.len() as f64;
        let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
        let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
        let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        (my - slope * mx, slope)
    };
    let ins_pts: Vec<(f64, f64)> = ins
        .iter()
        .enumerate()
        .map(|(k, v)| (k as f64, *v))
        .collect();
    let (base, entry) = fit(&ins_pts);
    // Non-HOT update with k extra indexes writes k + 2 entries (PK, t_b, k extras);
    // overhead beyond entries = cold − hot − (k + 2) × entry, averaged.
    let extra: f64 = (0..=6)
        .map(|k| upd_cold[k] - upd_hot[k] - (k as f64 + 2.0) * entry)
        .sum::<f64>()
        / 7.0;
    let (_v0, per_page) = fit(&vac);
    // Per entry of a non-HOT update: mean of (cold − hot) ÷ entries written.
    let upd_entry: f64 = (0..=6)
        .map(|k| (upd_cold[k] - upd_hot[k]) / (k as f64 + 2.0))
        .sum::<f64>()
        / 7.0;
    println!();
    println!(
        "insert: {base:.2} µs/row with the primary key only, +{entry:.2} µs per extra index entry"
    );
    println!("non-HOT update: {upd_entry:.2} µs per index entry written (mean over the runs)");
    println!(
        "non-HOT update overhead beyond its entries at the insert entry cost: {extra:.2} µs/row"
    );
    println!("vacuum: {:.2} µs per index page", per_page * 1e3);
    println!(
        "constants: entry_ms = {:.5}, update_entry_ms = {:.5}, nonhot_extra_ms = {:.5}, vacuum_ms_per_page = {:.5}",
        entry / 1e3,
        upd_entry / 1e3,
        extra.max(0.0) / 1e3,
        per_page.max(0.0)
    );
    c.batch_execute("DROP TABLE t").await?;
    cluster.stop();
    Ok(())
}
