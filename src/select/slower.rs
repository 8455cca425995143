//! Statements the chosen set makes slower: repair them, or say so.
//!
//! Stage `select`, after pruning (the chosen point is verified). Pure apart from asking a
//! [`WhatIf`] for the configurations a repair needs. Invariant: on return, every statement the
//! set is predicted to make markedly dearer ([`markedly_dearer`]) either is no longer (a repair
//! was taken) or is listed as [`Slower`] with its predicted ratio and share of time, for the
//! report; a repair never adds a new markedly dearer statement, always fits the limits, and
//! lowers the set's net benefit (the objective, where a dearer statement already counts as a
//! loss) by at most `tolerance` (the `--min-benefit` amount).
//!
//! Heuristic (problem / what we do / example):
//! - Problem: the objective weighs a statement's loss against another's gain, so an index that
//!   saves 29% of the time is kept even when it makes a small statement 1.6× dearer: on the
//!   example, `SELECT 1 … FROM shop_order WHERE customer_id = $1 AND status = $2 LIMIT 1`
//!   (Django's `exists()`) went 0.075 → 0.122 ms per call, because the planner then ANDs the
//!   foreign-key bitmap with all ~3,000 'pending' entries of the new status-led index. That was
//!   predicted, and still recommended without a word.
//! - What we do: for each markedly dearer statement, worst first, try the moves that could
//!   serve it: add one of its candidates, swap a chosen index of the same table for one of its
//!   candidates, or leave out the index its plan uses. The planner costs the statement under
//!   each move; those that end its slowdown are verified on the whole workload, and the best
//!   one (highest net benefit) is taken when it fits the limits, makes no other statement
//!   markedly dearer and costs at most `tolerance` of net benefit. Otherwise the slowdown is
//!   accepted and reported.
//! - Example: chosen `(status, created_at)` on shop_order makes the `exists()` check 1.6×
//!   dearer; adding `(customer_id, status)` serves it with one index probe: taken when the
//!   table has room under `--max-per-table` and its write cost is under the `--min-benefit`
//!   amount, else the check is listed as made slower, with its ratio and its share of time.

use serde::{Deserialize, Serialize};

use super::problem::{Limits, Problem};
use crate::cost::ReadUnit;
use crate::error::Error;
use crate::whatif::WhatIf;

/// A statement is markedly dearer when its cost grows by more than this share of its baseline.
pub const DEARER_SHARE: f64 = 0.10;

/// ... and its loss (objective units) is more than this share of the workload's total.
pub const DEARER_MIN_SHARE: f64 = 1e-4;

/// Moves verified on the whole workload per statement at most (best estimate first).
const VERIFY_MOVES: usize = 4;

/// A statement the recommendation is predicted to make slower, and why it was accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slower {
    /// The statement.
    pub queryid: i64,
    /// Planner cost before (existing indexes).
    pub before_cost: f64,
    /// Planner cost with the recommendation.
    pub after_cost: f64,
    /// Predicted speed ratio, before / after time (below 1: slower; 0.6 is 1.67× the time).
    pub speed_ratio: f64,
    /// Measured mean time before, ms.
    pub before_ms: f64,
    /// Predicted mean time after, ms.
    pub after_ms: f64,
    /// Its share of the workload's time (0..1).
    pub share_of_time: f64,
    /// The recommended indexes its new plan uses, as labels.
    pub indexes: Vec<String>,
    /// Why no repair was taken.
    pub reason: String,
}

/// The loss (objective units, > 0) of statement `s` under `set` when it is markedly dearer
/// (see the module header), else `None`. `total` is the workload's total in objective units.
pub fn markedly_dearer(p: &Problem, s: usize, set: &[usize], total: f64) -> Option<f64> {
    let base = p.stmts[s].weight.baseline_cost;
    let after = p.estimate(s, &p.config_for(s, set));
    let dearer = after > base * (1.0 + DEARER_SHARE);
    if !dearer {
        return None;
    }
    let loss = -p.read_value(s, after);
    (loss > DEARER_MIN_SHARE * total).then_some(loss)
}

/// Every markedly dearer statement under `set`, worst loss first (ties by index).
pub fn dearer(p: &Problem, set: &[usize], total: f64) -> Vec<usize> {
    let mut v: Vec<(f64, usize)> = (0..p.stmts.len())
        .filter_map(|s| markedly_dearer(p, s, set, total).map(|l| (l, s)))
        .collect();
    v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    v.into_iter().map(|(_, s)| s).collect()
}

