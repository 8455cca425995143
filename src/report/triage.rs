//! Triage: the statements that hold most of the database time, each with a verdict and its
//! evidence, so a team sees whether to start with indexes, query changes or caching.
//!
//! Pure. Invariant: every statement gets exactly one verdict, checked in a fixed order (writes,
//! N+1, index helps, left out by a limit, no index helps, index walked through a filter, well
//! indexed, small), and the shares add up to 1. A statement a limit kept an index from is never
//! "no index helps", nor is a big scan whose filter is a `col__date` lookup: written as a
//! range, an index serves it ("index serves it as a range").

use serde::{Deserialize, Serialize};

use crate::model::Skipped;
use crate::parse::{QueryShape, StatementKind};
use crate::whatif::PlanSummary;

/// The verdict for one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A recommended index makes it markedly cheaper.
    IndexHelps,
    /// Its plan already uses an index and nothing we simulated does better.
    WellIndexed,
    /// Large scans or aggregates over most of a table that no index helps: a candidate for
    /// caching, denormalisation or a query change.
    NoIndexHelps,
    /// Very many calls of about one row each by primary or foreign key: an N+1 pattern,
    /// fixed with `select_related`/`prefetch_related`.
    LikelyNPlusOne,
    /// INSERT/UPDATE/DELETE: its cost is writing, and each index adds to it.
    WriteHeavy,
    /// Cheap and not improvable: leave it.
    Fine,
    /// It could not be analysed (see the skipped statements).
    Skipped,
    /// It was understood but could not be planned (the server refused to prepare or plan it):
    /// nothing is known about its cost, so it is never "fine".
    NotPlanned,
    /// An index would help it, but a limit (the budget, the per-table cap, the cap on new
    /// indexes) kept that index out.
    LeftOutByLimit,
    /// Its plan walks an index only for the order, through a filter that discards almost every
    /// row it reads ([`crate::whatif::filter_walk`]): not well indexed, whatever was simulated.
    FilteredWalk,
    /// A large scan whose filter is Django's `col__date` (`(col AT TIME ZONE …)::date`): no
    /// index on the column serves the expression, but the same filter as a range does. Never
    /// "no index helps".
    RangeRewrite,
}

impl Verdict {
    /// Label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::IndexHelps => "index helps",
            Verdict::WellIndexed => "already well indexed",
            Verdict::NoIndexHelps => "no index helps",
            Verdict::LikelyNPlusOne => "likely N+1",
            Verdict::WriteHeavy => "write",
            Verdict::Fine => "fine",
            Verdict::Skipped => "skipped",
            Verdict::NotPlanned => "not planned",
            Verdict::LeftOutByLimit => "left out by a limit",
            Verdict::FilteredWalk => "index walked through a filter",
            Verdict::RangeRewrite => "index serves it as a range",
        }
    }

    /// What to do about it.
    pub fn action(self) -> &'static str {
        match self {
            Verdict::IndexHelps => "apply the recommended index",
            Verdict::WellIndexed => "nothing to gain from indexes",
            Verdict::NoIndexHelps => "cache, denormalise or change the query",
            Verdict::LikelyNPlusOne => "use select_related()/prefetch_related()",
            Verdict::WriteHeavy => "keep indexes on this table lean",
            Verdict::Fine => "nothing to do",
            Verdict::Skipped => "see the skipped statements",
            Verdict::NotPlanned => "see the skipped statements; costs unknown",
            Verdict::LeftOutByLimit => "raise the limit its evidence names",
            Verdict::FilteredWalk => {
                "an index led by the filtered column or expression, then the order key for a statement with ORDER BY; measure with EXPLAIN ANALYZE (the filter's row estimate may be a guess)"
            }
            Verdict::RangeRewrite => {
                "filter the day as a range on the column (__gte the day's start, __lt the next day's), which an index on the column serves"
            }
        }
    }
}

/// What to do about an index walked through a filter for a statement's ORDER BY … LIMIT.
const ORDERED_WALK_ACTION: &str = "an index led by the filtered column or expression, then the order key; measure with EXPLAIN ANALYZE (the filter's row estimate may be a guess)";
/// The same for a statement that keeps no order (a count, or no ORDER BY): no order key.
const UNORDERED_WALK_ACTION: &str = "an index led by the filtered column or expression, so the scan reads only the rows its filter keeps; measure with EXPLAIN ANALYZE (the filter's row estimate may be a guess)";

