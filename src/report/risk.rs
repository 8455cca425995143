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

use crate::cost::value_risk::{pair_risk, SetCost};
use crate::whatif::Outcome;

/// After/before cost ratio of one value set from which a plan is "markedly worse" (the
/// ranking's, [`crate::cost::value_risk::RISK_RATIO`]).
pub const RISK_RATIO: f64 = crate::cost::value_risk::RISK_RATIO;

/// How to observe values, for the report.
pub const HOW_TO_OBSERVE: &str = "observe them: run analyze while the application runs (it samples the running statements during its --window, 60 s by default; needs pg_monitor), or install pg_qualstats, or give --log FILE, or --hot-values";

/// The value set a recommendation puts at risk ([`worst_value`]).
#[derive(Debug, Clone, PartialEq)]
pub struct WorstValue {
    /// The values, `$1 = 'pending', …`.
    pub values: String,
    /// The set's weight.
    pub weight: f64,
    /// Today's cost for it.
    pub before: f64,
    /// Its cost with the recommendation: the ranking cost, or the walk past every other row
    /// when `walk`.
    pub after: f64,
    /// The risk is a rare value's walk through the index ([`crate::whatif::limit_walk`]).
    pub walk: bool,
}

/// The value set whose plan the recommendation makes markedly worse
/// ([`crate::cost::value_risk::pair_risk`]), the worst one.
pub fn worst_value(before: &Outcome, after: &Outcome) -> Option<WorstValue> {
    let mut worst: Option<(f64, usize, bool)> = None;
    for (i, (b, a)) in before.custom.iter().zip(&after.custom).enumerate() {
        let Some((r, walk)) = pair_risk(&set_cost(b), &set_cost(a)) else {
            continue;
        };
        if worst.is_none_or(|(w, _, _)| r > w) {
            worst = Some((r, i, walk));
        }
    }
    let (_, i, walk) = worst?;
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
    let (bs, as_) = (set_cost(b), set_cost(&after.custom[i]));
    let before_cost = if walk { bs.walk.max(bs.cost) } else { bs.cost };
    Some(WorstValue {
        values,
        weight: b.weight,
        before: before_cost,
        after: if walk { as_.walk } else { as_.cost },
        walk,
    })
}

fn set_cost(v: &crate::whatif::worker::ValuePlan) -> SetCost {
    SetCost {
        weight: v.weight,
        cost: v.plan.ranking_cost(),
        walk: v.plan.walk_risk_cost(),
    }
}

/// The report's line for a statement at risk; `observed` when its values were observed.
pub fn risk_line(worst: &WorstValue, observed: bool) -> String {
    let WorstValue {
        values,
        weight,
        before: b,
        after: a,
        walk,
    } = worst;
    let how = if *walk {
        " if its rows come last in the index order (the LIMIT walks the index past every other row)"
    } else {
        ""
    };
    let what = format!(
        "for {values} (weight {:.1}%) the plan would cost {:.1}x today's ({b:.1} -> {a:.1}){how}",
        100.0 * weight,
        a / b
    );
    if observed {
        format!("markedly worse for an observed value: {what}")
    } else {
        format!("depends on values not observed: {what}; {HOW_TO_OBSERVE}")
    }
}
