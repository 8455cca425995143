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
    let DateRange {
        column,
        zone,
        index,
        ..
    } = date_lookup(&shape.plan_text, shape, cx.catalog)?;
    let helped = i
        .before_after
        .is_some_and(|(b, a)| b > 0.0 && (b - a) / b >= INDEX_FIXES);
    let largest = largest_rows(cx.catalog, shape);
    if helped || largest < MIN_ROWS {
        return None;
    }
    Some(format!(
        "{column}__date compares ({column} AT TIME ZONE {zone})::date over {} rows: no index on {column} serves it; a range on {column} does ({})",
        rows(largest),
        match index {
            Some(ix) => format!("with the existing index {ix}"),
            None => "an index on the column is then a candidate".to_string(),
        }
    ))
}

/// A day holding at most this share of a table's rows is read faster through an index on the
/// column than by scanning the table: up to it the triage says "index serves it as a range",
/// beyond it "no index helps". Measured (docs/postgres-facts.md §16, 300,000 rows): at 5% the
/// range with an index counted 19× faster and fetched the rows 1.9× faster (rows in random
/// order) to 7.3× (rows in time order) than the `__date` scan; at 25% in random order, 1.0×.
pub const RANGE_SERVES_SHARE: f64 = 0.05;

/// A `col__date` lookup and what a range on its column would read: the largest share of the
/// table's rows one day holds (from `pg_stats`), and the existing index led by the column, if
/// any ([`date_lookup`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DateRange {
    /// The column.
    pub column: String,
    /// The time zone: a quoted literal, or `$n` in a pg_stat_statements text.
    pub zone: String,
    /// The largest share of the table's rows within one day (any 24 hours); `None` without
    /// usable statistics (timestamps as PostgreSQL prints them in ISO style).
    pub day_share: Option<f64>,
    /// An existing index whose first key is the column.
    pub index: Option<String>,
}

/// The `col__date` lookup in `text`, on the table of `shape` that has the column; `None` when
/// the text has no such lookup (or no table of the statement has the column).
pub fn date_lookup(
    text: &str,
    shape: &crate::parse::QueryShape,
    catalog: &crate::model::Catalog,
) -> Option<DateRange> {
    let (column, zone) = date_of_column(text)?;
    let table = shape
        .tables
        .iter()
        .filter_map(|t| catalog.table(&t.schema, &t.table))
        .find(|t| t.column(&column).is_some())?;
    let day_share = table
        .column(&column)
        .and_then(|c| c.stats.as_ref())
        .and_then(densest_day_share);
    let index = table
        .indexes
        .iter()
        .find(|i| {
            i.keys
                .first()
                .is_some_and(|k| !k.is_expression && k.expr == column)
        })
        .map(|i| i.name.clone());
    Some(DateRange {
        column,
        zone,
        day_share,
        index,
    })
}

const DAY_S: f64 = 86_400.0;

/// The largest share of the rows within any 24 hours, from the column's histogram (rows spread
/// evenly within each bucket) and its most common values; `None` without a histogram or with
/// values that are not ISO timestamps.
pub fn densest_day_share(stats: &crate::model::ColumnStats) -> Option<f64> {
    let bounds: Vec<f64> = stats
        .histogram_bounds
        .iter()
        .map(|b| seconds(b))
        .collect::<Option<_>>()?;
    if bounds.len() < 2 {
        return None;
    }
    let mcv: Vec<(f64, f64)> = stats
        .most_common_vals
        .iter()
        .zip(&stats.most_common_freqs)
        .map(|(v, f)| seconds(v).map(|s| (s, *f)))
        .collect::<Option<_>>()?;
    let mcv_total: f64 = mcv.iter().map(|(_, f)| f).sum();
    let per_bucket = (1.0 - stats.null_frac - mcv_total).max(0.0) / (bounds.len() - 1) as f64;
    // The best window starts at a bucket's lower bound or at a common value.
    let starts = bounds.iter().copied().chain(mcv.iter().map(|(s, _)| *s));
    let best = starts
        .map(|from| {
            let to = from + DAY_S;
            // Only the buckets from the one holding `from` until `to` overlap the day.
            let first = bounds.partition_point(|&b| b < from).saturating_sub(1);
            let hist: f64 = bounds[first..]
                .windows(2)
                .take_while(|w| w[0] < to)
                .map(|w| {
                    let (a, b) = (w[0], w[1]);
                    let overlap = (b.min(to) - a.max(from)).max(0.0);
                    if b > a {
                        per_bucket * overlap / (b - a)
                    } else if (from..to).contains(&a) {
                        per_bucket
                    } else {
                        0.0
                    }
                })
                .sum();
            let common: f64 = mcv
                .iter()
                .filter(|(s, _)| (from..to).contains(s))
                .map(|(_, f)| f)
                .sum();
            hist + common
        })
        .fold(0.0, f64::max);
    Some(best.min(1.0))
}

