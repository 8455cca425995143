//! `verify`'s real plans: which of the recommended indexes each statement's plan uses on the
//! real database after the change (read by EXPLAIN in [`super::replan`]), set against what
//! `analyze` predicted, with the likely reason when they differ.
//!
//! Problem: pg_stat_statements says how fast a statement ran, not which plan ran. A statement
//! predicted to use index X may run on Y, on an existing index or a sequential scan (X is
//! INVALID, still being built, or the real statistics differ); a statement nobody credited to X
//! may have switched to it. What we do: the statement's plans on the real database now (one per
//! value set, as the what-if engine plans them, with no hypothetical index) name the indexes
//! they use; a statement is served by X when one of them uses X. Example: predicted to use
//! `shop_order_custome_da1929_idx`, real plan `Seq Scan on shop_order`, the index INVALID:
//! "predicted to use shop_order_custome_da1929_idx; real plan uses no new index:
//! shop_order_custome_da1929_idx is INVALID …".
//!
//! Pure: must not do I/O. Invariants: names sorted and deduplicated; a statement whose plan
//! could not be read is "not planned" with the reason, never counted as using an index or not.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::baseline::IndexPrediction;
use crate::model::Snapshot;

/// The row estimate of a table must have changed by more than this factor (either way) since
/// the baseline to be named as the likely reason for a different plan.
pub const ROWS_CHANGED_FACTOR: f64 = 2.0;

/// What EXPLAIN said about one statement on the real database (the input, from
/// [`super::replan`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanRead {
    /// Every index any of its plans uses, sorted, deduplicated.
    pub indexes: Vec<String>,
    /// Whether any of its plans reads a table by a sequential scan.
    pub seq_scan: bool,
    /// Plans read (one per value set).
    pub plans: usize,
    /// The plan of the heaviest value set, as EXPLAIN text.
    pub text: String,
}

/// Everything the EXPLAINs after the change read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RealPlans {
    /// Per statement planned: its plans, or why it could not be planned.
    pub statements: BTreeMap<i64, Result<PlanRead, String>>,
    /// Recommended indexes with a `CREATE INDEX` in progress now: name → phase
    /// (`pg_stat_progress_create_index`).
    pub building: BTreeMap<String, String>,
}

/// How a statement's real plan compares with the prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanMatch {
    /// Uses exactly the recommended indexes its predicted plan used (none, when none).
    AsPredicted,
    /// A recommended index its predicted plan used is not in the real plan.
    Differs,
    /// Uses a recommended index its predicted plan did not (and every one it did).
    Unpredicted,
    /// EXPLAIN failed: nothing known about its plan.
    NotPlanned,
}

impl PlanMatch {
    /// Label for tables.
    pub fn label(self) -> &'static str {
        match self {
            PlanMatch::AsPredicted => "as predicted",
            PlanMatch::Differs => "differs",
            PlanMatch::Unpredicted => "not predicted",
            PlanMatch::NotPlanned => "not planned",
        }
    }
}

/// One statement's real plan, in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealPlan {
    /// Recommended indexes (by name, as the migrations and indexes.sql build them) its real
    /// plans use, sorted.
    pub uses: Vec<String>,
    /// Other indexes its real plans use, sorted.
    pub other_indexes: Vec<String>,
    /// Whether one of its real plans reads a table by a sequential scan.
    pub seq_scan: bool,
    /// Plans read (one per value set).
    pub plans: usize,
    /// How it compares with the prediction.
    pub matches: PlanMatch,
    /// Recommended indexes its predicted plan used that the real plan does not.
    pub not_used: Vec<String>,
    /// Why the real plan differs (or why it could not be read), when known.
    pub reason: Option<String>,
    /// The heaviest value set's real plan, as EXPLAIN text.
    #[serde(default)]
    pub plan: String,
}

impl RealPlan {
    /// Whether the plan was read (EXPLAIN succeeded).
    pub fn planned(&self) -> bool {
        self.matches != PlanMatch::NotPlanned
    }