/// A statement's own action, where its verdict's general one depends on the statement: an
/// index walked through a filter adds the order key only for an ORDER BY … LIMIT (a count
/// read whole, or a statement without ORDER BY, has none).
fn own_action(i: &TriageInput<'_>, verdict: Verdict) -> Option<String> {
    if verdict != Verdict::FilteredWalk {
        return None;
    }
    let walk = i.baseline.and_then(|p| p.filter_walk.as_ref())?;
    let ordered = !walk.whole
        && i.shape
            .is_some_and(|s| s.plan_text.to_ascii_uppercase().contains("ORDER BY"));
    Some(
        if ordered {
            ORDERED_WALK_ACTION
        } else {
            UNORDERED_WALK_ACTION
        }
        .to_string(),
    )
}

/// What triage needs to know about one statement.
#[derive(Debug, Clone)]
pub struct TriageInput<'a> {
    /// The statement's queryid.
    pub queryid: i64,
    /// Calls.
    pub calls: i64,
    /// Total time, ms.
    pub total_time_ms: f64,
    /// Rows returned or affected in total.
    pub rows: i64,
    /// Its shape, when parsed.
    pub shape: Option<&'a QueryShape>,
    /// The baseline plan, when planned.
    pub baseline: Option<&'a PlanSummary>,
    /// Cost before and after the recommendation, when planned.
    pub before_after: Option<(f64, f64)>,
    /// Whether the equality columns it filters by are the table's primary key or a foreign key.
    pub key_lookup: bool,
    /// Rows of the largest table it reads (planner estimate), 0 when unknown.
    pub table_rows: f64,
    /// When a limit kept out an index that would help it: the evidence, naming the limit and
    /// how to raise it.
    pub left_out: Option<String>,
    /// Why it was left out of the analysis or could not be planned, when it was.
    pub skip: Option<&'a Skipped>,
    /// When the workload shows it runs once per row another statement listed (the list of
    /// its parent table: [`super::patterns::siblings`]), that evidence. Without it, no
    /// statement is "likely N+1", however often it runs: a lookup once per request is not.
    pub per_row: Option<&'a str>,
    /// For a `col__date` lookup: the largest share of the table one day of the column holds
    /// and the index led by the column, from the catalog (`None` otherwise, or without
    /// statistics).
    pub date_range: Option<super::patterns::date_lookup::DateRange>,
}

/// One statement's triage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriageEntry {
    /// The statement.
    pub queryid: i64,
    /// Its share of the workload's total time (0..1).
    pub share: f64,
    /// Calls.
    pub calls: i64,
    /// Mean time per call, ms.
    pub mean_ms: f64,
    /// Verdict.
    pub verdict: Verdict,
    /// The evidence, one line.
    pub evidence: String,
    /// What to do, when it differs from its verdict's [`Verdict::action`] ([`TriageEntry::action`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

impl TriageEntry {
    /// What to do about this statement.
    pub fn action(&self) -> &str {
        self.action.as_deref().unwrap_or(self.verdict.action())
    }
}

/// The triage of a workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Triage {
    /// Entries, by share of time descending (then queryid).
    pub entries: Vec<TriageEntry>,
    /// Share of total time per verdict, largest first.
    pub shares: Vec<(Verdict, f64)>,
}

/// Problem: "likely N+1" must not flag every fast lookup, nor a lookup run once per request.
/// What we do: evidence from the workload that it runs once per listed row
/// ([`TriageInput::per_row`]), and at least this many calls…
const NPLUSONE_MIN_CALLS: i64 = 100;
/// …at most this many rows per call on average…
const NPLUSONE_MAX_ROWS_PER_CALL: f64 = 1.5;
/// …and among the most-called statements: at least this multiple of the median call count.
/// Example: the customer fetched once per order on a 20-order page (`o.customer.email`).
const NPLUSONE_CALLS_VS_MEDIAN: f64 = 3.0;
/// A recommendation that cuts cost by at least this share is "index helps".
const HELPS_MIN_GAIN: f64 = 0.10;
/// A baseline plan reading at least this many rows with a sequential scan or aggregate, that
/// no index improves, is "no index helps".
const BIG_SCAN_ROWS: f64 = 10_000.0;

