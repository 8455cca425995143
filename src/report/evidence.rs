//! Plan evidence for the report: which value set's plans to show for each statement the new
//! indexes change, the `plans/q<queryid>.diff` files, and the risk line of a statement a new
//! index makes markedly worse for some value.
//!
//! Stage `report` (pure): the outcomes come from [`crate::whatif::evidence`]. Invariant: the
//! diffs name each index by its chosen name, never HypoPG's, so the same input gives the same
//! files.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{plan_diff, PlanDiffHeader, Report};
use crate::emit::{EmittedFile, FileKind};
use crate::model::Snapshot;
use crate::parse::QueryShape;
use crate::whatif::{Evaluation, Outcome};

/// The plans to show for one statement: the value set whose weighted cost the recommendation
/// lowers most (a statement's most frequent values may not be where an index pays).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanPair {
    /// The plan today (EXPLAIN text, with the engine's stable hypothetical names).
    pub before: String,
    /// The plan with the recommended indexes.
    pub after: String,
    /// The value set shown, with its weight (`$1 = '42' (weight 1.2%)`).
    pub values: String,
    /// The worst value set, when the recommendation makes its plan markedly worse
    /// ([`super::risk::worst_value`]).
    pub worst: Option<super::risk::WorstValue>,
}

/// The pair to show from one statement's outcomes before and after, if any value set was
/// planned both ways.
pub fn plan_pair(b: &Outcome, a: &Outcome) -> Option<PlanPair> {
    let (bv, av) = b
        .custom
        .iter()
        .zip(&a.custom)
        .max_by(|(b1, a1), (b2, a2)| {
            let g1 = b1.weight * (b1.plan.total_cost - a1.plan.total_cost);
            let g2 = b2.weight * (b2.plan.total_cost - a2.plan.total_cost);
            g1.partial_cmp(&g2).unwrap_or(std::cmp::Ordering::Equal)
        })?;
    let values = bv
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Some(v) => format!("${} = {}", i + 1, crate::pg::quote::literal(v)),
            None => format!("${} = NULL", i + 1),
        })
        .collect::<Vec<_>>()
        .join(", ");
    Some(PlanPair {
        before: bv.plan.text.clone(),
        after: av.plan.text.clone(),
        values: format!("{values} (weight {:.1}%)", 100.0 * bv.weight),
        worst: super::risk::worst_value(b, a),
    })
}

/// [`plan_pair`] of each statement's outcomes, by queryid.
pub fn plan_pairs(outcomes: &[(i64, Outcome, Outcome)]) -> BTreeMap<i64, PlanPair> {
    outcomes
        .iter()
        .filter_map(|(q, b, a)| Some((*q, plan_pair(b, a)?)))
        .collect()
}

/// The statements whose plan with the recommended indexes uses one of them (and that could be
/// planned today): the ones that get a plan diff.
pub fn changed_statements(
    shapes: &[QueryShape],
    baseline: &BTreeMap<i64, Evaluation>,
    after: &BTreeMap<i64, Evaluation>,
    chosen: &[usize],
) -> Vec<i64> {
    shapes
        .iter()
        .filter(|sh| {
            after
                .get(&sh.queryid)
                .is_some_and(|a| a.used.iter().any(|u| chosen.contains(u)))
                && baseline.contains_key(&sh.queryid)
        })
        .map(|sh| sh.queryid)
        .collect()
}

/// The views every part of the report reads: the snapshot, the shapes, and each statement's
/// evaluation today and with the recommended indexes.
#[derive(Debug, Clone, Copy)]
pub struct Costed<'a> {
    /// The snapshot analysed.
    pub snapshot: &'a Snapshot,
    /// The statements understood.
    pub shapes: &'a [QueryShape],
    /// Each statement's evaluation with today's indexes.
    pub baseline: &'a BTreeMap<i64, Evaluation>,
    /// …and with the recommended ones.
    pub after: &'a BTreeMap<i64, Evaluation>,
}

/// One `plans/q<queryid>.diff` per pair (a negative queryid must not make a name that starts
/// with `-`: hence the `q`), and the path of each statement's diff. `names` maps candidate →
/// chosen index name. `explain`: the statement has no measured calls or time (0 says so).
pub fn plan_diff_files(
    costed: Costed<'_>,
    pairs: &BTreeMap<i64, PlanPair>,
    names: &BTreeMap<usize, String>,
    explain: bool,
) -> (Vec<EmittedFile>, BTreeMap<i64, String>) {
    let Costed {
        snapshot,
        shapes,
        baseline,
        after,
    } = costed;
    let mut files = vec![];
    let mut diffs = BTreeMap::new();
    for (queryid, pair) in pairs {
        let (Some(b), Some(a), Some(stmt)) = (
            baseline.get(queryid),
            after.get(queryid),
            snapshot.workload.get(*queryid),
        ) else {
            continue;
        };
        let header = PlanDiffHeader {
            queryid: *queryid,
            query: stmt.query.clone(),
            calls: if explain { 0 } else { stmt.calls },
            mean_ms: stmt.mean_time_ms,
            before_cost: b.cost,
            after_cost: a.cost,
            after_ms: crate::cost::read::predicted_mean_ms(stmt.mean_time_ms, b.cost, a.cost),
            values: Some(pair.values.clone()),
            generic: b.generic_cost.zip(a.generic_cost),
            observed: snapshot
                .observed
                .get(*queryid)
                .map(|o| super::values::evidence(o, shapes.iter().find(|s| s.queryid == *queryid))),
        };
        let before_text = super::diff::rename_stable(&pair.before, names);
        let after_text = super::diff::rename_stable(&pair.after, names);
        let path = format!("plans/q{queryid}.diff");
        files.push(EmittedFile {
            path: PathBuf::from(&path),
            contents: plan_diff(&header, &before_text, &after_text, &[]),
            kind: FileKind::Report,
        });
        diffs.insert(*queryid, path);
    }
    (files, diffs)
}

/// Say which statements a recommended index makes markedly worse for a plausible value
/// ([`super::risk`]), and add one note when any of them was not observed.
pub fn mark_risks(report: &mut Report, pairs: &BTreeMap<i64, PlanPair>, snapshot: &Snapshot) {
    let mut unobserved = 0;
    for st in &mut report.statements {
        let Some(worst) = pairs.get(&st.queryid).and_then(|p| p.worst.as_ref()) else {
            continue;
        };
        let observed = snapshot.observed.get(st.queryid).is_some();
        if !observed {
            unobserved += 1;
        }
        st.risk = Some(super::risk::risk_line(worst, observed));
    }
    if unobserved > 0 {
        report.notes.push(format!(
            "{unobserved} statements depend on values not observed: a recommended index makes their plan markedly worse for a plausible value (see each statement's risk); {}",
            super::risk::HOW_TO_OBSERVE
        ));
    }
}
