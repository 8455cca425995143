//! Drops measured, not assumed: each proposed drop is checked by hiding the index from the
//! planner (`hypopg_hide_index`, HypoPG 1.4+) and costing every statement on its table again.
//!
//! Stage: select, after [`super::drops::propose_drops`]. Pure apart from asking a
//! [`HideIndexes`] for costs. Invariant: a drop that is kept in the recommendation either made
//! no statement of the workload costlier (beyond [`DROP_TOLERANCE`]) with every drop proposed
//! before it on the same table hidden too, or is marked not verified with the reason (HypoPG <
//! 1.4, or a statement that could not be costed).
//!
//! Problem: "no scans since the reset" and "a prefix of another index" are guesses. An index
//! can look unused because the statement it serves runs once a month (a report), and dropping
//! it turns that statement into a full scan.
//! What we do: cost each statement that reads the table with the recommended indexes, then
//! again with the index hidden (and the drops already accepted on that table): a statement
//! more than [`DROP_TOLERANCE`] costlier means the index serves it, and the drop is withdrawn
//! with the statement as the reason. Duplicates are checked first, then redundant indexes,
//! then unused ones, so of two copies the one that backs nothing goes.
//! Example: `(total)` with no scans since the reset, serving a monthly "largest orders"
//! report: hidden, the report goes from an index scan to a sort of the whole table: kept.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::recommendation::{DropProposal, DropReason, Recommendation};
use crate::error::Error;
use crate::model::{Catalog, Skipped};
use crate::parse::shape::QueryShape;
use crate::whatif::{Request, WhatIf};

/// How much costlier a statement may get without the index before the drop is withdrawn:
/// 5% of its ranking cost. An index that serves a statement changes its cost by far more
/// (a scan of the table instead); a duplicate or a strict prefix changes it by nothing or a
/// page or two.
pub const DROP_TOLERANCE: f64 = 0.05;

/// What costing a statement with indexes hidden gave.
#[derive(Debug, Clone, PartialEq)]
pub enum HiddenCost {
    /// The ranking cost with the indexes hidden, or why the statement could not be costed.
    Cost(Result<f64, Skipped>),
    /// Hiding is not possible here (HypoPG < 1.4), with the reason for the report.
    CannotHide(String),
}

/// A planner that can also cost a statement with existing indexes hidden.
#[allow(async_fn_in_trait)]
pub trait HideIndexes: WhatIf {
    /// Cost `queryid` under candidate configuration `config` with the existing indexes
    /// `hidden` (schema, name) hidden from the planner.
    async fn cost_hidden(
        &mut self,
        queryid: i64,
        config: &[usize],
        hidden: &[(String, String)],
    ) -> Result<HiddenCost, Error>;
}

/// The what-if engine hides existing indexes through HypoPG (`hypopg_hide_index`, 1.4+).
impl HideIndexes for crate::whatif::Engine {
    async fn cost_hidden(
        &mut self,
        queryid: i64,
        config: &[usize],
        hidden: &[(String, String)],
    ) -> Result<HiddenCost, Error> {
        use crate::whatif::HiddenEvaluation;
        Ok(match self.evaluate_hidden(queryid, config, hidden).await? {
            HiddenEvaluation::Verified(r) => HiddenCost::Cost(r.map(|e| e.cost)),
            HiddenEvaluation::Unverified { reason } => HiddenCost::CannotHide(reason),
        })
    }
}

/// An index proposed for dropping that the check kept, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptIndex {
    /// Schema.
    pub schema: String,
    /// Table.
    pub table: String,
    /// Index name.
    pub index: String,
    /// Why it had been proposed.
    pub proposed_as: DropReason,
    /// The statement that gets costlier without it.
    pub queryid: i64,
    /// That statement's cost with the index.
    pub cost_with: f64,
    /// Its cost with the index hidden.
    pub cost_without: f64,
}

impl KeptIndex {
    /// One line for the report.
    pub fn describe(&self) -> String {
        format!(
            "kept {}.{} (proposed as {}): hidden from the planner, statement {} costs {:.2} instead of {:.2} ({:.1}×)",
            self.schema,
            self.index,
            match self.proposed_as {
                DropReason::Duplicate => "a duplicate",
                DropReason::Redundant => "redundant",
                DropReason::Unused => "unused",
            },
            self.queryid,
            self.cost_without,
            self.cost_with,
            self.cost_without / self.cost_with.max(f64::MIN_POSITIVE)
        )
    }
}

