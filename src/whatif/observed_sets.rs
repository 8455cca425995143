//! Value sets from observed values: what a statement is costed with when the application's
//! own values were seen (pg_stat_activity samples, pg_qualstats constants, log entries).
//!
//! Stage `whatif` (pure). Must not query the database. Invariant: the sets depend only on the
//! observations, the shape, the catalog and the inferred types; their weights sum to 1; a
//! position nothing was observed for takes the statistics-based value ([`super::params`]).
//!
//! Heuristic (problem / what we do / example):
//! - Problem: the observed values are a time-weighted sample; a statement may show one status
//!   in every sample (the queue page), or a different customer in each.
//! - What we do: group the samples by the values of their equality parameters (the *driver*;
//!   all parameters when none is an equality); sort the groups by weight, then value; keep up
//!   to `max_sets` of them spread evenly over that order (the heaviest first), each standing
//!   for the weight of the groups down to the next one kept. Every other position takes the
//!   value most often seen with that group, else most often seen at all, else the statistics.
//! - Example: 212 samples of `status = $1 … LIMIT $2`, all `('pending', 100)`: one set,
//!   weight 1, `$1 = pending`, `$2 = 100`.

use std::collections::BTreeMap;

use super::params::{fallback_value, ParamType, ValueSet};
use crate::model::{Catalog, ObservedStatement};
use crate::parse::shape::{ParamOp, QueryShape};

/// The positions (0-based) of equality parameters.
fn eq_positions(shape: &QueryShape, n: usize) -> Vec<usize> {
    (0..n)
        .filter(|p| {
            shape
                .params
                .iter()
                .any(|u| u.param as usize == p + 1 && u.op == ParamOp::Eq)
        })
        .collect()
}

/// Per position (0-based), the values seen for it: from the tuples, then pg_qualstats'
/// per-column constants mapped onto the equality parameters of that column.
fn per_position(obs: &ObservedStatement, shape: &QueryShape, n: usize) -> Vec<Vec<(String, u64)>> {
    (0..n)
        .map(|p| {
            let mut m: BTreeMap<String, u64> = BTreeMap::new();
            for (v, w) in obs.param_values(p as u32 + 1) {
                *m.entry(v).or_default() += w;
            }
            let use_ = shape.params.iter().find(|u| u.param as usize == p + 1);
            if let Some(u) = use_.filter(|u| u.op == ParamOp::Eq) {
                if let (Some(t), Some(c)) = (&u.table, &u.column) {
                    let col = format!("{t}.{c}");
                    for v in obs.values.iter().filter(|v| v.param.is_none()) {
                        if v.column.as_deref() == Some(col.as_str()) {
                            *m.entry(v.value.clone()).or_default() += v.weight;
                        }
                    }
                }
            }
            let mut v: Vec<(String, u64)> = m.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v
        })
        .collect()
}

/// Pick up to `k` of `n` ordered groups, spread evenly, the first always: `(index, weight of the
/// groups it stands for)`.
fn spread(weights: &[u64], k: usize) -> Vec<(usize, u64)> {
    let n = weights.len();
    let k = k.max(1).min(n);
    let starts: Vec<usize> = (0..k).map(|i| i * n / k).collect();
    starts
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let end = starts.get(i + 1).copied().unwrap_or(n);
            (s, weights[s..end].iter().sum())
        })
        .collect()
}

/// The driver's values of a group of samples.
type Key = Vec<Option<String>>;
/// A group's weight and its tuples (values, weight).
type Group<'a> = (u64, Vec<(&'a [Option<String>], u64)>);

