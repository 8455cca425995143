//! The cost cache: one answer per (statement, the part of the configuration on the statement's
//! tables), with counters.
//!
//! Stage `whatif` (pure). Invariant: a cached answer is exactly what a fresh EXPLAIN round would
//! return for the same key (HypoPG state is canonical per configuration).

use std::collections::HashMap;

use super::oracle::Evaluation;
use super::worker::Outcome;
use super::WhatIfCounters;
use crate::model::Skipped;

/// Cache key: the statement and the candidate ids on its tables, sorted.
pub type CacheKey = (i64, Vec<usize>);

/// What the cost cache holds for one (statement, configuration). Defined here, below the engine
/// that fills it, so the cache does not import the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Cached {
    /// Every plan, for `Engine::outcomes` (the cache is not lean).
    Full(Outcome),
    /// Only what ranking and triage read: `evaluation_of` without the plan text (a lean cache,
    /// see `EngineOptions::lean_cache`), and each value set's ranking cost (for the risk rule,
    /// `crate::cost::value_risk`).
    Lean(Evaluation, Vec<crate::cost::value_risk::SetCost>),
}

/// Cached EXPLAIN outcomes and the counters.
#[derive(Debug, Default)]
pub struct CostCache {
    map: HashMap<CacheKey, Result<Cached, Skipped>>,
    /// Lookups, hits, EXPLAINs.
    pub counters: WhatIfCounters,
}

impl CostCache {
    /// The cached answer for a key (the engine counts lookups and hits itself).
    pub fn get(&self, key: &CacheKey) -> Option<&Result<Cached, Skipped>> {
        self.map.get(key)
    }

    /// Whether a key is present (no counting).
    pub fn contains(&self, key: &CacheKey) -> bool {
        self.map.contains_key(key)
    }

    /// Store an outcome.
    pub fn insert(&mut self, key: CacheKey, value: Result<Cached, Skipped>) {
        self.map.insert(key, value);
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SkipReason;

    #[test]
    fn holds_answers_by_statement_and_configuration() {
        let mut c = CostCache::default();
        let k = (1, vec![2, 3]);
        assert!(c.get(&k).is_none() && c.is_empty());
        c.insert(
            k.clone(),
            Err(Skipped {
                queryid: 1,
                reason: SkipReason::PlanFailed,
                detail: "x".into(),
            }),
        );
        assert!(c.contains(&k));
        assert!(matches!(c.get(&k), Some(Err(s)) if s.detail == "x"));
        assert!(c.get(&(1, vec![2])).is_none(), "another configuration");
        assert!(c.get(&(2, vec![2, 3])).is_none(), "another statement");
        assert_eq!(c.len(), 1);
    }
}
