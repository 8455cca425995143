//! The report of one run, put together from every stage's output: the triage, the Django
//! findings, each recommended index with its evidence and where it is applied, the statements
//! named anywhere in it, risks and notes.
//!
//! Stage `report` (pure). Invariant: a statement the report names anywhere (triage top, an
//! index's helped statements, a finding, a plan diff, a skip) is in `statements` with its text.

use std::collections::{BTreeMap, BTreeSet};

use super::document::count_skips;
use super::evidence::{Costed, PlanPair};
use super::patterns::siblings::Member;
use super::patterns::{Findings, PatternInput, Siblings};
use super::{
    triage, Report, ReportIndex, ReportStatement, TriageInput, WorkloadSummary,
    REPORT_FORMAT_VERSION,
};
use crate::candidates::CandidateSet;
use crate::emit::Plan;
use crate::model::{Skipped, Snapshot, Statement};
use crate::naming::Named;
use crate::parse::QueryShape;
use crate::select::Recommendation;
use crate::whatif::{PlanSummary, WhatIfCounters};

/// Everything the report is made of.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The snapshot, the shapes and the costs before and after.
    pub costed: Costed<'a>,
    /// Statements skipped, sorted by queryid, each once.
    pub skipped: &'a [Skipped],
    /// The candidates (for their advice).
    pub candidates: &'a CandidateSet,
    /// The recommendation, its new indexes named.
    pub named: &'a Named,
    /// The files planned for it: which migration creates each index, its `Meta.indexes`
    /// entry, the notes.
    pub plan: &'a Plan,
    /// The plans shown per statement, for the risks.
    pub pairs: &'a BTreeMap<i64, PlanPair>,
    /// queryid → the path of its plan diff.
    pub diffs: &'a BTreeMap<i64, String>,
    /// The what-if engine's counters.
    pub counters: WhatIfCounters,
    /// Per-call round-trip overhead for the findings' weights, ms.
    pub per_call_overhead_ms: f64,
    /// `explain`: one statement given by hand, without measured calls or times.
    pub explain: bool,
    /// The tables' models, for the findings' examples (the project's, else guessed from
    /// `django_content_type`; empty: generic examples).
    pub names: &'a crate::model::AppNames,
}

/// One statement as every part of the report sees it: built once.
struct View<'a> {
    statement: &'a Statement,
    shape: Option<&'a QueryShape>,
    baseline: Option<&'a PlanSummary>,
    after: Option<&'a PlanSummary>,
    before_after: Option<(f64, f64)>,
}

fn views<'a>(costed: Costed<'a>) -> Vec<View<'a>> {
    let shape_of: BTreeMap<i64, &QueryShape> =
        costed.shapes.iter().map(|s| (s.queryid, s)).collect();
    costed
        .snapshot
        .workload
        .statements
        .iter()
        .map(|st| View {
            statement: st,
            shape: shape_of.get(&st.queryid).copied(),
            baseline: costed
                .baseline
                .get(&st.queryid)
                .and_then(|e| e.plan.as_ref()),
            after: costed.after.get(&st.queryid).and_then(|e| e.plan.as_ref()),
            before_after: costed
                .baseline
                .get(&st.queryid)
                .zip(costed.after.get(&st.queryid))
                .map(|(b, a)| (b.cost, a.cost)),
        })
        .collect()
}

/// The whole report.
pub fn assemble(inputs: &Inputs<'_>) -> Report {
    let views = views(inputs.costed);
    let siblings = siblings(inputs, &views);
    let mut report = build(inputs, &views, &siblings);
    report.findings = findings(inputs, &views, &report.triage, &siblings);
    add_named_statements(&mut report, inputs.costed.snapshot);
    super::evidence::mark_risks(&mut report, inputs.pairs, inputs.costed.snapshot);
    report
}

/// What the workload says about each statement (its list page, its per-row calls), and the
/// statements an index a limit left out would help.
fn siblings(inputs: &Inputs<'_>, views: &[View<'_>]) -> Siblings {
    let members: Vec<Member<'_>> = views
        .iter()
        .map(|v| Member {
            statement: v.statement,
            shape: v.shape,
        })
        .collect();
    let mut s = Siblings::new(&members, &inputs.costed.snapshot.catalog);
    s.left_out = left_out_evidence(&inputs.named.rec).into_keys().collect();
    s
}

