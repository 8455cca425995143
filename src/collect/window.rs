//! The observation window: `collect` reads the counters, watches the server(s) for
//! `--window` (default 60 s), reads them again, and the deltas become today's workload.
//!
//! Stage: collect. Must not change the server (it only reads pg_stat_statements and
//! `pg_stat_user_tables`, twice) and must not parse SQL. Invariant: the deltas are computed per
//! server and per queryid, never negative (an entry reset or evicted during the window counts
//! from zero), and the decision between the window's deltas and the cumulative counters is a
//! pure function of the two readings ([`decide`]), said in the report.
//!
//! # What decides the basis
//! Problem: cumulative counters since the last reset mix old and new behaviour (a statement
//! whose index was built yesterday keeps its historical mean), but a quiet window says little.
//! What we do: the window's deltas are the workload when its kept statements were called at
//! least [`MIN_WINDOW_CALLS`] times in it; otherwise the cumulative counters are used and the
//! report says why. Example: a 60 s window on a production replica sees tens of thousands of
//! calls and is used; a window on an idle staging server sees 3 and falls back.
//!
//! # The seam for other observers
//! Whatever else wants to watch the server during the window (an activity sampler, say) runs
//! as an observer: [`super::collect_observed`] takes a closure that receives a [`WindowClock`]
//! and returns a future; the future runs concurrently with the window (on the same task, so it
//! may borrow) and its output is handed back with the snapshot. It should loop until
//! [`WindowClock::is_open`] turns false (or await [`WindowClock::closed`]); the second reading
//! is taken once the window has closed and the observer has returned. With `--window 0` the
//! clock is already closed when the observer starts.
//!
//! ```no_run
//! # async fn f(config: &idxadvise::config::CollectConfig) -> Result<(), idxadvise::error::Error> {
//! let (collected, samples) = idxadvise::collect::collect_observed(config, |clock| async move {
//!     let mut n = 0u32;
//!     while clock.is_open() {
//!         n += 1; // sample something here
//!         tokio::time::sleep(std::time::Duration::from_millis(15)).await;
//!     }
//!     n
//! })
//! .await?;
//! # let _ = (collected, samples); Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::workload::RawStatement;
use crate::model::{Basis, TableWrites};

/// The least calls of the kept statements in the window for its deltas to be the workload.
pub const MIN_WINDOW_CALLS: i64 = 100;

// The window's options are configuration: they live in `config`, below `collect`.
pub use crate::config::{WindowOptions, DEFAULT_WINDOW};

/// Parse `--window`: `60s`, `2min`, `500ms`, a bare number of seconds, or `0` for none.
pub fn parse_window(s: &str) -> Result<Duration, crate::error::Error> {
    let t = s.trim();
    if t.trim_end_matches(|c: char| c.is_ascii_alphabetic()).trim() == "0" {
        return Ok(Duration::ZERO);
    }
    crate::config::parse_duration(t).map_err(|e| {
        let message =
            format!("invalid --window {s:?}\n(examples: 60s, 2min, 0 for the cumulative counters)");
        crate::error::Error::caused(crate::error::Kind::Usage, message, e)
    })
}

/// When the window closes, for observers running during it.
#[derive(Debug, Clone, Copy)]
pub struct WindowClock {
    start: tokio::time::Instant,
    end: tokio::time::Instant,
}

impl WindowClock {
    /// A clock for a window of `length` starting now.
    pub fn start(length: Duration) -> WindowClock {
        let start = tokio::time::Instant::now();
        WindowClock {
            start,
            end: start + length,
        }
    }

    /// Whether the window is still open.
    pub fn is_open(&self) -> bool {
        tokio::time::Instant::now() < self.end
    }

    /// Time left.
    pub fn remaining(&self) -> Duration {
        self.end
            .saturating_duration_since(tokio::time::Instant::now())
    }

    /// The window's length.
    pub fn length(&self) -> Duration {
        self.end - self.start
    }

    /// Wait until the window closes.
    pub async fn closed(&self) {
        tokio::time::sleep_until(self.end).await;
    }
}

