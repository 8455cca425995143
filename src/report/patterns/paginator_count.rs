//! Paginator counts: Django's `Paginator` (and DRF's page-number pagination) runs
//! `SELECT COUNT(*) AS "__count" …` on every page, over the whole filtered table.
//!
//! Problem: no index makes counting half a million rows cheap; the count is often the
//! slowest statement of a list endpoint.
//! What we do: a `COUNT(*) AS "__count"` statement over a table of at least [`MIN_ROWS`] rows
//! whose predicted cost the recommended indexes do not cut by [`INDEX_FIXES`] or more, and
//! that takes at least [`MIN_MEAN_MS`] per call (an existing index already serves a faster
//! one: a filtered count over a few thousand rows is not worth a pagination change).
//! Example: `SELECT COUNT(*) AS "__count" FROM "tracker_issue" WHERE "tracker_issue"."deleted_at"
//! IS NULL` on 500k issues → DRF `CursorPagination` or an estimated count.

use super::util::{largest_rows, per_call, rows, untimed, upper};
use super::{Context, Hit, PatternInput};

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
    let n = largest_rows(cx.catalog, shape);
    if n < MIN_ROWS {
        return None;
    }
    if let Some((b, a)) = i.before_after {
        if b > 0.0 && (b - a) / b >= INDEX_FIXES {
            return None;
        }
    }
    Some(format!(
        "paginator count over {} rows of {}{}",
        rows(n),
        shape
            .tables
            .first()
            .map(|t| t.table.as_str())
            .unwrap_or("?"),
        per_call(i.statement)
    ))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{tracker, World};
    use super::super::Pattern;

    const COUNT: &str = "SELECT COUNT(*) AS \"__count\" FROM \"tracker_issue\" WHERE \"tracker_issue\".\"deleted_at\" IS NULL";

    #[test]
    fn the_corpus_paginator_count_over_a_large_table_is_found() {
        let w = World::new(tracker());
        let (p, e) = w.finding(COUNT, 300, 300, 8000.0).expect("found");
        assert_eq!(p, Pattern::PaginatorCount);
        assert!(e.contains("500k rows of tracker_issue"), "{e}");
    }

    #[test]
    fn a_count_an_index_fixes_or_a_small_table_is_not_this_pattern() {
        let w = World::new(tracker());
        let fixed = w.finding_with(COUNT, 300, 300, 8000.0, None, Some((10_000.0, 40.0)), None);
        assert_ne!(fixed.map(|f| f.0), Some(Pattern::PaginatorCount));
        let mut small = tracker();
        for t in &mut small.tables {
            t.rows = t.rows.min(1000.0);
        }
        let f = World::new(small).finding(COUNT, 300, 300, 30.0);
        assert_ne!(f.map(|f| f.0), Some(Pattern::PaginatorCount));
    }

    /// A count an existing index already serves (1.1 ms per call) is not a paginator problem,
    /// however large the table.
    #[test]
    fn a_fast_count_is_not_a_paginator_problem() {
        let w = World::new(tracker());
        assert!(w.finding(COUNT, 300, 300, 330.0).is_none());
    }
}
