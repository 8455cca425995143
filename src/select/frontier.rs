//! The frontier: the best configuration for every storage budget, from ONE greedy run.
//!
//! Pure on the [`Problem`]'s cache: no EXPLAIN calls (the caller may verify the chosen points
//! afterwards). Invariant: the objective is monotone in the budget (a point's configuration is
//! never worse than the previous, smaller budget's, which also fits): [`frontier`] builds it so
//! and [`make_monotone`] restores it after the points were verified and pruned.
//!
//! `analyze` answers, besides the configured budget, the budgets of [`LADDER`] (a quarter of
//! it to four times it) from the same run, so the report shows what more or less storage buys.
//!
//! What we do per budget, all on cached costs: (1) the greedy's order, taking each index that
//! still fits; (2) a budget-aware greedy over the cache; (3) the previous budget's answer; the
//! best of these is then repaired ([`super::repair`]). Extend needs one run per budget because
//! its solutions are not nested (docs/postgres-facts.md §8); here the one run at the largest
//! budget caches the costs every smaller budget needs.

use serde::{Deserialize, Serialize};

use super::greedy::Step;
use super::problem::{Limits, Problem};
use super::repair::{repair, useful_pool};

/// One point of the frontier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrontierPoint {
    /// The storage budget, bytes.
    pub budget_bytes: i64,
    /// Size of the configuration, bytes (our estimate).
    pub size_bytes: i64,
    /// Candidate ids, sorted.
    pub candidates: Vec<usize>,
    /// Objective (net benefit, in the ranking unit).
    pub objective: f64,
    /// Σ calls × planner cost with the configuration.
    pub workload_cost: f64,
    /// Σ calls × planner cost with existing indexes only.
    pub baseline_cost: f64,
    /// Whether every cost behind this point is a planner answer (not a cache estimate).
    pub verified: bool,
    /// Predicted share of the workload saved: the objective ÷ the workload's total in the
    /// ranking unit (time net of write cost, or planner cost). Set by `select`.
    #[serde(default)]
    pub saved_share: f64,
}

impl FrontierPoint {
    /// workload_cost ÷ baseline_cost.
    pub fn relative_cost(&self) -> f64 {
        if self.baseline_cost > 0.0 {
            self.workload_cost / self.baseline_cost
        } else {
            1.0
        }
    }
}

/// Multiples of the configured budget `analyze` also answers in the frontier.
pub const LADDER: [f64; 4] = [0.25, 0.5, 2.0, 4.0];

/// The budgets of [`LADDER`] around `budget` (bytes), ascending, without `budget` itself.
pub fn ladder(budget: i64) -> Vec<i64> {
    LADDER
        .iter()
        .map(|m| (budget as f64 * m).round() as i64)
        .filter(|&b| b > 0 && b != budget)
        .collect()
}

/// Make `points` (ascending budgets) monotone: a point whose objective is below the previous
/// point's takes the previous configuration, which fits its larger budget too.
pub fn make_monotone(p: &Problem, points: &mut [FrontierPoint]) {
    for i in 1..points.len() {
        if points[i - 1].objective > points[i].objective {
            let prev = points[i - 1].candidates.clone();
            points[i] = point(p, points[i].budget_bytes, &prev);
        }
    }
}

/// Set each point's [`FrontierPoint::saved_share`] from the workload's `total`.
pub fn set_shares(points: &mut [FrontierPoint], total: f64) {
    for pt in points {
        pt.saved_share = if total > 0.0 {
            pt.objective / total
        } else {
            0.0
        };
    }
}

/// A greedy by value per byte over cached costs only, within `limits`.
pub fn cached_greedy(p: &Problem, limits: &Limits, pool: &[usize]) -> Vec<usize> {
    let mut cur: Vec<usize> = Vec::new();
    loop {
        let mut best: Option<(f64, usize)> = None;
        for &c in pool {
            if cur.contains(&c) {
                continue;
            }
            let mut next = cur.clone();
            next.push(c);
            if !p.fits(&next, limits) {
                continue;
            }
            let m = p.marginal(&cur, c);
            if m <= limits.min_net {
                continue;
            }
            let r = m / p.cands[c].size as f64;
            if best.is_none_or(|(br, bc)| r > br || (r == br && c < bc)) {
                best = Some((r, c));
            }
        }
        match best {
            Some((_, c)) => cur.push(c),
            None => break,
        }
    }
    cur.sort_unstable();
    cur
}

/// The greedy's order, taking each index that still fits `limits`.
pub fn prefix(p: &Problem, steps: &[Step], limits: &Limits) -> Vec<usize> {
    let mut cur: Vec<usize> = Vec::new();
    for s in steps {
        let mut next = cur.clone();
        next.push(s.candidate);
        if p.fits(&next, limits) && p.marginal(&cur, s.candidate) > limits.min_net {
            cur = next;
        }
    }
    cur.sort_unstable();
    cur
}

/// The frontier for `budgets` (bytes, any order; answered in ascending order).
pub fn frontier(
    p: &Problem,
    steps: &[Step],
    limits: &Limits,
    budgets: &[i64],
) -> Vec<FrontierPoint> {
    let mut budgets: Vec<i64> = budgets.to_vec();
    budgets.sort_unstable();
    budgets.dedup();
    let mut out: Vec<FrontierPoint> = Vec::new();
    let mut prev: Vec<usize> = Vec::new();
    for b in budgets {
        let lim = Limits {
            budget: b,
            ..*limits
        };
        let pool = useful_pool(p, &lim);
        let options = [
            prefix(p, steps, &lim),
            cached_greedy(p, &lim, &pool),
            prev.clone(),
        ];
        let start = options
            .iter()
            .filter(|o| p.fits(o, &lim))
            .max_by(|a, b| p.objective(a).total_cmp(&p.objective(b)))
            .cloned()
            .unwrap_or_default();
        let mut best = repair(p, &start, &lim, &pool);
        if p.objective(&prev) > p.objective(&best) {
            best = prev.clone();
        }
        best.sort_unstable();
        out.push(point(p, b, &best));
        prev = best;
    }
    out
}

/// A frontier point for `set` at budget `b`, on the cache.
pub fn point(p: &Problem, b: i64, set: &[usize]) -> FrontierPoint {
    let (with, base) = p.workload_cost(set);
    FrontierPoint {
        budget_bytes: b,
        size_bytes: p.size(set),
        candidates: set.to_vec(),
        objective: p.objective(set),
        workload_cost: with,
        baseline_cost: base,
        verified: p.is_exact(set),
        saved_share: 0.0,
    }
}
