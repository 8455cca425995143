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
    /// The best configuration for each storage budget, ascending, from one run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frontier: Vec<super::frontier::FrontierPoint>,
    /// Statements the planner could not cost during selection.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<crate::model::Skipped>,
    /// The budget the recommendation was chosen for, bytes.
    #[serde(default)]
    pub budget_bytes: i64,
    /// What-if engine counters at the end of selection.
    #[serde(default)]
    pub whatif: crate::whatif::WhatIfCounters,
    /// Candidates that would help reads but cost more than they save on writes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<Rejected>,
    /// Indexes a limit (budget, per-table cap, cap on new indexes) kept out, with the
    /// statements they would help.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<super::limits::LeftOut>,
    /// The limits the recommendation was chosen under.
    #[serde(default)]
    pub limits: super::limits::LimitsUsed,
    /// Where the write rates behind `write_cost_ms_per_s` came from; `Unknown` means every
    /// write cost is unknown (not 0). `None` in recommendations from before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_rates: Option<crate::model::WriteRates>,
    /// Indexes proposed for dropping that hiding them showed a statement needs
    /// ([`super::drop_check`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<super::drop_check::KeptIndex>,
    /// Statements the recommendation is predicted to make markedly slower and that no repair
    /// within the limits served ([`super::slower`]): the report lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slower: Vec<super::slower::Slower>,
}

/// A candidate that helps reads but was rejected for its write cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejected {
    /// Candidate id.
    pub candidate: usize,
    /// The index.
    pub spec: IndexSpec,
    /// Read gain alone, ms of database time per second.
    pub read_gain_ms_per_s: f64,
    /// Write cost, ms per second.
    pub write_cost_ms_per_s: f64,
    /// Updates per second that would stop being HOT.
    pub lost_hot_updates_per_s: f64,
    /// Why, for the report.
    pub reason: String,
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
    /// Read gain in planner cost units (Σ calls × cost saved) over the window.
    #[serde(default)]
    pub read_gain_cost: f64,
    /// Net benefit: read gain per second of window minus write cost, ms/s (read gain alone
    /// when write statistics are unavailable).
    #[serde(default)]
    pub net_benefit_ms_per_s: f64,
    /// Updates per second that would stop being HOT because of this index.
    #[serde(default)]
    pub lost_hot_updates_per_s: f64,
    /// The columns it reads that an UPDATE sets (why those updates stop being HOT); empty
    /// when it costs no HOT update.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hot_columns: Vec<String>,
    /// Candidates it displaced: unchosen candidates that served the same statements, as
    /// labels (best first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub displaces: Vec<String>,
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
    /// What dropping it saves on writes, ms of database time per second (0 when write
    /// statistics are unavailable).
    #[serde(default)]
    pub write_saving_ms_per_s: f64,
    /// A caveat for the report (e.g. why the read impact was not verified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The candidate id of the recommended new index that makes it redundant
    /// ([`super::superseded`]); `covered_by` is then that index's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<usize>,
    /// Size in bytes of `covered_by` (the index its reads move to), when that is known
    /// ([`super::cache`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covered_by_size_bytes: Option<i64>,
}

/// How a drop's note says why its read impact was not verified (the drop-check stages write
/// it so).
pub const NOT_VERIFIED_PREFIX: &str = "read impact not verified: ";

impl DropProposal {
    /// Why its read impact was not verified, from its note (up to the next "; "), or `None`
    /// when it was verified. A drop without such a note was not checked at all (HypoPG < 1.4).
    pub fn not_verified_why(&self) -> Option<String> {
        if self.verified {
            return None;
        }
        let why = self
            .note
            .as_deref()
            .and_then(|n| n.split_once(NOT_VERIFIED_PREFIX))
            .map(|(_, rest)| rest.split("; ").next().unwrap_or(rest).to_string());
        Some(why.unwrap_or_else(|| "HypoPG < 1.4 cannot hide an index".to_string()))
    }
}

#[cfg(test)]
impl DropProposal {
    /// A drop of `public.<table>.<index>` for `reason`: 1 MiB, not verified, nothing else set
    /// (tests).
    pub fn of(table: &str, index: &str, reason: DropReason) -> DropProposal {
        DropProposal {
            schema: "public".into(),
            table: table.into(),
            index: index.into(),
            reason,
            covered_by: None,
            size_bytes: 1 << 20,
            verified: false,
            write_saving_ms_per_s: 0.0,
            note: None,
            superseded_by: None,
            covered_by_size_bytes: None,
        }
    }
}

impl Proposed {
    /// Whether it costs HOT updates, with the columns that say why.
    pub fn costs_hot(&self) -> bool {
        self.lost_hot_updates_per_s > 0.0 && !self.hot_columns.is_empty()
    }
}

#[cfg(test)]
impl Proposed {
    /// Candidate `candidate` with `spec`: 8 kB, no read gain, no write cost, helping nothing
    /// (tests).
    pub fn of(candidate: usize, spec: crate::model::IndexSpec) -> Proposed {
        Proposed {
            candidate,
            spec,
            size_bytes: 8192,
            write_cost_ms_per_s: 0.0,
            read_gain_ms: 0.0,
            helps: vec![],
            rules: vec![],
            read_gain_cost: 0.0,
            net_benefit_ms_per_s: 0.0,
            lost_hot_updates_per_s: 0.0,
            hot_columns: vec![],
            displaces: vec![],
        }
    }
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

#[cfg(test)]
mod not_verified_tests {
    use super::*;

    #[test]
    fn a_drop_says_why_it_was_not_verified() {
        let mut d = DropProposal::of("orders", "orders_total", DropReason::Redundant);
        assert_eq!(
            d.not_verified_why().as_deref(),
            Some("HypoPG < 1.4 cannot hide an index")
        );
        d.note = Some(format!(
            "{NOT_VERIFIED_PREFIX}statement 7 could not be costed (timeout); its reads move to x"
        ));
        assert_eq!(
            d.not_verified_why().as_deref(),
            Some("statement 7 could not be costed (timeout)")
        );
        d.verified = true;
        assert_eq!(d.not_verified_why(), None);
    }
}
