//! Repair: improve a configuration over the costs already cached, with no new EXPLAIN calls.
//!
//! Pure on the [`Problem`]'s cache. Invariant: the result fits the limits and its objective
//! (on the cache) is never below the starting configuration's.
//!
//! Problem: a greedy by benefit per byte can choose an early small index with a high ratio that
//! leaves too little room for a pair that is better together (docs/postgres-facts.md §8: Extend
//! loses to single-column Drop and to DTA at some budgets for this reason). What we do: local
//! search with swaps (remove one chosen index and add one or two unchosen ones, add one, remove
//! one), best improvement first, until no move improves — plus completing, for one statement, a
//! configuration the planner already answered (indexes that only help together, such as the keys of
//! a three-way join, which no one- or two-index move reaches); for a small pool of useful
//! candidates (at most [`EXACT_POOL`]) an exhaustive search over the pool instead, which is exact
//! on the cached costs. Example: chosen {A} (60 MB, saves 60), budget 100 MB, unchosen B and C (50
//! MB each, save 45 each): the swap A → B + C saves 90.

use super::problem::{Limits, Problem};

/// Up to this many useful candidates, search every subset.
pub const EXACT_POOL: usize = 14;

/// Candidates for pairs in a swap: the best this many by single value.
const PAIR_POOL: usize = 40;

/// Rounds of local search at most.
const MAX_ROUNDS: usize = 64;

/// Candidates with a positive value alone, best first (ties by id).
pub fn useful_pool(p: &Problem, limits: &Limits) -> Vec<usize> {
    let mut v: Vec<(f64, usize)> = (0..p.cands.len())
        .filter(|&c| !p.cands[c].stmts.is_empty() && p.cands[c].size <= limits.budget)
        .map(|c| (p.marginal(&[], c), c))
        .filter(|(m, _)| *m > limits.min_net)
        .collect();
    v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    v.into_iter().map(|(_, c)| c).collect()
}

/// Improve `start` within `limits` using only cached costs.
pub fn repair(p: &Problem, start: &[usize], limits: &Limits, pool: &[usize]) -> Vec<usize> {
    let mut cur: Vec<usize> = start.to_vec();
    cur.sort_unstable();
    if !p.fits(&cur, limits) {
        // Trim the least valuable until it fits.
        while !cur.is_empty() && !p.fits(&cur, limits) {
            let worst = (0..cur.len())
                .map(|i| {
                    let mut rest = cur.clone();
                    rest.remove(i);
                    (p.objective(&rest), i)
                })
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, i)| i)
                .unwrap_or(0);
            cur.remove(worst);
        }
    }
    if pool.len() <= EXACT_POOL {
        return exhaustive(p, &cur, limits, pool);
    }
    local_search(p, cur, limits, pool)
}

fn exhaustive(p: &Problem, start: &[usize], limits: &Limits, pool: &[usize]) -> Vec<usize> {
    let mut best = start.to_vec();
    let mut best_v = p.objective(&best);
    let n = pool.len();
    let mut set = Vec::with_capacity(n);
    for mask in 1u32..(1u32 << n) {
        set.clear();
        let mut size = 0i64;
        for (i, &c) in pool.iter().enumerate() {
            if mask & (1 << i) != 0 {
                set.push(c);
                size += p.cands[c].size;
            }
        }
        if size > limits.budget || !p.fits(&set, limits) {
            continue;
        }
        let v = p.objective(&set);
        if v > best_v + 1e-12 * best_v.abs().max(1.0) {
            best_v = v;
            best = set.clone();
        }
    }
    best.sort_unstable();
    best
}

/// The change of objective when `out` leaves and `inn` joins `cur`.
pub(super) fn delta(p: &Problem, cur: &[usize], out: &[usize], inn: &[usize]) -> (f64, Vec<usize>) {
    let mut next: Vec<usize> = cur.iter().copied().filter(|c| !out.contains(c)).collect();
    next.extend_from_slice(inn);
    next.sort_unstable();
    let changed: Vec<usize> = out.iter().chain(inn).copied().collect();
    let (s, t) = p.affected(&changed);
    (p.partial(&next, &s, &t) - p.partial(cur, &s, &t), next)
}

/// Whether a move changing the objective by `d` beats the best move so far (and is more than
/// rounding).
fn improves(d: f64, best: &Option<(f64, Vec<usize>)>) -> bool {
    d > 1e-9 * (1.0 + d.abs()) && best.as_ref().is_none_or(|(bd, _)| d > *bd)
}

