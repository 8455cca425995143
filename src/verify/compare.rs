//! `verify`: the comparison of the baseline (what `analyze` predicted from) with the server now
//! (a second snapshot): per index, whether it exists, is valid, is used and is as large as
//! estimated; per statement, the mean time per call before and after from the deltas of the
//! pg_stat_statements counters, next to the prediction, corrected by the control group's drift
//! ([`super::control`]); per recommended drop, whether the statements that used the index kept
//! their speed; write-side effects per table; a verdict and a suggestion per index.
//!
//! Pure: must not do I/O. Invariants: deterministic (indexes in the baseline's order,
//! statements by baseline total time then queryid, fixed thresholds below); a reset of
//! pg_stat_statements in between is never read as negative time: the current counters are
//! used as the "after" window and the report says so.

use serde::{Deserialize, Serialize};

use super::baseline::{Baseline, IndexPrediction, StatementCounters};
use super::control::{Control, Member};
use super::real_plan::{ids, index_use, real_plan, unusable, RealPlan, RealPlans};
use crate::model::{Snapshot, Statement, TableWrites, WindowWrites, WriteSource};
use crate::pg::quote::ident;

/// Version of the `verify.json` schema. Bump on incompatible changes.
pub const VERIFY_FORMAT_VERSION: u32 = 1;

// When a change is a slowdown: the significance rule of [`super::noise`].
pub use super::noise::{FASTER_FACTOR, MIN_CALLS, MIN_SLOWER_MS, SLOWER_FACTOR};

/// An index is confirmed when its statements saved at least this share of the predicted time
/// per call (weighted by calls in the "after" window); below it, "saved less than predicted".
pub const CONFIRMED_SHARE: f64 = 0.5;

/// The documented error of the size estimate (whatif: ±20% for 97 of 113 TPC-H indexes).
pub const SIZE_TOLERANCE: f64 = 0.2;

/// Which counters make the "after" window of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// Counters now minus counters at the baseline.
    Delta,
    /// pg_stat_statements was reset in between: the current counters (since the reset).
    SinceReset,
    /// The statement is not in pg_stat_statements now.
    Absent,
    /// pg_stat_statements deltas over the observation window of this run (`--window`).
    Observed,
}

/// How a statement's mean time per call changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Faster by more than [`FASTER_FACTOR`].
    Faster,
    /// Within the noise band.
    Unchanged,
    /// Slower by more than [`SLOWER_FACTOR`], by more than [`MIN_SLOWER_MS`] per call, and
    /// beyond the noise ([`super::noise`]).
    Slower,
    /// Fewer than [`MIN_CALLS`] calls in the "after" window: no verdict.
    TooFewCalls,
}

/// A per-index verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexVerdict {
    /// Used, and its statements saved at least [`CONFIRMED_SHARE`] of the predicted time.
    Confirmed,
    /// Used, but its statements saved less than predicted.
    SmallerThanPredicted,
    /// Exists and is valid, but no scan since it was created.
    Unused,
    /// A statement it was predicted to help got slower.
    Regression,
    /// The index is INVALID (a failed or cancelled concurrent build).
    Invalid,
    /// Valid, but the planner leaves it out for now: a plain `CREATE INDEX` that met rows
    /// updated under older transactions waits for them to end (`pg_index.indcheckxmin`).
    NotReady,
    /// The index does not exist (not applied yet, or under another name).
    NotApplied,
    /// It exists, but none of its statements ran often enough in the "after" window to time:
    /// nothing to judge it by.
    NotMeasured,
}

impl IndexVerdict {
    /// Label for tables.
    pub fn label(self) -> &'static str {
        match self {
            IndexVerdict::Confirmed => "confirmed",
            IndexVerdict::SmallerThanPredicted => "saved less than predicted",
            IndexVerdict::Unused => "unused",
            IndexVerdict::Regression => "regression",
            IndexVerdict::Invalid => "invalid",
            IndexVerdict::NotReady => "not usable yet",
            IndexVerdict::NotApplied => "not applied",
            IndexVerdict::NotMeasured => "not measured",
        }
    }
}

/// What to do with an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suggestion {
    /// Keep it.
    Keep,
    /// Look at the plans of the statements named in the reason.
    Investigate,
    /// Drop it (`DROP INDEX CONCURRENTLY`, or the `RemoveIndexConcurrently` migration).
    Drop,
    /// Apply the migration (or indexes.sql) first.
    Apply,
    /// Let traffic run, then verify again (a longer `--window`).
    MeasureAgain,
}

impl Suggestion {
    /// Label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Suggestion::Keep => "keep",
            Suggestion::Investigate => "investigate",
            Suggestion::Drop => "drop",
            Suggestion::Apply => "apply",
            Suggestion::MeasureAgain => "measure again",
        }
    }
}

/// The whole `verify.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Always [`VERIFY_FORMAT_VERSION`].
    pub format_version: u32,
    /// `idxadvise <version>`.
    pub created_by: String,
    /// Database name.
    pub database: String,
    /// Who wrote the baseline.
    pub baseline_created_by: String,
    /// Whether pg_stat_statements was reset since the baseline (`stats_reset` changed).
    pub reset_detected: bool,
    /// Per recommended index, in the baseline's order.
    pub indexes: Vec<IndexResult>,
    /// Statements predicted to change, then statements that got slower without a prediction.
    pub statements: Vec<StatementResult>,
    /// Where the write counters came from now.
    pub write_source: WriteSource,
    /// Write-side effects on the tables that got an index (empty without write statistics).
    pub writes: Vec<TableWriteResult>,
    /// Caveats.
    pub notes: Vec<String>,
    /// The statements no recommended or dropped index touches, whose drift corrects the
    /// others' "after" (none when too few were timed).
    #[serde(default)]
    pub control: Option<Control>,
    /// Per recommended drop: whether it was applied, and whether the statements that used
    /// the index kept their speed.
    #[serde(default)]
    pub drops: Vec<DropResult>,
    /// Whether the statements' real plans were read after the change (EXPLAIN on the server;
    /// not from a snapshot file): then each statement's `real_plan` and each index's
    /// `real_plan_users` / `not_served` are filled.
    #[serde(default)]
    pub real_plans_read: bool,
}

/// One recommended drop, measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropResult {
    /// Index name.
    pub name: String,
    /// `schema.table`.
    pub table: String,
    /// Whether the index is gone now.
    pub dropped: bool,
    /// The statements whose plan used it at the baseline.
    pub used_by: Vec<i64>,
    /// Those that got slower (after the control's correction).
    pub slower: Vec<i64>,
    /// The verdict: `not applied`, `confirmed` (no statement that used it got slower),
    /// `regression`, `not measured` (none of them ran often enough since to time).
    pub verdict: String,
    /// Why, in one line.
    pub reason: String,
}

/// One recommended index, measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexResult {
    /// Name.
    pub name: String,
    /// `schema.table`.
    pub table: String,
    /// The CREATE statement from the baseline.
    pub sql: String,
    /// Whether an index of this name exists on the table.
    pub exists: bool,
    /// `pg_index.indisvalid` (false when missing).
    pub valid: bool,
    /// Estimated size, bytes.
    pub estimated_size_bytes: i64,
    /// `pg_relation_size` now, bytes.
    pub real_size_bytes: Option<i64>,
    /// `real / estimated − 1` (0.1 = 10% larger than estimated).
    pub size_error: Option<f64>,
    /// `pg_stat_user_indexes.idx_scan` (scans since creation, unless statistics were reset).
    pub scans: Option<i64>,
    /// Predicted write cost, ms of database time per second.
    pub predicted_write_cost_ms_per_s: f64,
    /// Statements it was predicted to help.
    pub helps: Vec<i64>,
    /// Predicted saving per call summed over its statements, weighted by calls after, ms.
    pub predicted_saving_ms: f64,
    /// Measured saving, same weighting, ms.
    pub measured_saving_ms: f64,
    /// The verdict.
    pub verdict: IndexVerdict,
    /// What to do.
    pub suggestion: Suggestion,
    /// Why, in one line.
    pub reason: String,
    /// `DROP INDEX CONCURRENTLY IF EXISTS …;` when the suggestion is to drop it.
    pub drop_sql: Option<String>,
    /// Statements whose real plan uses it, whether it was chosen for them or not (with
    /// `real_plans_read`).
    #[serde(default)]
    pub real_plan_users: Vec<i64>,
    /// Of those, the statements it was not chosen for.
    #[serde(default)]
    pub uncredited_users: Vec<i64>,
    /// Statements it was chosen for whose real plan does not use it.
    #[serde(default)]
    pub not_served: Vec<i64>,
    /// When INVALID: the phase of the `CREATE INDEX` still running
    /// (`pg_stat_progress_create_index`); none when the build failed or was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building: Option<String>,
}

