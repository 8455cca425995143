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
//! - Example: a queue page `status = $1 ORDER BY created_at LIMIT 50`, not observed: `(created_at)`
//!   turns 'delivered' (93% of rows) from 9,800 to 4 but 'pending' (0.5%) from 9,800 to 31,000
//!   (3.2×): the page is ranked at 3.2 × today's cost, so `(created_at)` earns nothing from it.

/// After/before ranking-cost ratio of one value set from which its plan is "markedly worse".
pub const RISK_RATIO: f64 = 1.5;

/// The least cost increase (planner units, about one page read each) that counts as a risk:
/// below it a ratio is noise between two cheap plans.
pub const MIN_RISK_COST: f64 = 10.0;

/// One value set of a statement: its weight (the sets sum to 1) and its ranking cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SetCost {
    /// The set's weight.
    pub weight: f64,
    /// Its ranking cost (planner units).
    pub cost: f64,
}

/// The plain weighted mean of the sets' costs.
pub fn weighted(sets: &[SetCost]) -> f64 {
    sets.iter().map(|s| s.weight * s.cost).sum()
}

/// The largest after/before ratio among the value sets that are markedly worse (at least
/// [`RISK_RATIO`] and [`MIN_RISK_COST`] more), pairing sets by position; `None` when none is.
pub fn worst_ratio(before: &[SetCost], after: &[SetCost]) -> Option<f64> {
    before
        .iter()
        .zip(after)
        .filter(|(b, a)| b.cost > 0.0 && a.cost.is_finite() && b.weight > 0.0)
        .filter(|(b, a)| a.cost - b.cost >= MIN_RISK_COST)
        .map(|(b, a)| a.cost / b.cost)
        .filter(|r| *r >= RISK_RATIO)
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
            .map(|&(weight, cost)| SetCost { weight, cost })
            .collect()
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