/// The sets a repair of statement `s` may move `set` to: add one of its candidates, swap a
/// chosen index of the same table for one, or leave out a chosen index its plan uses. Sorted,
/// deduplicated, each sorted.
pub fn moves(p: &Problem, set: &[usize], s: usize) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut push = |mut v: Vec<usize>| {
        v.sort_unstable();
        v.dedup();
        if v != set && !out.contains(&v) {
            out.push(v);
        }
    };
    for &c in &p.stmts[s].relevant {
        if set.contains(&c) {
            continue;
        }
        push(set.iter().copied().chain([c]).collect());
        for &x in set
            .iter()
            .filter(|&&x| p.cands[x].table == p.cands[c].table)
        {
            push(set.iter().copied().filter(|&y| y != x).chain([c]).collect());
        }
    }
    let cfg = p.config_for(s, set);
    let used: Vec<usize> = p.cache[s]
        .get(&cfg)
        .map(|c| c.used.clone())
        .unwrap_or_else(|| cfg.clone());
    for x in used.into_iter().filter(|x| set.contains(x)) {
        push(set.iter().copied().filter(|&y| y != x).collect());
    }
    out.sort();
    out
}

/// Of `candidates` (sets from [`moves`]), the best repair of statement `s` on the cache: it
/// fits `limits`, `s` is no longer markedly dearer, no statement that was not markedly dearer
/// under `set` becomes so, and its objective is at least `set`'s less `tolerance`. Highest
/// objective wins (ties: the smaller set, then the first).
pub fn best_repair(
    p: &Problem,
    set: &[usize],
    s: usize,
    candidates: &[Vec<usize>],
    limits: &Limits,
    tolerance: f64,
    total: f64,
) -> Option<Vec<usize>> {
    let before = dearer(p, set, total);
    let floor = p.objective(set) - tolerance;
    let mut best: Option<(f64, &Vec<usize>)> = None;
    for next in candidates {
        if !p.fits(next, limits) || markedly_dearer(p, s, next, total).is_some() {
            continue;
        }
        if dearer(p, next, total).iter().any(|d| !before.contains(d)) {
            continue;
        }
        let v = p.objective(next);
        if v < floor {
            continue;
        }
        let better = match &best {
            None => true,
            Some((bv, bs)) => v > *bv || (v == *bv && next.len() < bs.len()),
        };
        if better {
            best = Some((v, next));
        }
    }
    best.map(|(_, v)| v.clone())
}