/// One statement, predicted and measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementResult {
    /// queryid.
    pub queryid: i64,
    /// Text.
    pub query: String,
    /// Whether the baseline predicted a change for it.
    pub predicted: bool,
    /// Mean time per call at the baseline, ms.
    pub before_ms: f64,
    /// Predicted mean time per call, ms.
    pub predicted_after_ms: f64,
    /// Predicted speedup (before/after cost).
    pub predicted_speedup: f64,
    /// Measured mean time per call in the "after" window, ms.
    pub after_ms: Option<f64>,
    /// Calls in the "after" window.
    pub after_calls: i64,
    /// Measured speedup (before/after mean time).
    pub measured_speedup: Option<f64>,
    /// Which counters made the "after" window.
    pub window: Window,
    /// How it changed.
    pub change: Change,
    /// Recommended indexes its predicted plan uses.
    pub uses: Vec<String>,
    /// The measured "after" with the control's drift taken out (equal to `after_ms` without a
    /// control); `change` and the index verdicts use it.
    #[serde(default)]
    pub corrected_after_ms: Option<f64>,
    /// `before_ms / corrected_after_ms`.
    #[serde(default)]
    pub corrected_speedup: Option<f64>,
    /// Recommended drops whose index its baseline plan used.
    #[serde(default)]
    pub uses_dropped: Vec<String>,
    /// Its plan on the real database after the change: which recommended indexes it uses,
    /// against the prediction (`uses`), and why they differ (with `real_plans_read`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real_plan: Option<RealPlan>,
}

/// What a write rate was measured over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatePeriod {
    /// The cumulative counters over a known period: since the statistics reset (at the
    /// baseline), since the baseline or a reset in between (after).
    Counters,
    /// The counters' deltas over a run's observation window: `analyze`'s (at the baseline),
    /// `verify`'s (after).
    Window,
}

/// Write-side effect on one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableWriteResult {
    /// `schema.table`.
    pub table: String,
    /// Rows written (inserted + updated + deleted) per second at the baseline: over
    /// `analyze`'s window when it watched one, else since the statistics reset.
    pub before_writes_per_s: Option<f64>,
    /// The same after the change: over `verify`'s window when it watched one, else since the
    /// baseline (both readings need the statistics' reset time).
    pub after_writes_per_s: Option<f64>,
    /// What `before_writes_per_s` was measured over (`None`: no rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_rate_over: Option<RatePeriod>,
    /// Seconds `before_writes_per_s` covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_seconds: Option<f64>,
    /// What `after_writes_per_s` was measured over (`None`: no rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_rate_over: Option<RatePeriod>,
    /// Rows written (inserted + updated + deleted) since the baseline (since the reset when
    /// the counters were reset in between).
    pub after_rows_written: i64,
    /// Share of updates that were HOT at the baseline.
    pub before_hot_share: Option<f64>,
    /// The same in the "after" window.
    pub after_hot_share: Option<f64>,
    /// Updates per second predicted to stop being HOT.
    pub predicted_lost_hot_updates_per_s: f64,
    /// Seconds `after_writes_per_s` covers.
    pub window_seconds: Option<f64>,
    /// Whether the table's counters were reset in between.
    pub reset: bool,
}

/// The "after" window of one statement.
#[derive(Debug, Clone, Copy)]
struct After {
    calls: i64,
    total_ms: f64,
    /// Standard deviation of the time per call in the window, when known.
    stddev_ms: Option<f64>,
    window: Window,
    /// Blocks read from outside `shared_buffers` in the window.
    blks_read: i64,
}

/// The "after" window of one statement from the counters at the baseline and now: their
/// difference (the spread from the difference of the sums of squares), or the counters now
/// after a reset.
fn after_window(base: Option<&StatementCounters>, now: &Statement, reset: bool) -> After {
    use crate::collect::workload::{stddev_of, sum_of_squares};
    match base {
        Some(b) if !reset && now.calls >= b.calls && now.total_time_ms >= b.total_time_ms => {
            let calls = now.calls - b.calls;
            let total_ms = now.total_time_ms - b.total_time_ms;
            let stddev_ms = match (b.stddev_time_ms, now.stddev_time_ms) {
                (Some(sb), Some(sn)) => stddev_of(
                    calls,
                    total_ms,
                    sum_of_squares(now.calls, now.total_time_ms, sn)
                        - sum_of_squares(b.calls, b.total_time_ms, sb),
                ),
                _ => None,
            };
            After {
                calls,
                total_ms,
                stddev_ms,
                window: Window::Delta,
                blks_read: (now.shared_blks_read - b.shared_blks_read).max(0),
            }
        }
        _ => After {
            calls: now.calls,
            total_ms: now.total_time_ms,
            stddev_ms: now.stddev_time_ms,
            window: Window::SinceReset,
            blks_read: now.shared_blks_read,
        },
    }
}

fn classify(
    before: &super::noise::Timing,
    after: Option<&super::noise::Timing>,
    control: Option<&Control>,
) -> Change {
    use super::noise::Verdict;
    match super::noise::classify(before, after, control.and_then(|c| c.spread)) {
        Verdict::Faster => Change::Faster,
        Verdict::Unchanged => Change::Unchanged,
        Verdict::Slower => Change::Slower,
        Verdict::Untimed => Change::TooFewCalls,
    }
}

/// Compare the baseline with a snapshot of the server now.
pub fn compare(baseline: &Baseline, now: &Snapshot) -> VerifyReport {
    compare_with(baseline, now, None)
}

/// The statements whose real plan `verify` reads after the change: those `analyze` predicted
/// a change for, those whose mean time changed beyond the noise (faster or slower), and those
/// whose baseline plan used a dropped index. (The caller adds every statement on a table that
/// got a new index, which only the parsed statement knows.)
pub fn plan_targets(baseline: &Baseline, now: &Snapshot) -> std::collections::BTreeSet<i64> {
    let (all, _) = measured(baseline, now, &mut vec![]);
    all.iter()
        .map(|(_, s)| s)
        .filter(|s| {
            s.predicted
                || !s.uses_dropped.is_empty()
                || matches!(s.change, Change::Faster | Change::Slower)
        })
        .map(|s| s.queryid)
        .collect()
}

/// Compare the baseline with a snapshot of the server now and, when read, the statements' real
/// plans after the change.
pub fn compare_with(
    baseline: &Baseline,
    now: &Snapshot,
    plans: Option<&RealPlans>,
) -> VerifyReport {
    let mut notes = vec![];
    let (all, control) = measured(baseline, now, &mut notes);
    let mut statements: Vec<(f64, StatementResult)> = vec![];
    for (total, mut s) in all {
        s.real_plan = plans.and_then(|p| {
            let read = p.statements.get(&s.queryid)?;
            Some(real_plan(
                read,
                &s.uses,
                &baseline.indexes,
                now,
                &p.building,
            ))
        });
        let uses_new = s.real_plan.as_ref().is_some_and(|p| !p.uses.is_empty());
        if s.predicted || !s.uses_dropped.is_empty() || s.change == Change::Slower || uses_new {
            statements.push((total, s));
        }
    }
    finish(baseline, now, plans, notes, control, statements)
}

