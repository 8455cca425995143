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
//!
//! Indexes the planner does not use yet (a plain `CREATE INDEX` waiting for older
//! transactions, `pg_index.indcheckxmin`) are in the plans through a hypothetical stand-in
//! ([`crate::whatif::hypo::stand_ins`]), which hiding an index hides too (HypoPG 1.4 hides
//! hypothetical indexes, docs/postgres-facts.md §14):
//! - the drop of such an index is measured like any other: hidden with its stand-in;
//! - when a statement's plans without the dropped index use such a stand-in instead, the
//!   statement is costed once more with those stand-ins hidden as well (the plans until the
//!   older transactions end). If the drop makes it costlier then, the index is kept, with the
//!   index it waits for ([`KeptIndex::until_usable`]): dropped now, the statement would have no
//!   usable index until those transactions end. Analyzing again after that proposes it again.

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

/// A statement's plans with indexes hidden.
#[derive(Debug, Clone, PartialEq)]
pub struct HiddenPlans {
    /// The ranking cost.
    pub cost: f64,
    /// The existing indexes the plans use, by name: the stand-in of an index the planner does
    /// not use yet reads as that index.
    pub indexes: Vec<String>,
}

/// What costing a statement with indexes hidden gave.
#[derive(Debug, Clone, PartialEq)]
pub enum HiddenCost {
    /// The plans with the indexes hidden, or why the statement could not be costed.
    Cost(Result<HiddenPlans, Skipped>),
    /// Hiding is not possible here (HypoPG < 1.4), with the reason for the report.
    CannotHide(String),
}

