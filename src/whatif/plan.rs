//! EXPLAIN (FORMAT JSON) as typed data, and its text form in EXPLAIN's own style for plan diffs.
//!
//! Stage `whatif` (pure). Must not touch the database. Invariant: the text rendered from a plan
//! depends only on the JSON (HypoPG names are rewritten by the caller's name map), so the same
//! plan always renders to the same bytes.

use serde::Deserialize;

use super::oracle::PlanSummary;

/// One node of an EXPLAIN (FORMAT JSON) plan (the fields we use).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct PlanNode {
    /// `Node Type`.
    #[serde(rename = "Node Type")]
    pub node_type: String,
    /// `Startup Cost`.
    #[serde(rename = "Startup Cost")]
    pub startup_cost: f64,
    /// `Total Cost`.
    #[serde(rename = "Total Cost")]
    pub total_cost: f64,
    /// `Plan Rows`.
    #[serde(rename = "Plan Rows")]
    pub plan_rows: f64,
    /// `Plan Width`.
    #[serde(rename = "Plan Width")]
    pub plan_width: i64,
    /// `Relation Name`.
    #[serde(rename = "Relation Name")]
    pub relation: Option<String>,
    /// `Alias`.
    #[serde(rename = "Alias")]
    pub alias: Option<String>,
    /// `Index Name`.
    #[serde(rename = "Index Name")]
    pub index_name: Option<String>,
    /// `Scan Direction` (`Forward`, `Backward`, `NoMovement`).
    #[serde(rename = "Scan Direction")]
    pub scan_direction: Option<String>,
    /// `Join Type`.
    #[serde(rename = "Join Type")]
    pub join_type: Option<String>,
    /// Aggregate `Strategy`.
    #[serde(rename = "Strategy")]
    pub strategy: Option<String>,
    /// ModifyTable `Operation`.
    #[serde(rename = "Operation")]
    pub operation: Option<String>,
    /// `Subplan Name` (`SubPlan 1`, `InitPlan 1 (returns $0)`, `CTE x`).
    #[serde(rename = "Subplan Name")]
    pub subplan_name: Option<String>,
    /// `CTE Name`.
    #[serde(rename = "CTE Name")]
    pub cte_name: Option<String>,
    /// `Function Name`.
    #[serde(rename = "Function Name")]
    pub function_name: Option<String>,
    /// `Index Cond`.
    #[serde(rename = "Index Cond")]
    pub index_cond: Option<String>,
    /// `Recheck Cond`.
    #[serde(rename = "Recheck Cond")]
    pub recheck_cond: Option<String>,
    /// `Hash Cond`.
    #[serde(rename = "Hash Cond")]
    pub hash_cond: Option<String>,
    /// `Merge Cond`.
    #[serde(rename = "Merge Cond")]
    pub merge_cond: Option<String>,
    /// `Join Filter`.
    #[serde(rename = "Join Filter")]
    pub join_filter: Option<String>,
    /// `Filter`.
    #[serde(rename = "Filter")]
    pub filter: Option<String>,
    /// `Sort Key`.
    #[serde(rename = "Sort Key")]
    pub sort_key: Option<Vec<String>>,
    /// `Presorted Key` (Incremental Sort).
    #[serde(rename = "Presorted Key")]
    pub presorted_key: Option<Vec<String>>,
    /// `Group Key`.
    #[serde(rename = "Group Key")]
    pub group_key: Option<Vec<String>>,
    /// Children.
    #[serde(rename = "Plans")]
    pub plans: Vec<PlanNode>,
}

#[derive(Deserialize)]
struct Top {
    #[serde(rename = "Plan")]
    plan: PlanNode,
}

/// Parse the one-row, one-column result of `EXPLAIN (FORMAT JSON)`.
pub fn parse_explain(json: &[u8]) -> Result<PlanNode, String> {
    let mut tops: Vec<Top> =
        serde_json::from_slice(json).map_err(|e| format!("unexpected EXPLAIN output: {e}"))?;
    if tops.is_empty() {
        return Err("empty EXPLAIN output".into());
    }
    Ok(tops.swap_remove(0).plan)
}

impl PlanNode {
    /// Every node, depth-first, parents before children.
    pub fn walk(&self) -> Vec<&PlanNode> {
        let mut out = vec![self];
        for c in &self.plans {
            out.extend(c.walk());
        }
        out
    }

    /// Index names used anywhere in the plan, in order of first appearance.
    pub fn index_names(&self) -> Vec<String> {
        let mut out: Vec<String> = vec![];
        for n in self.walk() {
            if let Some(i) = &n.index_name {
                if !out.contains(i) {
                    out.push(i.clone());
                }
            }
        }
        out
    }

    /// Rename indexes (HypoPG's `<oid>name` to stable names) throughout the tree.
    pub fn rename_indexes(&mut self, rename: &dyn Fn(&str) -> Option<String>) {
        if let Some(i) = &self.index_name {
            if let Some(n) = rename(i) {
                self.index_name = Some(n);
            }
        }
        for c in &mut self.plans {
            c.rename_indexes(rename);
        }
    }

