//! The `WhatIf` trait: what selection asks of the what-if engine, so selection can be tested
//! against a table-driven fake.

use serde::{Deserialize, Serialize};

use crate::model::Skipped;

/// Cost one statement under one configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Request {
    /// The statement.
    pub queryid: i64,
    /// Candidate ids (indices into `CandidateSet::candidates`), sorted, deduplicated. Only the
    /// candidates on the statement's tables matter; the engine may ignore the others.
    pub config: Vec<usize>,
}

/// What the planner said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Weighted total cost over the representative parameter values (custom plans): the cost
    /// that ranks.
    pub cost: f64,
    /// Total cost of the generic plan, when it was computed (secondary signal).
    pub generic_cost: Option<f64>,
    /// Candidate ids the plan(s) use.
    pub used: Vec<usize>,
    /// The plan for the most representative parameter values, for plan diffs.
    pub plan: Option<PlanSummary>,
}

/// A plan, kept for diffs and evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Total cost.
    pub total_cost: f64,
    /// Startup cost.
    pub startup_cost: f64,
    /// Estimated rows.
    pub rows: f64,
    /// Node types, depth-first.
    pub node_types: Vec<String>,
    /// Index names the plan uses (HypoPG's generated names included).
    pub indexes: Vec<String>,
    /// The EXPLAIN text form, with HypoPG names as the server printed them.
    pub text: String,
    /// The cost to rank by when it differs from `total_cost`: a LIMIT that stops a selective
    /// filtered scan early ([`crate::whatif::plan::PlanNode::ranking_cost`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranking_cost: Option<f64>,
    /// The cost when a LIMIT over a rare value's filtered index scan walks the index past
    /// every other row ([`crate::whatif::plan::PlanNode::walk_risk_cost`]), when it differs
    /// from `total_cost`: what the risk rule compares with today's plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub walk_risk_cost: Option<f64>,
    /// An index the plan walks only for its order, through a filter that keeps few rows
    /// ([`crate::whatif::filter_walk`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_walk: Option<Box<super::filter_walk::FilterWalk>>,
    /// The one table scan the plan reads, with its row estimate ([`crate::whatif::fed_scan`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<Box<super::fed_scan::FedScan>>,
}

impl PlanSummary {
    /// The cost selection ranks by: `ranking_cost` when set, else the planner's total cost.
    pub fn ranking_cost(&self) -> f64 {
        self.ranking_cost.unwrap_or(self.total_cost)
    }

    /// The cost the risk rule compares: `walk_risk_cost` when set, else the planner's total
    /// cost.
    pub fn walk_risk_cost(&self) -> f64 {
        self.walk_risk_cost.unwrap_or(self.total_cost)
    }
}

/// Counters for benchmarks and the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WhatIfCounters {
    /// Requests answered.
    pub lookups: u64,
    /// Requests answered from the cache.
    pub cache_hits: u64,
    /// EXPLAIN statements actually sent.
    pub explains: u64,
}

/// The planner as a cost oracle.
///
/// `evaluate` answers each request in order: `Ok(evaluation)` or `Err(skipped)` when the
/// statement cannot be prepared or planned (the run goes on without it).
#[allow(async_fn_in_trait)]
pub trait WhatIf {
    /// Cost each request.
    async fn evaluate(
        &mut self,
        requests: &[Request],
    ) -> Result<Vec<Result<Evaluation, Skipped>>, crate::error::Error>;

    /// Counters so far.
    fn counters(&self) -> WhatIfCounters;
}
