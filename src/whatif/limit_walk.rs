//! The walk a LIMIT may really take through an index that filters a rare value: the cost the
//! risk rule ([`crate::cost::value_risk`]) compares with today's plan.
//!
//! Stage `whatif` (pure: reads a plan and the tables' row counts). Must not touch the database.
//! Invariant: the walk cost is never below the planner's own cost, and differs from it only
//! for a `Limit` over an index scan with no index condition (the whole index, in order) that
//! filters out all but under [`RARE_SHARE`] of its table.
//!
//! Heuristic (problem / what we do / example):
//! - Problem: for `col = $1 … ORDER BY other LIMIT k` an index on `other` serves the order and
//!   filters `col` row by row. The planner costs the LIMIT as if the matching rows were spread
//!   evenly along the index: for a value of frequency `f` it expects to walk `k / f` rows. A
//!   rare value (pending, open, unread) is usually concentrated at one end of the order (the
//!   newest rows), and the walk then passes nearly every other row first: measured on a real
//!   database, a queue page `status = 'pending' ORDER BY created_at LIMIT 50` went from 70 ms
//!   (today's scan and top-N sort) to 166 ms per call over `(created_at)`, which the planner
//!   costed as a gain. Without observed values nothing says which end the rows are at.
//! - What we do: for such a plan, cost the walk as if the matching rows came last, walking
//!   `N·(1 − f) + k` of the `N` index entries at the scan's own per-row cost (its cost is
//!   linear in the share walked). The risk rule flags the value when that walk is no cheaper than today's
//!   plan ([`crate::cost::value_risk::WALK_RISK_RATIO`]). Indexes whose keys hold the filter
//!   (status first, or a partial index) have no filter left to walk past and are not affected.
//! - Example: 200,000 queue items, 'pending' 0.5% of them and the newest: over `(created_at)`
//!   with `LIMIT 50` the planner expects to walk 10,000 entries (50 / 0.005); the walk costed
//!   here passes 199,050 of them, about the whole filtered index scan, which the planner itself
//!   costs above today's sequential scan and top-N sort: a risk
//!   (tests/it/whatif/value_risk.rs).

use super::plan::PlanNode;

/// A value matching under this share of its table's rows is rare: a walk past the others'
/// rows is plausible for it.
pub const RARE_SHARE: f64 = 0.1;

impl PlanNode {
    /// The plan's cost if every `Limit` over a rare value's filtered index scan walks the index
    /// until the value's rows, placed at the far end of the order (see the module). Equal to
    /// the planner's total cost for any other plan.
    pub fn walk_risk_cost(&self, table_rows: &dyn Fn(&str) -> Option<f64>) -> f64 {
        let mut extra = 0.0;
        for n in self.walk() {
            if n.node_type != "Limit" || n.total_cost < 0.0 {
                continue;
            }
            let Some(scan) = n.plans.first().and_then(PlanNode::early_stopped_scan) else {
                continue;
            };
            // The whole index in order: with an index condition the walk spans only its range,
            // whose size the plan does not give.
            if !scan.node_type.starts_with("Index") || scan.index_cond.is_some() {
                continue;
            }
            let Some(table) = scan.relation.as_deref().and_then(table_rows) else {
                continue;
            };
            if table <= 0.0 || scan.plan_rows >= RARE_SHARE * table {
                continue;
            }
            let matches = scan.plan_rows.max(1.0);
            let k = n.plan_rows.max(1.0).min(matches);
            let share = ((table - matches + k) / table).clamp(0.0, 1.0);
            let walk = scan.startup_cost + share * (scan.total_cost - scan.startup_cost);
            if walk > n.total_cost {
                extra += walk - n.total_cost;
            }
        }
        self.total_cost + extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(kind: &str, cost: f64, rows: f64, filter: bool, plans: Vec<PlanNode>) -> PlanNode {
        PlanNode {
            node_type: kind.into(),
            total_cost: cost,
            plan_rows: rows,
            relation: kind.contains("Scan").then(|| "queue_item".to_string()),
            filter: filter.then(|| "(status = 'pending'::text)".to_string()),
            plans,
            ..Default::default()
        }
    }

    fn rows(t: &str) -> Option<f64> {
        (t == "queue_item").then_some(200_000.0)
    }

    /// The queue page over `(created_at)`: the planner walks 5% of the index, the risk walks
    /// all of it but the pending rows themselves.
    #[test]
    fn a_rare_value_walks_the_index_past_every_other_row() {
        let page = node(
            "Limit",
            440.0,
            50.0,
            false,
            vec![node("Index Scan", 11_100.0, 1_000.0, true, vec![])],
        );
        let walk = page.walk_risk_cost(&rows);
        let expected = 11_100.0 * (200_000.0 - 1_000.0 + 50.0) / 200_000.0;
        assert!((walk - expected).abs() < 1e-6, "{walk}");
        assert!(walk > 10_000.0 && walk < 11_100.0);
    }

    #[test]
    fn common_values_keyed_filters_and_sequential_scans_keep_the_planner_cost() {
        // 'done', 97% of the rows: nothing to walk past.
        let common = node(
            "Limit",
            3.0,
            50.0,
            false,
            vec![node("Index Scan", 11_100.0, 194_000.0, true, vec![])],
        );
        assert_eq!(common.walk_risk_cost(&rows), 3.0);
        // `(status, created_at)`: the value is in the index condition, no filter.
        let keyed = node(
            "Limit",
            2.1,
            50.0,
            false,
            vec![node("Index Scan", 40.0, 1_000.0, false, vec![])],
        );
        assert_eq!(keyed.walk_risk_cost(&rows), 2.1);
        // A LIMIT without ORDER BY over a sequential scan: no index order to walk.
        let seq = node(
            "Limit",
            5.0,
            50.0,
            false,
            vec![node("Seq Scan", 4_000.0, 1_000.0, true, vec![])],
        );
        assert_eq!(seq.walk_risk_cost(&rows), 5.0);
        // Unknown table size: no guess.
        assert_eq!(page_over("other").walk_risk_cost(&rows), 440.0);
        // A customer's orders over `(customer_id, created_at DESC)`, filtering `deleted_at IS
        // NULL`: the walk spans the customer's range only, not the table.
        let mut ranged = page_over("queue_item");
        ranged.plans[0].index_cond = Some("(customer_id = 2)".into());
        assert_eq!(ranged.walk_risk_cost(&rows), 440.0);
    }

    fn page_over(table: &str) -> PlanNode {
        let mut scan = node("Index Scan", 11_100.0, 1_000.0, true, vec![]);
        scan.relation = Some(table.into());
        node("Limit", 440.0, 50.0, false, vec![scan])
    }
}