    /// One line for the reports: what the real plan uses, against the prediction.
    pub fn summary(&self, predicted: &[String]) -> String {
        if !self.planned() {
            return format!(
                "not planned: {}",
                self.reason.as_deref().unwrap_or("EXPLAIN failed")
            );
        }
        let uses = if self.uses.is_empty() {
            format!("no new index{}", self.alternative())
        } else {
            self.uses.join(", ")
        };
        let mut line = match self.matches {
            PlanMatch::AsPredicted => format!("uses {uses}, as predicted"),
            PlanMatch::Differs => {
                format!(
                    "predicted to use {}; real plan uses {uses}",
                    predicted.join(", ")
                )
            }
            PlanMatch::Unpredicted => format!("uses {uses} (not predicted)"),
            PlanMatch::NotPlanned => unreachable!("handled above"),
        };
        if let Some(r) = &self.reason {
            line.push_str(": ");
            line.push_str(r);
        }
        line
    }

    /// What the plan uses instead of a new index: ` (existing x)`, ` (a sequential scan)`.
    fn alternative(&self) -> String {
        match (self.other_indexes.is_empty(), self.seq_scan) {
            (false, _) => format!(" (existing {})", self.other_indexes.join(", ")),
            (true, true) => " (a sequential scan)".into(),
            (true, false) => String::new(),
        }
    }
}

/// The real plan of a statement whose predicted plan used `predicted`, from what EXPLAIN
/// read, the recommended indexes, the catalog now and the builds in progress.
pub fn real_plan(
    read: &Result<PlanRead, String>,
    predicted: &[String],
    recommended: &[IndexPrediction],
    now: &Snapshot,
    building: &BTreeMap<String, String>,
) -> RealPlan {
    let read = match read {
        Ok(r) => r,
        Err(why) => {
            return RealPlan {
                uses: vec![],
                other_indexes: vec![],
                seq_scan: false,
                plans: 0,
                matches: PlanMatch::NotPlanned,
                not_used: predicted.to_vec(),
                reason: Some(why.clone()),
                plan: String::new(),
            }
        }
    };
    let is_new = |n: &str| recommended.iter().any(|i| i.name == n);
    let (uses, other): (Vec<String>, Vec<String>) =
        read.indexes.iter().cloned().partition(|n| is_new(n));
    let not_used: Vec<String> = predicted
        .iter()
        .filter(|p| !uses.contains(p))
        .cloned()
        .collect();
    let unpredicted = uses.iter().any(|u| !predicted.contains(u));
    let matches = if !not_used.is_empty() {
        PlanMatch::Differs
    } else if unpredicted {
        PlanMatch::Unpredicted
    } else {
        PlanMatch::AsPredicted
    };
    let reasons: Vec<String> = not_used
        .iter()
        .filter_map(|x| recommended.iter().find(|i| &i.name == x))
        .map(|x| why_not_used(x, &uses, &other, read.seq_scan, now, building))
        .collect();
    RealPlan {
        uses,
        other_indexes: other,
        seq_scan: read.seq_scan,
        plans: read.plans,
        matches,
        not_used,
        reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
        plan: read.text.clone(),
    }
}

/// The state of a recommended index now: `None` when it is valid, else why the planner cannot
/// use it.
pub fn unusable(
    x: &IndexPrediction,
    now: &Snapshot,
    building: &BTreeMap<String, String>,
) -> Option<String> {
    let existing = now
        .catalog
        .table(&x.schema, &x.table)
        .and_then(|t| t.indexes.iter().find(|i| i.name == x.name));
    match existing {
        None => Some(format!("{} does not exist (not applied)", x.name)),
        Some(e) if e.valid && e.planner_ready => None,
        Some(e) if e.valid => Some(format!(
            "{} is not used by the planner yet: a plain CREATE INDEX waiting for older transactions to end (pg_index.indcheckxmin)",
            e.name
        )),
        Some(_) => Some(match building.get(&x.name) {
            Some(phase) => format!(
                "{} is still being built ({phase}): not valid yet, the planner cannot use it",
                x.name
            ),
            None => format!(
                "{} is INVALID (a failed or cancelled CREATE INDEX CONCURRENTLY): the planner never uses it",
                x.name
            ),
        }),
    }
}

