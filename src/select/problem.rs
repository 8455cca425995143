//! The selection problem: statements, candidates, the cost cache and the objective.
//!
//! Pure apart from [`Problem::ensure`], which asks a [`WhatIf`] for the configurations not yet
//! cached. Invariant: every cost the selection uses is either a planner answer from the cache or
//! an estimate bounded by one (the lowest cached cost among the subsets of the configuration,
//! since adding an index never makes the planner's best plan dearer), so repair and the frontier
//! never need new EXPLAIN calls.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use crate::candidates::CandidateSet;
use crate::cost::write::predicate_selectivity;
use crate::cost::{ReadGain, ReadUnit, StatementWeight, WriteModel};
use crate::error::Error;
use crate::model::{IndexSpec, Skipped, Snapshot};
use crate::parse::shape::{QueryShape, StatementKind, TableAccess};
use crate::whatif::{Request, WhatIf};

/// One statement in the problem.
#[derive(Debug, Clone)]
pub struct Stmt {
    /// Calls, time and baseline cost.
    pub weight: StatementWeight,
    /// Candidates that can change its plan, sorted.
    pub relevant: Vec<usize>,
}

/// One candidate in the problem.
#[derive(Debug, Clone)]
pub struct Cand {
    /// The index.
    pub spec: IndexSpec,
    /// Index into [`Problem::tables`].
    pub table: usize,
    /// Estimated size in bytes.
    pub size: i64,
    /// Share of rows a partial predicate matches.
    pub selectivity: f64,
    /// Statements it may help (indices into [`Problem::stmts`]), sorted.
    pub stmts: Vec<usize>,
}

/// Limits on a configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Bytes.
    pub budget: i64,
    /// Indexes in all.
    pub max_indexes: usize,
    /// New indexes per table.
    pub max_per_table: usize,
    /// The least net benefit an index must add, in objective units.
    pub min_net: f64,
}

/// A cached planner answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached {
    /// Cost.
    pub cost: f64,
    /// Candidates used.
    pub used: Vec<usize>,
}

/// The whole problem with its cost cache.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Statements that can be helped.
    pub stmts: Vec<Stmt>,
    /// All candidates (same ids as the `CandidateSet`).
    pub cands: Vec<Cand>,
    /// (schema, table) per table index.
    pub tables: Vec<(String, String)>,
    /// The write model.
    pub write: WriteModel,
    /// Ranking unit.
    pub unit: ReadUnit,
    /// Minimum improvement share per statement.
    pub min_improvement: f64,
    /// Per statement: configuration → planner answer.
    /// (Fx-hashed: repair looks up millions of small keys.)
    pub cache: Vec<FxHashMap<Vec<usize>, Cached>>,
    /// Statements the planner refused, with why.
    pub skipped: Vec<Skipped>,
    /// Estimate uncached configurations optimistically (see [`Problem::estimate`]): used to
    /// propose alternatives that are then verified with the planner, never to report.
    pub optimistic: bool,
}

/// Whether `a` (sorted) is a subset of `b` (sorted).
fn is_subset(a: &[usize], b: &[usize]) -> bool {
    let mut j = 0;
    for x in a {
        while j < b.len() && b[j] < *x {
            j += 1;
        }
        if j == b.len() || b[j] != *x {
            return false;
        }
        j += 1;
    }
    true
}

/// Columns a statement references on one table.
fn referenced(a: &TableAccess) -> BTreeSet<&str> {
    let mut s: BTreeSet<&str> = BTreeSet::new();
    for c in a
        .equality
        .iter()
        .chain(&a.ranges)
        .chain(&a.upper_equality)
        .chain(&a.join_columns)
        .chain(&a.group_by)
        .chain(&a.columns_read)
    {
        s.insert(c);
    }
    for (c, _) in a.null_tests.iter().chain(&a.booleans) {
        s.insert(c);
    }
    for l in &a.likes {
        s.insert(&l.column);
    }
    for o in &a.order_by {
        s.insert(&o.column);
    }
    s
}