/// Whether candidates `x` and `y` change disjoint parts of the objective: different tables
/// (write cost) and no statement in common (read value).
pub(super) fn independent(p: &Problem, x: usize, y: usize) -> bool {
    let (a, b) = (&p.cands[x], &p.cands[y]);
    if a.table == b.table {
        return false;
    }
    let (mut i, mut j) = (0, 0);
    while i < a.stmts.len() && j < b.stmts.len() {
        match a.stmts[i].cmp(&b.stmts[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return false,
        }
    }
    true
}

/// Configurations cached for one statement that are cheaper for it than `cur`, less what `cur`
/// has already: the missing indexes (2 to [`COMPLETE_MAX`] of them, one is an ordinary add),
/// the [`COMPLETE_PER_STATEMENT`] cheapest per statement.
fn completions(p: &Problem, cur: &[usize]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    for s in 0..p.stmts.len() {
        let now = p.estimate(s, &p.config_for(s, cur));
        let mut better: Vec<(f64, Vec<usize>)> = p.cache[s]
            .iter()
            .filter(|(_, c)| c.cost < now)
            .map(|(k, c)| {
                let missing: Vec<usize> = k.iter().copied().filter(|x| !cur.contains(x)).collect();
                (c.cost, missing)
            })
            .filter(|(_, m)| m.len() >= 2 && m.len() <= COMPLETE_MAX)
            .collect();
        better.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (_, m) in better.into_iter().take(COMPLETE_PER_STATEMENT) {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    out
}

/// Most indexes a completion move adds.
const COMPLETE_MAX: usize = 4;

/// Completion moves per statement at most.
const COMPLETE_PER_STATEMENT: usize = 6;

fn local_search(p: &Problem, mut cur: Vec<usize>, limits: &Limits, pool: &[usize]) -> Vec<usize> {
    let pairs: Vec<usize> = pool.iter().copied().take(PAIR_POOL).collect();
    for _ in 0..MAX_ROUNDS {
        let mut best: Option<(f64, Vec<usize>)> = None;
        let consider = |d: f64, next: Vec<usize>, best: &mut Option<(f64, Vec<usize>)>| {
            if improves(d, best) && p.fits(&next, limits) {
                *best = Some((d, next));
            }
        };
        // What removing each chosen index changes: the eviction order (per byte) and the
        // "remove one" moves.
        let removes: Vec<(usize, f64)> = cur
            .iter()
            .map(|&x| (x, delta(p, &cur, &[x], &[]).0))
            .collect();
        let mut evict: Vec<(f64, usize)> = removes
            .iter()
            .map(|&(x, d)| (-d / p.cands[x].size as f64, x))
            .collect();
        evict.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let outside: Vec<usize> = pool.iter().copied().filter(|c| !cur.contains(c)).collect();
        // Remove one (an index that no longer pays for itself).
        for &x in &cur {
            let (d, next) = delta(p, &cur, &[x], &[]);
            consider(d, next, &mut best);
        }
        // Swap one for one. When x and y share no table and no statement, the swap's change is
        // the sum of removing x and adding y (the objective is a sum over statements and
        // tables), so only interacting pairs are costed together: |cur| × |pool| deltas were
        // most of the time of a 10,000-statement run.
        let add_alone: Vec<f64> = outside
            .iter()
            .map(|&y| delta(p, &cur, &[], &[y]).0)
            .collect();
        for &(x, dx) in &removes {
            for (&y, &dy) in outside.iter().zip(&add_alone) {
                if independent(p, x, y) {
                    if improves(dx + dy, &best) {
                        let (_, next) = delta(p, &cur, &[x], &[y]);
                        consider(dx + dy, next, &mut best);
                    }
                } else {
                    let (d, next) = delta(p, &cur, &[x], &[y]);
                    consider(d, next, &mut best);
                }
            }
        }
        // Add one or two, evicting the least valuable per byte until the set fits.
        let mut adds: Vec<Vec<usize>> = outside.iter().map(|&y| vec![y]).collect();
        let outside_pairs: Vec<usize> =
            pairs.iter().copied().filter(|c| !cur.contains(c)).collect();
        for (i, &y) in outside_pairs.iter().enumerate() {
            for &z in &outside_pairs[i + 1..] {
                adds.push(vec![y, z]);
            }
        }
        // Complete a configuration the planner already answered for one statement (indexes
        // that help only together, e.g. a join's three keys: no one- or two-index move sees
        // it).
        adds.extend(completions(p, &cur));
        for inn in adds {
            let add_size: i64 = inn.iter().map(|&c| p.cands[c].size).sum();
            if add_size > limits.budget {
                continue;
            }
            let mut out: Vec<usize> = Vec::new();
            let mut next: Vec<usize> = cur.iter().copied().chain(inn.iter().copied()).collect();
            for &(_, x) in &evict {
                if p.fits(&next, limits) {
                    break;
                }
                out.push(x);
                next.retain(|&c| c != x);
            }
            if !p.fits(&next, limits) {
                continue;
            }
            let (d, next) = delta(p, &cur, &out, &inn);
            consider(d, next, &mut best);
        }
        match best {
            Some((_, next)) => cur = next,
            None => break,
        }
    }
    cur
}