/// Classify every statement. `inputs` may be in any order.
pub fn triage(inputs: &[TriageInput<'_>]) -> Triage {
    let total: f64 = inputs.iter().map(|i| i.total_time_ms.max(0.0)).sum();
    let mut calls: Vec<i64> = inputs.iter().map(|i| i.calls).collect();
    calls.sort_unstable();
    let median = if calls.is_empty() {
        0.0
    } else {
        calls[calls.len() / 2] as f64
    };
    let mut entries: Vec<TriageEntry> = inputs
        .iter()
        .map(|i| {
            let (verdict, evidence) = classify(i, median);
            let action = own_action(i, verdict);
            TriageEntry {
                queryid: i.queryid,
                share: if total > 0.0 {
                    i.total_time_ms.max(0.0) / total
                } else {
                    0.0
                },
                calls: i.calls,
                mean_ms: if i.calls > 0 {
                    i.total_time_ms / i.calls as f64
                } else {
                    0.0
                },
                verdict,
                evidence,
                action,
            }
        })
        .collect();
    entries.sort_by(|a, b| {
        b.share
            .partial_cmp(&a.share)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.queryid.cmp(&b.queryid))
    });
    let mut shares: Vec<(Verdict, f64)> = vec![];
    for e in &entries {
        match shares.iter_mut().find(|(v, _)| *v == e.verdict) {
            Some((_, s)) => *s += e.share,
            None => shares.push((e.verdict, e.share)),
        }
    }
    shares.sort_by(|a, b| {
        b.1.partial_cmp(&a.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.0.cmp(&b.0))
    });
    Triage { entries, shares }
}

impl Triage {
    /// What to do about the statements of one verdict: their own action when they all share
    /// it, else the verdict's.
    pub fn action(&self, verdict: Verdict) -> &str {
        let mut of = self.entries.iter().filter(|e| e.verdict == verdict);
        let Some(first) = of.next() else {
            return verdict.action();
        };
        if of.all(|e| e.action == first.action) {
            first.action()
        } else {
            verdict.action()
        }
    }
}

fn classify(i: &TriageInput<'_>, median_calls: f64) -> (Verdict, String) {
    let why = |s: &Skipped| format!("{}: {}", s.reason.label(), s.detail);
    let Some(shape) = i.shape else {
        let evidence = i.skip.map(why).unwrap_or_else(|| "not analysed".into());
        return (Verdict::Skipped, evidence);
    };
    if let Some(s) = i.skip {
        return (Verdict::NotPlanned, format!("not planned: {}", why(s)));
    }
    if shape.kind != StatementKind::Select {
        return (
            Verdict::WriteHeavy,
            format!("{:?} statement, {} calls", shape.kind, i.calls).to_lowercase(),
        );
    }
    let rows_per_call = if i.calls > 0 {
        i.rows as f64 / i.calls as f64
    } else {
        0.0
    };
    if let Some(per_row) = i.per_row.filter(|_| {
        i.calls >= NPLUSONE_MIN_CALLS
            && rows_per_call <= NPLUSONE_MAX_ROWS_PER_CALL
            && i.key_lookup
            && shape.tables.len() == 1
            && (i.calls as f64) >= NPLUSONE_CALLS_VS_MEDIAN * median_calls
    }) {
        return (
            Verdict::LikelyNPlusOne,
            format!(
                "{} calls of {rows_per_call:.1} row each by key on {}, one per listed row: {per_row}",
                i.calls, shape.tables[0].table
            ),
        );
    }
    if let Some((before, after)) = i.before_after {
        if before > 0.0 && (before - after) / before >= HELPS_MIN_GAIN {
            return (
                Verdict::IndexHelps,
                format!(
                    "cost {before:.1} -> {after:.1} ({:.0}% less)",
                    100.0 * (before - after) / before
                ),
            );
        }
    }
    if let Some(e) = &i.left_out {
        return (Verdict::LeftOutByLimit, e.clone());
    }
    let Some(plan) = i.baseline else {
        return (
            Verdict::NotPlanned,
            "not planned: the what-if engine gave no plan".into(),
        );
    };
    let uses_index = plan
        .node_types
        .iter()
        .any(|n| n.contains("Index") && !n.contains("Bitmap Heap"));
    let seq_scan = plan.node_types.iter().any(|n| n == "Seq Scan");
    let aggregate = plan
        .node_types
        .iter()
        .any(|n| n == "Aggregate" || n == "HashAggregate" || n == "GroupAggregate");
    let scans_big = (seq_scan || aggregate)
        && !uses_index
        && (i.table_rows >= BIG_SCAN_ROWS
            || plan.rows >= BIG_SCAN_ROWS
            || scanned_rows_hint(plan) >= BIG_SCAN_ROWS);
    if scans_big {
        // Django's `col__date`: the scan is big because the filter hides the column from its
        // indexes; written as a range, an index on the column serves it when one day is a
        // small share of the table (pg_stats; src/report/patterns/date_lookup.rs).
        use super::patterns::date_lookup::{DateRange, MIN_ROWS, RANGE_SERVES_SHARE};
        let scan = if seq_scan {
            "sequential scan"
        } else {
            "aggregate"
        };
        if let Some(DateRange {
            column,
            zone,
            day_share: Some(day_share),
            index,
        }) = i.date_range.as_ref().filter(|_| i.table_rows >= MIN_ROWS)
        {
            let share = 100.0 * day_share;
            if *day_share <= RANGE_SERVES_SHARE {
                return (
                    Verdict::RangeRewrite,
                    format!(
                        "{scan} over {:.0} rows filtering ({column} AT TIME ZONE {zone})::date, which no index on {column} serves; one day holds at most {share:.1}% of its rows (pg_stats), so as a range on {column} {} serves it",
                        i.table_rows,
                        match index {
                            Some(ix) => format!("the existing index {ix}"),
                            None => format!("an index led by {column}"),
                        }
                    ),
                );
            }
            return (
                Verdict::NoIndexHelps,
                format!(
                    "{scan} over {:.0} rows filtering ({column} AT TIME ZONE {zone})::date; one day holds up to {share:.0}% of its rows (pg_stats), so even a range on {column} would read about as much through an index",
                    i.table_rows
                ),
            );
        }
        return (
            Verdict::NoIndexHelps,
            format!(
                "{} over {} rows; no simulated index lowers its cost",
                if aggregate {
                    "aggregate"
                } else {
                    "sequential scan"
                },
                if i.table_rows > 0.0 {
                    format!("{:.0}", i.table_rows)
                } else {
                    "many".into()
                }
            ),
        );
    }
    if let Some(w) = &plan.filter_walk {
        return (Verdict::FilteredWalk, w.evidence());
    }
    if uses_index {
        return (
            Verdict::WellIndexed,
            format!(
                "plan already uses {}",
                plan.indexes
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "an index".into())
            ),
        );
    }
    (
        Verdict::Fine,
        format!("planner cost {:.1}", plan.total_cost),
    )
}

