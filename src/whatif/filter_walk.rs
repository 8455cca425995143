//! An index walked only for its order, through a filter that keeps few of the rows it reads.
//!
//! Stage `whatif` (pure: a plan in, a fact out). Must not touch the database. Invariant: only a
//! plan whose LIMIT (or plain aggregate: a `.count()`) sits on an index scan without an index
//! condition, with a filter the planner expects to keep under [`WALK_SHARE`] of the table, is
//! flagged.
//!
//! Problem: such a plan uses an index, so it looked "already well indexed", but the index only
//! gives the order: the scan reads rows newest first and throws away every row the filter
//! rejects, until the LIMIT is full. When the matches are fewer than the planner guessed, or
//! sit at the far end, it reads most of the table. Measured on a ticket table (`UPPER(email) =
//! … ORDER BY created DESC LIMIT 10` over an index on `created`): 287 ms a call, its filter
//! discarding 99.99% of the rows read. What we do: record the index, the rows the planner
//! expects the filter to keep and the table's rows, so triage can say what the index really
//! does and what would serve the statement (an index led by the filtered column or expression).
//! A count reads the whole index the same way (an index-only scan is a narrower copy of the
//! table, not an access path): `COUNT(*) … WHERE (date_placed AT TIME ZONE $1)::date = $2`
//! walked all 500k entries of the `date_placed` index, its filter removing 166k rows in each
//! of three processes. For a parallel scan the planner's rows are per process: the kept rows
//! are scaled by the parallel divisor of the Gather above it.

use serde::{Deserialize, Serialize};

use super::plan::PlanNode;

/// A filter keeping under this share of the table counts as discarding almost every row.
pub const WALK_SHARE: f64 = 0.05;

/// An index walked for the order through a selective filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterWalk {
    /// The index walked (as the plan names it).
    pub index: String,
    /// The table.
    pub table: String,
    /// Rows the planner expects the filter to keep over the whole walk.
    pub kept_rows: f64,
    /// The table's rows.
    pub table_rows: f64,
    /// Read whole for an aggregate (a count), not stopped by a LIMIT.
    #[serde(default)]
    pub whole: bool,
}

impl FilterWalk {
    /// One line of evidence.
    pub fn evidence(&self) -> String {
        if self.whole {
            return format!(
                "plan reads all of {} on {} through a filter, no index condition: it keeps about {:.0} of {:.0} rows ({:.2}%) to count them",
                self.index,
                self.table,
                self.kept_rows,
                self.table_rows,
                100.0 * self.kept_rows / self.table_rows.max(1.0)
            );
        }
        format!(
            "plan walks {} on {} for the order only: its filter keeps about {:.0} of {:.0} rows ({:.2}%), and the LIMIT stops only when enough matches are found",
            self.index,
            self.table,
            self.kept_rows,
            self.table_rows,
            100.0 * self.kept_rows / self.table_rows.max(1.0)
        )
    }
}

/// The first index walked for the order through a selective filter under a LIMIT, or read
/// whole through one for a plain aggregate, if any.
pub fn filter_walk(
    plan: &PlanNode,
    table_rows: &dyn Fn(&str) -> Option<f64>,
) -> Option<FilterWalk> {
    plan.walk().into_iter().find_map(|n| {
        let whole = match n.node_type.as_str() {
            "Limit" => false,
            "Aggregate" if n.group_key.is_none() => true,
            _ => return None,
        };
        let (scan, divisor) = walked_index(n.plans.first()?, whole)?;
        let table = scan.relation.clone()?;
        let rows = table_rows(&table).filter(|r| *r > 0.0)?;
        let kept = scan.plan_rows * divisor;
        (kept < WALK_SHARE * rows).then(|| FilterWalk {
            index: scan.index_name.clone().unwrap_or_default(),
            table,
            kept_rows: kept,
            table_rows: rows,
            whole,
        })
    })
}

/// PostgreSQL's parallel divisor: the workers plus the leader's share (1 − 0.3 per worker).
pub(crate) fn parallel_divisor(workers: i64) -> f64 {
    let w = workers.max(0) as f64;
    w + (1.0 - 0.3 * w).max(0.0)
}