impl Problem {
    /// Build the problem. A candidate is relevant to a statement when it is on one of the
    /// statement's tables and its leading key is a column the statement references there (an
    /// index whose first column a statement never mentions cannot give it an index scan) — or,
    /// on a server with B-tree skip scan (PostgreSQL 18+), any of its key columns.
    /// INSERTs and statements not in the workload are left out. `sizes[i]` is candidate `i`'s
    /// size in bytes.
    pub fn new(
        shapes: &[QueryShape],
        candidates: &CandidateSet,
        snapshot: &Snapshot,
        sizes: &[i64],
        write: WriteModel,
        unit: ReadUnit,
        min_improvement: f64,
    ) -> Problem {
        let mut tables: Vec<(String, String)> = Vec::new();
        let mut table_ix: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut cands: Vec<Cand> = Vec::with_capacity(candidates.candidates.len());
        for (i, c) in candidates.candidates.iter().enumerate() {
            let key = (c.spec.schema.clone(), c.spec.table.clone());
            let t = *table_ix.entry(key.clone()).or_insert_with(|| {
                tables.push(key);
                tables.len() - 1
            });
            cands.push(Cand {
                spec: c.spec.clone(),
                table: t,
                size: sizes.get(i).copied().unwrap_or(0).max(1),
                selectivity: predicate_selectivity(
                    &c.spec,
                    snapshot.catalog.table(&c.spec.schema, &c.spec.table),
                ),
                stmts: vec![],
            });
        }
        let skip_scan = snapshot.server.has_btree_skip_scan();
        let mut stmts = Vec::new();
        let mut seen = BTreeSet::new();
        for sh in shapes {
            if sh.kind == StatementKind::Insert || !seen.insert(sh.queryid) {
                continue;
            }
            let Some(st) = snapshot.workload.get(sh.queryid) else {
                continue;
            };
            if st.calls <= 0 {
                continue;
            }
            let mut relevant = Vec::new();
            for (ci, c) in cands.iter().enumerate() {
                // With skip scan any key column can give an index scan, not only the first.
                let keys = if skip_scan {
                    &c.spec.keys[..]
                } else {
                    &c.spec.keys[..c.spec.keys.len().min(1)]
                };
                if sh.tables.iter().any(|a| {
                    a.schema == c.spec.schema && a.table == c.spec.table && {
                        let r = referenced(a);
                        keys.iter().any(|k| r.contains(k.expr.column()))
                    }
                }) {
                    relevant.push(ci);
                }
            }
            if relevant.is_empty() {
                continue;
            }
            let si = stmts.len();
            for &ci in &relevant {
                cands[ci].stmts.push(si);
            }
            stmts.push(Stmt {
                weight: StatementWeight {
                    queryid: sh.queryid,
                    calls: st.calls as f64,
                    mean_time_ms: st.mean_time_ms,
                    baseline_cost: 0.0,
                },
                relevant,
            });
        }
        let n = stmts.len();
        Problem {
            stmts,
            cands,
            tables,
            write,
            unit,
            min_improvement,
            cache: vec![FxHashMap::default(); n],
            skipped: vec![],
            optimistic: false,
        }
    }

