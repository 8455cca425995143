//! A table-driven fake of [`WhatIf`], so selection can be unit-tested without a database.
//!
//! Stage `whatif` (test support). Must not do I/O. Invariant: the answer for a request depends
//! only on (queryid, config), and the counters count every request the way the real engine does
//! (a repeated request is a cache hit, a new one is an EXPLAIN).
//!
//! The default semantics ([`FakeWhatIf::table`]): a statement has a base cost; a candidate has a
//! factor per statement it helps; on each table the statement takes the best (lowest-factor)
//! candidate present, and the cost is `base × Π over tables of the best factor`. Explicit
//! combination overrides ([`FakeWhatIf::combo`]) model indexes that only help together.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::oracle::{Evaluation, Request, WhatIf, WhatIfCounters};
use crate::model::{SkipReason, Skipped};

type CostFn = dyn FnMut(i64, &[usize]) -> Option<(f64, Vec<usize>)> + Send;

/// The fake engine.
pub struct FakeWhatIf {
    f: Box<CostFn>,
    seen: HashSet<Request>,
    counters: WhatIfCounters,
    /// Every request that was not a cache hit, in order (for tests that count re-costing).
    pub explained: Vec<Request>,
}

/// The table behind [`FakeWhatIf::table`].
#[derive(Debug, Clone, Default)]
pub struct FakeTable {
    /// Base cost per statement; a statement absent here is reported as `PlanFailed`.
    pub base: BTreeMap<i64, f64>,
    /// Table group of each candidate (only the best candidate of a group counts).
    pub group: BTreeMap<usize, usize>,
    /// Factor `< 1` per (statement, candidate).
    pub factor: BTreeMap<(i64, usize), f64>,
    /// Exact costs for (statement, sorted set of candidates) that override the product rule
    /// whenever the configuration contains the set (the lowest applicable override wins).
    pub combos: Vec<(i64, Vec<usize>, f64)>,
}

impl FakeTable {
    /// The cost and used candidates of `queryid` under `config`.
    pub fn cost(&self, queryid: i64, config: &[usize]) -> Option<(f64, Vec<usize>)> {
        let base = *self.base.get(&queryid)?;
        let mut best: BTreeMap<usize, (f64, usize)> = BTreeMap::new();
        for &c in config {
            if let Some(&f) = self.factor.get(&(queryid, c)) {
                let g = self.group.get(&c).copied().unwrap_or(c);
                let e = best.entry(g).or_insert((f, c));
                if f < e.0 {
                    *e = (f, c);
                }
            }
        }
        let mut cost = base;
        let mut used: Vec<usize> = Vec::new();
        for (f, c) in best.values() {
            cost *= f;
            used.push(*c);
        }
        for (q, set, v) in &self.combos {
            if *q == queryid && set.iter().all(|c| config.contains(c)) && *v < cost {
                cost = *v;
                used = set.clone();
            }
        }
        used.sort_unstable();
        Some((cost, used))
    }
}

impl FakeWhatIf {
    /// A fake answering from a closure: `None` means the statement cannot be planned.
    pub fn from_fn(
        f: impl FnMut(i64, &[usize]) -> Option<(f64, Vec<usize>)> + Send + 'static,
    ) -> FakeWhatIf {
        FakeWhatIf {
            f: Box::new(f),
            seen: HashSet::new(),
            counters: WhatIfCounters::default(),
            explained: Vec::new(),
        }
    }

    /// A fake answering from a [`FakeTable`].
    pub fn table(t: FakeTable) -> FakeWhatIf {
        FakeWhatIf::from_fn(move |q, c| t.cost(q, c))
    }
}

impl WhatIf for FakeWhatIf {
    async fn evaluate(
        &mut self,
        requests: &[Request],
    ) -> Result<Vec<Result<Evaluation, Skipped>>, crate::error::Error> {
        let mut out = Vec::with_capacity(requests.len());
        for r in requests {
            self.counters.lookups += 1;
            if self.seen.contains(r) {
                self.counters.cache_hits += 1;
            } else {
                self.counters.explains += 1;
                self.seen.insert(r.clone());
                self.explained.push(r.clone());
            }
            out.push(match (self.f)(r.queryid, &r.config) {
                Some((cost, used)) => Ok(Evaluation {
                    cost,
                    generic_cost: None,
                    used,
                    plan: None,
                }),
                None => Err(Skipped {
                    queryid: r.queryid,
                    reason: SkipReason::PlanFailed,
                    detail: "the fake has no cost for this statement".into(),
                }),
            });
        }
        Ok(out)
    }

    fn counters(&self) -> WhatIfCounters {
        self.counters
    }
}

/// Count requests per queryid (for assertions on re-costing).
pub fn per_statement(requests: &[Request]) -> HashMap<i64, usize> {
    let mut m = HashMap::new();
    for r in requests {
        *m.entry(r.queryid).or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn best_index_per_table_and_counters() {
        let mut t = FakeTable::default();
        t.base.insert(1, 100.0);
        t.group.insert(0, 0);
        t.group.insert(1, 0);
        t.group.insert(2, 1);
        t.factor.insert((1, 0), 0.5);
        t.factor.insert((1, 1), 0.2);
        t.factor.insert((1, 2), 0.5);
        t.combos.push((1, vec![0, 2], 1.0));
        let mut w = FakeWhatIf::table(t);
        let reqs = vec![
            Request {
                queryid: 1,
                config: vec![0, 1],
            },
            Request {
                queryid: 1,
                config: vec![1, 2],
            },
            Request {
                queryid: 1,
                config: vec![0, 2],
            },
            Request {
                queryid: 1,
                config: vec![0, 1],
            },
            Request {
                queryid: 9,
                config: vec![],
            },
        ];
        let got = w.evaluate(&reqs).await.expect("fake never fails");
        let cost = |i: usize| got[i].as_ref().map(|e| e.cost).ok();
        assert_eq!(cost(0), Some(20.0));
        assert_eq!(cost(1), Some(10.0));
        assert_eq!(cost(2), Some(1.0));
        assert_eq!(
            got[1].as_ref().map(|e| e.used.clone()).ok(),
            Some(vec![1, 2])
        );
        assert!(got[4].is_err());
        let c = w.counters();
        assert_eq!((c.lookups, c.cache_hits, c.explains), (5, 1, 4));
    }
}
