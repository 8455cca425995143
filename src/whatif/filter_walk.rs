//! An index walked only for its order, through a filter that keeps few of the rows it reads.
//!
//! Stage `whatif` (pure: a plan in, a fact out). Must not touch the database. Invariant: only a
//! plan whose LIMIT sits on an index scan without an index condition, with a filter the
//! planner expects to keep under [`WALK_SHARE`] of the table, is flagged.
//!
//! Problem: such a plan uses an index, so it looked "already well indexed", but the index only
//! gives the order: the scan reads rows newest first and throws away every row the filter
//! rejects, until the LIMIT is full. When the matches are fewer than the planner guessed, or
//! sit at the far end, it reads most of the table. Measured on a ticket table (`UPPER(email) =
//! … ORDER BY created DESC LIMIT 10` over an index on `created`): 287 ms a call, its filter
//! discarding 99.99% of the rows read. What we do: record the index, the rows the planner
//! expects the filter to keep and the table's rows, so triage can say what the index really
//! does and what would serve the statement (an index led by the filtered column or expression).

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
}

impl FilterWalk {
    /// One line of evidence.
    pub fn evidence(&self) -> String {
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

/// The first index walked for the order through a selective filter under a LIMIT, if any.
pub fn filter_walk(
    plan: &PlanNode,
    table_rows: &dyn Fn(&str) -> Option<f64>,
) -> Option<FilterWalk> {
    plan.walk()
        .into_iter()
        .filter(|n| n.node_type == "Limit")
        .filter_map(|n| n.plans.first().and_then(walked_index))
        .find_map(|scan| {
            let table = scan.relation.clone()?;
            let rows = table_rows(&table).filter(|r| *r > 0.0)?;
            (scan.plan_rows < WALK_SHARE * rows).then(|| FilterWalk {
                index: scan.index_name.clone().unwrap_or_default(),
                table,
                kept_rows: scan.plan_rows,
                table_rows: rows,
            })
        })
}

/// The index scan without an index condition, with a filter, that a LIMIT above `node` stops
/// early (looking through nodes that pass rows on as they come).
fn walked_index(node: &PlanNode) -> Option<&PlanNode> {
    match node.node_type.as_str() {
        "Index Scan" | "Index Only Scan" if node.filter.is_some() && node.index_cond.is_none() => {
            Some(node)
        }
        "Result" | "Gather" | "Gather Merge" | "Subquery Scan" if node.plans.len() == 1 => {
            walked_index(&node.plans[0])
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
}