    /// The part of `set` that matters to statement `s`, sorted.
    pub fn config_for(&self, s: usize, set: &[usize]) -> Vec<usize> {
        let rel = &self.stmts[s].relevant;
        let mut v: Vec<usize> = set
            .iter()
            .copied()
            .filter(|c| rel.binary_search(c).is_ok())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Ask the engine for every (statement, configuration) not cached yet, in one batch.
    /// A statement whose baseline cannot be planned is dropped from the problem later by
    /// [`Problem::baseline`]; a configuration that cannot be planned costs the baseline.
    pub async fn ensure<W: WhatIf>(
        &mut self,
        whatif: &mut W,
        wanted: &[(usize, Vec<usize>)],
    ) -> Result<(), Error> {
        let mut reqs: Vec<Request> = Vec::new();
        let mut keys: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut dedup = BTreeSet::new();
        for (s, cfg) in wanted {
            if self.cache[*s].contains_key(cfg) || !dedup.insert((*s, cfg.clone())) {
                continue;
            }
            reqs.push(Request {
                queryid: self.stmts[*s].weight.queryid,
                config: cfg.clone(),
            });
            keys.push((*s, cfg.clone()));
        }
        if reqs.is_empty() {
            return Ok(());
        }
        let answers = whatif.evaluate(&reqs).await?;
        if answers.len() != reqs.len() {
            return Err(Error::Internal(format!(
                "the what-if engine answered {} of {} requests",
                answers.len(),
                reqs.len()
            )));
        }
        for ((s, cfg), a) in keys.into_iter().zip(answers) {
            match a {
                Ok(e) if e.cost.is_finite() && e.cost >= 0.0 => {
                    self.cache[s].insert(
                        cfg,
                        Cached {
                            cost: e.cost,
                            used: e.used,
                        },
                    );
                }
                Ok(e) => {
                    let b = self.cache[s].get(&Vec::new()).map(|c| c.cost);
                    self.skipped.push(Skipped {
                        queryid: self.stmts[s].weight.queryid,
                        reason: crate::model::SkipReason::PlanFailed,
                        detail: format!("the planner returned cost {} for a configuration", e.cost),
                    });
                    if let Some(b) = b {
                        self.cache[s].insert(
                            cfg,
                            Cached {
                                cost: b,
                                used: vec![],
                            },
                        );
                    }
                }
                Err(sk) => {
                    let b = self.cache[s].get(&Vec::new()).map(|c| c.cost);
                    match b {
                        Some(b) => {
                            self.cache[s].insert(
                                cfg,
                                Cached {
                                    cost: b,
                                    used: vec![],
                                },
                            );
                        }
                        None => self.skipped.push(sk),
                    }
                }
            }
        }
        Ok(())
    }

    /// Cost every statement with no new index and drop those that cannot be planned; then cost
    /// every (statement, single relevant candidate).
    pub async fn baseline_and_singles<W: WhatIf>(&mut self, whatif: &mut W) -> Result<(), Error> {
        let base: Vec<(usize, Vec<usize>)> = (0..self.stmts.len()).map(|s| (s, vec![])).collect();
        self.ensure(whatif, &base).await?;
        // Keep only statements with a usable baseline; renumber.
        let keep: Vec<usize> = (0..self.stmts.len())
            .filter(|&s| self.cache[s].get(&Vec::new()).is_some_and(|c| c.cost > 0.0))
            .collect();
        if keep.len() != self.stmts.len() {
            let stmts: Vec<Stmt> = keep.iter().map(|&s| self.stmts[s].clone()).collect();
            let cache: Vec<FxHashMap<Vec<usize>, Cached>> =
                keep.iter().map(|&s| self.cache[s].clone()).collect();
            self.stmts = stmts;
            self.cache = cache;
            for c in &mut self.cands {
                c.stmts.clear();
            }
            for (si, st) in self.stmts.iter().enumerate() {
                for &ci in &st.relevant {
                    self.cands[ci].stmts.push(si);
                }
            }
        }
        for s in 0..self.stmts.len() {
            self.stmts[s].weight.baseline_cost = self.cache[s][&Vec::new()].cost;
        }
        let singles: Vec<(usize, Vec<usize>)> = (0..self.stmts.len())
            .flat_map(|s| self.stmts[s].relevant.iter().map(move |&c| (s, vec![c])))
            .collect();
        self.ensure(whatif, &singles).await
    }

    /// The cost of statement `s` under its configuration `cfg` (already restricted with
    /// [`Problem::config_for`]): the cached answer, else the lowest cached cost of a subset
    /// (an upper bound: more indexes never make the planner's best plan dearer).
    ///
    /// When [`Problem::optimistic`], tables the best subset has no index on also contribute
    /// their best single-index ratio (`cost({c}) / baseline`), multiplied in: indexes on
    /// different tables of a join are assumed to help independently. This is not a bound;
    /// configurations chosen with it are verified before they count.
    pub fn estimate(&self, s: usize, cfg: &[usize]) -> f64 {
        if let Some(c) = self.cache[s].get(cfg) {
            return c.cost;
        }
        let mut best = self.stmts[s].weight.baseline_cost;
        let mut best_key: &[usize] = &[];
        for (k, v) in &self.cache[s] {
            if v.cost < best && k.len() <= cfg.len() && is_subset(k, cfg) {
                best = v.cost;
                best_key = k;
            }
        }
        if self.optimistic {
            // Small vectors, not maps: this runs for every (statement, set) repair looks at.
            let base = self.stmts[s].weight.baseline_cost;
            let mut per_table: Vec<(usize, f64)> = Vec::new();
            for &c in cfg {
                let t = self.cands[c].table;
                if best_key.iter().any(|&k| self.cands[k].table == t) {
                    continue;
                }
                if let Some(one) = self.cache[s].get(std::slice::from_ref(&c)) {
                    let r = (one.cost / base).min(1.0);
                    match per_table.iter_mut().find(|(pt, _)| *pt == t) {
                        Some((_, e)) => *e = e.min(r),
                        None => per_table.push((t, r)),
                    }
                }
            }
            per_table.sort_unstable_by_key(|(t, _)| *t);
            for (_, r) in per_table {
                best *= r;
            }
        }
        best
    }

    /// The read value of statement `s` at `cost`, in objective units (ms/s of database time
    /// per second of window for [`ReadUnit::Time`], cost units for [`ReadUnit::Cost`]).
    pub fn read_value(&self, s: usize, cost: f64) -> f64 {
        let g = self.stmts[s].weight.gain(cost, self.min_improvement);
        match self.unit {
            ReadUnit::Cost => g.cost_units,
            ReadUnit::Time => g.ms / self.write.window_s.unwrap_or(1.0),
        }
    }

    /// The read gain of statement `s` at `cost`, both units.
    pub fn read_gain(&self, s: usize, cost: f64) -> ReadGain {
        self.stmts[s].weight.gain(cost, self.min_improvement)
    }

    /// Write cost (ms/s) of the new indexes of `set` on table `t`.
    pub fn table_write(&self, t: usize, set: &[usize]) -> f64 {
        if self.unit == ReadUnit::Cost || !self.write.available {
            return 0.0;
        }
        let new: Vec<(&IndexSpec, f64, i64)> = set
            .iter()
            .filter(|&&c| self.cands[c].table == t)
            .map(|&c| {
                (
                    &self.cands[c].spec,
                    self.cands[c].selectivity,
                    self.cands[c].size,
                )
            })
            .collect();
        let (schema, table) = &self.tables[t];
        self.write.set_cost(schema, table, &new).ms_per_s
    }

    /// The objective (read value − write cost) restricted to statements `stmts` and tables
    /// `tables`: differences of it between two sets that differ only in candidates whose
    /// statements and tables are listed are exact differences of the full objective.
    pub fn partial(&self, set: &[usize], stmts: &[usize], tables: &[usize]) -> f64 {
        let read: f64 = stmts
            .iter()
            .map(|&s| self.read_value(s, self.estimate(s, &self.config_for(s, set))))
            .sum();
        let write: f64 = tables.iter().map(|&t| self.table_write(t, set)).sum();
        read - write
    }

    /// The full objective of `set`.
    pub fn objective(&self, set: &[usize]) -> f64 {
        let stmts: Vec<usize> = (0..self.stmts.len()).collect();
        let tables: Vec<usize> = (0..self.tables.len()).collect();
        self.partial(set, &stmts, &tables)
    }

    /// Statements and tables touched by a change of the candidates `changed`.
    pub fn affected(&self, changed: &[usize]) -> (Vec<usize>, Vec<usize>) {
        let mut s: Vec<usize> = changed
            .iter()
            .flat_map(|&c| self.cands[c].stmts.iter().copied())
            .collect();
        s.sort_unstable();
        s.dedup();
        let mut t: Vec<usize> = changed.iter().map(|&c| self.cands[c].table).collect();
        t.sort_unstable();
        t.dedup();
        (s, t)
    }

    /// The value of adding `c` to `set`, on the cache (estimates allowed).
    pub fn marginal(&self, set: &[usize], c: usize) -> f64 {
        let (s, t) = self.affected(&[c]);
        let mut with = set.to_vec();
        with.push(c);
        self.partial(&with, &s, &t) - self.partial(set, &s, &t)
    }

    /// Whether `set` respects the limits.
    pub fn fits(&self, set: &[usize], limits: &Limits) -> bool {
        if set.len() > limits.max_indexes || self.size(set) > limits.budget {
            return false;
        }
        let mut per: BTreeMap<usize, usize> = BTreeMap::new();
        for &c in set {
            *per.entry(self.cands[c].table).or_insert(0) += 1;
        }
        per.values().all(|&n| n <= limits.max_per_table)
    }

    /// Total size of `set`.
    pub fn size(&self, set: &[usize]) -> i64 {
        set.iter().map(|&c| self.cands[c].size).sum()
    }

    /// Σ calls × cost over all statements for `set` (estimates allowed), and without indexes.
    pub fn workload_cost(&self, set: &[usize]) -> (f64, f64) {
        let mut with = 0.0;
        let mut base = 0.0;
        for s in 0..self.stmts.len() {
            let w = &self.stmts[s].weight;
            with += w.calls * self.estimate(s, &self.config_for(s, set));
            base += w.calls * w.baseline_cost;
        }
        (with, base)
    }

    /// Whether every statement's configuration for `set` is a cached planner answer.
    pub fn is_exact(&self, set: &[usize]) -> bool {
        (0..self.stmts.len()).all(|s| self.cache[s].contains_key(&self.config_for(s, set)))
    }

    /// Make every statement's configuration for `set` a planner answer.
    pub async fn verify<W: WhatIf>(&mut self, whatif: &mut W, set: &[usize]) -> Result<(), Error> {
        let wanted: Vec<(usize, Vec<usize>)> = (0..self.stmts.len())
            .map(|s| (s, self.config_for(s, set)))
            .collect();
        self.ensure(whatif, &wanted).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets() {
        assert!(is_subset(&[], &[1, 2]));
        assert!(is_subset(&[1, 3], &[1, 2, 3]));
        assert!(!is_subset(&[1, 4], &[1, 2, 3]));
        assert!(!is_subset(&[0], &[]));
    }
}