    /// The node's heading as EXPLAIN's text format prints it (`Index Scan Backward using i on t`).
    pub fn heading(&self) -> String {
        let mut s = match (self.node_type.as_str(), self.strategy.as_deref()) {
            ("Aggregate", Some("Sorted")) => "GroupAggregate".to_string(),
            ("Aggregate", Some("Hashed")) => "HashAggregate".to_string(),
            ("Aggregate", Some("Mixed")) => "MixedAggregate".to_string(),
            ("ModifyTable", _) => self
                .operation
                .clone()
                .unwrap_or_else(|| "ModifyTable".to_string()),
            (t, _) => t.to_string(),
        };
        if let Some(j) = self.join_type.as_deref().filter(|j| *j != "Inner") {
            s = match self.node_type.as_str() {
                "Nested Loop" => format!("Nested Loop {j} Join"),
                "Hash Join" => format!("Hash {j} Join"),
                "Merge Join" => format!("Merge {j} Join"),
                _ => s,
            };
        }
        if self.scan_direction.as_deref() == Some("Backward") {
            s.push_str(" Backward");
        }
        if let Some(i) = &self.index_name {
            if self.node_type == "Bitmap Index Scan" {
                s.push_str(&format!(" on {i}"));
            } else {
                s.push_str(&format!(" using {i}"));
            }
        }
        if let Some(r) = &self.relation {
            s.push_str(&format!(" on {r}"));
            if let Some(a) = self.alias.as_ref().filter(|a| *a != r) {
                s.push_str(&format!(" {a}"));
            }
        } else if let Some(c) = &self.cte_name {
            s.push_str(&format!(" on {c}"));
        } else if let Some(f) = &self.function_name {
            s.push_str(&format!(" on {f}"));
        }
        s
    }

    fn details(&self) -> Vec<String> {
        let mut d = vec![];
        let mut one = |label: &str, v: &Option<String>| {
            if let Some(v) = v {
                d.push(format!("{label}: {v}"));
            }
        };
        one("Hash Cond", &self.hash_cond);
        one("Merge Cond", &self.merge_cond);
        one("Index Cond", &self.index_cond);
        one("Recheck Cond", &self.recheck_cond);
        one("Join Filter", &self.join_filter);
        one("Filter", &self.filter);
        let mut list = |label: &str, v: &Option<Vec<String>>| {
            if let Some(v) = v {
                d.push(format!("{label}: {}", v.join(", ")));
            }
        };
        list("Sort Key", &self.sort_key);
        list("Presorted Key", &self.presorted_key);
        list("Group Key", &self.group_key);
        d
    }

    /// The plan in EXPLAIN's text style (costs with two decimals, `->` arrows, details).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.render(0, &mut out);
        out
    }

    fn render(&self, depth: usize, out: &mut String) {
        let line = format!(
            "{}  (cost={:.2}..{:.2} rows={:.0} width={})",
            self.heading(),
            self.startup_cost,
            self.total_cost,
            self.plan_rows,
            self.plan_width
        );
        let detail_indent = if depth == 0 { 2 } else { 6 * depth + 2 };
        if depth > 0 {
            if let Some(sp) = &self.subplan_name {
                out.push_str(&" ".repeat(6 * depth - 4));
                out.push_str(sp);
                out.push('\n');
            }
            out.push_str(&" ".repeat(6 * depth - 4));
            out.push_str("->  ");
        }
        out.push_str(&line);
        out.push('\n');
        for d in self.details() {
            out.push_str(&" ".repeat(detail_indent));
            out.push_str(&d);
            out.push('\n');
        }
        for c in &self.plans {
            c.render(depth + 1, out);
        }
    }

    /// The summary kept in evaluations.
    pub fn summary(&self) -> PlanSummary {
        PlanSummary {
            total_cost: self.total_cost,
            startup_cost: self.startup_cost,
            rows: self.plan_rows,
            node_types: self.walk().iter().map(|n| n.node_type.clone()).collect(),
            indexes: self.index_names(),
            text: self.to_text(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"[{"Plan": {"Node Type": "Limit", "Parallel Aware": false, "Startup Cost": 0.42, "Total Cost": 8.44, "Plan Rows": 20, "Plan Width": 40,
      "Plans": [{"Node Type": "Index Scan", "Parent Relationship": "Outer", "Scan Direction": "Backward", "Index Name": "<13543>btree_shop_order_customer_id_created_at",
        "Relation Name": "shop_order", "Alias": "shop_order", "Startup Cost": 0.42, "Total Cost": 81.2, "Plan Rows": 95, "Plan Width": 40,
        "Index Cond": "(customer_id = 680)", "Filter": "(deleted_at IS NULL)"}]}}]"#;

    #[test]
    fn renders_like_explain_text() {
        let mut p = parse_explain(JSON.as_bytes()).unwrap();
        assert_eq!(
            p.index_names(),
            vec!["<13543>btree_shop_order_customer_id_created_at"]
        );
        p.rename_indexes(&|n| Some(format!("x{}", n.len())));
        let s = p.summary();
        assert_eq!(s.node_types, vec!["Limit", "Index Scan"]);
        assert_eq!(s.indexes, vec!["x46"]);
        assert_eq!(
            s.text,
            "Limit  (cost=0.42..8.44 rows=20 width=40)\n  ->  Index Scan Backward using x46 on shop_order  (cost=0.42..81.20 rows=95 width=40)\n        Index Cond: (customer_id = 680)\n        Filter: (deleted_at IS NULL)\n"
        );
    }

    #[test]
    fn headings_for_joins_aggregates_and_writes() {
        let n = PlanNode {
            node_type: "Hash Join".into(),
            join_type: Some("Left".into()),
            ..Default::default()
        };
        assert_eq!(n.heading(), "Hash Left Join");
        let a = PlanNode {
            node_type: "Aggregate".into(),
            strategy: Some("Hashed".into()),
            ..Default::default()
        };
        assert_eq!(a.heading(), "HashAggregate");
        let m = PlanNode {
            node_type: "ModifyTable".into(),
            operation: Some("Update".into()),
            relation: Some("shop_order".into()),
            alias: Some("shop_order".into()),
            ..Default::default()
        };
        assert_eq!(m.heading(), "Update on shop_order");
        assert!(parse_explain(b"[]").is_err());
        assert!(parse_explain(b"nonsense").is_err());
    }
}
