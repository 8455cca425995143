//! Contains search: `icontains`/`contains` compile to `LIKE '%…%'` (`UPPER(col::text) LIKE
//! UPPER($1)`), which no B-tree can serve.
//!
//! Problem: pg_stat_statements hides the pattern, so `icontains` and `istartswith` read the
//! same; a prefix search is served by a `text_pattern_ops`/`Upper()` B-tree (simulated half
//! as a prefix and half as a contains pattern, see `whatif::params`), a contains search is not.
//! What we do: a SELECT with a `LIKE` on a table of at least [`MIN_ROWS`] rows whose pattern
//! starts with `%` when we can see it; when it is a parameter, the finding says that it depends
//! on the values sent (and, when no simulated B-tree cut the cost by [`INDEX_FIXES`], that none
//! served it).
//! Example: `WHERE UPPER("tracker_issue"."title"::text) LIKE UPPER($1)` on 500k issues, no
//! index helps → trigram GIN (`GinIndex(OpClass(Upper("title"), name="gin_trgm_ops"))`).

use super::util::{largest_rows, rows};
use super::{Context, Hit, PatternInput};
use crate::parse::StatementKind;

/// Tables smaller than this are scanned fast enough.
pub const MIN_ROWS: f64 = 20_000.0;
/// A simulated B-tree that cuts the cost by this share means it was a prefix search.
pub const INDEX_FIXES: f64 = 0.5;

pub(super) fn detect(i: &PatternInput<'_>, cx: &Context<'_>) -> Hit {
    let shape = i.shape?;
    if shape.kind != StatementKind::Select {
        return None;
    }
    let (t, like) = shape
        .tables
        .iter()
        .flat_map(|t| t.likes.iter().map(move |l| (t, l)))
        .find(|(_, l)| !l.prefix)?;
    if largest_rows(cx.catalog, shape) < MIN_ROWS {
        return None;
    }
    let helped = i
        .before_after
        .is_some_and(|(b, a)| b > 0.0 && (b - a) / b >= INDEX_FIXES);
    // Observed patterns tell prefix from contains searches.
    let observed = match i.like_values {
        // Only prefix patterns were sent: a B-tree serves them, not this finding.
        Some((0, _)) if !like.leading_wildcard => return None,
        Some((contains, prefix)) => Some(format!(
            ": {:.0}% of the {} observed patterns start with % (icontains/contains)",
            100.0 * contains as f64 / (contains + prefix) as f64,
            contains + prefix
        )),
        None => None,
    };
    let rows_of = cx
        .catalog
        .table(&t.schema, &t.table)
        .map(|t| rows(t.rows))
        .unwrap_or_else(|| "?".into());
    Some(format!(
        "{}LIKE on {}.{} over {rows_of} rows{}",
        if like.upper || like.ilike {
            "case-insensitive "
        } else {
            ""
        },
        t.table,
        like.column,
        if like.leading_wildcard {
            ": the pattern starts with %".to_string()
        } else if let Some(o) = observed {
            o
        } else if helped {
            ": the pattern is a parameter, not observed — a prefix ('abc%', istartswith) can use a B-tree, a contains pattern ('%abc%', icontains) none; observe the values (--window) to tell".to_string()
        } else {
            ": the pattern is a parameter and no simulated B-tree helped (icontains/contains)"
                .to_string()
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{tracker, World};
    use super::super::Pattern;

    const ICONTAINS: &str = "SELECT \"tracker_issue\".\"id\", \"tracker_issue\".\"title\" FROM \"tracker_issue\" WHERE (\"tracker_issue\".\"deleted_at\" IS NULL AND UPPER(\"tracker_issue\".\"title\"::text) LIKE UPPER($1)) LIMIT $2";

    #[test]
    fn the_corpus_icontains_no_btree_helps_is_found() {
        let w = World::new(tracker());
        let (p, e) = w
            .finding_with(
                ICONTAINS,
                200,
                4000,
                9000.0,
                None,
                Some((12_000.0, 11_900.0)),
                None,
            )
            .expect("found");
        assert_eq!(p, Pattern::ContainsSearch);
        assert!(
            e.contains("case-insensitive LIKE on tracker_issue.title over 500k rows"),
            "{e}"
        );
    }

    #[test]
    fn a_parameter_a_btree_half_serves_says_it_depends_on_the_values() {
        let w = World::new(tracker());
        let (p, e) = w
            .finding_with(
                ICONTAINS,
                200,
                4000,
                9000.0,
                None,
                Some((12_000.0, 6_000.0)),
                None,
            )
            .expect("found");
        assert_eq!(p, Pattern::ContainsSearch);
        assert!(e.contains("observe the values (--window) to tell"), "{e}");
    }

    /// Observed values decide: contains patterns make the finding say so; prefix patterns
    /// only are no contains search at all.
    #[test]
    fn observed_patterns_tell_contains_from_prefix() {
        use crate::parse::parse_statement;
        let catalog = tracker();
        let mut st = crate::model::Statement::once(1, ICONTAINS);
        st.calls = 200;
        st.total_time_ms = 9000.0;
        st.mean_time_ms = 45.0;
        let shape = parse_statement(&st, &catalog).expect("parses");
        let cx = super::super::Context {
            catalog: &catalog,
            median_calls: 10.0,
            per_call_overhead_ms: 0.0,
            siblings: &super::super::Siblings::default(),
        };
        let input = |likes| super::super::PatternInput {
            statement: &st,
            shape: Some(&shape),
            baseline: None,
            after: None,
            before_after: Some((12_000.0, 6_000.0)),
            writes_per_s: None,
            top_values: None,
            like_values: likes,
        };
        let e = super::detect(&input(Some((90, 10))), &cx).expect("contains");
        assert!(
            e.contains("90% of the 100 observed patterns start with %"),
            "{e}"
        );
        assert!(!e.contains("served by"), "{e}");
        assert!(super::detect(&input(Some((0, 50))), &cx).is_none());
        let e = super::detect(&input(None), &cx).expect("unobserved");
        assert!(e.contains("observe the values"), "{e}");
    }

    #[test]
    fn a_visible_prefix_is_not_contains_search() {
        let w = World::new(tracker());
        let q = "SELECT \"tracker_issue\".\"id\" FROM \"tracker_issue\" WHERE UPPER(\"tracker_issue\".\"title\"::text) LIKE UPPER('abc%') LIMIT $1";
        let f = w.finding_with(q, 200, 4000, 9000.0, None, Some((12_000.0, 30.0)), None);
        assert_ne!(f.map(|f| f.0), Some(Pattern::ContainsSearch));
    }
}
