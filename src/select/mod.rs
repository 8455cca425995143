//! Stage `select`: the set of indexes for the whole workload, weighing read gain against write
//! cost and storage, and the indexes to drop.
//!
//! Pure apart from asking a [`crate::whatif::WhatIf`] for costs. Invariant: every recommended
//! index carries its evidence (statements helped, before → after, size, write cost).
//!
//! How the pipeline calls it (`analyze`):
//!
//! ```text
//! let sizes: Vec<i64> = candidates.candidates.iter()
//!     .map(|c| whatif::size::estimate_index_size(&c.spec, &snapshot.catalog))
//!     .collect::<Result<_, _>>()?;
//! let opts = SelectOptions { budget, max_indexes, max_per_table, min_improvement,
//!     min_benefit, can_hide: snapshot.server.can_hide_index(), ..SelectOptions::default() };
//! let rec = select::select(SelectInput { shapes: &shapes, candidates: &candidates,
//!     snapshot: &snapshot, sizes: &sizes }, &opts, &mut engine).await?;
//! ```
//!
//! ```text
//! Problem::new ─► baseline + singles (EXPLAIN) ─► lazy greedy at the largest budget (EXPLAIN,
//! only re-costed statements) ─► frontier per budget: greedy order / cached greedy / previous,
//! then repair (no EXPLAIN) ─► verify the points (EXPLAIN, mostly cached) ─► prune: leave-one-out
//! on each point, --min-benefit judged on the set (EXPLAIN) ─► exchange: add one, evict until
//! it fits, costed with the planner (EXPLAIN) ─► bound: branch and bound over what fits, at
//! most `bound::NODES` nodes (EXPLAIN) ─► make the frontier monotone ─►
//! repair or report the statements the chosen set makes markedly dearer (EXPLAIN, see
//! [`slower`]) ─► what the limits left out (no EXPLAIN) ─► Recommendation
//! ```
//!
//! When a predicted slowdown is accepted: only when no repair exists (one index added, one of
//! the same table swapped, or the one its plan uses left out) that fits the limits, makes no
//! other statement markedly dearer and costs at most the `--min-benefit` amount of net benefit;
//! it is then listed in [`Recommendation::slower`] for the report.

pub mod bound;
pub mod cache;
pub mod drop_check;
pub mod drop_policy;
pub mod drops;
pub mod exchange;
pub mod frontier;
#[cfg(test)]
mod frontier_props;
pub mod greedy;
pub mod limits;
pub mod problem;
pub mod prune;
pub mod recommendation;
pub mod repair;
pub mod run;
#[cfg(test)]
mod scenarios;
pub mod slower;
pub mod superseded;
pub mod survivor;
pub mod threshold;

pub use drop_check::{check_drops, HiddenCost, HideIndexes, KeptIndex};
pub use drop_policy::withhold_doubtful_drops;
pub use frontier::FrontierPoint;
pub use limits::{LeftOut, Limit, LimitsUsed};
pub use recommendation::{
    DropProposal, DropReason, Helped, Proposed, Recommendation, Rejected, StatementEffect,
};
pub use run::{select, SelectInput, SelectOptions};
pub use slower::Slower;