/// Aggregates return few rows from many: a costly plan with a sequential scan counts as big.
fn scanned_rows_hint(plan: &PlanSummary) -> f64 {
    if plan.node_types.iter().any(|n| n == "Seq Scan") && plan.total_cost >= BIG_SCAN_ROWS {
        plan.total_cost
    } else {
        0.0
    }
}

/// Whether a single-table SELECT filters by equality on the table's primary key or a
/// foreign-key column (the shape of an N+1 lookup): [`TriageInput::key_lookup`].
pub fn key_lookup(shape: &QueryShape, catalog: &crate::model::Catalog) -> bool {
    let [t] = shape.tables.as_slice() else {
        return false;
    };
    let Some(table) = catalog.table(&t.schema, &t.table) else {
        return false;
    };
    !t.equality.is_empty()
        && t.equality.iter().all(|col| {
            table.constraints.iter().any(|c| {
                (c.kind == "p" || c.kind == "f") && c.columns.len() == 1 && c.columns[0] == *col
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::TableAccess;

    fn shape(kind: StatementKind, table: &str) -> QueryShape {
        QueryShape {
            queryid: 1,
            kind,
            plan_text: String::new(),
            param_count: 0,
            tables: vec![TableAccess {
                schema: "public".into(),
                table: table.into(),
                ..Default::default()
            }],
            params: vec![],
            limit: None,
            offset: false,
        }
    }

    fn plan(nodes: &[&str], rows: f64, cost: f64, indexes: &[&str]) -> PlanSummary {
        PlanSummary {
            total_cost: cost,
            startup_cost: 0.0,
            rows,
            node_types: nodes.iter().map(|s| s.to_string()).collect(),
            indexes: indexes.iter().map(|s| s.to_string()).collect(),
            text: String::new(),
            ranking_cost: None,
            walk_risk_cost: None,
            filter_walk: None,
            scan: None,
        }
    }

    #[test]
    fn planted_cases_get_their_verdicts() {
        let sel = shape(StatementKind::Select, "shop_customer");
        let ord = shape(StatementKind::Select, "shop_order");
        let upd = shape(StatementKind::Update, "shop_order");
        let pk_plan = plan(&["Index Scan"], 1.0, 8.3, &["shop_customer_pkey"]);
        let agg_plan = plan(
            &["Sort", "HashAggregate", "Seq Scan"],
            4.0,
            9000.0 + 20_000.0,
            &[],
        );
        let seq_plan = plan(&["Limit", "Sort", "Seq Scan"], 20.0, 6000.0, &[]);
        let inputs = vec![
            // N+1: the customer of each order, by primary key.
            TriageInput {
                queryid: 10,
                calls: 5000,
                total_time_ms: 300.0,
                rows: 5000,
                shape: Some(&sel),
                baseline: Some(&pk_plan),
                before_after: Some((8.3, 8.3)),
                key_lookup: true,
                table_rows: 20_000.0,
                left_out: None,
                skip: None,
                date_range: None,
                per_row: Some(
                    "5000 calls, 50.0× the 100 calls of the statement listing shop_order",
                ),
            },
            // An aggregate over every order.
            TriageInput {
                queryid: 11,
                calls: 10,
                total_time_ms: 900.0,
                rows: 40,
                shape: Some(&ord),
                baseline: Some(&agg_plan),
                before_after: Some((6878.0, 6878.0)),
                key_lookup: false,
                table_rows: 300_000.0,
                left_out: None,
                skip: None,
                date_range: None,
                per_row: None,
            },
            // Orders of a customer, newest first: an index fixes it.
            TriageInput {
                queryid: 12,
                calls: 300,
                total_time_ms: 1500.0,
                rows: 6000,
                shape: Some(&ord),
                baseline: Some(&seq_plan),
                before_after: Some((6000.0, 40.0)),
                key_lookup: false,
                table_rows: 300_000.0,
                left_out: None,
                skip: None,
                date_range: None,
                per_row: None,
            },
            TriageInput {
                queryid: 13,
                calls: 100,
                total_time_ms: 50.0,
                rows: 100,
                shape: Some(&upd),
                baseline: None,
                before_after: None,
                key_lookup: true,
                table_rows: 20_000.0,
                left_out: None,
                skip: None,
                date_range: None,
                per_row: None,
            },
            TriageInput {
                queryid: 14,
                calls: 100,
                total_time_ms: 10.0,
                rows: 100,
                shape: None,
                baseline: None,
                before_after: None,
                key_lookup: false,
                table_rows: 300_000.0,
                left_out: None,
                skip: None,
                date_range: None,
                per_row: None,
            },
        ];
        let t = triage(&inputs);
        let v = |q: i64| t.entries.iter().find(|e| e.queryid == q).map(|e| e.verdict);
        assert_eq!(v(10), Some(Verdict::LikelyNPlusOne));
        assert_eq!(v(11), Some(Verdict::NoIndexHelps));
        assert_eq!(v(12), Some(Verdict::IndexHelps));
        assert_eq!(v(13), Some(Verdict::WriteHeavy));
        assert_eq!(v(14), Some(Verdict::Skipped));
        assert_eq!(t.entries[0].queryid, 12, "largest share first");
        let sum: f64 = t.shares.iter().map(|s| s.1).sum();
        assert!((sum - 1.0).abs() < 1e-9);
        assert_eq!(t.shares[0].0, Verdict::IndexHelps);
    }

    /// `Ticket.objects.filter(created__date=d).count()` planned as a sequential scan (an
    /// index-only scan of `created` is priced as heap reads until VACUUM marks the pages
    /// all-visible): the filter hides the column's index, so the verdict is the range rewrite,
    /// not "no index helps". The same scan with a plain filter stays "no index helps".
    #[test]
    fn a_big_scan_of_a_date_lookup_is_served_as_a_range_not_no_index_helps() {
        let mut date = shape(StatementKind::Select, "shop_ticket");
        date.plan_text = r#"SELECT COUNT(*) AS "__count" FROM "shop_ticket" WHERE ("shop_ticket"."created" AT TIME ZONE $1)::date = $2::date"#.into();
        let mut plain = shape(StatementKind::Select, "shop_ticket");
        plain.plan_text =
            r#"SELECT COUNT(*) AS "__count" FROM "shop_ticket" WHERE "shop_ticket"."body" <> $1"#
                .into();
        let scan = plan(&["Aggregate", "Seq Scan"], 1.0, 6_806.0, &[]);
        fn input<'a>(
            q: i64,
            sh: &'a QueryShape,
            scan: &'a PlanSummary,
            rows: f64,
            day_share: f64,
            index: Option<&str>,
        ) -> TriageInput<'a> {
            TriageInput {
                queryid: q,
                calls: 20,
                total_time_ms: 200.0,
                rows: 20,
                shape: Some(sh),
                baseline: Some(scan),
                before_after: Some((6_806.0, 6_806.0)),
                key_lookup: false,
                table_rows: rows,
                left_out: None,
                skip: None,
                // As the report reads it: a range only for a text with a date lookup.
                date_range: crate::report::patterns::date_lookup::date_of_column(&sh.plan_text)
                    .map(
                        |(column, zone)| crate::report::patterns::date_lookup::DateRange {
                            column,
                            zone,
                            day_share: Some(day_share),
                            index: index.map(String::from),
                        },
                    ),
                per_row: None,
            }
        }
        let t = triage(&[
            input(1, &date, &scan, 100_000.0, 0.005, None),
            input(2, &plain, &scan, 100_000.0, 0.005, None),
            input(3, &date, &scan, 5_000.0, 0.005, None),
            // Two days of data: one day is half the table, a range reads as much.
            input(4, &date, &scan, 100_000.0, 0.5, None),
            input(
                5,
                &date,
                &scan,
                100_000.0,
                0.005,
                Some("shop_ticket_created_idx"),
            ),
        ]);
        let e = |q: i64| t.entries.iter().find(|e| e.queryid == q).expect("entry");
        assert_eq!(e(1).verdict, Verdict::RangeRewrite, "{:?}", e(1));
        assert_eq!(
            e(1).evidence,
            "sequential scan over 100000 rows filtering (created AT TIME ZONE $1)::date, which no index on created serves; one day holds at most 0.5% of its rows (pg_stats), so as a range on created an index led by created serves it"
        );
        assert!(e(1).action().contains("__gte"), "{:?}", e(1));
        assert_eq!(e(2).verdict, Verdict::NoIndexHelps, "{:?}", e(2));
        // Review (2026-12-07): "a range on created does" was said of a table whose days hold
        // half its rows each, where HypoPG's index on `created` leaves the range a sequential
        // scan.
        assert_eq!(e(4).verdict, Verdict::NoIndexHelps, "{:?}", e(4));
        assert!(
            e(4).evidence
                .contains("one day holds up to 50% of its rows (pg_stats)"),
            "{:?}",
            e(4)
        );
        assert!(
            e(5).evidence.ends_with(
                "so as a range on created the existing index shop_ticket_created_idx serves it"
            ),
            "{:?}",
            e(5)
        );
        // A small table: its scan is not big, and the date lookup changes nothing there.
        assert_ne!(e(3).verdict, Verdict::RangeRewrite, "{:?}", e(3));
    }

    /// Issue 18: a statement the server could not prepare was labelled "fine / no plan". It is
    /// "not planned" with its precise reason, and never "fine", with or without the reason.
    #[test]
    fn r18_a_statement_that_cannot_be_planned_is_never_fine() {
        let sel = shape(StatementKind::Select, "t");
        let refused = Skipped {
            queryid: 1,
            reason: crate::model::SkipReason::PrepareFailed,
            detail: "operator is not unique: unknown - unknown".into(),
        };
        let input =
            |skip: Option<&'static Skipped>, shape: Option<&'static QueryShape>| TriageInput {
                queryid: 1,
                calls: 10,
                total_time_ms: 146.0,
                rows: 10,
                shape,
                baseline: None,
                before_after: None,
                key_lookup: false,
                table_rows: 100_000.0,
                left_out: None,
                skip,
                date_range: None,
                per_row: None,
            };
        let sel: &'static QueryShape = Box::leak(Box::new(sel));
        let refused: &'static Skipped = Box::leak(Box::new(refused));
        let t = triage(&[input(Some(refused), Some(sel))]);
        assert_eq!(t.entries[0].verdict, Verdict::NotPlanned);
        assert_eq!(
            t.entries[0].evidence,
            "not planned: cannot be prepared: operator is not unique: unknown - unknown"
        );
        assert_eq!(Verdict::NotPlanned.label(), "not planned");
        let t = triage(&[input(None, Some(sel))]);
        assert_eq!(t.entries[0].verdict, Verdict::NotPlanned);
        assert!(t.entries[0].evidence.starts_with("not planned: "));
        // A parse skip keeps "skipped", now with its reason.
        let t = triage(&[input(Some(refused), None)]);
        assert_eq!(t.entries[0].verdict, Verdict::Skipped);
        assert!(t.entries[0].evidence.contains("unknown - unknown"));
        for s in [None, Some(refused)] {
            for sh in [None, Some(sel)] {
                let e = &triage(&[input(s, sh)]).entries[0];
                assert_ne!(e.verdict, Verdict::Fine);
                assert!(!e.evidence.contains("fine"), "{}", e.evidence);
            }
        }
        let json = serde_json::to_string(&Verdict::NotPlanned).expect("serialises");
        assert_eq!(json, "\"not_planned\"");
    }

    #[test]
    fn a_scan_an_index_would_fix_but_a_limit_kept_out_says_so() {
        let sel = shape(StatementKind::Select, "t");
        let seq_plan = plan(&["Seq Scan"], 1.0, 20_000.0, &[]);
        let input = |left_out: Option<String>| TriageInput {
            queryid: 1,
            calls: 10,
            total_time_ms: 146.0,
            rows: 10,
            shape: Some(&sel),
            baseline: Some(&seq_plan),
            before_after: Some((20_000.0, 20_000.0)),
            key_lookup: false,
            table_rows: 100_000.0,
            left_out,
            skip: None,
            date_range: None,
            per_row: None,
        };
        assert_eq!(
            triage(&[input(None)]).entries[0].verdict,
            Verdict::NoIndexHelps
        );
        let e = "left out by the budget: t(b) (1.1 MiB) makes it 99% cheaper; let it in with --budget 2MiB";
        let t = triage(&[input(Some(e.into()))]);
        assert_eq!(t.entries[0].verdict, Verdict::LeftOutByLimit);
        assert_eq!(t.entries[0].evidence, e);
    }

    /// The reviewer's product page: a count by product run once per request, as often as the
    /// page's other statements, has no per-row evidence and is not "likely N+1".
    #[test]
    fn a_lookup_without_per_row_evidence_is_not_n_plus_one() {
        let sel = shape(StatementKind::Select, "storefront_productviewevent");
        let pk_plan = plan(&["Aggregate", "Index Only Scan"], 1.0, 8.3, &["x"]);
        let input = |per_row| TriageInput {
            queryid: 1,
            calls: 1047,
            total_time_ms: 4200.0,
            rows: 1047,
            shape: Some(&sel),
            baseline: Some(&pk_plan),
            before_after: Some((8.3, 8.3)),
            key_lookup: true,
            table_rows: 900_000.0,
            left_out: None,
            skip: None,
            date_range: None,
            per_row,
        };
        // The rest of the workload: statements called far less often (median 10 calls).
        let other = |queryid| TriageInput {
            queryid,
            calls: 10,
            total_time_ms: 10.0,
            date_range: None,
            per_row: None,
            ..input(None)
        };
        let verdict = |per_row| {
            let t = triage(&[input(per_row), other(2), other(3)]);
            t.entries
                .iter()
                .find(|e| e.queryid == 1)
                .cloned()
                .expect("triaged")
        };
        assert_eq!(verdict(None).verdict, Verdict::WellIndexed);
        let e = &verdict(Some("1047 calls, 5.0× the 209 calls of the list"));
        assert_eq!(e.verdict, Verdict::LikelyNPlusOne);
        assert!(
            e.evidence.contains("one per listed row: 1047 calls"),
            "{}",
            e.evidence
        );
    }

    #[test]
    fn a_fast_key_lookup_with_few_calls_is_not_n_plus_one() {
        let sel = shape(StatementKind::Select, "shop_customer");
        let pk_plan = plan(&["Index Scan"], 1.0, 8.3, &["shop_customer_pkey"]);
        let inputs = vec![TriageInput {
            queryid: 1,
            calls: 20,
            total_time_ms: 1.0,
            rows: 20,
            shape: Some(&sel),
            baseline: Some(&pk_plan),
            before_after: Some((8.3, 8.3)),
            key_lookup: true,
            table_rows: 20_000.0,
            left_out: None,
            skip: None,
            date_range: None,
            per_row: None,
        }];
        assert_eq!(triage(&inputs).entries[0].verdict, Verdict::WellIndexed);
    }

    /// The reviewer's statement after migrate: the plan walks `(created DESC)` through a
    /// filter that keeps 0.5% of the rows, and nothing simulated helped.
    #[test]
    fn an_index_walked_through_a_filter_is_not_well_indexed() {
        let mut sel = shape(StatementKind::Select, "helpdesk_ticket");
        sel.plan_text =
            "SELECT * FROM helpdesk_ticket WHERE upper(email) = $1 ORDER BY created DESC LIMIT 10"
                .into();
        let mut walk = plan(&["Limit", "Index Scan"], 10.0, 90.6, &["t_created"]);
        walk.filter_walk = Some(Box::new(crate::whatif::filter_walk::FilterWalk {
            index: "t_created".into(),
            table: "helpdesk_ticket".into(),
            kept_rows: 1500.0,
            table_rows: 300_000.0,
            whole: false,
        }));
        let inputs = vec![TriageInput {
            queryid: 1,
            calls: 406,
            total_time_ms: 116_470.0,
            rows: 4060,
            shape: Some(&sel),
            baseline: Some(&walk),
            before_after: Some((90.6, 90.6)),
            key_lookup: false,
            table_rows: 300_000.0,
            left_out: None,
            skip: None,
            date_range: None,
            per_row: None,
        }];
        let e = &triage(&inputs).entries[0];
        assert_eq!(e.verdict, Verdict::FilteredWalk);
        assert!(e.evidence.contains("walks t_created"), "{}", e.evidence);
        assert!(e.action().contains("then the order key"), "{}", e.action());
    }

    /// Review 3 (F7): the `__date` COUNT (no ORDER BY) was told to add "then the order key".
    /// A count read whole through a filter, or a statement without ORDER BY, gets advice
    /// without an order key, in its entry and in the verdict's row when it is alone there.
    #[test]
    fn a_filtered_walk_without_order_by_is_not_told_to_add_an_order_key() {
        let mut count = shape(StatementKind::Select, "order_order");
        count.plan_text = "SELECT COUNT(*) AS \"__count\" FROM \"order_order\" WHERE (\"order_order\".\"date_placed\" AT TIME ZONE $1)::date = $2::date".into();
        let mut walk = plan(
            &["Aggregate", "Gather", "Aggregate", "Index Only Scan"],
            1.0,
            12_000.0,
            &["order_order_date_placed_506a9365"],
        );
        walk.filter_walk = Some(Box::new(crate::whatif::filter_walk::FilterWalk {
            index: "order_order_date_placed_506a9365".into(),
            table: "order_order".into(),
            kept_rows: 2501.0,
            table_rows: 500_000.0,
            whole: true,
        }));
        let input = |queryid, shape, baseline| TriageInput {
            queryid,
            calls: 69,
            total_time_ms: 6166.0,
            rows: 69,
            shape: Some(shape),
            baseline: Some(baseline),
            before_after: Some((12_000.0, 12_000.0)),
            key_lookup: false,
            table_rows: 500_000.0,
            left_out: None,
            skip: None,
            date_range: None,
            per_row: None,
        };
        let t = triage(&[input(1, &count, &walk)]);
        let e = &t.entries[0];
        assert_eq!(e.verdict, Verdict::FilteredWalk);
        assert!(!e.action().contains("order key"), "{}", e.action());
        assert!(e
            .action()
            .starts_with("an index led by the filtered column or expression"));
        assert_eq!(t.action(Verdict::FilteredWalk), e.action());
        // A LIMIT walk of a statement without ORDER BY: no order key either.
        let mut limited = count.clone();
        limited.plan_text =
            "SELECT 1 AS \"a\" FROM \"order_order\" WHERE \"order_order\".\"x\" = $1 LIMIT 1"
                .into();
        let mut stopped = walk.clone();
        stopped.filter_walk.as_mut().expect("walk").whole = false;
        let t = triage(&[input(2, &limited, &stopped)]);
        assert!(!t.entries[0].action().contains("order key"));
        // With an ordered walk beside it, the verdict's row says when the order key applies.
        let mut ordered = limited.clone();
        ordered
            .plan_text
            .push_str(" ORDER BY \"order_order\".\"id\"");
        let t = triage(&[input(2, &ordered, &stopped), input(3, &count, &walk)]);
        assert!(t.entries.iter().any(|e| e.action().ends_with("then the order key; measure with EXPLAIN ANALYZE (the filter's row estimate may be a guess)")));
        assert!(t
            .action(Verdict::FilteredWalk)
            .contains("then the order key for a statement with ORDER BY"));
    }
}