/// Wait for the window to close, with a bar showing the time left on a terminal, one line
/// otherwise, nothing when quiet.
pub async fn wait(clock: WindowClock, quiet: bool, what: &str) {
    let secs = clock.length().as_secs_f64();
    if quiet {
        clock.closed().await;
        return;
    }
    if !std::io::stderr().is_terminal() {
        eprintln!(
            "observing {what} for {secs:.0} s (--window; 0 reads the cumulative counters at once)"
        );
        clock.closed().await;
        return;
    }
    let total_ms = clock.length().as_millis() as u64;
    let bar = ProgressBar::with_draw_target(Some(total_ms), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "observing {what} {{bar:30}} {{msg}} left (--window {secs:.0}s)"
    )) {
        bar.set_style(style);
    }
    while clock.is_open() {
        let left = clock.remaining();
        bar.set_position(total_ms.saturating_sub(left.as_millis() as u64));
        bar.set_message(format!("{:.0} s", left.as_secs_f64().ceil()));
        tokio::time::sleep(left.min(Duration::from_millis(250))).await;
    }
    bar.finish_and_clear();
}

/// Rows of one reading summed per queryid (a queryid has rows per user and top-level flag).
fn by_queryid(rows: &[RawStatement]) -> BTreeMap<i64, RawStatement> {
    let mut m: BTreeMap<i64, RawStatement> = BTreeMap::new();
    for r in rows {
        let Some(id) = r.queryid else { continue };
        let e = m.entry(id).or_insert_with(|| RawStatement {
            queryid: Some(id),
            query: r.query.clone(),
            calls: 0,
            total_time_ms: 0.0,
            rows: 0,
            shared_blks_hit: 0,
            shared_blks_read: 0,
            sum_sq_time_ms2: 0.0,
        });
        e.calls += r.calls;
        e.total_time_ms += r.total_time_ms;
        e.rows += r.rows;
        e.shared_blks_hit += r.shared_blks_hit;
        e.shared_blks_read += r.shared_blks_read;
        e.sum_sq_time_ms2 += r.sum_sq_time_ms2;
    }
    m
}

/// The deltas of one server's pg_stat_statements between two readings, per queryid, only
/// statements called in the window. An entry with fewer calls at the end than at the start was
/// reset or evicted and re-created during the window: its end values are its delta (a lower
/// bound). Hidden rows (no queryid) are kept as they are, so `build` still sees them.
pub fn statement_deltas(before: &[RawStatement], after: &[RawStatement]) -> Vec<RawStatement> {
    let b = by_queryid(before);
    let mut out: Vec<RawStatement> = by_queryid(after)
        .into_values()
        .filter_map(|a| {
            let d = match a.queryid.and_then(|q| b.get(&q)) {
                Some(p) if a.calls >= p.calls => RawStatement {
                    queryid: a.queryid,
                    query: a.query.clone(),
                    calls: a.calls - p.calls,
                    total_time_ms: (a.total_time_ms - p.total_time_ms).max(0.0),
                    rows: (a.rows - p.rows).max(0),
                    shared_blks_hit: (a.shared_blks_hit - p.shared_blks_hit).max(0),
                    shared_blks_read: (a.shared_blks_read - p.shared_blks_read).max(0),
                    sum_sq_time_ms2: (a.sum_sq_time_ms2 - p.sum_sq_time_ms2).max(0.0),
                },
                _ => a,
            };
            (d.calls > 0).then_some(d)
        })
        .collect();
    out.extend(after.iter().filter(|r| r.queryid.is_none()).cloned());
    out
}

/// The deltas of the table write counters between two readings (the second reading's live and
/// dead row estimates). A table whose counters went down (reset) counts from zero.
pub fn table_deltas(before: &[TableWrites], after: &[TableWrites]) -> Vec<TableWrites> {
    after
        .iter()
        .map(|a| {
            let p = before
                .iter()
                .find(|b| b.schema == a.schema && b.table == a.table);
            let d = |now: i64, then: Option<i64>| match then {
                Some(t) if now >= t => now - t,
                _ => now.max(0),
            };
            let reset = p.is_some_and(|p| a.n_tup_ins < p.n_tup_ins || a.n_tup_upd < p.n_tup_upd);
            let p = if reset { None } else { p };
            TableWrites {
                schema: a.schema.clone(),
                table: a.table.clone(),
                n_tup_ins: d(a.n_tup_ins, p.map(|p| p.n_tup_ins)),
                n_tup_upd: d(a.n_tup_upd, p.map(|p| p.n_tup_upd)),
                n_tup_hot_upd: d(a.n_tup_hot_upd, p.map(|p| p.n_tup_hot_upd)),
                n_tup_del: d(a.n_tup_del, p.map(|p| p.n_tup_del)),
                n_live_tup: a.n_live_tup,
                n_dead_tup: a.n_dead_tup,
            }
        })
        .collect()
}

