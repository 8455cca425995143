//! Stage `whatif`: the planner's cost of each statement under a configuration of hypothetical
//! indexes (HypoPG), for `$n` statements on PostgreSQL 15.
//!
//! I/O. Must not create real objects or run anything but EXPLAIN (never ANALYZE). Invariant: a
//! hypothetical index exists only in this engine's own sessions, and the answer for a
//! (statement, configuration) does not depend on how work is split across connections.

pub mod cache;
pub mod distinct;
pub mod engine;
pub mod error;
pub mod evidence;
#[cfg(test)]
pub mod fake;
pub mod fed_scan;
pub mod filter_walk;
pub mod hypo;
pub mod limit_value;
pub mod limit_walk;
pub mod observed_sets;
pub mod oracle;
pub mod params;
pub mod plan;
pub mod progress;
pub mod proxy;
pub mod rows_per_call;
pub mod size;
pub mod worker;

pub use engine::{evaluation_of, Engine, EngineOptions, HiddenEvaluation};
pub use error::WhatIfError;
#[cfg(test)]
pub use fake::{FakeTable, FakeWhatIf};
pub use oracle::{Evaluation, PlanSummary, Request, WhatIf, WhatIfCounters};
pub use size::estimate_index_size;
pub use worker::{GenericPlan, Outcome, ValuePlan};
