//! Test fixtures: the real Django corpus catalog (the tracker/accounts project) and the
//! example shop's catalog, with table sizes set to a production-like scale, and a helper that
//! parses a pg_stat_statements text and runs the patterns on it.

use super::{classify, Context, Pattern, PatternInput};
use crate::model::{Catalog, Statement};
use crate::whatif::PlanSummary;

/// The example shop's catalog (100k customers, 1M orders, 3M order items, 5k products).
pub fn shop() -> Catalog {
    serde_json::from_str(include_str!("../../../tests/fixtures/shop_catalog.json"))
        .expect("shop catalog fixture")
}

/// The Django corpus project's catalog (tracker, accounts), scaled: 500k issues, 2M comments,
/// 50k users, with `body` columns ~1.5 kB wide.
pub fn tracker() -> Catalog {
    let mut c: Catalog = serde_json::from_str(include_str!(
        "../../../tests/fixtures/django_corpus_catalog.json"
    ))
    .expect("corpus catalog fixture");
    for t in &mut c.tables {
        t.rows = match t.name.as_str() {
            "tracker_issue" => 500_000.0,
            "tracker_comments" => 2_000_000.0,
            "tracker_issue_labels" => 1_000_000.0,
            "accounts_user" => 50_000.0,
            "tracker_labels" => 200.0,
            _ => t.rows,
        };
        for col in &mut t.columns {
            if col.name == "body" {
                if let Some(s) = col.stats.as_mut() {
                    s.avg_width = 1500;
                }
            }
        }
    }
    c
}

/// A catalog and what a pattern compares with.
pub struct World {
    pub catalog: Catalog,
    pub median_calls: f64,
    /// Other statements of the workload: (text, calls, rows), queryids 1000, 1001, …
    pub siblings: Vec<(String, i64, i64)>,
}

impl World {
    pub fn new(catalog: Catalog) -> World {
        World {
            catalog,
            median_calls: 10.0,
            siblings: vec![],
        }
    }

    /// The same world with these other statements in the workload: (text, calls, rows).
    pub fn with(mut self, siblings: &[(&str, i64, i64)]) -> World {
        self.siblings = siblings
            .iter()
            .map(|(q, c, r)| (q.to_string(), *c, *r))
            .collect();
        self
    }

    /// Parse `query` (a pg_stat_statements text) and classify it.
    pub fn finding(
        &self,
        query: &str,
        calls: i64,
        rows: i64,
        total_ms: f64,
    ) -> Option<(Pattern, String)> {
        self.finding_with(query, calls, rows, total_ms, None, None, None)
    }

    /// As [`World::finding`], with a baseline plan, predicted costs and a write rate.
    #[allow(clippy::too_many_arguments)]
    pub fn finding_with(
        &self,
        query: &str,
        calls: i64,
        rows: i64,
        total_ms: f64,
        plan: Option<&PlanSummary>,
        before_after: Option<(f64, f64)>,
        writes_per_s: Option<f64>,
    ) -> Option<(Pattern, String)> {
        self.finding_after(
            query,
            (calls, rows, total_ms),
            plan,
            None,
            before_after,
            writes_per_s,
        )
    }

    /// As [`World::finding_with`], with the plan after the recommended indexes too;
    /// `counters`: (calls, rows, total ms).
    pub fn finding_after(
        &self,
        query: &str,
        (calls, rows, total_ms): (i64, i64, f64),
        plan: Option<&PlanSummary>,
        after: Option<&PlanSummary>,
        before_after: Option<(f64, f64)>,
        writes_per_s: Option<f64>,
    ) -> Option<(Pattern, String)> {
        let st = statement(query, calls, rows, total_ms);
        let shape = crate::parse::parse_statement(&st, &self.catalog)
            .unwrap_or_else(|s| panic!("fixture statement must parse: {s:?}"));
        let input = PatternInput {
            statement: &st,
            shape: Some(&shape),
            baseline: plan,
            after,
            before_after,
            writes_per_s,
            top_values: None,
            like_values: None,
        };
        let others: Vec<Statement> = self
            .siblings
            .iter()
            .enumerate()
            .map(|(n, (q, c, r))| Statement {
                queryid: 1000 + n as i64,
                ..statement(q, *c, *r, *c as f64)
            })
            .collect();
        let other_shapes: Vec<crate::parse::QueryShape> = others
            .iter()
            .map(|o| {
                crate::parse::parse_statement(o, &self.catalog)
                    .unwrap_or_else(|s| panic!("fixture sibling must parse: {s:?}"))
            })
            .collect();
        let members: Vec<super::siblings::Member<'_>> = std::iter::once((&st, &shape))
            .chain(others.iter().zip(&other_shapes))
            .map(|(statement, shape)| super::siblings::Member {
                statement,
                shape: Some(shape),
            })
            .collect();
        let siblings = super::Siblings::new(&members, &self.catalog);
        let cx = Context {
            catalog: &self.catalog,
            median_calls: self.median_calls,
            per_call_overhead_ms: super::DEFAULT_PER_CALL_OVERHEAD_MS,
            siblings: &siblings,
        };
        classify(&input, &cx)
    }
}

/// A pg_stat_statements entry.
pub fn statement(query: &str, calls: i64, rows: i64, total_ms: f64) -> Statement {
    Statement {
        queryid: 42,
        query: query.into(),
        calls,
        total_time_ms: total_ms,
        mean_time_ms: if calls > 0 {
            total_ms / calls as f64
        } else {
            0.0
        },
        rows,
        shared_blks_hit: 0,
        shared_blks_read: 0,
        stddev_time_ms: None,
    }
}

/// A plan summary with these node types (depth-first).
pub fn plan(nodes: &[&str], rows: f64, cost: f64) -> PlanSummary {
    PlanSummary {
        total_cost: cost,
        startup_cost: 0.0,
        rows,
        node_types: nodes.iter().map(|s| s.to_string()).collect(),
        indexes: vec![],
        text: String::new(),
        ranking_cost: None,
        walk_risk_cost: None,
        filter_walk: None,
        scan: None,
    }
}