/// Every statement of the baseline, measured (before the report's selection), and the control.
fn measured(
    baseline: &Baseline,
    now: &Snapshot,
    notes: &mut Vec<String>,
) -> (Vec<(f64, StatementResult)>, Option<Control>) {
    let reset = match (&baseline.stats_since, &now.workload.stats_since) {
        (Some(a), Some(b)) => a != b,
        _ => false,
    };
    if reset {
        notes.push(format!(
            "pg_stat_statements was reset since the baseline ({} → {}): the \"after\" figures are the counters since the reset",
            baseline.stats_since.as_deref().unwrap_or("?"),
            now.workload.stats_since.as_deref().unwrap_or("?")
        ));
    }
    // The "after" figures: the observation window's deltas when this run watched with enough
    // traffic (today's mix, whatever ran between the baseline and now), else the growth of the
    // cumulative counters since the baseline.
    let observed = now
        .workload
        .observation
        .as_ref()
        .is_some_and(|o| o.basis == crate::model::Basis::Window);
    if let Some(o) = &now.workload.observation {
        if o.window_s > 0.0 {
            notes.push(format!("\"after\" measurement: {}", o.summary()));
        }
    }
    let none = |window| After {
        calls: 0,
        total_ms: 0.0,
        stddev_ms: None,
        window,
        blks_read: 0,
    };
    let windows: Vec<After> = baseline
        .statements
        .iter()
        .map(|b| match now.workload.get(b.queryid) {
            Some(n) if observed => After {
                calls: n.calls,
                total_ms: n.total_time_ms,
                stddev_ms: n.stddev_time_ms,
                window: Window::Observed,
                blks_read: n.shared_blks_read,
            },
            Some(n) => after_window(Some(b), n, reset),
            None if observed => none(Window::Observed),
            None => none(Window::Absent),
        })
        .collect();
    let mut control = measure_control(baseline, &windows);
    if let Some(c) = control.as_mut() {
        let per_call = |blocks: i64, calls: i64| (calls > 0).then(|| blocks as f64 / calls as f64);
        let blocks = baseline
            .statements
            .iter()
            .zip(&windows)
            .map(|(b, w)| {
                (
                    b.queryid,
                    (
                        per_call(b.shared_blks_read, b.calls),
                        per_call(w.blks_read, w.calls),
                    ),
                )
            })
            .collect();
        let touched = super::beside::touched_tables(baseline, now);
        notes.extend(super::beside::attribute(c, &touched, now, &blocks));
    }
    match &control {
        Some(c) if c.moved => notes.push(format!(
            "the load differed between the two windows: the {} statement(s) no recommended index touches (the control) ran {:.2}× {} after than at the baseline; every \"after\" is corrected by that factor, but compare again under comparable load to be sure",
            c.statements.len(),
            if c.drift < 1.0 { c.speedup() } else { c.drift },
            if c.drift < 1.0 { "faster" } else { "slower" }
        )),
        // Without a control, the reports' control line says so.
        _ => {}
    }
    let mut statements: Vec<(f64, StatementResult)> = vec![];
    for (b, w) in baseline.statements.iter().zip(&windows) {
        let (calls, total, window) = (w.calls, w.total_ms, w.window);
        let pred = baseline.prediction(b.queryid);
        let predicted = pred.is_some_and(|p| !p.uses.is_empty() || p.after_cost < p.before_cost);
        let uses_dropped: Vec<String> = baseline
            .drops
            .iter()
            .filter(|d| d.used_by.contains(&b.queryid))
            .map(|d| d.name.clone())
            .collect();
        let after_ms = (calls > 0).then(|| total / calls as f64);
        let corrected = after_ms.map(|a| control.as_ref().map_or(a, |c| c.correct(a)));
        let before_ms = baseline.before_ms(b);
        let before = super::noise::Timing {
            calls: pred.map_or(0, |p| p.before_calls),
            mean_ms: before_ms,
            stddev_ms: pred.and_then(|p| p.before_stddev_ms),
        };
        let after = corrected.map(|mean_ms| super::noise::Timing {
            calls,
            mean_ms,
            // The correction scales the whole distribution.
            stddev_ms: w
                .stddev_ms
                .map(|sd| control.as_ref().map_or(sd, |c| c.correct(sd))),
        });
        let change = classify(&before, after.as_ref(), control.as_ref());
        let result = StatementResult {
            corrected_after_ms: corrected,
            corrected_speedup: corrected.filter(|a| *a > 0.0).map(|a| before_ms / a),
            uses_dropped,
            queryid: b.queryid,
            query: b.query.clone(),
            predicted,
            before_ms,
            predicted_after_ms: pred.map(|p| p.after_ms).unwrap_or(before_ms),
            predicted_speedup: pred.map(|p| p.speedup()).unwrap_or(1.0),
            after_ms,
            after_calls: calls,
            measured_speedup: after_ms.filter(|a| *a > 0.0).map(|a| before_ms / a),
            window,
            change,
            uses: pred.map(|p| p.uses.clone()).unwrap_or_default(),
            real_plan: None,
        };
        statements.push((b.total_time_ms, result));
    }
    (statements, control)
}

/// The report from the selected statements: order, indexes, drops, writes, notes.
fn finish(
    baseline: &Baseline,
    now: &Snapshot,
    plans: Option<&RealPlans>,
    mut notes: Vec<String>,
    control: Option<Control>,
    mut statements: Vec<(f64, StatementResult)>,
) -> VerifyReport {
    let reset = baseline.stats_since.is_some()
        && now.workload.stats_since.is_some()
        && baseline.stats_since != now.workload.stats_since;
    statements.sort_by(|a, b| {
        b.1.predicted
            .cmp(&a.1.predicted)
            .then(b.0.total_cmp(&a.0))
            .then(a.1.queryid.cmp(&b.1.queryid))
    });
    let statements: Vec<StatementResult> = statements.into_iter().map(|(_, s)| s).collect();
    let windows_reset = statements
        .iter()
        .filter(|s| s.window == Window::SinceReset)
        .count();
    if !reset && windows_reset > 0 {
        notes.push(format!(
            "{windows_reset} statement(s) have fewer calls (or less time) now than at the baseline: their entries were reset or evicted, so the \"after\" figures are their counters since then"
        ));
    }
    let indexes: Vec<IndexResult> = baseline
        .indexes
        .iter()
        .map(|ix| index_result(ix, now, &statements, plans))
        .collect();
    notes.extend(unattributed_slowdowns(baseline, &statements));
    let drops = drop_results(baseline, now, &statements);
    let writes = write_results(baseline, now, &mut notes);
    if !now.write_stats.available() {
        notes.push(
            "write statistics unavailable (a replica without --primary-url): HOT share and writes per second not measured"
                .into(),
        );
    }
    VerifyReport {
        format_version: VERIFY_FORMAT_VERSION,
        created_by: format!("idxadvise {}", env!("CARGO_PKG_VERSION")),
        database: now.server.database.clone(),
        baseline_created_by: baseline.created_by.clone(),
        reset_detected: reset,
        indexes,
        statements,
        write_source: now.write_stats.source,
        writes,
        notes,
        control,
        drops,
        real_plans_read: plans.is_some(),
    }
}

/// The control: the timed SELECTs whose predicted plan uses no recommended index, whose cost
/// is predicted unchanged, and whose baseline plan used no dropped index.
fn measure_control(baseline: &Baseline, windows: &[After]) -> Option<Control> {
    let members: Vec<Member> = baseline
        .statements
        .iter()
        .zip(windows)
        .filter(|(b, a)| {
            // Counters since a reset that came after the baseline are all "after" figures.
            matches!(
                a.window,
                Window::Delta | Window::Observed | Window::SinceReset
            ) && super::control::is_read(&b.query)
        })
        .filter(|(b, _)| {
            baseline.prediction(b.queryid).is_some_and(|p| {
                p.uses.is_empty() && (p.after_cost - p.before_cost).abs() <= 1e-6 * p.before_cost
            }) && !baseline
                .indexes
                .iter()
                .any(|i| i.helps.contains(&b.queryid))
                && !baseline
                    .drops
                    .iter()
                    .any(|d| d.used_by.contains(&b.queryid))
        })
        .filter(|(_, a)| a.calls > 0)
        .map(|(b, a)| Member {
            queryid: b.queryid,
            query: b.query.clone(),
            before_ms: baseline.before_ms(b),
            after_ms: a.total_ms / a.calls as f64,
            calls: a.calls,
            before_calls: baseline.prediction(b.queryid).map_or(0, |p| p.before_calls),
            before_stddev_ms: baseline
                .prediction(b.queryid)
                .and_then(|p| p.before_stddev_ms),
            after_stddev_ms: a.stddev_ms,
        })
        .collect();
    super::control::measure(&members)
}

/// Each recommended drop: gone or not, and whether the statements that used it kept their
/// speed (corrected by the control).
fn drop_results(
    baseline: &Baseline,
    now: &Snapshot,
    statements: &[StatementResult],
) -> Vec<DropResult> {
    baseline
        .drops
        .iter()
        .map(|d| {
            let exists = now
                .catalog
                .table(&d.schema, &d.table)
                .is_some_and(|t| t.indexes.iter().any(|i| i.name == d.name));
            let slower: Vec<i64> = statements
                .iter()
                .filter(|s| d.used_by.contains(&s.queryid) && s.change == Change::Slower)
                .map(|s| s.queryid)
                .collect();
            let timed = statements
                .iter()
                .filter(|s| d.used_by.contains(&s.queryid) && s.change != Change::TooFewCalls)
                .count();
            let (verdict, reason) = if exists {
                (
                    "not applied",
                    "the index still exists: apply its drop migration (or the DROP INDEX CONCURRENTLY)".to_string(),
                )
            } else if !slower.is_empty() {
                (
                    "regression",
                    format!(
                        "statement(s) {} that used it got slower (by more than {:.0}% and {MIN_SLOWER_MS} ms per call, beyond the noise): recreate it, or compare their plans (idxadvise explain)",
                        slower.iter().map(i64::to_string).collect::<Vec<_>>().join(", "),
                        100.0 * (SLOWER_FACTOR - 1.0)
                    ),
                )
            } else if d.used_by.is_empty() {
                ("confirmed", "dropped; no statement's plan used it".to_string())
            } else if timed == 0 {
                (
                    "not measured",
                    format!(
                        "dropped, but none of the {} statement(s) that used it ran {MIN_CALLS} times since: let traffic run and verify again",
                        d.used_by.len()
                    ),
                )
            } else {
                (
                    "confirmed",
                    format!(
                        "dropped; none of the {timed} timed statement(s) that used it got slower"
                    ),
                )
            };
            DropResult {
                name: d.name.clone(),
                table: format!("{}.{}", d.schema, d.table),
                dropped: !exists,
                used_by: d.used_by.clone(),
                slower,
                verdict: verdict.to_string(),
                reason,
            }
        })
        .collect()
}

