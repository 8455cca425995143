//! Cache candidates: hot, identical, read-mostly statements.
//!
//! Problem: the same answer computed thousands of times (a menu, a count on the home page,
//! "active categories") is cheapest not computed at all.
//! What we do: a SELECT called at least [`MIN_CALLS`] times and [`CALLS_VS_MEDIAN`]× the
//! median, that asks the same question every time — its parameters can only be LIMIT/OFFSET,
//! or at least [`SAME_VALUES_SHARE`] of at least [`MIN_SAMPLES`] observed executions sent the
//! same values — on tables written less than [`MAX_WRITES_PER_S`] rows per second (known write rates only:
//! with no write statistics we do not call anything cacheable).
//! Example: `SELECT COUNT(*) AS "__count" FROM "auth_user" WHERE "auth_user"."is_active"`
//! 10,000 times an hour → `cache.get_or_set`.

use super::{Context, Hit, PatternInput};
use crate::parse::{ParamOp, StatementKind};

/// At least this many calls…
pub const MIN_CALLS: i64 = 1000;
/// …and this multiple of the median call count…
pub const CALLS_VS_MEDIAN: f64 = 5.0;
/// …on tables written this little.
pub const MAX_WRITES_PER_S: f64 = 1.0;
/// Observed values: this share of the samples showed one value tuple…
pub const SAME_VALUES_SHARE: f64 = 0.9;
/// …out of at least this many samples.
pub const MIN_SAMPLES: u64 = 10;

pub(super) fn detect(i: &PatternInput<'_>, cx: &Context<'_>) -> Hit {
    let shape = i.shape?;
    let st = i.statement;
    if shape.kind != StatementKind::Select
        || st.calls < MIN_CALLS
        || (st.calls as f64) < CALLS_VS_MEDIAN * cx.median_calls
    {
        return None;
    }
    let no_values = shape
        .params
        .iter()
        .all(|p| matches!(p.op, ParamOp::Limit | ParamOp::Offset));
    let same_values = i
        .top_values
        .filter(|(share, n)| *share >= SAME_VALUES_SHARE && *n >= MIN_SAMPLES);
    if !no_values && same_values.is_none() {
        return None;
    }
    let writes = i.writes_per_s?;
    if writes >= MAX_WRITES_PER_S {
        return None;
    }
    Some(format!(
        "{} calls of the same question{} ({:.1} ms each) on tables written {writes:.2} rows/s",
        st.calls,
        match same_values {
            Some((share, n)) if !no_values => format!(
                " (the same values in {:.0}% of {n} observed executions)",
                100.0 * share
            ),
            _ => String::new(),
        },
        st.mean_time_ms
    ))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{tracker, World};
    use super::super::Pattern;

    const COUNT_INTERNAL: &str = "SELECT COUNT(\"tracker_comments\".\"id\") AS \"n\" FROM \"tracker_comments\" WHERE \"tracker_comments\".\"is_internal\"";

    #[test]
    fn the_same_count_asked_thousands_of_times_on_a_quiet_table_is_cacheable() {
        let w = World::new(tracker());
        let (p, e) = w
            .finding_with(
                COUNT_INTERNAL,
                12_000,
                12_000,
                36_000.0,
                None,
                None,
                Some(0.05),
            )
            .expect("found");
        assert_eq!(p, Pattern::Cacheable);
        assert!(e.contains("12000 calls of the same question"), "{e}");
    }

    #[test]
    fn unknown_or_busy_writes_or_varying_parameters_are_not_cacheable() {
        let w = World::new(tracker());
        let busy = w.finding_with(
            COUNT_INTERNAL,
            12_000,
            12_000,
            36_000.0,
            None,
            None,
            Some(50.0),
        );
        assert_ne!(busy.map(|f| f.0), Some(Pattern::Cacheable));
        let unknown = w.finding_with(COUNT_INTERNAL, 12_000, 12_000, 36_000.0, None, None, None);
        assert_ne!(unknown.map(|f| f.0), Some(Pattern::Cacheable));
        let varying = "SELECT COUNT(*) AS \"__count\" FROM \"tracker_issue\" WHERE (\"tracker_issue\".\"deleted_at\" IS NULL AND \"tracker_issue\".\"status\" = $1)";
        let v = w.finding_with(varying, 12_000, 12_000, 36_000.0, None, None, Some(0.05));
        assert_ne!(v.map(|f| f.0), Some(Pattern::Cacheable));
    }

    #[test]
    fn the_same_observed_values_every_time_make_a_parameterised_statement_cacheable() {
        let catalog = tracker();
        let q = "SELECT COUNT(*) AS \"__count\" FROM \"tracker_issue\" WHERE (\"tracker_issue\".\"deleted_at\" IS NULL AND \"tracker_issue\".\"status\" = $1)";
        let st = super::super::fixtures::statement(q, 12_000, 12_000, 36_000.0);
        let shape = crate::parse::parse_statement(&st, &catalog).expect("parses");
        let cx = super::super::Context {
            catalog: &catalog,
            median_calls: 10.0,
            per_call_overhead_ms: 0.2,
            siblings: &super::super::Siblings::default(),
        };
        let input = |top| super::super::PatternInput {
            statement: &st,
            shape: Some(&shape),
            baseline: None,
            after: None,
            before_after: None,
            writes_per_s: Some(0.05),
            top_values: top,
            like_values: None,
        };
        let e = super::detect(&input(Some((0.97, 212))), &cx).expect("cacheable");
        assert!(
            e.contains("the same values in 97% of 212 observed executions"),
            "{e}"
        );
        assert!(super::detect(&input(Some((0.5, 212))), &cx).is_none());
        assert!(super::detect(&input(Some((1.0, 3))), &cx).is_none());
        assert!(super::detect(&input(None), &cx).is_none());
    }
}