/// Why the drop of `schema.table.index` cannot be measured now: the planner does not use the
/// index yet ([`crate::model::ExistingIndex::planner_ready`]).
fn not_ready(catalog: &Catalog, schema: &str, table: &str, index: &str) -> Option<String> {
    let i = catalog
        .table(schema, table)?
        .indexes
        .iter()
        .find(|i| i.name == index)?;
    (!i.planner_ready).then(|| {
        "read impact not verified: the planner does not use this index yet (a plain CREATE INDEX \
         waiting for older transactions to end, pg_index.indcheckxmin), so plans with and \
         without it are the same; analyze again once they have ended"
            .to_string()
    })
}

fn check_order(d: &DropProposal) -> (u8, &str, &str, &str) {
    let rank = match d.reason {
        DropReason::Duplicate => 0,
        DropReason::Redundant => 1,
        DropReason::Unused => 2,
    };
    (rank, &d.schema, &d.table, &d.index)
}

/// Check every drop of `rec` by hiding it, with the recommended new indexes (`chosen`) in
/// place: verified drops stay (marked `verified`), drops that make a statement costlier move
/// to `rec.kept` with a note. Without HypoPG 1.4 the drops stay unverified, as proposed.
pub async fn check_drops<W: HideIndexes>(
    rec: &mut Recommendation,
    shapes: &[QueryShape],
    chosen: &[usize],
    catalog: &Catalog,
    whatif: &mut W,
) -> Result<(), Error> {
    let mut order: Vec<DropProposal> = std::mem::take(&mut rec.drop);
    order.sort_by(|a, b| check_order(a).cmp(&check_order(b)));
    let mut accepted: Vec<DropProposal> = Vec::new();
    let mut visible: BTreeMap<i64, Result<f64, Skipped>> = BTreeMap::new();
    for mut d in order {
        // An index the planner leaves out for now is missing from the plans "with" it as well:
        // hiding it changes nothing, which proves nothing.
        if let Some(reason) = not_ready(catalog, &d.schema, &d.table, &d.index) {
            d.verified = false;
            d.note = Some(reason);
            accepted.push(d);
            continue;
        }
        let on_table: Vec<i64> = shapes
            .iter()
            .filter(|s| {
                s.tables
                    .iter()
                    .any(|t| t.schema == d.schema && t.table == d.table)
            })
            .map(|s| s.queryid)
            .collect();
        let mut hidden: Vec<(String, String)> = accepted
            .iter()
            .filter(|a| a.schema == d.schema && a.table == d.table)
            .map(|a| (a.schema.clone(), a.index.clone()))
            .collect();
        hidden.push((d.schema.clone(), d.index.clone()));
        let missing: Vec<Request> = on_table
            .iter()
            .filter(|q| !visible.contains_key(q))
            .map(|&queryid| Request {
                queryid,
                config: chosen.to_vec(),
            })
            .collect();
        if !missing.is_empty() {
            let answers = whatif.evaluate(&missing).await?;
            for (r, a) in missing.iter().zip(answers) {
                visible.insert(r.queryid, a.map(|e| e.cost));
            }
        }
        let mut serves: Option<(i64, f64, f64)> = None;
        let mut unverified: Option<String> = None;
        for q in &on_table {
            let with = match visible.get(q) {
                Some(Ok(c)) => *c,
                // A statement on the table that could not be costed at all may be the one the
                // index serves: the drop cannot be called verified.
                Some(Err(s)) => {
                    unverified = Some(format!(
                        "read impact not verified: statement {q} could not be costed ({})",
                        s.detail
                    ));
                    break;
                }
                None => continue,
            };
            match whatif.cost_hidden(*q, chosen, &hidden).await? {
                HiddenCost::CannotHide(reason) => {
                    unverified = Some(reason);
                    break;
                }
                HiddenCost::Cost(Err(s)) => {
                    unverified = Some(format!(
                        "read impact not verified: statement {q} could not be costed with the index hidden ({})",
                        s.detail
                    ));
                    break;
                }
                HiddenCost::Cost(Ok(without)) => {
                    if without > with * (1.0 + DROP_TOLERANCE) + 0.01
                        && serves.is_none_or(|(_, w, wo)| without / with > wo / w)
                    {
                        serves = Some((*q, with, without));
                    }
                }
            }
        }
        if let Some(reason) = unverified {
            d.verified = false;
            d.note = Some(reason);
            accepted.push(d);
        } else if let Some((queryid, cost_with, cost_without)) = serves {
            let kept = KeptIndex {
                schema: d.schema,
                table: d.table,
                index: d.index,
                proposed_as: d.reason,
                queryid,
                cost_with,
                cost_without,
            };
            rec.notes.push(kept.describe());
            rec.kept.push(kept);
        } else {
            d.verified = true;
            d.note = Some(if on_table.is_empty() {
                "no statement of the workload reads this table".to_string()
            } else {
                format!(
                    "hidden from the planner: none of the {} statements on this table gets more than {:.0}% costlier",
                    on_table.len(),
                    DROP_TOLERANCE * 100.0
                )
            });
            accepted.push(d);
        }
    }
    accepted.sort_by(|a, b| (&a.schema, &a.table, &a.index).cmp(&(&b.schema, &b.table, &b.index)));
    rec.drop = accepted;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::shape::TableAccess;
    use crate::whatif::{Evaluation, WhatIfCounters};

    /// A table-driven planner: each statement's cost, and its cost when any of the named
    /// indexes is among the hidden ones.
    struct Fake {
        base: BTreeMap<i64, f64>,
        /// (statement, set of hidden index names that together make it costlier, cost then)
        when_hidden: Vec<(i64, Vec<&'static str>, f64)>,
        can_hide: bool,
    }

    impl WhatIf for Fake {
        async fn evaluate(
            &mut self,
            requests: &[Request],
        ) -> Result<Vec<Result<Evaluation, Skipped>>, Error> {
            // A statement with no base cost could not be costed (a planning timeout).
            Ok(requests
                .iter()
                .map(|r| match self.base.get(&r.queryid) {
                    Some(&cost) => Ok(Evaluation {
                        cost,
                        generic_cost: None,
                        used: vec![],
                        plan: None,
                    }),
                    None => Err(Skipped {
                        queryid: r.queryid,
                        reason: crate::model::SkipReason::Timeout,
                        detail: "canceling statement due to statement timeout".into(),
                    }),
                })
                .collect())
        }
        fn counters(&self) -> WhatIfCounters {
            WhatIfCounters::default()
        }
    }

    impl HideIndexes for Fake {
        async fn cost_hidden(
            &mut self,
            queryid: i64,
            _config: &[usize],
            hidden: &[(String, String)],
        ) -> Result<HiddenCost, Error> {
            if !self.can_hide {
                return Ok(HiddenCost::CannotHide("hypopg 1.3.1 cannot hide".into()));
            }
            let names: Vec<&str> = hidden.iter().map(|(_, n)| n.as_str()).collect();
            let cost = self
                .when_hidden
                .iter()
                .find(|(q, all, _)| *q == queryid && all.iter().all(|n| names.contains(n)))
                .map(|(_, _, c)| *c)
                .unwrap_or(self.base[&queryid]);
            Ok(HiddenCost::Cost(Ok(cost)))
        }
    }

    fn shape(queryid: i64, table: &str) -> QueryShape {
        QueryShape {
            queryid,
            kind: crate::parse::shape::StatementKind::Select,
            plan_text: String::new(),
            param_count: 0,
            tables: vec![TableAccess {
                schema: "public".into(),
                table: table.into(),
                ..TableAccess::default()
            }],
            params: vec![],
            limit: None,
            offset: false,
        }
    }

    fn drop(index: &str, reason: DropReason) -> DropProposal {
        DropProposal::of("orders", index, reason)
    }

    async fn run(fake: &mut Fake, drops: Vec<DropProposal>) -> Recommendation {
        run_on(fake, drops, &Catalog::default()).await
    }

    async fn run_on(
        fake: &mut Fake,
        drops: Vec<DropProposal>,
        catalog: &Catalog,
    ) -> Recommendation {
        let mut rec = Recommendation {
            drop: drops,
            ..Recommendation::default()
        };
        let shapes = vec![shape(1, "orders"), shape(2, "orders"), shape(3, "other")];
        check_drops(&mut rec, &shapes, &[], catalog, fake)
            .await
            .expect("check");
        rec
    }

    /// An index the planner does not use yet (`indcheckxmin`) is in no plan: the same cost
    /// hidden and visible proves nothing, so its drop is "not verified", with why, and no
    /// statement is costed for it.
    #[tokio::test]
    async fn an_index_the_planner_does_not_use_yet_is_not_verified() {
        let mut fake = Fake {
            base: BTreeMap::from([(1, 100.0), (2, 8.0), (3, 5.0)]),
            when_hidden: vec![],
            can_hide: true,
        };
        let mut waiting = crate::model::ExistingIndex::btree_on("orders_total", &["total"]);
        waiting.planner_ready = false;
        let catalog = Catalog {
            tables: vec![crate::model::catalog::Table {
                indexes: vec![
                    waiting,
                    crate::model::ExistingIndex::btree_on("orders_x", &["x"]),
                ],
                ..crate::model::catalog::Table::named("public", "orders")
            }],
            ..Catalog::default()
        };
        let rec = run_on(
            &mut fake,
            vec![
                drop("orders_total", DropReason::Unused),
                drop("orders_x", DropReason::Unused),
            ],
            &catalog,
        )
        .await;
        let by_name = |n: &str| rec.drop.iter().find(|d| d.index == n).expect(n);
        let total = by_name("orders_total");
        assert!(!total.verified, "{total:?}");
        assert!(
            total.note.as_deref().unwrap_or("").contains("indcheckxmin"),
            "{total:?}"
        );
        // A ready index on the same table is measured as before.
        assert!(by_name("orders_x").verified);
    }

    #[tokio::test]
    async fn an_unused_index_serving_a_rare_report_is_kept_and_a_copy_goes() {
        let mut fake = Fake {
            base: BTreeMap::from([(1, 100.0), (2, 8.0), (3, 5.0)]),
            // The report (2) needs the total index; the lookup (1) needs one of the two copies.
            when_hidden: vec![
                (2, vec!["orders_total"], 9_000.0),
                (1, vec!["orders_customer", "orders_customer_copy"], 4_000.0),
            ],
            can_hide: true,
        };
        let rec = run(
            &mut fake,
            vec![
                drop("orders_customer", DropReason::Unused),
                drop("orders_customer_copy", DropReason::Duplicate),
                drop("orders_total", DropReason::Unused),
            ],
        )
        .await;
        let dropped: Vec<&str> = rec.drop.iter().map(|d| d.index.as_str()).collect();
        // The duplicate is checked first and goes; then the original cannot go as well.
        assert_eq!(dropped, ["orders_customer_copy"]);
        assert!(rec.drop[0].verified);
        let kept: Vec<(&str, i64)> = rec
            .kept
            .iter()
            .map(|k| (k.index.as_str(), k.queryid))
            .collect();
        assert_eq!(kept, [("orders_customer", 1), ("orders_total", 2)]);
        assert!(
            rec.notes
                .iter()
                .any(|n| n.contains("orders_total") && n.contains("1125.0×")),
            "{:?}",
            rec.notes
        );
    }

    #[tokio::test]
    async fn a_slightly_costlier_plan_is_within_the_tolerance() {
        let mut fake = Fake {
            base: BTreeMap::from([(1, 100.0), (2, 8.0), (3, 5.0)]),
            when_hidden: vec![(1, vec!["orders_prefix"], 104.0)],
            can_hide: true,
        };
        let rec = run(
            &mut fake,
            vec![drop("orders_prefix", DropReason::Redundant)],
        )
        .await;
        assert_eq!(rec.drop.len(), 1);
        assert!(rec.drop[0].verified);
        assert!(rec.kept.is_empty());
    }

    #[tokio::test]
    async fn without_hiding_drops_stay_unverified_with_the_reason() {
        let mut fake = Fake {
            base: BTreeMap::from([(1, 100.0), (2, 8.0), (3, 5.0)]),
            when_hidden: vec![],
            can_hide: false,
        };
        let rec = run(&mut fake, vec![drop("orders_x", DropReason::Unused)]).await;
        assert_eq!(rec.drop.len(), 1);
        assert!(!rec.drop[0].verified);
        assert_eq!(
            rec.drop[0].note.as_deref(),
            Some("hypopg 1.3.1 cannot hide")
        );
    }

    /// A statement on the table that could not be costed may be the one the index serves: the
    /// drop is proposed "not verified" with the statement and why, never "verified".
    #[tokio::test]
    async fn a_statement_that_could_not_be_costed_leaves_the_drop_unverified() {
        let mut fake = Fake {
            base: BTreeMap::from([(1, 100.0), (3, 5.0)]),
            when_hidden: vec![],
            can_hide: true,
        };
        let rec = run(&mut fake, vec![drop("orders_total", DropReason::Unused)]).await;
        assert!(rec.kept.is_empty(), "{:?}", rec.kept);
        let d = &rec.drop[0];
        assert!(!d.verified, "{d:?}");
        let note = d.note.as_deref().unwrap_or("");
        assert!(
            note.contains("statement 2 could not be costed") && note.contains("timeout"),
            "{note}"
        );
    }
}
