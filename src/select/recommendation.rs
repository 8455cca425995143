//! The recommendation: what to create, what to drop, and the evidence.

use serde::{Deserialize, Serialize};

use crate::model::IndexSpec;

/// The result of selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Recommendation {
    /// Indexes to create, in the order they were chosen.
    pub create: Vec<Proposed>,
    /// Indexes to drop.
    pub drop: Vec<DropProposal>,
    /// Per statement: cost before and after the whole recommendation.
    pub statements: Vec<StatementEffect>,
    /// Caveats for the report (e.g. write statistics unavailable).
    pub notes: Vec<String>,
}

/// One index to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposed {
    /// Candidate id.
    pub candidate: usize,
    /// The index.
    pub spec: IndexSpec,
    /// Estimated size in bytes (our estimate, not HypoPG's).
    pub size_bytes: i64,
    /// Estimated write cost, in milliseconds of database time per second of workload.
    pub write_cost_ms_per_s: f64,
    /// Read gain, in milliseconds of database time saved over the workload's window.
    pub read_gain_ms: f64,
    /// Statements it helps.
    pub helps: Vec<Helped>,
    /// Why it was proposed (candidate rules), as labels.
    pub rules: Vec<String>,
}

/// A statement one index helps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Helped {
    /// The statement.
    pub queryid: i64,
    /// Calls.
    pub calls: i64,
    /// Planner cost before.
    pub before_cost: f64,
    /// Planner cost after.
    pub after_cost: f64,
    /// Measured mean time before, ms.
    pub before_ms: f64,
    /// Predicted mean time after, ms (mean time × after/before cost).
    pub after_ms: f64,
}

/// Why an index should go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Same definition as another index.
    Duplicate,
    /// Its keys are a prefix of another index's keys.
    Redundant,
    /// No scans since the statistics were reset.
    Unused,
}

/// One index to drop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropProposal {
    /// Schema.
    pub schema: String,
    /// Table.
    pub table: String,
    /// Index name.
    pub index: String,
    /// Why.
    pub reason: DropReason,
    /// The index that makes it redundant or duplicate.
    pub covered_by: Option<String>,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Whether the read impact was checked with `hypopg_hide_index` (HypoPG 1.4+).
    pub verified: bool,
}

/// A statement's predicted change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementEffect {
    /// The statement.
    pub queryid: i64,
    /// Cost with existing indexes only.
    pub before_cost: f64,
    /// Cost with the recommended indexes.
    pub after_cost: f64,
    /// Candidate ids the after-plan uses.
    pub uses: Vec<usize>,
}