/// A planner that can also cost a statement with existing indexes hidden.
#[allow(async_fn_in_trait)]
pub trait HideIndexes: WhatIf {
    /// Cost `queryid` under candidate configuration `config` with the existing indexes
    /// `hidden` (schema, name) hidden from the planner, the stand-ins of those the planner
    /// does not use yet included.
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
        use crate::whatif::engine::{evaluation_of, existing_indexes_used};
        use crate::whatif::HiddenEvaluation;
        Ok(match self.evaluate_hidden(queryid, config, hidden).await? {
            HiddenEvaluation::Verified(r) => HiddenCost::Cost(r.map(|o| HiddenPlans {
                cost: evaluation_of(&o).cost,
                indexes: existing_indexes_used(&o),
            })),
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
    /// Indexes the planner does not use yet (`pg_index.indcheckxmin`) that serve the statement
    /// in its place once the older transactions have ended: the index is kept until then, and
    /// the costs are those of the plans until then. Empty: it is needed for good.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub until_usable: Vec<String>,
}

impl KeptIndex {
    /// One line for the report.
    pub fn describe(&self) -> String {
        let until = if self.until_usable.is_empty() {
            String::new()
        } else {
            format!(
                " until {} can be used: the planner does not use it yet (a plain CREATE INDEX waiting \
                 for older transactions to end, pg_index.indcheckxmin), so dropped now the statement \
                 has no index for it in between; analyze again once those transactions have ended",
                self.until_usable
                    .iter()
                    .map(|i| format!("{}.{i}", self.schema))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        format!(
            "kept {}.{} (proposed as {}): hidden from the planner, statement {} costs {:.2} instead of {:.2} ({:.1}×){until}",
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

/// Why the drop of `schema.table.index` cannot be measured when hiding is impossible (HypoPG
/// 1.3) and it is an index the planner does not use yet
/// ([`crate::model::ExistingIndex::planner_ready`]): its stand-in is in every plan.
fn not_ready(catalog: &Catalog, schema: &str, table: &str, index: &str) -> Option<String> {
    let i = catalog
        .table(schema, table)?
        .indexes
        .iter()
        .find(|i| i.name == index)?;
    (!i.planner_ready).then(|| {
        "read impact not verified: the planner does not use this index yet (a plain CREATE INDEX \
         waiting for older transactions to end, pg_index.indcheckxmin); the plans count it in \
         through a hypothetical copy, which only HypoPG 1.4+ can hide; analyze again once they \
         have ended"
            .to_string()
    })
}

/// The existing indexes named `name` (plans print index names unqualified) that the planner
/// leaves out for now, as (schema, name).
fn waiting_named(catalog: &Catalog, name: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = catalog
        .tables
        .iter()
        .filter(|t| t.indexes.iter().any(|i| i.name == name && i.waiting()))
        .map(|t| (t.schema.clone(), name.to_string()))
        .collect();
    out.dedup();
    out
}

/// What one statement says about a drop.
enum Verdict {
    /// Not costlier beyond the tolerance, now or later.
    Fine,
    /// Costlier: (cost with, cost without, the indexes it waits for; empty: for good).
    Serves(f64, f64, Vec<String>),
    /// Cannot be told, with why.
    Unknown(String),
}

/// The costs of `queryid` with `a` hidden and with `b` hidden, or why not.
async fn two_costs<W: HideIndexes>(
    whatif: &mut W,
    queryid: i64,
    chosen: &[usize],
    a: &[(String, String)],
    b: &[(String, String)],
) -> Result<Result<(f64, f64), String>, Error> {
    let mut costs = [0.0; 2];
    for (slot, hidden) in costs.iter_mut().zip([a, b]) {
        match whatif.cost_hidden(queryid, chosen, hidden).await? {
            HiddenCost::Cost(Ok(p)) => *slot = p.cost,
            HiddenCost::Cost(Err(s)) => {
                return Ok(Err(format!(
                    "read impact not verified: statement {queryid} could not be costed with the indexes the planner does not use yet hidden ({})",
                    s.detail
                )))
            }
            HiddenCost::CannotHide(reason) => return Ok(Err(reason)),
        }
    }
    Ok(Ok((costs[0], costs[1])))
}

/// Judge statement `queryid` (cost `with`) against the drop that hides `hidden`, given its
/// plans then. When they lean on the stand-in of an index the planner does not use yet, the
/// statement is costed as it plans until the older transactions end: with none of those
/// indexes, with and without the drop.
async fn judge<W: HideIndexes>(
    whatif: &mut W,
    catalog: &Catalog,
    queryid: i64,
    chosen: &[usize],
    hidden: &[(String, String)],
    with: f64,
    plans: &HiddenPlans,
) -> Result<Verdict, Error> {
    let costlier = |with: f64, without: f64| without > with * (1.0 + DROP_TOLERANCE) + 0.01;
    if costlier(with, plans.cost) {
        return Ok(Verdict::Serves(with, plans.cost, vec![]));
    }
    let leaning: Vec<(String, String)> = plans
        .indexes
        .iter()
        .flat_map(|n| waiting_named(catalog, n))
        .filter(|w| !hidden.contains(w))
        .collect();
    if leaning.is_empty() {
        return Ok(Verdict::Fine);
    }
    let until_with: Vec<(String, String)> = leaning
        .iter()
        .chain(hidden.iter().filter(|(s, n)| catalog.index_waits(s, n)))
        .cloned()
        .collect();
    let until_without: Vec<(String, String)> = hidden.iter().chain(&leaning).cloned().collect();
    Ok(
        match two_costs(whatif, queryid, chosen, &until_with, &until_without).await? {
            Err(reason) => Verdict::Unknown(reason),
            Ok((w, wo)) if costlier(w, wo) => {
                Verdict::Serves(w, wo, leaning.into_iter().map(|(_, n)| n).collect())
            }
            Ok(_) => Verdict::Fine,
        },
    )
}

/// When hiding is not possible: the caveat for a drop whose covering index the planner does
/// not use yet (dropped now, its statements have neither until the older transactions end).
fn covered_by_waiting(catalog: &Catalog, d: &DropProposal) -> Option<String> {
    let by = d.covered_by.as_deref()?;
    (d.superseded_by.is_none() && catalog.index_waits(&d.schema, by)).then(|| {
        format!(
            "; it is covered by {}.{by}, which the planner does not use yet (pg_index.indcheckxmin): \
             dropped before the older transactions end, its statements have neither",
            d.schema
        )
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
        let mut serves: Option<(i64, f64, f64, Vec<String>)> = None;
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
            let plans = match whatif.cost_hidden(*q, chosen, &hidden).await? {
                HiddenCost::CannotHide(reason) => {
                    // An index the planner does not use yet is in every plan through its
                    // stand-in: say so rather than only that hiding is impossible.
                    unverified = Some(
                        not_ready(catalog, &d.schema, &d.table, &d.index).unwrap_or(reason)
                            + &covered_by_waiting(catalog, &d).unwrap_or_default(),
                    );
                    break;
                }
                HiddenCost::Cost(Err(s)) => {
                    unverified = Some(format!(
                        "read impact not verified: statement {q} could not be costed with the index hidden ({})",
                        s.detail
                    ));
                    break;
                }
                HiddenCost::Cost(Ok(plans)) => plans,
            };
            match judge(whatif, catalog, *q, chosen, &hidden, with, &plans).await? {
                Verdict::Fine => {}
                Verdict::Unknown(reason) => {
                    unverified = Some(reason);
                    break;
                }
                Verdict::Serves(w, wo, until) => {
                    if serves
                        .as_ref()
                        .is_none_or(|(_, pw, pwo, _)| wo / w > pwo / pw)
                    {
                        serves = Some((*q, w, wo, until));
                    }
                }
            }
        }
        if let Some(reason) = unverified {
            d.verified = false;
            d.note = Some(reason);
            accepted.push(d);
        } else if let Some((queryid, cost_with, cost_without, until_usable)) = serves {
            let kept = KeptIndex {
                schema: d.schema,
                table: d.table,
                index: d.index,
                proposed_as: d.reason,
                queryid,
                cost_with,
                cost_without,
                until_usable,
            };
            rec.notes.push(kept.describe());
            rec.kept.push(kept);
        } else {
            d.verified = true;
            d.note = Some(if on_table.is_empty() {
                "no statement of the workload reads this table".to_string()
            } else {
                format!(
                    "hidden from the planner{}: none of the {} statements on this table gets more than {:.0}% costlier",
                    if catalog.index_waits(&d.schema, &d.index) {
                        " with the hypothetical copy that stands in for it until the older transactions end"
                    } else {
                        ""
                    },
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
        /// (statement, hidden index, the index its plans use instead while that one is not
        /// hidden itself)
        takes_over: Vec<(i64, &'static str, &'static str)>,
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
            let indexes = self
                .takes_over
                .iter()
                .filter(|(q, h, by)| *q == queryid && names.contains(h) && !names.contains(by))
                .map(|(_, _, by)| by.to_string())
                .collect();
            Ok(HiddenCost::Cost(Ok(HiddenPlans { cost, indexes })))
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

    /// `orders` with `orders_total` (ready), `orders_total_id_waiting` (not ready: a plain
    /// CREATE INDEX waiting for older transactions) and `orders_x` (ready).
    fn waiting_catalog() -> Catalog {
        let mut waiting =
            crate::model::ExistingIndex::btree_on("orders_total_id_waiting", &["total", "id"]);
        waiting.planner_ready = false;
        Catalog {
            tables: vec![crate::model::catalog::Table {
                indexes: vec![
                    crate::model::ExistingIndex::btree_on("orders_total", &["total"]),
                    waiting,
                    crate::model::ExistingIndex::btree_on("orders_x", &["x"]),
                ],
                ..crate::model::catalog::Table::named("public", "orders")
            }],
            ..Catalog::default()
        }
    }

    /// Without hiding (HypoPG 1.3.1), the drop of an index the planner does not use yet is
    /// "not verified" with why, and so is a drop covered only by such an index.
    #[tokio::test]
    async fn without_hiding_an_index_the_planner_does_not_use_yet_is_not_verified() {
        let mut fake = Fake {
            base: BTreeMap::from([(1, 100.0), (2, 8.0), (3, 5.0)]),
            when_hidden: vec![],
            can_hide: false,
            takes_over: vec![],
        };
        let mut covered = drop("orders_total", DropReason::Redundant);
        covered.covered_by = Some("orders_total_id_waiting".into());
        let rec = run_on(
            &mut fake,
            vec![
                drop("orders_total_id_waiting", DropReason::Duplicate),
                covered,
            ],
            &waiting_catalog(),
        )
        .await;
        let by_name = |n: &str| rec.drop.iter().find(|d| d.index == n).expect(n);
        let waiting = by_name("orders_total_id_waiting");
        assert!(!waiting.verified, "{waiting:?}");
        assert!(
            waiting
                .note
                .as_deref()
                .unwrap_or("")
                .contains("indcheckxmin"),
            "{waiting:?}"
        );
        let total = by_name("orders_total");
        assert!(!total.verified, "{total:?}");
        let note = total.note.as_deref().unwrap_or("");
        assert!(
            note.contains("hypopg 1.3.1 cannot hide")
                && note.contains(
                    "covered by public.orders_total_id_waiting, which the planner does not use yet"
                ),
            "{note}"
        );
    }

    /// A ready index whose plans, hidden, move to the stand-in of an index the planner does not
    /// use yet is kept while that index waits: dropped now, the report (1) would sort the whole
    /// table until the older transactions end. A ready index the statements do without goes.
    #[tokio::test]
    async fn a_drop_that_leans_on_an_index_the_planner_does_not_use_yet_is_kept() {
        let mut fake = Fake {
            base: BTreeMap::from([(1, 100.0), (2, 8.0), (3, 5.0)]),
            // With both hidden (the plans until the transactions end), the report sorts.
            when_hidden: vec![(1, vec!["orders_total", "orders_total_id_waiting"], 9_000.0)],
            can_hide: true,
            // Hidden, the report moves to the waiting index's stand-in, at the same cost.
            takes_over: vec![(1, "orders_total", "orders_total_id_waiting")],
        };
        let mut covered = drop("orders_total", DropReason::Redundant);
        covered.covered_by = Some("orders_total_id_waiting".into());
        let rec = run_on(
            &mut fake,
            vec![covered, drop("orders_x", DropReason::Unused)],
            &waiting_catalog(),
        )
        .await;
        let dropped: Vec<&str> = rec.drop.iter().map(|d| d.index.as_str()).collect();
        assert_eq!(dropped, ["orders_x"], "{:?}", rec.kept);
        assert!(rec.drop[0].verified);
        let k = &rec.kept[0];
        assert_eq!(
            (k.index.as_str(), k.queryid, k.until_usable.clone()),
            (
                "orders_total",
                1,
                vec!["orders_total_id_waiting".to_string()]
            )
        );
        assert_eq!((k.cost_with, k.cost_without), (100.0, 9_000.0));
        assert!(
            rec.notes[0].contains("until public.orders_total_id_waiting can be used")
                && rec.notes[0].contains("indcheckxmin"),
            "{:?}",
            rec.notes
        );
    }

    /// With hiding, the drop of an index the planner does not use yet is measured by hiding
    /// it with its stand-in: a copy of a ready index goes, verified; one a statement needs
    /// stays. Costed with no waiting index at all, a statement that does as well goes too.
    #[tokio::test]
    async fn with_hiding_an_index_the_planner_does_not_use_yet_is_measured() {
        let mut fake = Fake {
            base: BTreeMap::from([(1, 100.0), (2, 8.0), (3, 5.0)]),
            when_hidden: vec![(2, vec!["orders_total_id_waiting"], 800.0)],
            can_hide: true,
            takes_over: vec![],
        };
        let rec = run_on(
            &mut fake,
            vec![drop("orders_total_id_waiting", DropReason::Redundant)],
            &waiting_catalog(),
        )
        .await;
        assert!(rec.drop.is_empty(), "{:?}", rec.drop);
        assert_eq!(rec.kept[0].index, "orders_total_id_waiting");
        assert!(rec.kept[0].until_usable.is_empty());

        fake.when_hidden.clear();
        let rec = run_on(
            &mut fake,
            vec![drop("orders_total_id_waiting", DropReason::Redundant)],
            &waiting_catalog(),
        )
        .await;
        assert!(rec.drop[0].verified, "{:?}", rec.drop);
        assert!(
            rec.drop[0]
                .note
                .as_deref()
                .unwrap_or("")
                .contains("with the hypothetical copy that stands in for it"),
            "{:?}",
            rec.drop
        );
        // The report (1) uses the waiting index's stand-in when `orders_total` is hidden, but
        // does as well without either: the drop is verified.
        fake.takes_over = vec![(1, "orders_total", "orders_total_id_waiting")];
        let rec = run_on(
            &mut fake,
            vec![drop("orders_total", DropReason::Redundant)],
            &waiting_catalog(),
        )
        .await;
        assert!(rec.drop[0].verified, "{:?}", rec);
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
            takes_over: vec![],
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
            takes_over: vec![],
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
            takes_over: vec![],
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
            takes_over: vec![],
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