/// Which counters become the workload, and why: the window's when it was watched and its
/// kept statements were called at least [`MIN_WINDOW_CALLS`] times.
pub fn decide(window_s: f64, window_calls: i64, pgss_reset_in_window: bool) -> (Basis, String) {
    if window_s <= 0.0 {
        return (
            Basis::Cumulative,
            "no observation window was asked for (--window 0)".into(),
        );
    }
    if window_calls < MIN_WINDOW_CALLS {
        return (
            Basis::Cumulative,
            format!(
                "too little traffic in the window: {window_calls} calls, fewer than {MIN_WINDOW_CALLS}; the cumulative counters since the last reset are used instead (watch longer, with --window, while the application runs)"
            ),
        );
    }
    let mut why = format!(
        "{window_calls} calls in the window, at least {MIN_WINDOW_CALLS}: today's mix, not the history since the last reset"
    );
    if pgss_reset_in_window {
        why.push_str(
            "; pg_stat_statements was reset during the window, so the deltas count from the reset",
        );
    }
    (Basis::Window, why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(id: i64, calls: i64, ms: f64) -> RawStatement {
        RawStatement {
            queryid: Some(id),
            query: format!("SELECT {id}"),
            calls,
            total_time_ms: ms,
            rows: calls,
            shared_blks_hit: calls * 2,
            shared_blks_read: 0,
            sum_sq_time_ms2: 0.0,
        }
    }

    #[test]
    fn deltas_per_queryid_never_negative() {
        let before = vec![
            raw(1, 100, 50.0),
            raw(1, 10, 5.0),
            raw(2, 40, 400.0),
            raw(3, 5, 1.0),
        ];
        let after = vec![
            raw(1, 150, 80.0),
            raw(1, 10, 5.0),
            raw(2, 3, 30.0),
            raw(3, 5, 1.0),
            raw(4, 7, 7.0),
        ];
        let d = statement_deltas(&before, &after);
        let got: Vec<(i64, i64, f64)> = d
            .iter()
            .map(|r| (r.queryid.unwrap_or(0), r.calls, r.total_time_ms))
            .collect();
        // 1 grew by 50 calls; 2 was evicted and re-created (its 3 calls count); 3 idle (left
        // out); 4 is new.
        assert_eq!(got, vec![(1, 50, 30.0), (2, 3, 30.0), (4, 7, 7.0)]);
        assert_eq!(d[0].shared_blks_hit, 100);
    }

    #[test]
    fn table_deltas_count_from_a_reset() {
        let t = |ins, upd, hot| TableWrites {
            schema: "public".into(),
            table: "t".into(),
            n_tup_ins: ins,
            n_tup_upd: upd,
            n_tup_hot_upd: hot,
            n_tup_del: 0,
            n_live_tup: 10,
            n_dead_tup: 1,
        };
        let d = table_deltas(&[t(100, 50, 40)], &[t(130, 80, 60)]);
        assert_eq!(
            (d[0].n_tup_ins, d[0].n_tup_upd, d[0].n_tup_hot_upd),
            (30, 30, 20)
        );
        let r = table_deltas(&[t(100, 50, 40)], &[t(3, 2, 1)]);
        assert_eq!(
            (r[0].n_tup_ins, r[0].n_tup_upd, r[0].n_tup_hot_upd),
            (3, 2, 1)
        );
    }

    #[test]
    fn basis_follows_the_traffic() {
        assert_eq!(decide(0.0, 10_000, false).0, Basis::Cumulative);
        let (b, why) = decide(60.0, MIN_WINDOW_CALLS - 1, false);
        assert_eq!(b, Basis::Cumulative);
        assert!(why.contains("too little traffic"), "{why}");
        let (b, why) = decide(60.0, MIN_WINDOW_CALLS, true);
        assert_eq!(b, Basis::Window);
        assert!(why.contains("reset during the window"), "{why}");
    }

    #[test]
    fn window_flag() {
        assert_eq!(parse_window("0").expect("ok"), Duration::ZERO);
        assert_eq!(parse_window("0s").expect("ok"), Duration::ZERO);
        assert_eq!(parse_window("90").expect("ok"), Duration::from_secs(90));
        assert_eq!(parse_window("2min").expect("ok"), Duration::from_secs(120));
        let e = parse_window("soon").expect_err("bad");
        assert!(e.message().contains("--window"), "{}", e.message());
    }
}
