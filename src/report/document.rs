//! The report document: everything `report.json` holds (its schema is this type, documented in
//! the README), from which the markdown and the terminal table are rendered.

use serde::{Deserialize, Serialize};

use crate::candidates::Advice;
use crate::model::{Observation, RunsOn, SkipReason, Skipped, WriteRates, WriteSource};
use crate::select::{DropProposal, LeftOut, LimitsUsed};
use crate::whatif::WhatIfCounters;

use super::Triage;

/// Version of the `report.json` schema. Bump on incompatible changes.
pub const REPORT_FORMAT_VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`REPORT_FORMAT_VERSION`].
    pub format_version: u32,
    /// `idxadvise <version>`.
    pub created_by: String,
    /// Server version string.
    pub server_version: String,
    /// Whether the analysed server is a replica.
    pub replica: bool,
    /// Database name.
    pub database: String,
    /// Workload summary.
    pub workload: WorkloadSummary,
    /// Where write statistics came from.
    pub write_stats: WriteSource,
    /// The triage.
    pub triage: Triage,
    /// Django patterns found, request-weighted, and where the time goes after the indexes.
    #[serde(default)]
    pub findings: crate::report::patterns::Findings,
    /// Indexes to create, in the order chosen.
    pub indexes: Vec<ReportIndex>,
    /// Indexes to drop.
    pub drops: Vec<DropProposal>,
    /// Indexes proposed for dropping that a statement turned out to need (HypoPG 1.4+).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<crate::select::KeptIndex>,
    /// Advice for shapes no B-tree serves (not simulated).
    pub advice: Vec<Advice>,
    /// Statements, for the text of each queryid mentioned.
    pub statements: Vec<ReportStatement>,
    /// Caveats.
    pub notes: Vec<String>,
    /// What-if engine counters.
    pub whatif: WhatIfCounters,
    /// The limits the recommendation was chosen under.
    #[serde(default)]
    pub limits: LimitsUsed,
    /// Indexes a limit kept out, with the statements they would help.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<LeftOut>,
    /// Statements the recommendation is predicted to make markedly slower, accepted because
    /// no repair within the limits served them (`select::slower`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub made_slower: Vec<crate::select::Slower>,
    /// The observation window: its length and traffic, which counters became the workload and
    /// why, where statements run (without the per-statement cumulative counters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observation: Option<Observation>,
    /// Where the write rates came from; `unknown` makes every index's write cost null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_rates: Option<WriteRates>,
    /// What more or less storage would buy: the best set per budget, from the same run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frontier: Vec<super::frontier::FrontierRow>,
}

/// Workload summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadSummary {
    /// Statements in the workload.
    pub statements: usize,
    /// Statements analysed (parsed and planned).
    pub analysed: usize,
    /// Total execution time of the workload, ms.
    pub total_time_ms: f64,
    /// Skipped statements with their reasons.
    pub skipped: Vec<Skipped>,
    /// Skips counted by reason, largest first.
    pub skipped_by_reason: Vec<(SkipReason, usize)>,
}

/// A statement mentioned in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportStatement {
    /// queryid.
    pub queryid: i64,
    /// Text.
    pub query: String,
    /// Calls.
    pub calls: i64,
    /// Mean time, ms.
    pub mean_ms: f64,
    /// Total time, ms.
    pub total_time_ms: f64,
    /// Plan diff file (relative to the output folder), when the recommendation changes its plan.
    pub plan_diff: Option<String>,
    /// Where its parameter values came from and what they were, when observed
    /// (`status = 'pending': 100% of 212 samples (pg_stat_activity samples)`), and the value of
    /// each `LIMIT $n` nothing observed, with where it came from
    /// (`LIMIT 1 (Django's exists() sends LIMIT 1)`, [`crate::whatif::limit_value`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<String>,
    /// A plausible value whose plan the recommendation makes markedly worse, and what to do
    /// (`depends on values not observed: …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<String>,
    /// Where it runs, when both the replica's and the primary's statements were read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_on: Option<RunsOn>,
}

/// One recommended index with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportIndex {
    /// Proposed name (Django's algorithm).
    pub name: String,
    /// `schema.table`.
    pub table: String,
    /// `CREATE INDEX CONCURRENTLY …`.
    pub sql: String,
    /// Statements it helps, with before → after.
    pub helps: Vec<crate::select::Helped>,
    /// Predicted saving over the workload window, ms.
    pub saving_ms: f64,
    /// Share of the workload's total time saved (0..1).
    pub saving_share: f64,
    /// Estimated size, bytes.
    pub size_bytes: i64,
    /// Write cost, ms of database time per second; `null` when no write rate can be known
    /// (never 0 for "unknown").
    pub write_cost_ms_per_s: Option<f64>,
    /// The Django migration file, relative to the output folder, when emitted.
    pub migration: Option<String>,
    /// The `Meta.indexes` line to add, when the table has an editable model.
    pub meta_index: Option<String>,
    /// Why it was proposed.
    pub rules: Vec<String>,
    /// Updates per second that stop being HOT because of it (absent when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_hot_updates_per_s: Option<f64>,
    /// The columns it reads that an UPDATE sets (why those updates stop being HOT).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hot_columns: Vec<String>,
}

/// Count skips by reason, largest first, then by reason.
pub fn count_skips(skipped: &[Skipped]) -> Vec<(SkipReason, usize)> {
    let mut counts: Vec<(SkipReason, usize)> = vec![];
    for s in skipped {
        match counts.iter_mut().find(|(r, _)| *r == s.reason) {
            Some((_, n)) => *n += 1,
            None => counts.push((s.reason, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
}

// Sizes are shared vocabulary (select's notes use them too): see `model::units`.
pub use crate::model::human_bytes;
