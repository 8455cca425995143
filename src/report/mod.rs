//! Stage `report`: what the user reads: the triage, the terminal table, `report.md`,
//! `report.json`, and a unified diff of each affected statement's plan.
//!
//! Pure: must not do I/O (the caller writes the files). Invariant: deterministic output: the same
//! inputs give byte-identical text (sorted, fixed precision, no timestamps).

pub mod assemble;
pub mod diff;
pub mod document;
pub mod evidence;
pub mod frontier;
pub mod label;
pub mod patterns;
pub mod render;
pub mod risk;
pub mod slower;
pub mod stdout;
pub mod triage;
pub mod values;
#[cfg(test)]
mod wide_table_tests;

pub use diff::{plan_diff, PlanDiffHeader};
pub use document::{Report, ReportIndex, ReportStatement, WorkloadSummary, REPORT_FORMAT_VERSION};
pub use triage::{triage, Triage, TriageEntry, TriageInput, Verdict};
