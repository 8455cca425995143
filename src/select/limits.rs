//! What the limits (storage budget, per-table cap, cap on new indexes, the `--min-benefit` bar)
//! kept out: the statements an index would have helped, had a limit let it in, and the limits
//! the selection used.
//!
//! Pure on the [`Problem`]'s cache (no EXPLAIN). Invariant: a statement is reported as left out
//! only when the final set does not help it, one unchosen index alone makes it at least
//! `min_improvement` cheaper and either adds more than the `--min-benefit` amount to the set
//! but fits no limit beside it, or adds less than that amount but still more than its write
//! cost (then the bar is the limit) — so "no index helps" is never said of a cheap win a limit
//! hid.
//!
//! Example: an 11 MB database whose share budget left no room for a 1.1 MiB `(b)` index that
//! saves 14.5 of 14.6 ms per call: the statement is "left out by the budget: let it in with
//! `--budget 2MiB`", not "no index helps".

use serde::{Deserialize, Serialize};

use super::problem::{Limits, Problem};
use crate::model::IndexSpec;

/// A limit of the selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// `--budget`.
    Budget,
    /// `--max-per-table`.
    PerTable,
    /// `--max-indexes`.
    MaxIndexes,
    /// `--min-benefit`: the index saves more than it costs to maintain, but less than the bar.
    MinBenefit,
}

impl Limit {
    /// "the budget", for sentences.
    pub fn label(self) -> &'static str {
        match self {
            Limit::Budget => "the budget",
            Limit::PerTable => "the per-table cap",
            Limit::MaxIndexes => "the cap on new indexes",
            Limit::MinBenefit => "the --min-benefit bar",
        }
    }
}

/// An index a limit kept out, with the statements it would help.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeftOut {
    /// Candidate id.
    pub candidate: usize,
    /// The index.
    pub spec: IndexSpec,
    /// Estimated size, bytes.
    pub size_bytes: i64,
    /// The limit that kept it out.
    pub limit: Limit,
    /// The option and value that would let it in, e.g. `--budget 2MiB`.
    pub raise: String,
    /// Statements it alone would make at least `min_improvement` cheaper: (queryid, cost
    /// before, cost with it).
    pub statements: Vec<(i64, f64, f64)>,
}

/// The limits a recommendation was chosen under, for the reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LimitsUsed {
    /// Storage budget for new indexes, bytes.
    pub budget_bytes: i64,
    /// How the budget was set, e.g. `25% of the database (pg_database_size 11.0 MiB), at
    /// least 16.0 MiB`.
    pub budget_rule: String,
    /// The database size a share budget is a share of, bytes.
    pub database_bytes: i64,
    /// Most new indexes in all.
    pub max_indexes: usize,
    /// Most new indexes per table.
    pub max_per_table: usize,
    /// Least improvement for a statement to count as helped (share).
    pub min_improvement: f64,
    /// Least net benefit of an index (share of the workload).
    pub min_benefit: f64,
}

const MIB: i64 = 1 << 20;

/// The indexes the limits kept out of `set` (see the module header), by candidate id.
/// `helped[s]` tells whether the set already helps statement `s`; `min_benefit` is the
/// `--min-benefit` share that `limits.min_net` stands for.
pub fn left_out(
    p: &Problem,
    set: &[usize],
    helped: &[bool],
    limits: &Limits,
    min_benefit: f64,
) -> Vec<LeftOut> {
    let mut per_table = vec![0usize; p.tables.len()];
    for &c in set {
        per_table[p.cands[c].table] += 1;
    }
    let size = p.size(set);
    let mut out: Vec<LeftOut> = Vec::new();
    for s in 0..p.stmts.len() {
        if helped.get(s).copied().unwrap_or(true) {
            continue;
        }
        let base = p.stmts[s].weight.baseline_cost;
        let helping: Vec<(f64, f64, usize)> = p.stmts[s]
            .relevant
            .iter()
            .copied()
            .filter(|c| !set.contains(c))
            .filter_map(|c| {
                let after = p.estimate(s, &[c]);
                let saved = base - after;
                (saved > 0.0 && saved >= p.min_improvement * base)
                    .then(|| (p.marginal(set, c), after, c))
            })
            .collect();
        let best_of = |keep: &dyn Fn(f64) -> bool| {
            helping
                .iter()
                .copied()
                .filter(|(v, _, _)| keep(*v))
                .max_by(|a, b| a.0.total_cmp(&b.0).then(b.2.cmp(&a.2)))
        };
        let over = best_of(&|v| v > limits.min_net);
        let under = best_of(&|v| v > 0.0 && v <= limits.min_net);
        let (limit, raise, after, c) = match (over, under) {
            (Some((_, after, c)), _) => match limit_of(p, set, &per_table, size, limits, c) {
                Some((limit, raise)) => (limit, raise, after, c),
                None => continue,
            },
            (None, Some((v, after, c))) if limits.min_net > 0.0 => {
                // Its share of the workload, rounded down so the flag lets it in.
                let pct = 100.0 * min_benefit * v / limits.min_net;
                let shown = (pct * 1000.0).floor() / 1000.0;
                // Saving next to nothing (below 0.001% of the workload): not a win a limit
                // hid, and not worth its storage.
                if shown <= 0.0 {
                    continue;
                }
                (
                    Limit::MinBenefit,
                    format!("--min-benefit {shown}% (a lower bar: it saves {pct:.3}% of the workload net of writes)"),
                    after,
                    c,
                )
            }
            _ => continue,
        };
        let entry = (p.stmts[s].weight.queryid, base, after);
        match out.iter_mut().find(|l| l.candidate == c) {
            Some(l) => l.statements.push(entry),
            None => out.push(LeftOut {
                candidate: c,
                spec: p.cands[c].spec.clone(),
                size_bytes: p.cands[c].size,
                limit,
                raise,
                statements: vec![entry],
            }),
        }
    }
    for l in &mut out {
        l.statements.sort_by_key(|e| e.0);
    }
    out.sort_by_key(|l| l.candidate);
    out
}

/// The limit that keeps candidate `c` out of `set`, with the option value that lets it in;
/// `None` when it fits every limit.
fn limit_of(
    p: &Problem,
    set: &[usize],
    per_table: &[usize],
    size: i64,
    limits: &Limits,
    c: usize,
) -> Option<(Limit, String)> {
    {
        let t = p.cands[c].table;
        let (limit, raise) = if set.len() >= limits.max_indexes {
            (
                Limit::MaxIndexes,
                format!("--max-indexes {}", set.len() + 1),
            )
        } else if per_table[t] >= limits.max_per_table {
            (
                Limit::PerTable,
                format!("--max-per-table {}", per_table[t] + 1),
            )
        } else if size + p.cands[c].size > limits.budget {
            let need = size + p.cands[c].size;
            (
                Limit::Budget,
                format!("--budget {}MiB", (need + MIB - 1) / MIB),
            )
        } else {
            return None;
        };
        Some((limit, raise))
    }
}
