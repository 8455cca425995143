//! The one table scan that feeds a plan (a count's scan): which table, how (sequential, index,
//! index-only, bitmap) and how many rows the planner expects it to return.
//!
//! Stage `whatif` (pure: a plan in, a fact out). Must not touch the database. Invariant: only a
//! plan whose nodes pass down to a single scan (aggregates, Gather, Result, Limit, Sort: no
//! join, no subplan) has one; the rows are the whole scan's, a parallel scan's per-process
//! estimate scaled by the parallel divisor of the Gather above it.
//!
//! Problem: the paginator pattern said "paginator count over 502k rows of order_order" for a
//! count that, after the status index, is an index-only scan of about 6k rows: 502k was the
//! table's size, not what the count reads. What we do: keep the scan and its row estimate, so
//! the evidence says what the count reads. Example: `Aggregate → Index Only Scan using
//! order_order_status_idx (rows=4854)` gives an index-only scan of order_order returning
//! about 4.9k rows.

use serde::{Deserialize, Serialize};

use super::plan::PlanNode;

/// The single scan a plan reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FedScan {
    /// The node type (`Seq Scan`, `Index Only Scan`, `Index Scan`, `Bitmap Heap Scan`).
    pub node: String,
    /// The table.
    pub table: String,
    /// The index, for an index scan (as the plan names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// Rows the planner expects the scan to return (after its filter), over all processes.
    pub rows: f64,
}

impl FedScan {
    /// How the scan reads, in words (`a sequential scan`, `an index-only scan`).
    pub fn how(&self) -> &'static str {
        match self.node.as_str() {
            "Seq Scan" => "a sequential scan",
            "Index Only Scan" => "an index-only scan",
            "Index Scan" => "an index scan",
            "Bitmap Heap Scan" => "a bitmap scan",
            _ => "a scan",
        }
    }
}

/// The one scan `plan` reads, if it reads exactly one table through nodes that pass rows on.
pub fn fed_scan(plan: &PlanNode) -> Option<FedScan> {
    let mut node = plan;
    let mut divisor = 1.0;
    loop {
        match node.node_type.as_str() {
            "Seq Scan" | "Index Scan" | "Index Only Scan" | "Bitmap Heap Scan" => {
                return Some(FedScan {
                    node: node.node_type.clone(),
                    table: node.relation.clone()?,
                    index: node.index_name.clone(),
                    rows: node.plan_rows * divisor,
                })
            }
            "Gather" | "Gather Merge" => {
                divisor = super::filter_walk::parallel_divisor(node.workers_planned.unwrap_or(0));
            }
            "Aggregate" | "Result" | "Limit" | "Sort" | "Incremental Sort" | "Subquery Scan"
            | "Materialize" | "Memoize" | "Unique" => {}
            _ => return None,
        }
        let [child] = node.plans.as_slice() else {
            return None;
        };
        node = child;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::whatif::plan::parse_explain;

    /// Review 3's paginator count: before the status index, a parallel sequential scan (per
    /// process 2022 rows of 2 workers and the leader); after, an index-only scan of 4854.
    #[test]
    fn a_count_s_scan_with_its_rows_over_all_processes() {
        let before = parse_explain(
            br#"[{"Plan": {"Node Type": "Aggregate", "Strategy": "Plain", "Plan Rows": 1, "Plans": [
                {"Node Type": "Gather", "Workers Planned": 2, "Plan Rows": 2, "Plans": [
                  {"Node Type": "Aggregate", "Strategy": "Plain", "Plan Rows": 1, "Plans": [
                    {"Node Type": "Seq Scan", "Relation Name": "order_order", "Plan Rows": 2022,
                     "Filter": "((status)::text = 'Pending'::text)"}]}]}]}}]"#,
        )
        .expect("plan");
        let s = fed_scan(&before).expect("one scan");
        assert_eq!(
            (s.node.as_str(), s.table.as_str()),
            ("Seq Scan", "order_order")
        );
        assert!((s.rows - 2022.0 * 2.4).abs() < 0.01, "{s:?}");
        assert_eq!(s.how(), "a sequential scan");
        let after = parse_explain(
            br#"[{"Plan": {"Node Type": "Aggregate", "Strategy": "Plain", "Plan Rows": 1, "Plans": [
                {"Node Type": "Index Only Scan", "Relation Name": "order_order",
                 "Index Name": "order_order_status_b8ac37_idx", "Plan Rows": 4854,
                 "Index Cond": "(status = 'Pending'::text)"}]}}]"#,
        )
        .expect("plan");
        let s = fed_scan(&after).expect("one scan");
        assert_eq!(s.index.as_deref(), Some("order_order_status_b8ac37_idx"));
        assert_eq!(s.rows, 4854.0);
        assert_eq!(s.how(), "an index-only scan");
    }

    #[test]
    fn a_join_has_no_single_scan() {
        let join = parse_explain(
            br#"[{"Plan": {"Node Type": "Aggregate", "Plan Rows": 1, "Plans": [
                {"Node Type": "Hash Join", "Plan Rows": 10, "Plans": [
                  {"Node Type": "Seq Scan", "Relation Name": "a", "Plan Rows": 10},
                  {"Node Type": "Hash", "Plan Rows": 10, "Plans": [
                    {"Node Type": "Seq Scan", "Relation Name": "b", "Plan Rows": 10}]}]}]}}]"#,
        )
        .expect("plan");
        assert_eq!(fed_scan(&join), None);
    }
}