/// Seconds since 1970-01-01 of a timestamp as PostgreSQL prints it in ISO style
/// (`2026-03-01 10:00:00+00`, `2026-03-01 10:00:00.5`); the offset is ignored (a day's share
/// moves by at most the hours of one offset).
fn seconds(text: &str) -> Option<f64> {
    let t = text.trim().trim_matches('"');
    let (date, time) = t.split_once(' ').unwrap_or((t, "00:00:00"));
    let mut d = date.split('-');
    let (y, m, day): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let clock = time.split(['+', '-']).next().unwrap_or("00:00:00");
    let mut parts = clock.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let min: f64 = parts.next().unwrap_or("0").parse().ok()?;
    let sec: f64 = parts.next().unwrap_or("0").parse().ok()?;
    Some(days_from_civil(y, m, day) as f64 * DAY_S + h * 3600.0 + min * 60.0 + sec)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (the classic era-based conversion).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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

    /// The share of the densest day, from histograms as ANALYZE writes them: evenly spread
    /// over 208 days (0.5% a day), over 2 days (half a day's worth of buckets each), and with
    /// a common value holding 30% of the rows.
    #[test]
    fn the_densest_day_is_read_from_the_histogram() {
        use super::densest_day_share;
        let hist = |days: f64| -> Vec<String> {
            (0..=100)
                .map(|i| {
                    let s = (days * 86_400.0 * i as f64 / 100.0) as i64;
                    let (d, rest) = (s / 86_400, s % 86_400);
                    // 2026-01-01 + d days, within January..July (no month arithmetic needed
                    // beyond a table of month lengths).
                    let months = [31, 28, 31, 30, 31, 30, 31, 31];
                    let (mut m, mut day) = (0, d);
                    while day >= months[m] {
                        day -= months[m];
                        m += 1;
                    }
                    format!(
                        "2026-{:02}-{:02} {:02}:{:02}:{:02}+00",
                        m + 1,
                        day + 1,
                        rest / 3600,
                        rest % 3600 / 60,
                        rest % 60
                    )
                })
                .collect()
        };
        let stats = |days: f64| crate::model::ColumnStats {
            histogram_bounds: hist(days),
            n_distinct: -1.0,
            ..Default::default()
        };
        let spread = densest_day_share(&stats(208.0)).expect("share");
        assert!((spread - 1.0 / 208.0).abs() < 0.002, "{spread}");
        let two = densest_day_share(&stats(2.0)).expect("share");
        assert!((two - 0.5).abs() < 0.02, "{two}");
        let mut common = stats(208.0);
        common.most_common_vals = vec!["2026-03-01 00:00:00+00".into()];
        common.most_common_freqs = vec![0.3];
        let with_common = densest_day_share(&common).expect("share");
        assert!(
            (with_common - (0.3 + 0.7 / 208.0)).abs() < 0.003,
            "{with_common}"
        );
        // Not timestamps: no share.
        let text = crate::model::ColumnStats {
            histogram_bounds: vec!["a".into(), "b".into()],
            ..Default::default()
        };
        assert_eq!(densest_day_share(&text), None);
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
