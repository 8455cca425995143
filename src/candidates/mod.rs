//! Stage `candidates`: from query shapes and the catalog to the B-tree indexes worth simulating.
//!
//! Must not do I/O. Invariant: candidates are deduplicated and sorted by spec; each remembers
//! which statements it came from and the rule that produced it; none is already served by an
//! existing index; the same input gives the same output.
//!
//! The rules live in [`rules`], one file each with its tests (each documented as problem /
//! what we do / example), run by a small driver; [`existing`] decides whether an existing index
//! already serves a candidate.

pub mod candidate;
pub(crate) mod existing;
pub mod rules;

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Catalog, IndexSpec};
use crate::parse::QueryShape;

pub use candidate::{Advice, Candidate, CandidateSet, Rule, Source};

/// Propose candidate indexes for a workload's shapes.
///
/// Problem: the same index is proposed by many statements, sometimes by several rules, and
/// some proposals already exist. What we do: merge proposals by spec (keeping every
/// (queryid, rule) source), drop those an existing valid B-tree already serves, sort by spec.
/// Example: `(customer_id)` proposed by three statements is dropped when the FK index
/// `shop_order_customer_id_…` exists; `(customer_id, created_at DESC)` stays, with its sources.
pub fn generate(shapes: &[QueryShape], catalog: &Catalog) -> CandidateSet {
    let mut merged: BTreeMap<IndexSpec, BTreeSet<Source>> = BTreeMap::new();
    let mut advice = Vec::new();
    for shape in shapes {
        for (spec, rule) in rules::for_shape(shape, catalog, &mut advice)
            .into_iter()
            .chain(rules::dimension::for_shape(shape, catalog))
        {
            merged.entry(spec).or_default().insert(Source {
                queryid: shape.queryid,
                rule,
            });
        }
    }
    merge_flipped(&mut merged);
    let candidates = merged
        .into_iter()
        .filter(|(spec, sources)| {
            let rules: Vec<Rule> = sources.iter().map(|s| s.rule).collect();
            catalog
                .table(&spec.schema, &spec.table)
                .is_none_or(|t| existing::served_by(spec, &rules, t).is_none())
        })
        .map(|(spec, sources)| Candidate {
            spec,
            sources: sources.into_iter().collect(),
        })
        .collect();
    advice.sort();
    advice.dedup();
    CandidateSet { candidates, advice }
}

/// A B-tree read backwards gives the exact reverse order: the spec with every key's direction
/// and NULLS placement flipped is the same index. An unordered method's spec is its own flip.
fn flipped(spec: &IndexSpec) -> IndexSpec {
    let mut f = spec.clone();
    if !spec.method.is_ordered() {
        return f;
    }
    for k in &mut f.keys {
        let nulls_first = !k.nulls_first.unwrap_or(k.desc);
        k.desc = !k.desc;
        k.nulls_first = (nulls_first != k.desc).then_some(nulls_first);
    }
    f
}

/// Problem: one statement orders by `created_at DESC`, another by `created_at`: two
/// candidates for one index. What we do: when a spec's fully flipped form was also proposed,
/// keep one with the union of sources: the form more sources asked for (ties: the smaller
/// spec), so the kept form matches most queries.
/// Example: `(created_at DESC)` from 3 statements and `(created_at)` from 1 → `(created_at
/// DESC)` with 4 sources.
fn merge_flipped(merged: &mut BTreeMap<IndexSpec, BTreeSet<Source>>) {
    let specs: Vec<IndexSpec> = merged.keys().cloned().collect();
    for spec in specs {
        let f = flipped(&spec);
        if f == spec {
            continue;
        }
        let (Some(a), Some(b)) = (merged.get(&spec), merged.get(&f)) else {
            continue;
        };
        let keep_spec = a.len() > b.len() || (a.len() == b.len() && spec < f);
        let (keep, drop) = if keep_spec { (spec, f) } else { (f, spec) };
        if let Some(sources) = merged.remove(&drop) {
            merged.entry(keep).or_default().extend(sources);
        }
    }
}

/// Prefix relations between candidates: `(a, b)` when candidate `a`'s keys are a strict
/// prefix of candidate `b`'s on the same table, with the same predicate and opclasses, so `b`
/// can serve every lookup `a` serves (ids are positions in `set.candidates`). Sorted. Not used
/// by `select` yet (it compares measured costs instead), so only the tests build it.
#[cfg(test)]
pub fn prefix_pairs(set: &CandidateSet) -> Vec<(usize, usize)> {
    let c = &set.candidates;
    let mut out = Vec::new();
    for (i, a) in c.iter().enumerate() {
        for (j, b) in c.iter().enumerate() {
            if i != j
                && a.spec.schema == b.spec.schema
                && a.spec.table == b.spec.table
                && a.spec.predicate == b.spec.predicate
                && a.spec.keys.len() < b.spec.keys.len()
                && b.spec.keys.starts_with(&a.spec.keys)
            {
                out.push((i, j));
            }
        }
    }
    out
}

#[cfg(test)]
mod candidate_tests;