/// Whether a slowdown of `s` counts against the index `ix`. With its real plan read: when the
/// real plan uses the index, whether or not the index was chosen for it. Without: only when
/// the index was chosen for it (a predicted gain) and its predicted plan uses it; a statement
/// whose predicted plan touches the index with no gain predicted (planner cost within a
/// percent) may well run another plan: pg_stat_statements cannot tell, so its slowdown is
/// reported as such, not blamed on the index ([`unattributed_slowdowns`]).
fn blames(ix: &IndexPrediction, s: &StatementResult) -> bool {
    match s.real_plan.as_ref().filter(|p| p.planned()) {
        Some(p) => p.uses.contains(&ix.name),
        None => ix.helps.contains(&s.queryid) && s.uses.contains(&ix.name),
    }
}

/// Notes for slower statements whose predicted plan uses a recommended index that is not
/// blamed for it: not the index's regression, but worth a look.
fn unattributed_slowdowns(baseline: &Baseline, statements: &[StatementResult]) -> Vec<String> {
    let mut notes = vec![];
    for ix in &baseline.indexes {
        let slower = |s: &&StatementResult| {
            s.change == Change::Slower && s.uses.contains(&ix.name) && !blames(ix, s)
        };
        let real: Vec<i64> = statements
            .iter()
            .filter(slower)
            .filter(|s| s.real_plan.as_ref().is_some_and(|p| p.planned()))
            .map(|s| s.queryid)
            .collect();
        if !real.is_empty() {
            notes.push(format!(
                "statement(s) {} got slower; their predicted plan uses {} but their real plan does not: not counted against the index (see their real plans)",
                ids(&real),
                ix.name
            ));
        }
        let ids: Vec<String> = statements
            .iter()
            .filter(slower)
            .filter(|s| !s.real_plan.as_ref().is_some_and(|p| p.planned()))
            .map(|s| s.queryid.to_string())
            .collect();
        if !ids.is_empty() {
            notes.push(format!(
                "statement(s) {} got slower; their predicted plan touches {} but no gain was predicted from it, and pg_stat_statements cannot tell which plan ran: not counted against the index (compare their plans with idxadvise explain)",
                ids.join(", "),
                ix.name
            ));
        }
    }
    notes
}

fn index_result(
    ix: &IndexPrediction,
    now: &Snapshot,
    statements: &[StatementResult],
    plans: Option<&RealPlans>,
) -> IndexResult {
    let existing = now
        .catalog
        .table(&ix.schema, &ix.table)
        .and_then(|t| t.indexes.iter().find(|i| i.name == ix.name));
    // The statements it was chosen for: its saving and its verdict are theirs (a statement
    // whose predicted plan merely touches it, with no gain predicted, is not: see `blames`).
    let mine: Vec<&StatementResult> = statements
        .iter()
        .filter(|s| ix.helps.contains(&s.queryid))
        .collect();
    let (mut predicted_saving, mut measured_saving) = (0.0, 0.0);
    for s in mine.iter().filter(|s| s.change != Change::TooFewCalls) {
        if let Some(a) = s.corrected_after_ms {
            let w = s.after_calls as f64;
            predicted_saving += w * (s.before_ms - s.predicted_after_ms);
            measured_saving += w * (s.before_ms - a);
        }
    }
    let timed = mine
        .iter()
        .filter(|s| s.change != Change::TooFewCalls)
        .count();
    // Every statement whose slowdown counts against it: with real plans, also those it was not
    // chosen for whose real plan uses it.
    let slower: Vec<String> = statements
        .iter()
        .filter(|s| s.change == Change::Slower && blames(ix, s))
        .map(|s| s.queryid.to_string())
        .collect();
    let usage = index_use(
        ix,
        statements
            .iter()
            .filter_map(|s| Some((s.queryid, s.real_plan.as_ref()?))),
    );
    let building = plans.and_then(|p| p.building.get(&ix.name).cloned());
    let drop_sql = format!(
        "DROP INDEX CONCURRENTLY IF EXISTS {}.{};",
        ident(&ix.schema),
        ident(&ix.name)
    );
    let (verdict, suggestion, reason) = match existing {
        None => (
            IndexVerdict::NotApplied,
            Suggestion::Apply,
            "no index of this name on the table: apply its migration (or indexes.sql)".to_string(),
        ),
        Some(e) if !e.valid && building.is_some() => (
            IndexVerdict::Invalid,
            Suggestion::MeasureAgain,
            format!(
                "not valid yet: CREATE INDEX is still running ({}); the planner cannot use it until it finishes, then verify again",
                building.as_deref().unwrap_or_default()
            ),
        ),
        Some(e) if !e.valid => (
            IndexVerdict::Invalid,
            Suggestion::Investigate,
            format!("INVALID (a failed concurrent build, still maintained on writes, never used by the planner): {drop_sql} then apply it again"),
        ),
        Some(e) if !e.planner_ready => (
            IndexVerdict::NotReady,
            Suggestion::MeasureAgain,
            "not used by the planner yet: a plain CREATE INDEX that met rows updated under older \
             transactions waits for every one of them to end (pg_index.indcheckxmin); verify \
             again once they have"
                .to_string(),
        ),
        Some(_) if !slower.is_empty() => (
            IndexVerdict::Regression,
            Suggestion::Investigate,
            format!(
                "statement(s) {} got slower (by more than {:.0}% and {MIN_SLOWER_MS} ms per call, beyond the noise): compare their plans (idxadvise explain)",
                slower.join(", "),
                100.0 * (SLOWER_FACTOR - 1.0)
            ),
        ),
        // No statement of it timed: whatever the scans say, nothing to judge it by (an
        // index whose statements did not run is not "unused" either).
        Some(e) if timed == 0 => (
            IndexVerdict::NotMeasured,
            Suggestion::MeasureAgain,
            format!(
                "{} scans, but none of its statements ran {MIN_CALLS} times in the \"after\" window: not measured; let traffic run and verify again (or a longer --window)",
                e.scans
            ),
        ),
        Some(e) if e.scans == 0 => (
            IndexVerdict::Unused,
            Suggestion::Drop,
            "no scan since it was created: it costs writes and storage for nothing".to_string(),
        ),
        Some(e) if predicted_saving <= 0.0 => (
            IndexVerdict::Confirmed,
            Suggestion::Keep,
            format!(
                "used ({} scans); no time saving was predicted for its timed statements",
                e.scans
            ),
        ),
        Some(e) => {
            let share = measured_saving / predicted_saving;
            if share >= CONFIRMED_SHARE {
                (
                    IndexVerdict::Confirmed,
                    Suggestion::Keep,
                    format!(
                        "used ({} scans); {:.0}% of the predicted time saved",
                        e.scans,
                        100.0 * share
                    ),
                )
            } else if measured_saving > 0.0 {
                (
                    IndexVerdict::SmallerThanPredicted,
                    Suggestion::Keep,
                    format!(
                        "used ({} scans), but only {:.0}% of the predicted time saved",
                        e.scans,
                        100.0 * share
                    ),
                )
            } else {
                (
                    IndexVerdict::SmallerThanPredicted,
                    Suggestion::Investigate,
                    format!(
                        "used ({} scans), but its statements saved no time: compare their plans",
                        e.scans
                    ),
                )
            }
        }
    };
    let (suggestion, reason) = with_real_plans(ix, now, plans, &usage, verdict, suggestion, reason);
    let real = existing.map(|e| e.size_bytes);
    IndexResult {
        real_plan_users: usage.used_by,
        uncredited_users: usage.uncredited,
        not_served: usage.not_served,
        building,
        name: ix.name.clone(),
        table: format!("{}.{}", ix.schema, ix.table),
        sql: ix.sql.clone(),
        exists: existing.is_some(),
        valid: existing.is_some_and(|e| e.valid),
        estimated_size_bytes: ix.size_bytes,
        real_size_bytes: real,
        size_error: real
            .filter(|_| ix.size_bytes > 0)
            .map(|r| r as f64 / ix.size_bytes as f64 - 1.0),
        scans: existing.map(|e| e.scans),
        predicted_write_cost_ms_per_s: ix.write_cost_ms_per_s,
        helps: ix.helps.clone(),
        predicted_saving_ms: predicted_saving,
        measured_saving_ms: measured_saving,
        verdict,
        suggestion,
        reason,
        drop_sql: (suggestion == Suggestion::Drop).then_some(drop_sql),
    }
}

