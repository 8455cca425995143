//! The greedy: add the candidate with the best net benefit per byte, re-costing only what the
//! last choice changed, until nothing worth its size is left.
//!
//! Asks the [`WhatIf`] only for (statement, configuration) pairs it has not seen, and only for
//! statements on the table of the candidate being re-costed. Invariant: the objective recorded
//! for each step is computed from planner answers (no estimates), so the greedy's order is a
//! ladder of exact points for the frontier.
//!
//! Problem: re-costing every candidate after every choice costs |statements| × |candidates|
//! EXPLAINs per step. What we do: lazy evaluation (the classic "lazy greedy" for submodular
//! objectives): a candidate's last computed gain per byte is an upper bound on its gain now
//! (adding indexes only takes work away from it), so candidates wait in a max-heap of bounds
//! and only the top one is re-costed against the current configuration; if it is still on top
//! it is chosen. Two indexes on one table compete for the same statements and re-costing
//! catches it; one index serving several statements is counted on all of them.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::problem::{Limits, Problem};
use crate::error::Error;
use crate::whatif::WhatIf;

/// One step of the greedy.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The candidate chosen.
    pub candidate: usize,
    /// What it added to the objective when chosen.
    pub marginal: f64,
    /// Total size after this step.
    pub cumulative_size: i64,
    /// Objective after this step.
    pub objective: f64,
}

#[derive(Debug, PartialEq)]
struct Entry {
    ratio: f64,
    marginal: f64,
    cand: usize,
    stamp: usize,
}

impl Eq for Entry {}

impl Ord for Entry {
    fn cmp(&self, o: &Self) -> Ordering {
        self.ratio
            .total_cmp(&o.ratio)
            .then_with(|| o.cand.cmp(&self.cand))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Run the greedy within `limits`. The problem's singles must be cached
/// ([`Problem::baseline_and_singles`]).
pub async fn greedy<W: WhatIf>(
    p: &mut Problem,
    whatif: &mut W,
    limits: &Limits,
) -> Result<Vec<Step>, Error> {
    let mut chosen: Vec<usize> = Vec::new();
    let mut steps: Vec<Step> = Vec::new();
    let mut per_table = vec![0usize; p.tables.len()];
    let mut size = 0i64;
    let mut objective = 0.0;
    let mut heap = BinaryHeap::new();
    for c in 0..p.cands.len() {
        if p.cands[c].stmts.is_empty() {
            continue;
        }
        let m = p.marginal(&[], c);
        if m > limits.min_net {
            heap.push(Entry {
                ratio: m / p.cands[c].size as f64,
                marginal: m,
                cand: c,
                stamp: 0,
            });
        }
    }
    while let Some(e) = heap.pop() {
        if chosen.len() >= limits.max_indexes {
            break;
        }
        let c = e.cand;
        if size + p.cands[c].size > limits.budget
            || per_table[p.cands[c].table] >= limits.max_per_table
        {
            continue;
        }
        if e.stamp == steps.len() {
            if e.marginal <= limits.min_net {
                continue;
            }
            chosen.push(c);
            size += p.cands[c].size;
            per_table[p.cands[c].table] += 1;
            objective += e.marginal;
            steps.push(Step {
                candidate: c,
                marginal: e.marginal,
                cumulative_size: size,
                objective,
            });
            continue;
        }
        // Re-cost c against the current configuration: only its statements.
        let mut with = chosen.clone();
        with.push(c);
        let wanted: Vec<(usize, Vec<usize>)> = p.cands[c]
            .stmts
            .iter()
            .flat_map(|&s| [(s, p.config_for(s, &with)), (s, p.config_for(s, &chosen))])
            .collect();
        p.ensure(whatif, &wanted).await?;
        let m = p.marginal(&chosen, c);
        if m > limits.min_net {
            heap.push(Entry {
                ratio: m / p.cands[c].size as f64,
                marginal: m,
                cand: c,
                stamp: steps.len(),
            });
        }
    }
    Ok(steps)
}
