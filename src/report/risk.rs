//! Risk where values decide: a recommended index that makes some plausible value's plan
//! markedly worse than today's is said so, not averaged away.
//!
//! Stage `report` (pure). Must not query anything. Invariant: the risk is read from the same
//! value sets the statement was costed with, pair by pair (before and after share the order).
//!
//! Heuristic (problem / what we do / example):
//! - Problem: a weighted mean hides the value that suffers: `(created_at)` for a queue page
//!   is fine for the common status and walks the whole index for the rare one the page asks for.
//! - What we do: compare each value set's ranking cost after with before; at
//!   [`RISK_RATIO`] or more (and [`crate::cost::value_risk::MIN_RISK_COST`] more) the statement
//!   is flagged, with the worst value set. Without observed values the ranking already counted
//!   that value as a risk ([`crate::cost::value_risk`]); the report says the advice depends on
//!   values not observed and how to observe them.
//! - Example: `status = 'pending'` under `ORDER BY created_at LIMIT 100`: 1,980 → 5,600.

use crate::cost::value_risk::MIN_RISK_COST;
use crate::whatif::Outcome;

/// After/before cost ratio of one value set from which a plan is "markedly worse" (the
/// ranking's, [`crate::cost::value_risk::RISK_RATIO`]).
pub const RISK_RATIO: f64 = crate::cost::value_risk::RISK_RATIO;

/// How to observe values, for the report.
pub const HOW_TO_OBSERVE: &str = "observe them: run analyze while the application runs (it samples the running statements during its --window, 60 s by default; needs pg_monitor), or install pg_qualstats, or give --log FILE, or --hot-values";

/// The worst value set whose plan the recommendation makes at least [`RISK_RATIO`] times
/// costlier: `(values, weight, before cost, after cost)`.
pub fn worst_value(before: &Outcome, after: &Outcome) -> Option<(String, f64, f64, f64)> {
    let mut worst: Option<(f64, usize)> = None;
    for (i, (b, a)) in before.custom.iter().zip(&after.custom).enumerate() {
        let (bc, ac) = (b.plan.ranking_cost(), a.plan.ranking_cost());
        if bc <= 0.0 || !ac.is_finite() || ac - bc < MIN_RISK_COST {
            continue;
        }
        let r = ac / bc;
        if r >= RISK_RATIO && worst.is_none_or(|(w, _)| r > w) {
            worst = Some((r, i));
        }
    }
    let (_, i) = worst?;
    let b = &before.custom[i];
    let values = b
        .values
        .iter()
        .enumerate()
        .map(|(k, v)| match v {
            Some(v) => format!("${} = {}", k + 1, crate::pg::quote::literal(v)),
            None => format!("${} = NULL", k + 1),
        })
        .collect::<Vec<_>>()
        .join(", ");
    Some((
        values,
        b.weight,
        b.plan.ranking_cost(),
        after.custom[i].plan.ranking_cost(),
    ))
}

/// The report's line for a statement at risk; `observed` when its values were observed.
pub fn risk_line(worst: &(String, f64, f64, f64), observed: bool) -> String {
    let (values, weight, b, a) = worst;
    let what = format!(
        "for {values} (weight {:.1}%) the plan would cost {:.1}x today's ({b:.1} -> {a:.1})",
        100.0 * weight,
        a / b
    );
    if observed {
        format!("markedly worse for an observed value: {what}")
    } else {
        format!("depends on values not observed: {what}; {HOW_TO_OBSERVE}")
    }
}