/// Why a real plan does not use the valid or invalid recommended index `x`.
fn why_not_used(
    x: &IndexPrediction,
    uses: &[String],
    other: &[String],
    seq_scan: bool,
    now: &Snapshot,
    building: &BTreeMap<String, String>,
) -> String {
    if let Some(why) = unusable(x, now, building) {
        return why;
    }
    let instead = if !uses.is_empty() {
        format!("the planner prefers {} (also new)", uses.join(", "))
    } else if !other.is_empty() {
        format!("the planner prefers the existing {}", other.join(", "))
    } else if seq_scan {
        "the planner chose a sequential scan".to_string()
    } else {
        "the planner chose another plan".to_string()
    };
    let rows_now = now.catalog.table(&x.schema, &x.table).map(|t| t.rows);
    let stats = match (rows_now, x.table_rows) {
        (Some(r), _) if r < 0.0 => format!(
            "{}.{} has no statistics (never analysed): run ANALYZE on it",
            x.schema, x.table
        ),
        (Some(r), Some(b))
            if b > 0.0 && (r / b > ROWS_CHANGED_FACTOR || b / r.max(1.0) > ROWS_CHANGED_FACTOR) =>
        {
            format!(
                "the real statistics differ: {}.{} is estimated at {r:.0} rows now, {b:.0} when analysed",
                x.schema, x.table
            )
        }
        _ => "with today's statistics and values (compare the plans with idxadvise explain)"
            .to_string(),
    };
    format!("{instead} over {}, {stats}", x.name)
}

/// What the real plans say about one recommended index.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IndexUse {
    /// Statements whose real plan uses it, credited or not.
    pub used_by: Vec<i64>,
    /// Of those, the ones it was not chosen for.
    pub uncredited: Vec<i64>,
    /// Statements it was chosen for whose real plan does not use it.
    pub not_served: Vec<i64>,
    /// How many of the statements it was chosen for were planned.
    pub credited_planned: usize,
}

/// [`IndexUse`] of `x` from the statements' real plans (`(queryid, plan)`, plans read only).
pub fn index_use<'a>(
    x: &IndexPrediction,
    plans: impl Iterator<Item = (i64, &'a RealPlan)>,
) -> IndexUse {
    let mut u = IndexUse::default();
    for (q, p) in plans.filter(|(_, p)| p.planned()) {
        let credited = x.helps.contains(&q);
        let uses = p.uses.contains(&x.name);
        if credited {
            u.credited_planned += 1;
        }
        if uses {
            u.used_by.push(q);
            if !credited {
                u.uncredited.push(q);
            }
        } else if credited {
            u.not_served.push(q);
        }
    }
    for v in [&mut u.used_by, &mut u.uncredited, &mut u.not_served] {
        v.sort_unstable();
        v.dedup();
    }
    u
}