/// The value sets from what was observed for this statement, or `None` when nothing observed
/// fits it (then the statistics-based sets apply).
pub fn observed_value_sets(
    shape: &QueryShape,
    catalog: &Catalog,
    types: &[ParamType],
    max_sets: usize,
    obs: &ObservedStatement,
) -> Option<Vec<ValueSet>> {
    let n = types.len();
    if n == 0 {
        return None;
    }
    // `--hot-values` on a column of this statement is the user's word: it overrides.
    if shape.params.iter().any(|u| {
        super::params::column_stats(catalog, shape, u)
            .is_some_and(|s| !s.workload_values.is_empty())
    }) {
        return None;
    }
    let positions = per_position(obs, shape, n);
    if positions.iter().all(|v| v.is_empty()) {
        return None;
    }
    let eq = eq_positions(shape, n);
    let driver: Vec<usize> = {
        let seen: Vec<usize> = eq
            .iter()
            .copied()
            .filter(|p| !positions[*p].is_empty())
            .collect();
        if !seen.is_empty() {
            seen
        } else {
            (0..n).filter(|p| !positions[*p].is_empty()).collect()
        }
    };
    // Groups: driver values → weight, and the tuples of each group.
    let mut groups: BTreeMap<Key, Group<'_>> = BTreeMap::new();
    let usable: Vec<_> = obs
        .tuples
        .iter()
        .filter(|t| t.values.len() == n && driver.iter().any(|p| t.values[*p].is_some()))
        .collect();
    if !usable.is_empty() {
        for t in usable {
            let key: Key = driver.iter().map(|p| t.values[*p].clone()).collect();
            let g = groups.entry(key).or_default();
            g.0 += t.weight;
            g.1.push((&t.values, t.weight));
        }
    } else {
        // No tuple (pg_qualstats): the first driver position's values alone.
        let p = driver[0];
        for (v, w) in &positions[p] {
            let key: Key = driver
                .iter()
                .map(|q| (*q == p).then(|| v.clone()))
                .collect();
            groups.entry(key).or_default().0 += w;
        }
    }
    let mut ordered: Vec<(Key, Group<'_>)> = groups.into_iter().collect();
    ordered.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then_with(|| a.0.cmp(&b.0)));
    let weights: Vec<u64> = ordered.iter().map(|g| g.1 .0).collect();
    let total: u64 = weights.iter().sum();
    if total == 0 {
        return None;
    }
    let picked = spread(&weights, max_sets);
    let sets = picked
        .into_iter()
        .enumerate()
        .map(|(rank, (i, w))| {
            let (key, (_, tuples)) = &ordered[i];
            let values = (0..n)
                .map(|p| {
                    if let Some(k) = driver.iter().position(|d| *d == p) {
                        if let Some(v) = &key[k] {
                            return Some(v.clone());
                        }
                    }
                    // Most often seen with this group, then at all, then the statistics.
                    let mut with: BTreeMap<&str, u64> = BTreeMap::new();
                    for (vals, tw) in tuples {
                        if let Some(v) = &vals[p] {
                            *with.entry(v.as_str()).or_default() += tw;
                        }
                    }
                    let best = with
                        .into_iter()
                        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
                        .map(|(v, _)| v.to_string())
                        .or_else(|| positions[p].first().map(|(v, _)| v.clone()));
                    // A squashed list's observed value is already its array literal.
                    let list = shape
                        .params
                        .iter()
                        .any(|u| u.param as usize == p + 1 && u.op == ParamOp::InList);
                    match best {
                        Some(v) => Some(if types[p].array && !list {
                            super::params::array_literal(&v)
                        } else {
                            v
                        }),
                        None => fallback_value(shape, catalog, p, rank, &types[p], max_sets),
                    }
                })
                .collect();
            ValueSet {
                weight: w as f64 / total as f64,
                values,
            }
        })
        .collect();
    Some(sets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::observed::{ObservationBuilder, ObservedValue, Seen, ValueSource};
    use crate::parse::shape::{ParamUse, StatementKind};

    fn shape(params: Vec<(u32, Option<&str>, ParamOp)>) -> QueryShape {
        QueryShape {
            queryid: 1,
            kind: StatementKind::Select,
            plan_text: String::new(),
            param_count: params.len() as u32,
            tables: vec![],
            params: params
                .into_iter()
                .map(|(param, col, op)| ParamUse {
                    param,
                    schema: col.map(|_| "public".into()),
                    table: col.map(|_| "shop_order".into()),
                    column: col.map(String::from),
                    op,
                })
                .collect(),
            limit: None,
            offset: false,
        }
    }

    fn ty(name: &str) -> ParamType {
        ParamType {
            name: name.into(),
            array: false,
        }
    }

    fn s(v: &str) -> Option<String> {
        Some(v.into())
    }

    fn summary(sets: &[ValueSet]) -> Vec<(Vec<Option<String>>, String)> {
        sets.iter()
            .map(|v| (v.values.clone(), format!("{:.2}", v.weight)))
            .collect()
    }

    #[test]
    fn one_status_in_every_sample_is_one_set() {
        let sh = shape(vec![
            (1, Some("status"), ParamOp::Eq),
            (2, None, ParamOp::Limit),
        ]);
        let mut b = ObservationBuilder::default();
        b.add_tuple(
            1,
            vec![s("pending"), s("100")],
            ValueSource::Activity,
            212,
            Seen::Whole,
        );
        let o = b.finish();
        let sets = observed_value_sets(
            &sh,
            &Catalog::default(),
            &[ty("text"), ty("int8")],
            4,
            o.get(1).expect("obs"),
        )
        .expect("sets");
        assert_eq!(
            summary(&sets),
            vec![(vec![s("pending"), s("100")], "1.00".into())]
        );
    }

    #[test]
    fn many_values_are_spread_and_unseen_positions_fall_back() {
        let sh = shape(vec![
            (1, Some("customer_id"), ParamOp::Eq),
            (2, None, ParamOp::Limit),
        ]);
        let mut b = ObservationBuilder::default();
        b.add_tuple(1, vec![s("7"), None], ValueSource::Activity, 4, Seen::Cut);
        for c in 10..18 {
            b.add_tuple(
                1,
                vec![s(&c.to_string()), None],
                ValueSource::Activity,
                1,
                Seen::Cut,
            );
        }
        let o = b.finish();
        let sets = observed_value_sets(
            &sh,
            &Catalog::default(),
            &[ty("int8"), ty("int8")],
            3,
            o.get(1).expect("obs"),
        )
        .expect("sets");
        // 9 groups [7(4), 10..17 (1 each)] → starts 0, 3, 6.
        assert_eq!(
            summary(&sets),
            vec![
                (vec![s("7"), s("20")], "0.50".into()),
                (vec![s("12"), s("20")], "0.25".into()),
                (vec![s("15"), s("20")], "0.25".into()),
            ]
        );
    }

    #[test]
    fn qualstats_constants_map_to_the_column_s_parameter() {
        let sh = shape(vec![(1, Some("status"), ParamOp::Eq)]);
        let mut b = ObservationBuilder::default();
        for (v, w) in [("pending", 3), ("cancelled", 1)] {
            b.add_value(
                1,
                ObservedValue {
                    param: None,
                    column: Some("shop_order.status".into()),
                    value: v.into(),
                    weight: w,
                    source: ValueSource::Qualstats,
                },
            );
        }
        let o = b.finish();
        let sets = observed_value_sets(
            &sh,
            &Catalog::default(),
            &[ty("text")],
            4,
            o.get(1).expect("obs"),
        )
        .expect("sets");
        assert_eq!(
            summary(&sets),
            vec![
                (vec![s("pending")], "0.75".into()),
                (vec![s("cancelled")], "0.25".into()),
            ]
        );
        // Nothing for this statement's columns: no observed sets.
        let other = shape(vec![(1, Some("customer_id"), ParamOp::Eq)]);
        assert_eq!(
            observed_value_sets(
                &other,
                &Catalog::default(),
                &[ty("int8")],
                4,
                o.get(1).expect("obs")
            ),
            None
        );
    }
}
