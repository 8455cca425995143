//! Date lookup: Django's `created__date=d` compiles to `("t"."created" AT TIME ZONE 'UTC')::date
//! = d`, which no index on `created` serves.
//!
//! Problem: the comparison is on an expression of the column, so the planner cannot use an
//! index on the column for it and scans the table (measured on a 300k-row ticket table: a
//! sequential scan per call, or an index-only scan reading the whole index through a filter
//! when the statement only counts); idxadvise generates no B-tree candidate for such an expression,
//! so `explain` had nothing to simulate. What we do: a SELECT (a list or a `.count()`) on a
//! table of at least [`MIN_ROWS`] rows that compares `(col AT TIME ZONE zone)::date` (the zone
//! a literal or, in a pg_stat_statements text, a parameter) and that no simulated index
//! cut by half gets the rewrite as a range on the column (`created__gte`/`created__lt`, which
//! the column's index serves, and an index on it is a candidate), or an expression index.
//! Example: `Ticket.objects.filter(created__date=day)` → `filter(created__gte=start,
//! created__lt=start + timedelta(days=1))` with `start` the day's midnight in that zone.

use super::util::{largest_rows, rows};
use super::{Context, Hit, PatternInput};
use crate::parse::StatementKind;

/// Tables smaller than this are scanned fast enough.
pub const MIN_ROWS: f64 = 20_000.0;
/// A simulated index cutting the cost by this share already serves the statement.
pub const INDEX_FIXES: f64 = 0.5;

pub(super) fn detect(i: &PatternInput<'_>, cx: &Context<'_>) -> Hit {
    let shape = i.shape?;
    if shape.kind != StatementKind::Select {
        return None;
    }
    let (column, zone) = date_of_column(&shape.plan_text)?;
    let helped = i
        .before_after
        .is_some_and(|(b, a)| b > 0.0 && (b - a) / b >= INDEX_FIXES);
    let largest = largest_rows(cx.catalog, shape);
    if helped || largest < MIN_ROWS {
        return None;
    }
    Some(format!(
        "{column}__date compares ({column} AT TIME ZONE {zone})::date over {} rows: no index on {column} serves it; a range on {column} does (an index on the column is then a candidate)",
        rows(largest)
    ))
}

/// The column and time zone (quoted literal, or `$n`) of the first `(<col> AT TIME ZONE
/// '<zone>')::date` in `text`.
pub fn date_of_column(text: &str) -> Option<(String, String)> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(p) = lower[from..].find(" at time zone ") {
        let at = from + p;
        from = at + 1;
        let before = &text[..at];
        let Some(open) = before.rfind('(') else {
            continue;
        };
        let colref = before[open + 1..].trim();
        let column = colref
            .rsplit('.')
            .next()
            .map(|c| c.trim_matches('"').to_string())
            .filter(|c| !c.is_empty() && !c.contains(['(', ')', ' ', '\'']))?;
        let after = text[at + " at time zone ".len()..].trim_start();
        // The zone: a literal, or a parameter in a pg_stat_statements text (`AT TIME ZONE $1`).
        let (zone, tail) = if let Some(rest) = after.strip_prefix('\'') {
            let Some(end) = rest.find('\'') else {
                continue;
            };
            (format!("'{}'", &rest[..end]), &rest[end + 1..])
        } else if let Some(rest) = after.strip_prefix('$') {
            let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                continue;
            }
            (format!("${}", &rest[..digits]), &rest[digits..])
        } else {
            continue;
        };
        let tail = tail.trim_start();
        let Some(tail) = tail.strip_prefix(')') else {
            continue;
        };
        if tail.trim_start().to_ascii_lowercase().starts_with("::date") {
            return Some((column, zone));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{tracker, World};
    use super::super::Pattern;
    use super::date_of_column;

    const DATE: &str = "SELECT \"tracker_issue\".\"id\" FROM \"tracker_issue\" WHERE (\"tracker_issue\".\"created_at\" AT TIME ZONE 'UTC')::date = $1 ORDER BY \"tracker_issue\".\"id\" ASC";

    #[test]
    fn django_date_lookups_are_read() {
        assert_eq!(
            date_of_column(DATE),
            Some(("created_at".into(), "'UTC'".into()))
        );
        assert_eq!(
            date_of_column("SELECT 1 FROM t WHERE (t.ts AT TIME ZONE 'Europe/Paris')::date = '2026-11-01'::date"),
            Some(("ts".into(), "'Europe/Paris'".into()))
        );
        // pg_stat_statements replaces the zone with a parameter.
        assert_eq!(
            date_of_column("SELECT COUNT(*) AS \"__count\" FROM \"order_order\" WHERE (\"order_order\".\"date_placed\" AT TIME ZONE $1)::date = $2::date"),
            Some(("date_placed".into(), "$1".into()))
        );
        assert_eq!(
            date_of_column("SELECT (ts AT TIME ZONE 'UTC')::timestamp FROM t"),
            None
        );
    }

    #[test]
    fn a_date_lookup_no_index_serves_gets_the_range_rewrite() {
        let w = World::new(tracker());
        let (p, e) = w
            .finding_with(
                DATE,
                50,
                100,
                9000.0,
                None,
                Some((12_000.0, 12_000.0)),
                None,
            )
            .expect("found");
        assert_eq!(p, Pattern::DateLookup);
        assert!(e.contains("created_at__date"), "{e}");
        assert!(Pattern::DateLookup.example().contains("__lt="));
    }
}