/// The index scan without an index condition, with a filter, that a LIMIT above `node` stops
/// early (looking through nodes that pass rows on as they come), or that an aggregate reads
/// whole (`whole`: also through a Gather and the partial aggregate below it); with the factor
/// that turns its per-process rows into the plan's.
fn walked_index(node: &PlanNode, whole: bool) -> Option<(&PlanNode, f64)> {
    match node.node_type.as_str() {
        "Index Scan" | "Index Only Scan" if node.filter.is_some() && node.index_cond.is_none() => {
            Some((node, 1.0))
        }
        "Gather" | "Gather Merge" if node.plans.len() == 1 => walked_index(&node.plans[0], whole)
            .map(|(n, _)| (n, parallel_divisor(node.workers_planned.unwrap_or(0)))),
        "Result" | "Subquery Scan" if node.plans.len() == 1 => walked_index(&node.plans[0], whole),
        "Aggregate" if whole && node.group_key.is_none() && node.plans.len() == 1 => {
            walked_index(&node.plans[0], whole)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::whatif::plan::parse_explain;

    fn plan(index_cond: &str) -> PlanNode {
        let json = format!(
            r#"[{{"Plan": {{"Node Type": "Limit", "Startup Cost": 0.42, "Total Cost": 90.6, "Plan Rows": 10, "Plan Width": 73,
              "Plans": [{{"Node Type": "Index Scan", "Index Name": "t_created", "Relation Name": "t", "Alias": "t",
                "Startup Cost": 0.42, "Total Cost": 13529.4, "Plan Rows": 1500, "Plan Width": 73{index_cond},
                "Filter": "(upper((email)::text) = 'X'::text)"}}]}}}}]"#
        );
        parse_explain(json.as_bytes()).expect("plan")
    }

    #[test]
    fn an_order_only_walk_through_a_selective_filter_is_flagged() {
        let rows = |t: &str| (t == "t").then_some(300_000.0);
        let w = filter_walk(&plan(""), &rows).expect("flagged");
        assert_eq!((w.index.as_str(), w.kept_rows), ("t_created", 1500.0));
        assert!(
            w.evidence()
                .contains("keeps about 1500 of 300000 rows (0.50%)"),
            "{}",
            w.evidence()
        );
        // An index condition does the filtering: not a walk for the order.
        assert_eq!(
            filter_walk(&plan(r#", "Index Cond": "(customer_id = 5)""#), &rows),
            None
        );
        // A filter keeping a fifth of the table is not "almost every row discarded".
        assert_eq!(filter_walk(&plan(""), &|_| Some(7_500.0)), None);
    }

    /// The reviewer's `.count()` of a `__date` lookup: a parallel index-only scan of the
    /// whole `date_placed` index under the count, its filter keeping a day's orders.
    #[test]
    fn a_count_reading_a_whole_index_through_a_filter_is_flagged() {
        let json = r#"[{"Plan": {"Node Type": "Aggregate", "Strategy": "Plain", "Total Cost": 9000.0, "Plan Rows": 1,
          "Plans": [{"Node Type": "Gather", "Workers Planned": 2, "Plan Rows": 2,
            "Plans": [{"Node Type": "Aggregate", "Strategy": "Plain", "Partial Mode": "Partial", "Plan Rows": 1,
              "Plans": [{"Node Type": "Index Only Scan", "Index Name": "order_order_date_placed_506a9365",
                "Relation Name": "order_order", "Plan Rows": 1042,
                "Filter": "((timezone('UTC'::text, date_placed))::date = '2026-12-06'::date)"}]}]}]}}]"#;
        let p = parse_explain(json.as_bytes()).expect("plan");
        let rows = |t: &str| (t == "order_order").then_some(500_000.0);
        let w = filter_walk(&p, &rows).expect("flagged");
        assert!(w.whole);
        assert!((w.kept_rows - 1042.0 * 2.4).abs() < 1e-6, "{}", w.kept_rows);
        assert!(
            w.evidence()
                .starts_with("plan reads all of order_order_date_placed_506a9365 on order_order through a filter"),
            "{}",
            w.evidence()
        );
        // A count the index's condition serves is not flagged.
        let served = json.replace(
            r#""Relation Name": "order_order","#,
            r#""Relation Name": "order_order", "Index Cond": "(date_placed >= '2026-12-06')","#,
        );
        let p = parse_explain(served.as_bytes()).expect("plan");
        assert_eq!(filter_walk(&p, &rows), None);
    }
}
