//! Risk where values stay unknown: the cost a configuration is ranked by when the statement's
//! parameter values were not observed and one plausible value's plan gets markedly worse.
//!
//! Stage `cost` (pure: costs come in as numbers). Must not query anything. Invariant: with
//! observed values, or when no plausible value regresses markedly, the ranking cost is the
//! plain weighted mean, so the rule only ever makes a configuration look worse, never better.
//!
//! Heuristic (problem / what we do / example):
//! - Problem: without observed values a statement is costed over value sets taken from the
//!   column statistics, weighted by their share of the table. Applications page through the
//!   rare values (pending, open, unread), so the weights say nothing about which value the
//!   application sends: a weighted mean credits an index that is fine for the common value and
//!   walks the whole index for the rare one.
//! - What we do: when the statement's values were not observed (no pg_stat_activity sample,
//!   pg_qualstats constant, log entry or rows-per-call match), compare each value set's ranking
//!   cost under the configuration with today's. If one set's cost is at least [`RISK_RATIO`]
//!   times today's (and at least [`MIN_RISK_COST`] more), the statement is ranked as if every
//!   call sent that value: today's weighted cost times that worst ratio (or the weighted mean,
//!   when higher). The index is then credited only by the statements it does not put at risk,
//!   and the report's risk line says which value and how to observe the real ones. Observed
//!   values are the application's real mix, time-weighted: their mean is used as it is.
//! - A rare value under `ORDER BY … LIMIT` is judged by its walk as well: the planner costs the
//!   LIMIT as if the value's rows were spread evenly along the index, while a rare value's rows
//!   usually sit at one end ([`crate::whatif::limit_walk`]). When the walk past every other row
//!   is no cheaper than today's plan ([`WALK_RISK_RATIO`]), the value is a risk as above, and
//!   the statement is ranked at today's cost (the walk is a worst case, not a measurement).
//! - Example: a queue page `status = $1 ORDER BY created_at LIMIT 50`, not observed: `(created_at)`
//!   turns 'delivered' (93% of rows) from 9,800 to 4 but 'pending' (0.5%) from 9,800 to 31,000
//!   (3.2×): the page is ranked at 3.2 × today's cost, so `(created_at)` earns nothing from it.

/// After/before ranking-cost ratio of one value set from which its plan is "markedly worse".
pub const RISK_RATIO: f64 = 1.5;

/// The least cost increase (planner units, about one page read each) that counts as a risk:
/// below it a ratio is noise between two cheap plans.
pub const MIN_RISK_COST: f64 = 10.0;

/// After/before ratio of a rare value's index walk ([`crate::whatif::limit_walk`]) from which
/// it is a risk: a walk the planner costs no cheaper than today's plan. Not a larger ratio: the
/// planner's per-row cost of a whole index walk is close to a sequential scan's, while the
/// queue page walking `(created_at)` was measured 2.4× slower than its scan and top-N sort
/// (70 → 166 ms per call).
pub const WALK_RISK_RATIO: f64 = 1.0;

/// One value set of a statement: its weight (the sets sum to 1), its ranking cost and the cost
/// of a rare value's walk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SetCost {
    /// The set's weight.
    pub weight: f64,
    /// Its ranking cost (planner units).
    pub cost: f64,
    /// Its cost if a LIMIT walks an index past every other row before this value's
    /// ([`crate::whatif::plan::PlanNode::walk_risk_cost`]); the planner's cost otherwise.
    pub walk: f64,
}

/// The plain weighted mean of the sets' costs.
pub fn weighted(sets: &[SetCost]) -> f64 {
    sets.iter().map(|s| s.weight * s.cost).sum()
}

/// The after/before ratio of one value set when it is markedly worse: its ranking cost at
/// least [`RISK_RATIO`] times today's, or its walk ([`SetCost::walk`], when the walk is above
/// its ranking cost) at least [`WALK_RISK_RATIO`] times today's; either way at least
/// [`MIN_RISK_COST`] more. `None` when it is not.
pub fn pair_ratio(before: &SetCost, after: &SetCost) -> Option<f64> {
    pair_risk(before, after).map(|(r, _)| r)
}

/// [`pair_ratio`], and whether the walk (not the planner's own cost) made it a risk.
pub fn pair_risk(before: &SetCost, after: &SetCost) -> Option<(f64, bool)> {
    if before.weight <= 0.0 {
        return None;
    }
    let planned =
        (before.cost > 0.0 && after.cost.is_finite() && after.cost - before.cost >= MIN_RISK_COST)
            .then(|| after.cost / before.cost)
            .filter(|r| *r >= RISK_RATIO);
    let today = before.walk.max(before.cost);
    let walked = (today > 0.0
        && after.walk.is_finite()
        && after.walk > after.cost
        && after.walk - today >= MIN_RISK_COST)
        .then(|| after.walk / today)
        .filter(|r| *r >= WALK_RISK_RATIO);
    match (planned, walked) {
        (Some(p), Some(w)) if w > p => Some((w, true)),
        (Some(p), _) => Some((p, false)),
        (None, w) => w.map(|w| (w, true)),
    }
}