/// The suggestion and reason of an index with what the real plans say: which statements it
/// was chosen for are not served by it and why, which it serves without being chosen for them;
/// an index that none of its statements' real plans uses, however fast they got, is to
/// investigate.
fn with_real_plans(
    ix: &IndexPrediction,
    now: &Snapshot,
    plans: Option<&RealPlans>,
    usage: &super::real_plan::IndexUse,
    verdict: IndexVerdict,
    suggestion: Suggestion,
    mut reason: String,
) -> (Suggestion, String) {
    let Some(plans) = plans else {
        return (suggestion, reason);
    };
    let mut suggestion = suggestion;
    if !usage.used_by.is_empty() {
        let credited: Vec<i64> = usage
            .used_by
            .iter()
            .filter(|q| !usage.uncredited.contains(q))
            .copied()
            .collect();
        let mut parts = vec![];
        if !credited.is_empty() {
            parts.push(format!("statement(s) {}", ids(&credited)));
        }
        if !usage.uncredited.is_empty() {
            parts.push(format!(
                "statement(s) {} it was not chosen for",
                ids(&usage.uncredited)
            ));
        }
        reason.push_str(&format!("; real plans using it: {}", parts.join(", and ")));
    }
    if !usage.not_served.is_empty() {
        // An invalid or missing index's reason says why already.
        let why = match unusable(ix, now, &plans.building) {
            Some(_)
                if matches!(
                    verdict,
                    IndexVerdict::Invalid | IndexVerdict::NotReady | IndexVerdict::NotApplied
                ) =>
            {
                String::new()
            }
            Some(w) => format!(" ({w})"),
            None => " (see their real plans)".to_string(),
        };
        reason.push_str(&format!(
            "; statement(s) {} it was chosen for are not served by it{why}",
            ids(&usage.not_served)
        ));
    }
    let nobody = usage.credited_planned > 0 && usage.used_by.is_empty();
    if nobody
        && matches!(
            verdict,
            IndexVerdict::Confirmed | IndexVerdict::SmallerThanPredicted
        )
    {
        suggestion = Suggestion::Investigate;
        reason
            .push_str(": no real plan uses it, so whatever its statements saved is not its doing");
    }
    (suggestion, reason)
}

fn writes_total(t: &TableWrites) -> i64 {
    t.n_tup_ins + t.n_tup_upd + t.n_tup_del
}

/// Rows written per second over `seconds`, with the seconds and what they cover.
fn rate(rows: i64, seconds: Option<f64>, over: RatePeriod) -> Option<(f64, f64, RatePeriod)> {
    let s = seconds.filter(|s| s.is_finite() && *s > 0.0)?;
    Some((rows as f64 / s, s, over))
}

/// The rate of `table` over an observation window's deltas, when there was a window.
fn window_rate(
    window: Option<&WindowWrites>,
    table: &TableWrites,
) -> Option<(f64, f64, RatePeriod)> {
    let w = window?;
    let d = w
        .tables
        .iter()
        .find(|t| t.schema == table.schema && t.table == table.table)?;
    rate(writes_total(d), Some(w.seconds), RatePeriod::Window)
}

fn hot(hot: i64, upd: i64) -> Option<f64> {
    (upd > 0).then(|| hot as f64 / upd as f64)
}

fn write_results(
    baseline: &Baseline,
    now: &Snapshot,
    notes: &mut Vec<String>,
) -> Vec<TableWriteResult> {
    if baseline.writes.source == WriteSource::Unavailable || !now.write_stats.available() {
        return vec![];
    }
    let same_since = baseline.writes.since == now.write_stats.since;
    let mut out = vec![];
    for b in &baseline.writes.tables {
        let Some(n) = now.write_stats.table(&b.schema, &b.table) else {
            continue;
        };
        let reset = !same_since
            || n.n_tup_ins < b.n_tup_ins
            || n.n_tup_upd < b.n_tup_upd
            || n.n_tup_del < b.n_tup_del
            || n.n_tup_hot_upd < b.n_tup_hot_upd;
        let (delta_writes, delta_hot, delta_upd, window) = if reset {
            (
                writes_total(n),
                n.n_tup_hot_upd,
                n.n_tup_upd,
                now.write_stats.seconds,
            )
        } else {
            (
                writes_total(n) - writes_total(b),
                n.n_tup_hot_upd - b.n_tup_hot_upd,
                n.n_tup_upd - b.n_tup_upd,
                now.write_stats
                    .seconds
                    .zip(baseline.writes.seconds)
                    .map(|(a, b)| a - b),
            )
        };
        // Problem: without a statistics reset time the counters cover an unknown period, so
        // they give rows written but no rate. What we do: take the counters' deltas over the
        // observation window when the run watched one (`analyze`'s at the baseline, `verify`'s
        // after: the latter all after the change), else the counters over the known period.
        // Example: a primary never reset, verified with `--window 90`, gets its rows/s now.
        let before = window_rate(baseline.writes.window.as_ref(), b).or_else(|| {
            rate(
                writes_total(b),
                baseline.writes.seconds,
                RatePeriod::Counters,
            )
        });
        let after = window_rate(now.write_stats.window.as_ref(), b)
            .or_else(|| rate(delta_writes, window, RatePeriod::Counters));
        let lost: f64 = baseline
            .indexes
            .iter()
            .filter(|i| i.schema == b.schema && i.table == b.table)
            .map(|i| i.lost_hot_updates_per_s)
            .sum();
        out.push(TableWriteResult {
            table: format!("{}.{}", b.schema, b.table),
            before_writes_per_s: before.map(|r| r.0),
            after_writes_per_s: after.map(|r| r.0),
            before_rate_over: before.map(|r| r.2),
            before_seconds: before.map(|r| r.1),
            after_rate_over: after.map(|r| r.2),
            after_rows_written: delta_writes,
            before_hot_share: b.hot_share(),
            after_hot_share: hot(delta_hot, delta_upd),
            predicted_lost_hot_updates_per_s: lost,
            window_seconds: after.map(|r| r.1),
            reset,
        });
    }
    if out.iter().any(|w| w.reset) {
        notes.push("table statistics were reset since the baseline: write figures after are since the reset".into());
    }
    out
}