/// Repair the statements `set` makes markedly dearer (see the module header). Returns the
/// repaired set (sorted; verified with the planner) and a note per repair taken.
pub async fn mend<W: WhatIf>(
    p: &mut Problem,
    whatif: &mut W,
    set: &[usize],
    limits: &Limits,
    tolerance: f64,
    total: f64,
) -> Result<(Vec<usize>, Vec<String>), Error> {
    let mut cur: Vec<usize> = set.to_vec();
    cur.sort_unstable();
    cur.dedup();
    p.verify(whatif, &cur).await?;
    let mut notes = Vec::new();
    let mut tried: Vec<usize> = Vec::new();
    while let Some(s) = dearer(p, &cur, total)
        .into_iter()
        .find(|s| !tried.contains(s))
    {
        tried.push(s);
        let all = moves(p, &cur, s);
        // The statement itself under each move (one batch), then the promising moves on the
        // whole workload.
        let wanted: Vec<(usize, Vec<usize>)> =
            all.iter().map(|m| (s, p.config_for(s, m))).collect();
        p.ensure(whatif, &wanted).await?;
        let mut promising: Vec<(f64, Vec<usize>)> = all
            .into_iter()
            .filter(|m| p.fits(m, limits) && markedly_dearer(p, s, m, total).is_none())
            .map(|m| (p.objective(&m), m))
            .collect();
        promising.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        promising.truncate(VERIFY_MOVES);
        for (_, m) in &promising {
            p.verify(whatif, m).await?;
        }
        let verified: Vec<Vec<usize>> = promising.into_iter().map(|(_, m)| m).collect();
        if let Some(next) = best_repair(p, &cur, s, &verified, limits, tolerance, total) {
            let label = |v: &[usize]| -> String {
                v.iter()
                    .map(|&c| p.cands[c].spec.label())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let added: Vec<usize> = next.iter().copied().filter(|c| !cur.contains(c)).collect();
            let removed: Vec<usize> = cur.iter().copied().filter(|c| !next.contains(c)).collect();
            notes.push(format!(
                "statement {} would have been {:.1}× dearer with the recommendation; repaired by {}{}{}",
                p.stmts[s].weight.queryid,
                p.estimate(s, &p.config_for(s, &cur)) / p.stmts[s].weight.baseline_cost,
                if added.is_empty() { String::new() } else { format!("adding {}", label(&added)) },
                if !added.is_empty() && !removed.is_empty() { " and " } else { "" },
                if removed.is_empty() { String::new() } else { format!("leaving out {}", label(&removed)) },
            ));
            cur = next;
        }
    }
    Ok((cur, notes))
}

/// The statements `set` still makes markedly dearer, for the report. `total` is the
/// workload's total in objective units; `whole` the whole workload's (shares of time).
pub fn slower(p: &Problem, set: &[usize], total: f64, whole: f64) -> Vec<Slower> {
    let window = p.write.window_s.unwrap_or(1.0);
    dearer(p, set, total)
        .into_iter()
        .map(|s| {
            let w = &p.stmts[s].weight;
            let cfg = p.config_for(s, set);
            let after = p.estimate(s, &cfg);
            let used: Vec<usize> = p.cache[s]
                .get(&cfg)
                .map(|c| c.used.iter().copied().filter(|u| set.contains(u)).collect())
                .unwrap_or(cfg);
            let after_ms = w.time_at(after);
            let own = match p.unit {
                ReadUnit::Cost => w.calls * w.baseline_cost,
                ReadUnit::Time => w.calls * w.mean_time_ms / window,
            };
            Slower {
                queryid: w.queryid,
                before_cost: w.baseline_cost,
                after_cost: after,
                speed_ratio: if after_ms > 0.0 { w.mean_time_ms / after_ms } else { 1.0 },
                before_ms: w.mean_time_ms,
                after_ms,
                share_of_time: if whole > 0.0 { own / whole } else { 0.0 },
                indexes: used.iter().map(|&c| p.cands[c].spec.label()).collect(),
                reason: "no index within the limits serves it without costing more net benefit than the --min-benefit amount: accepted because the set saves more than it loses".into(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::{StatementWeight, WriteModel};
    use crate::model::{IndexKey, IndexSpec, KeyExpr};
    use crate::select::problem::{Cached, Cand, Stmt};
    use rustc_hash::FxHashMap;

    fn spec(table: &str, cols: &[&str]) -> IndexSpec {
        IndexSpec {
            schema: "public".into(),
            table: table.into(),
            keys: cols
                .iter()
                .map(|c| IndexKey {
                    expr: KeyExpr::Column(c.to_string()),
                    desc: false,
                    nulls_first: None,
                    opclass: None,
                })
                .collect(),
            include: vec![],
            predicate: None,
            unique: false,
            method: crate::model::IndexMethod::Btree,
        }
    }

    /// shop_order: 0 = (status, created_at) for the page, 1 = (customer_id, status) for the
    /// check, 2 = (created_at). Statement 0 is the page (1000 calls), 1 the check (100 calls).
    fn world(check_with_both: f64) -> Problem {
        let cands = vec![
            (spec("shop_order", &["status", "created_at"]), vec![0, 1]),
            (spec("shop_order", &["customer_id", "status"]), vec![1]),
            (spec("shop_order", &["created_at"]), vec![0]),
        ]
        .into_iter()
        .map(|(spec, stmts)| Cand {
            spec,
            table: 0,
            size: 100,
            selectivity: 1.0,
            stmts,
        })
        .collect();
        let stmt = |q: i64, calls: f64, base: f64, relevant: Vec<usize>| Stmt {
            weight: StatementWeight {
                queryid: q,
                calls,
                mean_time_ms: 1.0,
                baseline_cost: base,
            },
            relevant,
        };
        let mut cache = vec![FxHashMap::default(), FxHashMap::default()];
        let mut put = |s: usize, k: Vec<usize>, cost: f64, used: Vec<usize>| {
            cache[s].insert(k, Cached { cost, used });
        };
        put(0, vec![], 1000.0, vec![]);
        put(0, vec![0], 10.0, vec![0]);
        put(0, vec![2], 400.0, vec![2]);
        put(0, vec![0, 2], 10.0, vec![0]);
        put(1, vec![], 10.0, vec![]);
        put(1, vec![0], 16.0, vec![0]);
        put(1, vec![1], 2.0, vec![1]);
        put(1, vec![0, 1], check_with_both, vec![1]);
        Problem {
            stmts: vec![
                stmt(1, 1000.0, 1000.0, vec![0, 2]),
                stmt(2, 100.0, 10.0, vec![0, 1]),
            ],
            cands,
            tables: vec![("public".into(), "shop_order".into())],
            write: WriteModel::unavailable("test"),
            unit: ReadUnit::Cost,
            min_improvement: 0.1,
            cache,
            skipped: vec![],
            optimistic: false,
        }
    }

    fn limits(per_table: usize) -> Limits {
        Limits {
            budget: 1000,
            max_indexes: 10,
            max_per_table: per_table,
            min_net: 0.0,
        }
    }

    fn total(p: &Problem) -> f64 {
        p.stmts
            .iter()
            .map(|s| s.weight.calls * s.weight.baseline_cost)
            .sum()
    }

    #[test]
    fn the_check_made_dearer_is_found() {
        let p = world(2.0);
        // 10 → 16 for 100 calls: 600 of 1,001,000 cost units, above the 0.01% floor.
        assert_eq!(dearer(&p, &[0], total(&p)), vec![1]);
        assert!(dearer(&p, &[0, 1], total(&p)).is_empty());
        // The page alone gets cheaper: not dearer.
        assert!(markedly_dearer(&p, 0, &[0], total(&p)).is_none());
    }

    #[test]
    fn adding_the_checks_index_repairs_it() {
        let p = world(2.0);
        let all = moves(&p, &[0], 1);
        assert!(all.contains(&vec![0, 1]), "{all:?}");
        assert!(all.contains(&vec![1]), "a swap: {all:?}");
        assert!(all.contains(&vec![]), "leaving out the culprit: {all:?}");
        let r = best_repair(&p, &[0], 1, &all, &limits(3), 0.0, total(&p));
        assert_eq!(r, Some(vec![0, 1]));
    }

    #[test]
    fn no_repair_at_the_per_table_limit_unless_a_swap_pays() {
        let p = world(2.0);
        // One index per table: adding does not fit; swapping the page's index for the check's
        // loses the page's 990,000: no repair, the slowdown stays (and is reported).
        let all = moves(&p, &[0], 1);
        assert_eq!(
            best_repair(&p, &[0], 1, &all, &limits(1), 1000.0, total(&p)),
            None
        );
        let rep = slower(&p, &[0], total(&p), total(&p));
        assert_eq!(rep.len(), 1);
        assert_eq!(rep[0].queryid, 2);
        assert!((rep[0].after_cost - 16.0).abs() < 1e-9);
        assert!(rep[0].speed_ratio < 1.0, "{rep:?}");
        assert!((rep[0].share_of_time - 1000.0 / 1_001_000.0).abs() < 1e-12);
        assert_eq!(
            rep[0].indexes,
            vec![spec("shop_order", &["status", "created_at"]).label()]
        );
    }

    #[test]
    fn a_repair_that_leaves_the_statement_dearer_is_not_one() {
        // With both indexes the planner still ANDs them: 10 → 15, still dearer.
        let p = world(15.0);
        let all = moves(&p, &[0], 1);
        let r = best_repair(&p, &[0], 1, &all, &limits(3), 0.0, total(&p));
        assert_eq!(
            r, None,
            "only the swap and the leave-out end it, and both lose the page"
        );
    }

    #[test]
    fn a_repair_may_cost_up_to_the_tolerance() {
        let p = world(2.0);
        // Leaving the page's index out ends the check's slowdown and loses 990,000 - 600:
        // taken only when the tolerance allows it (and nothing better fits).
        let only_out = vec![vec![]];
        assert_eq!(
            best_repair(&p, &[0], 1, &only_out, &limits(1), 1e6, total(&p)),
            Some(vec![])
        );
        assert_eq!(
            best_repair(&p, &[0], 1, &only_out, &limits(1), 1e5, total(&p)),
            None
        );
    }
}