/// The ratio a statement is ranked by: the largest among the value sets that are markedly
/// worse ([`pair_risk`]), pairing sets by position; `None` when none is. A set at risk only by
/// its walk counts [`WALK_RISK_RATIO`]: the walk is the worst case of an unknown (where the
/// value's rows sit), so the statement earns nothing from the configuration, but is not
/// charged the worst case either (an index that serves other statements stays in reach).
pub fn worst_ratio(before: &[SetCost], after: &[SetCost]) -> Option<f64> {
    before
        .iter()
        .zip(after)
        .filter_map(|(b, a)| pair_risk(b, a))
        .map(|(r, walk)| if walk { WALK_RISK_RATIO } else { r })
        .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))))
}

/// The cost a configuration is ranked by (see the module): the weighted mean of `after`, or,
/// when the values were not `observed` and a plausible value regresses markedly, today's
/// weighted cost times the worst ratio when that is higher.
pub fn ranking_cost(before: &[SetCost], after: &[SetCost], observed: bool) -> f64 {
    let mean = weighted(after);
    if observed || before.len() != after.len() {
        return mean;
    }
    match worst_ratio(before, after) {
        Some(r) => mean.max(weighted(before) * r),
        None => mean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(v: &[(f64, f64)]) -> Vec<SetCost> {
        v.iter()
            .map(|&(weight, cost)| SetCost {
                weight,
                cost,
                walk: cost,
            })
            .collect()
    }

    /// The queue page over `(created_at)` on a correlated table: the planner's early stop
    /// costs 'pending' 440 (ranked 2,200), its walk past every other row 11,050, 1.4× today's
    /// 7,886: not markedly worse by the plan, a risk by the walk; 'done' and 'failed' gain.
    #[test]
    fn a_rare_value_whose_walk_is_no_cheaper_than_today_is_a_risk() {
        let before = sets(&[(0.97, 7886.0), (0.025, 7886.0), (0.005, 7886.0)]);
        let mut after = sets(&[(0.97, 3.0), (0.025, 30.0), (0.005, 2200.0)]);
        assert_eq!(worst_ratio(&before, &after), None);
        after[2].walk = 11_050.0;
        let (r, walk) = pair_risk(&before[2], &after[2]).expect("a risk");
        assert!(walk && (r - 11_050.0 / 7886.0).abs() < 1e-9, "{r}");
        // Ranked at today's cost: no credit from the page, no worst-case charge either.
        assert_eq!(worst_ratio(&before, &after), Some(WALK_RISK_RATIO));
        let ranked = ranking_cost(&before, &after, false);
        assert!((ranked - 7886.0).abs() < 1e-6, "{ranked}");
        // A walk cheaper than today's plan is a gain whichever end the rows are at.
        after[2].walk = 7_000.0;
        assert_eq!(worst_ratio(&before, &after), None);
        // Today's plan walking an existing index the same way: nothing new at risk.
        let mut before = before;
        before[2].walk = 11_050.0;
        after[2].walk = 11_050.0;
        assert_eq!(worst_ratio(&before, &after), None);
    }

    /// The queue page: the common value gains, the rare one regresses 3.2×.
    #[test]
    fn an_unobserved_value_that_regresses_is_a_risk_not_an_average() {
        let before = sets(&[(0.93, 9800.0), (0.065, 9800.0), (0.005, 9800.0)]);
        let after = sets(&[(0.93, 4.0), (0.065, 60.0), (0.005, 31360.0)]);
        let mean = weighted(&after);
        assert!(mean < 0.05 * weighted(&before), "the mean hides it: {mean}");
        let ranked = ranking_cost(&before, &after, false);
        assert!((ranked - 9800.0 * 3.2).abs() < 1e-6, "{ranked}");
        // Observed values are the application's real mix: the mean stands.
        assert_eq!(ranking_cost(&before, &after, true), mean);
    }

    #[test]
    fn no_regression_or_a_small_one_keeps_the_mean() {
        let before = sets(&[(0.5, 100.0), (0.5, 8.0)]);
        // 8 → 14 is 1.75× but only 6 units: noise between two cheap plans.
        let after = sets(&[(0.5, 20.0), (0.5, 14.0)]);
        assert_eq!(ranking_cost(&before, &after, false), weighted(&after));
        assert_eq!(worst_ratio(&before, &after), None);
        // 1.4× is not markedly worse.
        let after = sets(&[(0.5, 140.0), (0.5, 8.0)]);
        assert_eq!(ranking_cost(&before, &after, false), weighted(&after));
    }

    #[test]
    fn the_rule_never_makes_a_configuration_look_better() {
        let before = sets(&[(0.9, 100.0), (0.1, 100.0)]);
        let after = sets(&[(0.9, 1000.0), (0.1, 200.0)]);
        let r = ranking_cost(&before, &after, false);
        assert!(r >= weighted(&after), "{r}");
        // Mismatched sets (a statement prepared with other values): the mean.
        assert_eq!(ranking_cost(&before[..1], &after, false), weighted(&after));
    }
}