/// The exit code for a report: [`crate::error::EXIT_RECOMMENDATIONS`] when any index needs
/// something other than "keep", a drop is not confirmed, or a statement got slower beside the
/// change ([`super::beside`]), else [`crate::error::EXIT_OK`].
pub fn exit_code(report: &VerifyReport) -> i32 {
    let beside = report
        .control
        .iter()
        .flat_map(|c| &c.movers)
        .any(|m| !m.touched.is_empty());
    if report
        .indexes
        .iter()
        .all(|i| i.suggestion == Suggestion::Keep)
        && report.drops.iter().all(|d| d.verdict == "confirmed")
        && !beside
    {
        crate::error::EXIT_OK
    } else {
        crate::error::EXIT_RECOMMENDATIONS
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{baseline, now};
    use super::*;

    #[test]
    fn r13_a_window_makes_the_after_figures() {
        use crate::model::{Basis, Observation, PrimaryStatements};
        let b = baseline();
        let mut n = now();
        // The window saw 30 calls of 101 at 0.4 ms; the cumulative counters are what they are.
        n.workload.statements = vec![crate::model::Statement {
            calls: 30,
            total_time_ms: 12.0,
            mean_time_ms: 0.4,
            ..n.workload.statements[0].clone()
        }];
        n.workload.observation = Some(Observation {
            window_s: 60.0,
            basis: Basis::Window,
            why: "enough calls".into(),
            window_calls: 130,
            window_statements: 1,
            primary_statements: PrimaryStatements::Analysed,
            runs_on: vec![],
            split: vec![],
            cumulative: vec![],
        });
        let r = compare(&b, &n);
        let s = r.statements.iter().find(|s| s.queryid == 101).expect("101");
        assert_eq!(s.window, Window::Observed);
        assert_eq!(s.after_calls, 30);
        assert!((s.after_ms.expect("measured") - 0.4).abs() < 1e-9);
        assert!(
            r.notes.iter().any(|n| n.contains("watched 60 s")),
            "{:?}",
            r.notes
        );
    }

    /// Review 2026-12-06: `verify --window 0` with no traffic since the reset said "confirmed |
    /// keep" (exit 0) for every index while each line said its statements were not timed.
    #[test]
    fn no_calls_after_is_not_measured_never_confirmed() {
        let b = baseline();
        let mut n = now();
        // Nothing ran since the baseline: the counters are the baseline's.
        n.workload.statements = b.statements.clone();
        let r = compare(&b, &n);
        let ix = &r.indexes[0];
        assert_eq!(ix.verdict, IndexVerdict::NotMeasured, "{}", ix.reason);
        assert_eq!(ix.suggestion, Suggestion::MeasureAgain);
        assert!(ix.reason.contains("not measured"), "{}", ix.reason);
        assert_eq!(exit_code(&r), crate::error::EXIT_RECOMMENDATIONS);
        // No scan either: still not measured, not "unused, drop" (its statements did not run).
        n.catalog.tables[0].indexes[0].scans = 0;
        let r = compare(&b, &n);
        assert_eq!(r.indexes[0].verdict, IndexVerdict::NotMeasured);
        assert_eq!(r.indexes[0].drop_sql, None);
    }

    /// Review 2026-12-06: an index was called a regression because a statement whose predicted
    /// plan touched it (cost 185.6 → 184.0, no gain) went 0.212 → 0.276 ms; its real plan used
    /// another index. Only the statements an index was chosen for count against it.
    #[test]
    fn a_slowdown_counts_only_against_an_index_chosen_for_the_statement() {
        let mut b = baseline();
        let mut n = now();
        // 102 is predicted unchanged but its predicted plan touches the index; it went 20 → 60
        // ms per call over 10 calls (a slowdown by every test: no spread known, no control).
        b.predictions[1].uses = vec![b.indexes[0].name.clone()];
        n.workload.statements[1].calls = 20;
        n.workload.statements[1].total_time_ms = 200.0 + 600.0;
        let r = compare(&b, &n);
        let s = r.statements.iter().find(|s| s.queryid == 102).unwrap();
        assert_eq!(s.change, Change::Slower);
        assert_eq!(
            r.indexes[0].verdict,
            IndexVerdict::Confirmed,
            "{}",
            r.indexes[0].reason
        );
        assert!(
            r.notes
                .iter()
                .any(|m| m.contains("statement(s) 102 got slower") && m.contains("not counted")),
            "{:?}",
            r.notes
        );
        // Chosen for it: a regression.
        b.indexes[0].helps.push(102);
        let r = compare(&b, &n);
        assert_eq!(r.indexes[0].verdict, IndexVerdict::Regression);
        assert!(
            r.indexes[0].reason.contains("102"),
            "{}",
            r.indexes[0].reason
        );
    }

    /// The "after" spread of a delta window comes from the difference of the sums of squares.
    #[test]
    fn the_after_spread_is_the_deltas_own() {
        use crate::collect::workload::sum_of_squares;
        let mut base = now().workload.statements[0].clone();
        // 100 calls of 10 ms exactly, then 100 more: 50 of 5 ms and 50 of 15 ms.
        base.calls = 100;
        base.total_time_ms = 1000.0;
        base.stddev_time_ms = Some(0.0);
        let mut now_ = base.clone();
        now_.calls = 200;
        now_.total_time_ms = 2000.0;
        let q = 100.0 * 100.0 + 50.0 * 25.0 + 50.0 * 225.0;
        now_.stddev_time_ms = Some((q / 200.0 - 100.0f64).sqrt());
        assert!((sum_of_squares(200, 2000.0, now_.stddev_time_ms.unwrap()) - q).abs() < 1e-6);
        let a = after_window(Some(&base), &now_, false);
        assert_eq!((a.calls, a.window), (100, Window::Delta));
        assert!(
            (a.stddev_ms.unwrap() - 5.0).abs() < 1e-9,
            "{:?}",
            a.stddev_ms
        );
        // Unknown on either side: unknown.
        base.stddev_time_ms = None;
        assert_eq!(after_window(Some(&base), &now_, false).stddev_ms, None);
    }

    #[test]
    fn confirmed_index_and_faster_statement_from_deltas() {
        let b = baseline();
        let n = now();
        let r = compare(&b, &n);
        let ix = &r.indexes[0];
        assert_eq!(ix.name, "shop_order_custome_da1929_idx");
        assert!(ix.exists && ix.valid);
        assert_eq!(ix.verdict, IndexVerdict::Confirmed, "{}", ix.reason);
        assert_eq!(ix.suggestion, Suggestion::Keep);
        assert_eq!(ix.scans, Some(40));
        let err = ix.size_error.unwrap();
        assert!((err - 0.1).abs() < 1e-9, "{err}");
        // Statement 101: 100 calls, 1000 ms at the baseline; 150 calls, 1050 ms now: the
        // window is 50 calls in 50 ms, 1 ms per call (not the cumulative 7 ms).
        let s = r.statements.iter().find(|s| s.queryid == 101).unwrap();
        assert_eq!(s.window, Window::Delta);
        assert_eq!(s.after_calls, 50);
        assert!((s.after_ms.unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(s.change, Change::Faster);
        assert!((s.measured_speedup.unwrap() - 10.0).abs() < 1e-9);
        assert!((s.predicted_speedup - 20.0).abs() < 1e-9);
        assert!(!r.reset_detected);
        assert_eq!(exit_code(&r), crate::error::EXIT_OK);
    }

    #[test]
    fn reset_in_between_uses_the_counters_since_the_reset() {
        let b = baseline();
        let mut n = now();
        // calls now < calls at the baseline: a reset of this entry.
        let s = n
            .workload
            .statements
            .iter_mut()
            .find(|s| s.queryid == 101)
            .unwrap();
        s.calls = 20;
        s.total_time_ms = 30.0;
        let r = compare(&b, &n);
        let s = r.statements.iter().find(|s| s.queryid == 101).unwrap();
        assert_eq!(s.window, Window::SinceReset);
        assert_eq!(s.after_calls, 20);
        assert!((s.after_ms.unwrap() - 1.5).abs() < 1e-9);
        assert!(
            r.notes.iter().any(|n| n.contains("reset or evicted")),
            "{:?}",
            r.notes
        );
        // A newer stats_reset: every statement uses the counters since the reset.
        let mut n = now();
        n.workload.stats_since = Some("2026-02-01 00:00:00+00".into());
        let r = compare(&b, &n);
        assert!(r.reset_detected);
        let s = r.statements.iter().find(|s| s.queryid == 101).unwrap();
        assert_eq!(s.window, Window::SinceReset);
        assert_eq!(s.after_calls, 150);
    }

    #[test]
    fn unused_regression_invalid_and_missing() {
        let b = baseline();
        let mut n = now();
        n.catalog.tables[0].indexes[0].scans = 0;
        let r = compare(&b, &n);
        assert_eq!(r.indexes[0].verdict, IndexVerdict::Unused);
        assert_eq!(r.indexes[0].suggestion, Suggestion::Drop);
        assert_eq!(
            r.indexes[0].drop_sql.as_deref(),
            Some("DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"shop_order_custome_da1929_idx\";")
        );
        assert_eq!(exit_code(&r), crate::error::EXIT_RECOMMENDATIONS);

        let mut n = now();
        let s = n
            .workload
            .statements
            .iter_mut()
            .find(|s| s.queryid == 101)
            .unwrap();
        s.total_time_ms = 1000.0 + 50.0 * 20.0; // 20 ms per call after, 10 before
        let r = compare(&b, &n);
        assert_eq!(r.indexes[0].verdict, IndexVerdict::Regression);
        assert_eq!(r.indexes[0].suggestion, Suggestion::Investigate);
        assert!(r.indexes[0].reason.contains("101"));

        let mut n = now();
        n.catalog.tables[0].indexes[0].valid = false;
        assert_eq!(compare(&b, &n).indexes[0].verdict, IndexVerdict::Invalid);
        // Valid but left out by the planner until older transactions end: measure again,
        // whatever the timings say (here the regression above).
        let mut n = now();
        n.catalog.tables[0].indexes[0].planner_ready = false;
        n.workload
            .statements
            .iter_mut()
            .find(|s| s.queryid == 101)
            .unwrap()
            .total_time_ms = 1000.0 + 50.0 * 20.0;
        let r = compare(&b, &n);
        assert_eq!(r.indexes[0].verdict, IndexVerdict::NotReady);
        assert_eq!(r.indexes[0].suggestion, Suggestion::MeasureAgain);
        assert!(
            r.indexes[0].reason.contains("indcheckxmin"),
            "{}",
            r.indexes[0].reason
        );
        let mut n = now();
        n.catalog.tables[0].indexes.clear();
        let r = compare(&b, &n);
        assert_eq!(r.indexes[0].verdict, IndexVerdict::NotApplied);
        assert_eq!(r.indexes[0].suggestion, Suggestion::Apply);
        assert!(!r.indexes[0].exists);
    }

    #[test]
    fn smaller_than_predicted_and_unpredicted_slowdowns() {
        let b = baseline();
        let mut n = now();
        // 8 ms per call after (10 before, 0.5 predicted): 21% of the predicted saving.
        let s = n
            .workload
            .statements
            .iter_mut()
            .find(|s| s.queryid == 101)
            .unwrap();
        s.total_time_ms = 1000.0 + 50.0 * 8.0;
        // 102 was not predicted to change, and got 3× slower.
        let s = n
            .workload
            .statements
            .iter_mut()
            .find(|s| s.queryid == 102)
            .unwrap();
        s.total_time_ms = 200.0 + 10.0 * 60.0;
        let r = compare(&b, &n);
        assert_eq!(r.indexes[0].verdict, IndexVerdict::SmallerThanPredicted);
        assert_eq!(r.indexes[0].suggestion, Suggestion::Keep);
        let s = r.statements.iter().find(|s| s.queryid == 102).unwrap();
        assert!(!s.predicted);
        assert_eq!(s.change, Change::Slower);
        // Predicted statements come first.
        assert!(r.statements[0].predicted);
    }

    /// A baseline taken under heavy load, an "after" window at light load: the control
    /// (statements no index touches) ran 2× faster, so an indexed statement measured 2×
    /// faster is corrected to unchanged, and a note says the load differed.
    #[test]
    fn r14_the_control_corrects_a_change_of_load() {
        use super::super::baseline::{DropPrediction, StatementPrediction};
        let mut b = baseline();
        let mut n = now();
        let unchanged = |q: i64| StatementPrediction {
            queryid: q,
            before_cost: 10.0,
            after_cost: 10.0,
            before_ms: 4.0,
            after_ms: 4.0,
            uses: vec![],
            before_calls: 0,
            before_stddev_ms: None,
        };
        for q in [201, 202, 301] {
            let mut st = n.workload.statements[0].clone();
            st.queryid = q;
            st.query = format!("SELECT {q}");
            st.calls = 100;
            st.total_time_ms = 400.0;
            st.mean_time_ms = 4.0;
            b.statements.push(st.clone());
            b.predictions.push(unchanged(q));
            // 50 calls after: 201 and 202 at 2 ms (the control, 2× faster), 301 at 4 ms.
            st.calls = 150;
            st.total_time_ms = 400.0 + 50.0 * if q == 301 { 4.0 } else { 2.0 };
            n.workload.statements.push(st);
        }
        b.statements.sort_by_key(|s| s.queryid);
        // 301 used an index proposed for dropping, and is not in the control.
        b.drops.push(DropPrediction {
            name: "shop_order_old".into(),
            schema: "public".into(),
            table: "shop_order".into(),
            reason: "redundant".into(),
            used_by: vec![301],
        });
        // 101: 10 ms before, 5 ms after: 2× measured, but the control moved 2× as well.
        let s = n
            .workload
            .statements
            .iter_mut()
            .find(|s| s.queryid == 101)
            .unwrap();
        s.total_time_ms = 1000.0 + 50.0 * 5.0;
        // 102 (predicted unchanged, in the control): 20 ms before, 10 ms after.
        let s = n
            .workload
            .statements
            .iter_mut()
            .find(|s| s.queryid == 102)
            .unwrap();
        s.total_time_ms = 200.0 + 10.0 * 10.0;
        let r = compare(&b, &n);
        let c = r.control.as_ref().expect("a control");
        assert_eq!(c.statements, vec![102, 201, 202]);
        assert!((c.speedup() - 2.0).abs() < 1e-9, "{}", c.speedup());
        assert!(c.moved);
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("the load differed") && n.contains("2.00×")),
            "{:?}",
            r.notes
        );
        let s = r.statements.iter().find(|s| s.queryid == 101).unwrap();
        assert!((s.measured_speedup.unwrap() - 2.0).abs() < 1e-9);
        assert!((s.corrected_speedup.unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(s.change, Change::Unchanged);
        assert_eq!(r.indexes[0].verdict, IndexVerdict::SmallerThanPredicted);
        // 301 measured unchanged (4 → 4 ms) is 2× slower once corrected: the drop regressed.
        let s = r.statements.iter().find(|s| s.queryid == 301).unwrap();
        assert_eq!(s.uses_dropped, vec!["shop_order_old".to_string()]);
        assert_eq!(s.change, Change::Slower);
        let d = &r.drops[0];
        assert!(d.dropped);
        assert_eq!(d.verdict, "regression");
        assert_eq!(d.slower, vec![301]);
        assert_eq!(exit_code(&r), crate::error::EXIT_RECOMMENDATIONS);
        let text = super::super::render::text(&r);
        assert!(text.contains("Control: 3 statement(s)"), "{text}");
        assert!(
            text.contains("drop shop_order_old on public.shop_order: regression"),
            "{text}"
        );
    }

    /// A control statement on the table that got the index, 4× slower and reading 3 blocks
    /// per call from outside shared_buffers instead of 1: named beside the change, and the
    /// exit code says so; the same slowdown on a table nothing touched keeps the old label.
    #[test]
    fn a_statement_slower_beside_the_change_fails_verify() {
        use super::super::baseline::StatementPrediction;
        let run = |table: &str| {
            let mut b = baseline();
            let mut n = now();
            for q in [201, 202, 203, 204] {
                let mut st = n.workload.statements[0].clone();
                st.queryid = q;
                st.query = format!("SELECT id FROM {table} WHERE customer_id = $1 AND {q} = {q}");
                st.calls = 100;
                st.total_time_ms = 400.0;
                st.mean_time_ms = 4.0;
                st.shared_blks_read = 100;
                st.stddev_time_ms = None;
                b.statements.push(st.clone());
                b.predictions.push(StatementPrediction {
                    queryid: q,
                    before_cost: 10.0,
                    after_cost: 10.0,
                    before_ms: 4.0,
                    after_ms: 4.0,
                    uses: vec![],
                    before_calls: 100,
                    before_stddev_ms: None,
                });
                // 50 calls after: 204 at 16 ms reading 3 blocks each, the others as before.
                st.calls = 150;
                let (ms, blocks) = match q {
                    204 => (16.0, 3),
                    201 => (4.2, 1),
                    202 => (3.9, 1),
                    _ => (4.0, 1),
                };
                st.total_time_ms = 400.0 + 50.0 * ms;
                st.shared_blks_read = 100 + 50 * blocks;
                n.workload.statements.push(st);
            }
            b.statements.sort_by_key(|s| s.queryid);
            compare(&b, &n)
        };
        let r = run("shop_order");
        let c = r.control.as_ref().expect("a control");
        let m = c
            .movers
            .iter()
            .find(|m| m.queryid == 204)
            .expect("204 moved");
        assert_eq!(m.touched, vec!["public.shop_order".to_string()]);
        assert_eq!(
            (m.before_blks_read, m.after_blks_read),
            (Some(1.0), Some(3.0))
        );
        assert_eq!(exit_code(&r), crate::error::EXIT_RECOMMENDATIONS);
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("beside the change") && n.contains("1.0 → 3.0")),
            "{:?}",
            r.notes
        );
        let text = super::super::render::text(&r);
        assert!(text.contains("slower beside the change"), "{text}");
        assert!(
            text.contains("on public.shop_order, 1.0 → 3.0 blocks read per call"),
            "{text}"
        );
        // The same on a table no index was added to or dropped from.
        let r = run("shop_customer");
        let c = r.control.as_ref().expect("a control");
        let m = c
            .movers
            .iter()
            .find(|m| m.queryid == 204)
            .expect("204 moved");
        assert!(m.touched.is_empty());
        assert_eq!(exit_code(&r), crate::error::EXIT_OK);
        assert!(super::super::render::text(&r).contains("moved without a new index"));
    }

    /// `analyze` predicted from a window whose means (4 ms) differ from the cumulative
    /// counters' (40 ms, years of history): "before" is the window's mean, so statements that
    /// kept their speed are not called faster, and the control does not see a 10× drift.
    #[test]
    fn before_is_the_mean_the_prediction_was_made_from() {
        use super::super::baseline::StatementPrediction;
        let mut b = baseline();
        let mut n = now();
        for q in [201, 202] {
            let mut st = n.workload.statements[0].clone();
            st.queryid = q;
            st.query = format!("SELECT {q}");
            st.calls = 100;
            st.total_time_ms = 4000.0;
            st.mean_time_ms = 40.0;
            b.statements.push(st.clone());
            b.predictions.push(StatementPrediction {
                queryid: q,
                before_cost: 10.0,
                after_cost: 10.0,
                before_ms: 4.0,
                after_ms: 4.0,
                uses: vec![],
                before_calls: 0,
                before_stddev_ms: None,
            });
            // 50 calls after, at the window's 4 ms.
            st.calls = 150;
            st.total_time_ms = 4000.0 + 50.0 * 4.0;
            n.workload.statements.push(st);
        }
        b.statements.sort_by_key(|s| s.queryid);
        let r = compare(&b, &n);
        let c = r.control.as_ref().expect("a control");
        assert!((c.speedup() - 1.0).abs() < 1e-9, "{}", c.speedup());
        assert!(!c.moved);
        assert!(!r.notes.iter().any(|n| n.contains("the load differed")));
    }

    #[test]
    fn without_enough_untouched_statements_there_is_no_control() {
        let r = compare(&baseline(), &now());
        assert!(r.control.is_none());
        assert!(super::super::render::control_line(&r).starts_with("Control: none"));
        let s = r.statements.iter().find(|s| s.queryid == 101).unwrap();
        assert_eq!(s.corrected_after_ms, s.after_ms);
    }

    fn plans(reads: &[(i64, &[&str], bool)]) -> RealPlans {
        use super::super::real_plan::PlanRead;
        RealPlans {
            statements: reads
                .iter()
                .map(|(q, ix, seq)| {
                    (
                        *q,
                        Ok(PlanRead {
                            indexes: ix.iter().map(|s| s.to_string()).collect(),
                            seq_scan: *seq,
                            plans: 4,
                            text: String::new(),
                        }),
                    )
                })
                .collect(),
            building: Default::default(),
        }
    }

    /// A statement no index was chosen for, whose real plan uses the new index, got slower:
    /// the index's regression (without the real plan it was only a note).
    #[test]
    fn a_slowdown_whose_real_plan_uses_the_index_counts_against_it() {
        let b = baseline();
        let mut n = now();
        n.workload.statements[1].calls = 20;
        n.workload.statements[1].total_time_ms = 200.0 + 600.0;
        let x = b.indexes[0].name.clone();
        let r = compare_with(
            &b,
            &n,
            Some(&plans(&[(101, &[&x], false), (102, &[&x], false)])),
        );
        assert!(r.real_plans_read);
        let ix = &r.indexes[0];
        assert_eq!(ix.verdict, IndexVerdict::Regression, "{}", ix.reason);
        assert!(
            ix.reason.contains("statement(s) 102 got slower"),
            "{}",
            ix.reason
        );
        assert_eq!(ix.real_plan_users, vec![101, 102]);
        assert_eq!(ix.uncredited_users, vec![102]);
        assert!(ix.not_served.is_empty());
        let s = r.statements.iter().find(|s| s.queryid == 102).unwrap();
        let p = s.real_plan.as_ref().expect("planned");
        assert_eq!(p.matches, super::super::real_plan::PlanMatch::Unpredicted);
        // The same slowdown with a real plan that does not use it: not its doing.
        let r = compare_with(
            &b,
            &n,
            Some(&plans(&[(101, &[&x], false), (102, &[], true)])),
        );
        assert_eq!(
            r.indexes[0].verdict,
            IndexVerdict::Confirmed,
            "{}",
            r.indexes[0].reason
        );
    }

    /// A statement that is neither predicted nor slower stays in the report when its real plan
    /// uses a new index.
    #[test]
    fn an_unpredicted_statement_on_a_new_index_is_reported() {
        let b = baseline();
        let n = now();
        let x = b.indexes[0].name.clone();
        let r = compare(&b, &n);
        assert!(!r.statements.iter().any(|s| s.queryid == 102));
        let r = compare_with(&b, &n, Some(&plans(&[(102, &[&x], false)])));
        let s = r
            .statements
            .iter()
            .find(|s| s.queryid == 102)
            .expect("reported");
        assert!(!s.predicted);
        assert_eq!(s.real_plan.as_ref().unwrap().uses, vec![x.clone()]);
        assert!(
            r.indexes[0]
                .reason
                .contains("statement(s) 102 it was not chosen for"),
            "{}",
            r.indexes[0].reason
        );
    }

    /// Predicted to use the index, the real plan does not: its statements are "not served";
    /// INVALID says so, a running build is "measure again", and a valid index no real plan
    /// uses is to investigate whatever the timings.
    #[test]
    fn statements_not_served_by_an_invalid_a_building_or_an_unchosen_index() {
        let b = baseline();
        let x = b.indexes[0].name.clone();
        let mut n = now();
        n.catalog.tables[0].indexes[0].valid = false;
        let r = compare_with(&b, &n, Some(&plans(&[(101, &[], true)])));
        let ix = &r.indexes[0];
        assert_eq!(ix.verdict, IndexVerdict::Invalid);
        assert_eq!(ix.suggestion, Suggestion::Investigate);
        assert_eq!(ix.not_served, vec![101]);
        assert!(
            ix.reason.starts_with("INVALID (a failed concurrent build")
                && ix
                    .reason
                    .ends_with("; statement(s) 101 it was chosen for are not served by it"),
            "{}",
            ix.reason
        );
        let s = r.statements.iter().find(|s| s.queryid == 101).unwrap();
        let p = s.real_plan.as_ref().unwrap();
        assert_eq!(p.not_used, vec![x.clone()]);
        assert!(p
            .summary(&s.uses)
            .contains("real plan uses no new index (a sequential scan)"));

        let mut building = plans(&[(101, &[], true)]);
        building
            .building
            .insert(x.clone(), "building index: scanning table".into());
        let r = compare_with(&b, &n, Some(&building));
        let ix = &r.indexes[0];
        assert_eq!(ix.suggestion, Suggestion::MeasureAgain);
        assert_eq!(
            ix.building.as_deref(),
            Some("building index: scanning table")
        );
        assert!(ix.reason.contains("still running"), "{}", ix.reason);

        let r = compare_with(
            &b,
            &now(),
            Some(&plans(&[(101, &["shop_order_pkey"], false)])),
        );
        let ix = &r.indexes[0];
        assert_eq!(ix.verdict, IndexVerdict::Confirmed);
        assert_eq!(ix.suggestion, Suggestion::Investigate, "{}", ix.reason);
        assert!(ix.reason.contains("no real plan uses it"), "{}", ix.reason);
        assert_eq!(exit_code(&r), crate::error::EXIT_RECOMMENDATIONS);
    }

    /// Review 3 (F7): a database whose statistics were never reset has no rates from its
    /// cumulative counters; the observation windows give them (`verify`'s after the change,
    /// `analyze`'s at the baseline), and a window wins over the counters since a reset.
    #[test]
    fn write_rates_come_from_the_windows_when_statistics_were_never_reset() {
        let (mut b, mut n) = (baseline(), now());
        (b.writes.since, b.writes.seconds) = (None, None);
        (n.write_stats.since, n.write_stats.seconds) = (None, None);
        let w = compare(&b, &n).writes.remove(0);
        assert_eq!((w.before_writes_per_s, w.after_writes_per_s), (None, None));
        assert_eq!((w.before_rate_over, w.after_rate_over), (None, None));
        assert_eq!(w.after_rows_written, 600);
        // `rows` inserted, updated (a tenth HOT) and deleted in a window of `seconds`.
        let window = |rows: i64, seconds: f64| {
            let mut d = n.write_stats.tables[0].clone();
            (d.n_tup_ins, d.n_tup_upd, d.n_tup_hot_upd, d.n_tup_del) =
                (rows, rows, rows / 10, rows);
            Some(WindowWrites {
                seconds,
                tables: vec![d],
                statements: vec![],
            })
        };
        // verify watched 90 s: 270 rows written in it.
        n.write_stats.window = window(90, 90.0);
        let w = compare(&b, &n).writes.remove(0);
        assert_eq!(w.before_writes_per_s, None);
        assert_eq!(w.after_writes_per_s, Some(3.0));
        assert_eq!(w.after_rate_over, Some(RatePeriod::Window));
        assert_eq!(w.window_seconds, Some(90.0));
        assert_eq!(w.after_rows_written, 600, "rows written since the baseline");
        // analyze watched 60 s at the baseline: 120 rows written in it.
        b.writes.window = window(40, 60.0);
        let w = compare(&b, &n).writes.remove(0);
        assert_eq!(w.before_writes_per_s, Some(2.0));
        assert_eq!(w.before_rate_over, Some(RatePeriod::Window));
        assert_eq!(w.before_seconds, Some(60.0));
        assert_eq!(w.after_writes_per_s, Some(3.0));
        // With reset times too, the windows still give the rates.
        let (mut reset_b, mut reset_n) = (baseline(), now());
        reset_b.writes.window = b.writes.window.clone();
        reset_n.write_stats.window = n.write_stats.window.clone();
        let w = compare(&reset_b, &reset_n).writes.remove(0);
        assert_eq!(
            (w.before_writes_per_s, w.after_writes_per_s),
            (Some(2.0), Some(3.0))
        );
        // Without windows, the counters over their known period.
        let w = compare(&baseline(), &now()).writes.remove(0);
        assert_eq!(w.before_rate_over, Some(RatePeriod::Counters));
        assert_eq!(w.before_seconds, Some(100.0));
        assert_eq!(w.after_rate_over, Some(RatePeriod::Counters));
        assert_eq!(w.window_seconds, Some(60.0));
    }

    #[test]
    fn write_side_deltas_and_hot_share() {
        let b = baseline();
        let n = now();
        let r = compare(&b, &n);
        let w = &r.writes[0];
        assert_eq!(w.table, "public.shop_order");
        // Baseline: 1000 writes in 100 s, 90 of 100 updates HOT. Now: +600 writes in 60 s,
        // 10 of 100 updates HOT.
        assert!((w.before_writes_per_s.unwrap() - 10.0).abs() < 1e-9);
        assert!((w.after_writes_per_s.unwrap() - 10.0).abs() < 1e-9);
        assert!((w.before_hot_share.unwrap() - 0.9).abs() < 1e-9);
        assert!((w.after_hot_share.unwrap() - 0.1).abs() < 1e-9);
        assert!(!w.reset);
        assert_eq!(w.after_rows_written, 600);
        let mut n = now();
        n.write_stats.source = WriteSource::Unavailable;
        let r = compare(&b, &n);
        assert!(r.writes.is_empty());
        assert!(r
            .notes
            .iter()
            .any(|n| n.contains("write statistics unavailable")));
    }
}
