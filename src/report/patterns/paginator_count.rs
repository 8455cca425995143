//! Paginator counts: Django's `Paginator` (and DRF's page-number pagination) runs
//! `SELECT COUNT(*) AS "__count" …` on every page, over the whole filtered table.
//!
//! Problem: no index makes counting half a million rows cheap; the count is often the
//! slowest statement of a list endpoint.
//! What we do: a `COUNT(*) AS "__count"` statement whose list page is in the workload (a
//! SELECT with `LIMIT`/`OFFSET` over the same tables and `WHERE`: [`super::siblings`]; a
//! filtered `.count()` without one is a plain count and gets ordinary triage), over a table of
//! at least [`MIN_ROWS`] rows, whose predicted cost neither the recommended indexes nor an
//! index a limit left out cut by [`INDEX_FIXES`] or more, and that takes at least
//! [`MIN_MEAN_MS`] per call (an existing index already serves a faster one: a filtered count
//! over a few thousand rows is not worth a pagination change).
//! Example: `SELECT COUNT(*) AS "__count" FROM "tracker_issue" WHERE "tracker_issue"."deleted_at"
//! IS NULL` on 500k issues → DRF `CursorPagination` or an estimated count.

use super::util::{largest_rows, per_call, rows, untimed, upper};
use super::{Context, Hit, PatternInput};
use crate::whatif::fed_scan::FedScan;

/// Tables smaller than this are counted fast enough.
pub const MIN_ROWS: f64 = 50_000.0;
/// A recommended index that cuts the count's cost by this share fixes it: not this pattern.
pub const INDEX_FIXES: f64 = 0.5;
/// A count faster than this per call is already served.
pub const MIN_MEAN_MS: f64 = 2.0;

pub(super) fn detect(i: &PatternInput<'_>, cx: &Context<'_>) -> Hit {
    let shape = i.shape?;
    let text = upper(&i.statement.query);
    if !text.starts_with("SELECT COUNT(*) AS \"__COUNT\"")
        || (!untimed(i.statement) && i.statement.mean_time_ms < MIN_MEAN_MS)
    {
        return None;
    }
    let id = i.statement.queryid;
    let page = *cx.siblings.paginated.get(&id)?;
    if cx.siblings.left_out.contains(&id) {
        return None;
    }
    let n = largest_rows(cx.catalog, shape);
    if n < MIN_ROWS {
        return None;
    }
    if let Some((b, a)) = i.before_after {
        if b > 0.0 && (b - a) / b >= INDEX_FIXES {
            return None;
        }
    }
    let table = shape
        .tables
        .first()
        .map(|t| t.table.as_str())
        .unwrap_or("?");
    Some(format!(
        "paginator count: {}{}; its list page is queryid {page} (LIMIT/OFFSET over the same FROM and WHERE)",
        reads(i, table, n),
        per_call(i.statement)
    ))
}

/// What the count reads: its scan and the planner's row estimate, before and (when the
/// recommended indexes change the scan) after, with the table's size beside it. A count
/// through an index reads the rows it counts, not the table: "over 502k rows" was the table.
fn reads(i: &PatternInput<'_>, table: &str, table_rows: f64) -> String {
    let Some(before) = i.baseline.and_then(|p| p.scan.as_ref()) else {
        return format!(
            "{table} has {} rows (the count's scan is not known)",
            rows(table_rows)
        );
    };
    let mut s = scan_words(before, table_rows);
    if let Some(after) = i
        .after
        .and_then(|p| p.scan.as_ref())
        .filter(|a| *a != before)
    {
        s.push_str(&format!(
            "; with the recommended indexes, {}",
            scan_words(after, table_rows)
        ));
    }
    s
}