fn build(inputs: &Inputs<'_>, views: &[View<'_>], siblings: &Siblings) -> Report {
    let Costed {
        snapshot,
        shapes,
        baseline,
        ..
    } = inputs.costed;
    let rec = &inputs.named.rec;
    let plan = inputs.plan;
    let skipped = inputs.skipped;
    let total_ms = snapshot.workload.total_time_ms();
    let write_known = match &rec.write_rates {
        Some(r) => r.known(),
        None => snapshot.write_stats.available(),
    };
    let observation = snapshot.workload.observation.as_ref();
    let left_out = left_out_evidence(rec);
    let skip_of: BTreeMap<i64, &Skipped> = skipped.iter().map(|s| (s.queryid, s)).collect();
    let triage_inputs: Vec<TriageInput<'_>> = views
        .iter()
        .map(|v| {
            let st = v.statement;
            // A statement that could not be planned is "not planned: <reason>", never "fine".
            let shape = v.shape;
            TriageInput {
                queryid: st.queryid,
                calls: st.calls,
                total_time_ms: st.total_time_ms,
                rows: st.rows,
                shape,
                baseline: v.baseline,
                before_after: v.before_after,
                key_lookup: shape
                    .map(|s| super::triage::key_lookup(s, &snapshot.catalog))
                    .unwrap_or(false),
                table_rows: shape
                    .map(|s| {
                        s.tables
                            .iter()
                            .filter_map(|t| snapshot.catalog.table(&t.schema, &t.table))
                            .map(|t| t.rows)
                            .fold(0.0, f64::max)
                    })
                    .unwrap_or(0.0),
                left_out: left_out.get(&st.queryid).cloned(),
                skip: skip_of.get(&st.queryid).copied(),
                per_row: siblings.per_row.get(&st.queryid).map(String::as_str),
                date_range: shape.and_then(|s| {
                    super::patterns::date_lookup::date_lookup(&s.plan_text, s, &snapshot.catalog)
                }),
            }
        })
        .collect();
    let triage = triage(&triage_inputs);
    let mut mentioned: BTreeSet<i64> = triage.entries.iter().take(20).map(|e| e.queryid).collect();
    let indexes: Vec<ReportIndex> = inputs
        .named
        .creates()
        .map(|(p, name)| {
            let saving_ms: f64 = p
                .helps
                .iter()
                .map(|h| h.calls as f64 * (h.before_ms - h.after_ms).max(0.0))
                .sum();
            for h in &p.helps {
                mentioned.insert(h.queryid);
            }
            ReportIndex {
                name: name.to_string(),
                table: format!("{}.{}", p.spec.schema, p.spec.table),
                sql: p.spec.create_sql(name, true),
                helps: p.helps.clone(),
                saving_ms,
                saving_share: if total_ms > 0.0 {
                    saving_ms / total_ms
                } else {
                    0.0
                },
                size_bytes: p.size_bytes,
                write_cost_ms_per_s: write_known.then_some(p.write_cost_ms_per_s),
                migration: plan.migration_of.get(name).map(|f| f.display().to_string()),
                meta_index: plan.declaration_of.get(name).cloned(),
                rules: p.rules.clone(),
                lost_hot_updates_per_s: p.costs_hot().then_some(p.lost_hot_updates_per_s),
                hot_columns: if p.costs_hot() {
                    p.hot_columns.clone()
                } else {
                    vec![]
                },
            }
        })
        .collect();
    mentioned.extend(inputs.diffs.keys().copied());
    mentioned.extend(skipped.iter().map(|s| s.queryid));
    mentioned.extend(rec.kept.iter().map(|k| k.queryid));
    let statements: Vec<ReportStatement> = snapshot
        .workload
        .statements
        .iter()
        .filter(|s| mentioned.contains(&s.queryid))
        .map(|s| ReportStatement {
            queryid: s.queryid,
            query: s.query.clone(),
            calls: s.calls,
            mean_ms: s.mean_time_ms,
            total_time_ms: s.total_time_ms,
            plan_diff: inputs.diffs.get(&s.queryid).cloned(),
            risk: None,
            values: super::values::costed_with(
                s,
                snapshot.observed.get(s.queryid),
                shapes.iter().find(|sh| sh.queryid == s.queryid),
            ),
            runs_on: observation.and_then(|o| o.runs_on(s.queryid)),
        })
        .collect();
    let mut notes = rec.notes.clone();
    notes.extend(plan.notes.iter().cloned());
    if let Some(n) = observation.and_then(|o| o.primary_note()) {
        notes.push(n);
    }
    Report {
        format_version: REPORT_FORMAT_VERSION,
        created_by: format!("idxadvise {}", env!("CARGO_PKG_VERSION")),
        server_version: snapshot.server.version.clone(),
        replica: snapshot.server.in_recovery,
        database: snapshot.server.database.clone(),
        workload: WorkloadSummary {
            statements: snapshot.workload.statements.len(),
            analysed: baseline.len(),
            total_time_ms: total_ms,
            skipped: skipped.to_vec(),
            skipped_by_reason: count_skips(skipped),
        },
        write_stats: snapshot.write_stats.source,
        triage,
        findings: Default::default(),
        indexes,
        drops: rec.drop.clone(),
        kept: rec.kept.clone(),
        advice: inputs.candidates.advice.clone(),
        statements,
        notes,
        whatif: inputs.counters,
        limits: rec.limits.clone(),
        left_out: rec.left_out.clone(),
        made_slower: rec.slower.clone(),
        observation: observation.map(|o| crate::model::Observation {
            cumulative: vec![],
            runs_on: vec![],
            ..o.clone()
        }),
        write_rates: rec.write_rates.clone(),
        frontier: super::frontier::rows(rec, inputs.candidates),
    }
}