/// `1, 2, 3`.
pub fn ids(v: &[i64]) -> String {
    v.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::baseline::Baseline;
    use super::super::fixtures::{baseline, now};
    use super::*;

    fn read(indexes: &[&str], seq_scan: bool) -> Result<PlanRead, String> {
        Ok(PlanRead {
            indexes: indexes.iter().map(|s| s.to_string()).collect(),
            seq_scan,
            plans: 4,
            text: "Seq Scan on shop_order".into(),
        })
    }

    /// The real plan, read as `read`, of a statement predicted to use the baseline's first
    /// index.
    fn predicted_first(
        read: &Result<PlanRead, String>,
        b: &Baseline,
        n: &Snapshot,
        building: &BTreeMap<String, String>,
    ) -> RealPlan {
        real_plan(
            read,
            std::slice::from_ref(&b.indexes[0].name),
            &b.indexes,
            n,
            building,
        )
    }

    /// The reason of [`predicted_first`]'s plan, which must have one.
    fn reason(
        read: &Result<PlanRead, String>,
        b: &Baseline,
        n: &Snapshot,
        building: &BTreeMap<String, String>,
    ) -> String {
        predicted_first(read, b, n, building)
            .reason
            .expect("a reason")
    }

    #[test]
    fn as_predicted_differs_unpredicted_and_not_planned() {
        let b = baseline();
        let n = now();
        let x = b.indexes[0].name.clone();
        let none = BTreeMap::new();
        let p = predicted_first(&read(&[&x, "shop_order_pkey"], false), &b, &n, &none);
        assert_eq!(p.matches, PlanMatch::AsPredicted);
        assert_eq!(p.uses, vec![x.clone()]);
        assert_eq!(p.other_indexes, vec!["shop_order_pkey".to_string()]);
        assert_eq!(
            p.summary(std::slice::from_ref(&x)),
            format!("uses {x}, as predicted")
        );

        // Valid, but the planner chose a sequential scan: the reason names today's statistics.
        let p = predicted_first(&read(&[], true), &b, &n, &none);
        assert_eq!(p.matches, PlanMatch::Differs);
        assert_eq!(p.not_used, vec![x.clone()]);
        let s = p.summary(std::slice::from_ref(&x));
        assert!(
            s.starts_with(&format!("predicted to use {x}; real plan uses no new index (a sequential scan): the planner chose a sequential scan over {x}")),
            "{s}"
        );

        // Not predicted: used anyway.
        let p = real_plan(&read(&[&x], false), &[], &b.indexes, &n, &none);
        assert_eq!(p.matches, PlanMatch::Unpredicted);
        assert_eq!(p.summary(&[]), format!("uses {x} (not predicted)"));

        let p = predicted_first(&Err("plan failed: boom".into()), &b, &n, &none);
        assert!(!p.planned());
        assert_eq!(p.summary(&[]), "not planned: plan failed: boom");
    }

    #[test]
    fn the_reason_names_an_invalid_a_building_or_a_missing_index_and_changed_statistics() {
        let mut b = baseline();
        let mut n = now();
        let x = b.indexes[0].name.clone();
        n.catalog.tables[0].indexes[0].valid = false;
        let none = BTreeMap::new();
        let r = reason(&read(&[], true), &b, &n, &none);
        assert!(
            r.contains("is INVALID (a failed or cancelled CREATE INDEX CONCURRENTLY)"),
            "{r}"
        );
        let building: BTreeMap<String, String> =
            [(x.clone(), "building index: scanning table".to_string())].into();
        let r = reason(&read(&[], true), &b, &n, &building);
        assert!(
            r.contains("still being built (building index: scanning table)"),
            "{r}"
        );
        n.catalog.tables[0].indexes.clear();
        let r = reason(&read(&[], true), &b, &n, &none);
        assert!(r.contains("does not exist (not applied)"), "{r}");

        // Valid, and the table is estimated 10× larger than at the baseline.
        let n = now();
        b.indexes[0].table_rows = Some(n.catalog.tables[0].rows / 10.0);
        let r = reason(&read(&["shop_order_pkey"], false), &b, &n, &none);
        assert!(
            r.starts_with(&format!("the planner prefers the existing shop_order_pkey over {x}, the real statistics differ: public.shop_order is estimated at")),
            "{r}"
        );
    }

    #[test]
    fn index_use_counts_credited_and_uncredited_statements() {
        let b = baseline();
        let n = now();
        let x = &b.indexes[0];
        let none = BTreeMap::new();
        let used = real_plan(&read(&[&x.name], false), &[], &b.indexes, &n, &none);
        let unused = predicted_first(&read(&[], true), &b, &n, &none);
        let failed = real_plan(&Err("x".into()), &[], &b.indexes, &n, &none);
        // 101 is credited to it (fixtures) and not served; 102 is not credited and uses it.
        let u = index_use(
            x,
            [(101, &unused), (102, &used), (103, &failed)].into_iter(),
        );
        assert_eq!(u.used_by, vec![102]);
        assert_eq!(u.uncredited, vec![102]);
        assert_eq!(u.not_served, vec![101]);
        assert_eq!(u.credited_planned, 1);
    }
}