fn scan_words(s: &FedScan, table_rows: f64) -> String {
    if s.node == "Seq Scan" {
        format!(
            "a sequential scan reads all {} rows of {} to count about {}",
            rows(table_rows),
            s.table,
            rows(s.rows)
        )
    } else {
        format!(
            "{} of {} counts about {} rows (of {} in the table)",
            s.how(),
            s.table,
            rows(s.rows),
            rows(table_rows)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{plan, tracker, World};
    use super::super::Pattern;
    use crate::whatif::fed_scan::FedScan;
    use crate::whatif::PlanSummary;

    const COUNT: &str = "SELECT COUNT(*) AS \"__count\" FROM \"tracker_issue\" WHERE \"tracker_issue\".\"deleted_at\" IS NULL";
    /// The page the paginator counts for.
    const PAGE: &str = "SELECT \"tracker_issue\".\"id\" FROM \"tracker_issue\" WHERE \"tracker_issue\".\"deleted_at\" IS NULL ORDER BY \"tracker_issue\".\"id\" ASC LIMIT $1 OFFSET $2";

    fn world() -> World {
        World::new(tracker()).with(&[(PAGE, 300, 7500)])
    }

    /// The reviewer's dashboard counts: a filtered count with no list page over the same
    /// filter is a plain count, however large the table.
    #[test]
    fn a_count_without_its_list_page_is_not_a_paginator_count() {
        let alone = World::new(tracker());
        assert_ne!(
            alone.finding(COUNT, 300, 300, 8000.0).map(|f| f.0),
            Some(Pattern::PaginatorCount)
        );
        let other = "SELECT \"tracker_issue\".\"id\" FROM \"tracker_issue\" WHERE \"tracker_issue\".\"deleted_at\" IS NOT NULL ORDER BY \"tracker_issue\".\"id\" ASC LIMIT $1 OFFSET $2";
        let w = World::new(tracker()).with(&[(other, 300, 7500)]);
        assert_ne!(
            w.finding(COUNT, 300, 300, 8000.0).map(|f| f.0),
            Some(Pattern::PaginatorCount)
        );
    }

    #[test]
    fn the_corpus_paginator_count_over_a_large_table_is_found() {
        let w = world();
        let (p, e) = w.finding(COUNT, 300, 300, 8000.0).expect("found");
        assert_eq!(p, Pattern::PaginatorCount);
        assert!(
            e.contains("tracker_issue has 500k rows (the count's scan is not known)"),
            "{e}"
        );
        assert!(e.contains("its list page is queryid 1000"), "{e}");
    }

    #[test]
    fn a_count_an_index_fixes_or_a_small_table_is_not_this_pattern() {
        let w = world();
        let fixed = w.finding_with(COUNT, 300, 300, 8000.0, None, Some((10_000.0, 40.0)), None);
        assert_ne!(fixed.map(|f| f.0), Some(Pattern::PaginatorCount));
        let mut small = tracker();
        for t in &mut small.tables {
            t.rows = t.rows.min(1000.0);
        }
        let f = World::new(small)
            .with(&[(PAGE, 300, 7500)])
            .finding(COUNT, 300, 300, 30.0);
        assert_ne!(f.map(|f| f.0), Some(Pattern::PaginatorCount));
    }

    fn with_scan(node: &str, index: Option<&str>, rows: f64, cost: f64) -> PlanSummary {
        let mut p = plan(&["Aggregate", node], 1.0, cost);
        p.scan = Some(Box::new(FedScan {
            node: node.into(),
            table: "tracker_issue".into(),
            index: index.map(str::to_string),
            rows,
        }));
        p
    }

    /// Review 3 (F7): "paginator count over 502k rows of order_order" for a count that is an
    /// index-only scan of about 6k rows: the evidence says what the count reads (the planner's
    /// rows of its scan), before and with the recommended index, not the table's size alone.
    #[test]
    fn the_evidence_says_what_the_count_reads_not_the_table_size() {
        let w = world();
        let served = with_scan("Index Only Scan", Some("issue_deleted_idx"), 6000.0, 900.0);
        let (p, e) = w
            .finding_after(
                COUNT,
                (300, 300, 8000.0),
                Some(&served),
                Some(&served),
                Some((900.0, 900.0)),
                None,
            )
            .expect("found");
        assert_eq!(p, Pattern::PaginatorCount);
        assert!(
            e.starts_with("paginator count: an index-only scan of tracker_issue counts about 6000 rows (of 500k in the table), 26.7 ms per call;"),
            "{e}"
        );
        assert!(!e.contains("over 500k"), "{e}");
        // A sequential scan reads the whole table; the recommended index cuts less than half.
        let seq = with_scan("Seq Scan", None, 6000.0, 9000.0);
        let (_, e) = w
            .finding_after(
                COUNT,
                (300, 300, 8000.0),
                Some(&seq),
                Some(&served),
                Some((9000.0, 5000.0)),
                None,
            )
            .expect("found");
        assert!(
            e.starts_with("paginator count: a sequential scan reads all 500k rows of tracker_issue to count about 6000; with the recommended indexes, an index-only scan of tracker_issue counts about 6000 rows (of 500k in the table)"),
            "{e}"
        );
    }

    /// A count an existing index already serves (1.1 ms per call) is not a paginator problem,
    /// however large the table.
    #[test]
    fn a_fast_count_is_not_a_paginator_problem() {
        let w = world();
        assert!(w.finding(COUNT, 300, 300, 330.0).is_none());
    }
}