/// The Django findings: every statement through the patterns, weighted with the per-call
/// overhead, before and after the recommended indexes.
fn findings(
    inputs: &Inputs<'_>,
    views: &[View<'_>],
    triage: &super::Triage,
    siblings: &Siblings,
) -> Findings {
    let snapshot = inputs.costed.snapshot;
    let ws = &snapshot.write_stats;
    let writes_per_s = |shape: &QueryShape| -> Option<f64> {
        let secs = ws.seconds.filter(|s| *s > 0.0)?;
        if !ws.available() {
            return None;
        }
        Some(
            shape
                .tables
                .iter()
                .filter_map(|t| ws.table(&t.schema, &t.table))
                .map(|t| (t.n_tup_ins + t.n_tup_upd + t.n_tup_del) as f64)
                .sum::<f64>()
                / secs,
        )
    };
    // `explain`: one statement whose calls and times are unknown, not the invented ones.
    let statements: Vec<Statement> = views
        .iter()
        .map(|v| {
            if inputs.explain {
                Statement {
                    calls: 0,
                    total_time_ms: 0.0,
                    mean_time_ms: 0.0,
                    rows: 0,
                    ..v.statement.clone()
                }
            } else {
                v.statement.clone()
            }
        })
        .collect();
    let pattern_inputs: Vec<PatternInput<'_>> = statements
        .iter()
        .zip(views)
        .map(|(st, v)| PatternInput {
            statement: st,
            shape: v.shape,
            baseline: v.baseline,
            after: v.after,
            before_after: v.before_after,
            writes_per_s: v.shape.and_then(writes_per_s),
            top_values: snapshot.observed.get(st.queryid).and_then(|o| {
                let n = o.total();
                let top = o.tuples.first()?.weight;
                (n > 0).then(|| (top as f64 / n as f64, n))
            }),
            like_values: snapshot
                .observed
                .get(st.queryid)
                .and_then(super::patterns::like_values),
        })
        .collect();
    let verdict_of = |q: i64| {
        triage
            .entries
            .iter()
            .find(|e| e.queryid == q)
            .map(|e| match e.verdict {
                super::Verdict::IndexHelps => (
                    "served by the new indexes",
                    "after migrate, measure with idxadvise verify",
                ),
                v => (v.label(), v.action()),
            })
    };
    super::patterns::findings(
        &pattern_inputs,
        &snapshot.catalog,
        inputs.per_call_overhead_ms,
        siblings,
        inputs.names,
        &verdict_of,
    )
}

/// Every statement a finding or the "after" view names is in the report, with its text.
fn add_named_statements(report: &mut Report, snapshot: &Snapshot) {
    let named: BTreeSet<i64> = report
        .findings
        .findings
        .iter()
        .map(|f| f.queryid)
        .chain(
            report
                .findings
                .after
                .iter()
                .flat_map(|r| r.queryids.iter().copied()),
        )
        .collect();
    for st in &snapshot.workload.statements {
        if named.contains(&st.queryid) && !report.statements.iter().any(|s| s.queryid == st.queryid)
        {
            report.statements.push(ReportStatement {
                queryid: st.queryid,
                query: st.query.clone(),
                calls: st.calls,
                mean_ms: st.mean_time_ms,
                total_time_ms: st.total_time_ms,
                plan_diff: None,
                values: None,
                risk: None,
                runs_on: snapshot
                    .workload
                    .observation
                    .as_ref()
                    .and_then(|o| o.runs_on(st.queryid)),
            });
        }
    }
}

/// Triage evidence for each statement an index left out by a limit would help.
fn left_out_evidence(rec: &Recommendation) -> BTreeMap<i64, String> {
    let mut out = BTreeMap::new();
    for l in &rec.left_out {
        for (q, before, after) in &l.statements {
            let pct = if *before > 0.0 {
                100.0 * (before - after) / before
            } else {
                0.0
            };
            out.entry(*q).or_insert_with(|| {
                format!(
                    "left out by {}: {} ({}) makes it {pct:.0}% cheaper; let it in with {}",
                    l.limit.label(),
                    l.spec.label(),
                    crate::model::human_bytes(l.size_bytes),
                    l.raise
                )
            });
        }
    }
    out
}

/// The error when nothing could be analysed, with each skip's reason (the first five), so
/// `explain` of one statement says why it cannot be planned.
pub fn every_statement_skipped(skipped: &[Skipped], explain: bool) -> String {
    let why = |s: &Skipped| format!("{}: {}", s.reason.label(), s.detail);
    match skipped {
        [one] if explain => format!("the statement cannot be analysed: {}", why(one)),
        [] => {
            "no statement could be costed (an INSERT's cost is writing: nothing an index changes)"
                .into()
        }
        many => {
            let listed: Vec<String> = many
                .iter()
                .take(5)
                .map(|s| format!("queryid {}: {}", s.queryid, why(s)))
                .collect();
            format!(
                "every statement was skipped ({} in all); nothing to analyse: {}{}",
                many.len(),
                listed.join("; "),
                if many.len() > 5 { "; …" } else { "" }
            )
        }
    }
}
