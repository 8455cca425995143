//! Deep `OFFSET`: page-number pagination makes the server read and throw away every row
//! before the page.
//!
//! Problem: `LIMIT 50 OFFSET 100000` costs as much as reading 100,050 rows; no index helps
//! past the first pages.
//! What we do: a SELECT with `ORDER BY`, `LIMIT` and `OFFSET` over a table of at least
//! [`MIN_ROWS`] rows, costing at least [`MIN_MEAN_MS`] per call. pg_stat_statements keeps no OFFSET value, so the evidence says how deep
//! pages can go (the table's size), not how deep they went.
//! Example: `… ORDER BY "tracker_issue"."created_at" DESC LIMIT $2 OFFSET $3` → keyset
//! pagination (DRF `CursorPagination`).

use super::util::{largest_rows, per_call, rows, untimed};
use super::{Context, Hit, PatternInput};
use crate::parse::StatementKind;

/// Tables smaller than this make deep pages cheap anyway.
pub const MIN_ROWS: f64 = 50_000.0;
/// Pages cheaper than this are not worth a pagination change.
pub const MIN_MEAN_MS: f64 = 5.0;

pub(super) fn detect(i: &PatternInput<'_>, cx: &Context<'_>) -> Hit {
    let shape = i.shape?;
    if shape.kind != StatementKind::Select
        || !shape.offset
        || shape.limit.is_none()
        || (!untimed(i.statement) && i.statement.mean_time_ms < MIN_MEAN_MS)
    {
        return None;
    }
    let n = largest_rows(cx.catalog, shape);
    if n < MIN_ROWS {
        return None;
    }
    Some(format!(
        "LIMIT … OFFSET paging over {} rows of {}{}",
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

    #[test]
    fn the_corpus_offset_page_over_issues_is_found() {
        let w = World::new(tracker());
        let q = "SELECT \"tracker_issue\".\"id\", \"tracker_issue\".\"title\" FROM \"tracker_issue\" WHERE (\"tracker_issue\".\"deleted_at\" IS NULL AND \"tracker_issue\".\"status\" = $1) ORDER BY \"tracker_issue\".\"created_at\" DESC, \"tracker_issue\".\"id\" DESC LIMIT $2 OFFSET $3";
        let (p, e) = w.finding(q, 40, 2000, 900.0).expect("found");
        assert_eq!(p, Pattern::DeepOffset);
        assert!(e.contains("500k rows of tracker_issue"), "{e}");
    }

    #[test]
    fn a_limit_without_offset_is_not_deep_offset() {
        let w = World::new(tracker());
        let q = "SELECT \"tracker_issue\".\"id\" FROM \"tracker_issue\" WHERE \"tracker_issue\".\"deleted_at\" IS NULL ORDER BY \"tracker_issue\".\"id\" ASC LIMIT $1";
        assert_ne!(
            w.finding(q, 40, 2000, 900.0).map(|f| f.0),
            Some(Pattern::DeepOffset)
        );
    }

    #[test]
    fn explain_without_timings_still_flags_a_deep_offset() {
        let w = World::new(tracker());
        let q = "SELECT \"tracker_issue\".\"id\" FROM \"tracker_issue\" ORDER BY \"tracker_issue\".\"id\" DESC LIMIT $1 OFFSET $2";
        let (p, e) = w.finding(q, 0, 0, 0.0).expect("found");
        assert_eq!(p, Pattern::DeepOffset);
        assert!(!e.contains("ms per call"), "no invented timing: {e}");
    }
}
