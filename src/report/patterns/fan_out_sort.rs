//! Sort after a fan-out join: `ORDER BY … LIMIT` over a join (or an aggregate of one) that
//! multiplies rows, so the server joins everything and sorts it before it can stop.
//!
//! Problem: "popular tags" (tags joined with every tagged article, counted, sorted by the
//! count) stays slow after every index: the sort key only exists after the join.
//! What we do: a SELECT with ORDER BY and LIMIT over at least two tables whose baseline plan
//! sorts above a join (depth-first, a `Sort` before any join node), costing at least
//! [`MIN_MEAN_MS`] per call, that the recommended indexes do not cut by [`INDEX_FIXES`], and
//! whose join can multiply rows: a join in which every table after the first is joined on a
//! key the catalog proves unique (a ForeignKey followed to its target, many-to-one) cannot,
//! and is left alone.
//! Example: `SELECT "tracker_labels".…, COUNT("tracker_issue_labels"."issue_id") … GROUP BY …
//! ORDER BY …` → a counter kept on the label, or pick the page's ids first.

use super::util::{per_call, untimed};
use super::{Context, Hit, PatternInput};
use crate::parse::StatementKind;

/// Cheaper statements are not worth a query change.
pub const MIN_MEAN_MS: f64 = 1.0;
/// An index that cuts the cost by this share fixes it.
pub const INDEX_FIXES: f64 = 0.5;

const JOINS: [&str; 3] = ["Hash Join", "Nested Loop", "Merge Join"];

pub(super) fn detect(i: &PatternInput<'_>, cx: &Context<'_>) -> Hit {
    let shape = i.shape?;
    let plan = i.baseline?;
    if shape.kind != StatementKind::Select
        || shape.tables.len() < 2
        || shape.limit.is_none()
        || (!untimed(i.statement) && i.statement.mean_time_ms < MIN_MEAN_MS)
    {
        return None;
    }
    if let Some((b, a)) = i.before_after {
        if b > 0.0 && (b - a) / b >= INDEX_FIXES {
            return None;
        }
    }
    let sort = plan
        .node_types
        .iter()
        .position(|n| n == "Sort" || n == "Incremental Sort")?;
    let join = plan
        .node_types
        .iter()
        .position(|n| JOINS.contains(&n.as_str()))?;
    if sort > join {
        return None;
    }
    // Many-to-one only (each later table joined on a proven unique key): no row is multiplied.
    let many_to_one = shape.tables.iter().skip(1).all(|t| {
        let cols: Vec<&str> = t.join_columns.iter().map(String::as_str).collect();
        !cols.is_empty()
            && cx
                .catalog
                .table(&t.schema, &t.table)
                .is_some_and(|tab| crate::whatif::distinct::proven_unique(tab, &cols))
    });
    if many_to_one {
        return None;
    }
    let mut tables: Vec<&str> = shape.tables.iter().map(|t| t.table.as_str()).collect();
    tables.dedup();
    Some(format!(
        "sorted after joining {} ({} plan rows){}",
        tables.join(" × "),
        plan.rows.round(),
        per_call(i.statement)
    ))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{plan, tracker, World};
    use super::super::Pattern;

    const POPULAR_LABELS: &str = "SELECT \"tracker_project\".\"id\", \"tracker_project\".\"name\", COUNT(\"tracker_issue\".\"id\") AS \"n\" FROM \"tracker_project\" LEFT OUTER JOIN \"tracker_issue\" ON (\"tracker_project\".\"id\" = \"tracker_issue\".\"project_id\") WHERE \"tracker_project\".\"deleted_at\" IS NULL GROUP BY \"tracker_project\".\"id\" ORDER BY 3 DESC LIMIT $1";

    #[test]
    fn the_corpus_most_active_projects_sorted_after_the_join_is_found() {
        let w = World::new(tracker());
        let p = plan(
            &[
                "Limit",
                "Sort",
                "HashAggregate",
                "Hash Join",
                "Seq Scan",
                "Hash",
                "Seq Scan",
            ],
            10.0,
            40_000.0,
        );
        let (pat, e) = w
            .finding_with(
                POPULAR_LABELS,
                500,
                5000,
                450_000.0,
                Some(&p),
                Some((40_000.0, 39_000.0)),
                None,
            )
            .expect("found");
        assert_eq!(pat, Pattern::FanOutSort);
        assert!(e.contains("tracker_project × tracker_issue"), "{e}");
    }

    #[test]
    fn an_index_ordered_join_is_not_fan_out_sort() {
        let w = World::new(tracker());
        let p = plan(
            &["Limit", "Nested Loop", "Index Scan", "Index Scan"],
            10.0,
            40.0,
        );
        let f = w.finding_with(
            POPULAR_LABELS,
            500,
            5000,
            4500.0,
            Some(&p),
            Some((40.0, 40.0)),
            None,
        );
        assert_ne!(f.map(|f| f.0), Some(Pattern::FanOutSort));
    }

    /// A ForeignKey followed to its target (many-to-one: each issue has one project) cannot
    /// multiply rows, even when the plan sorts above the join.
    #[test]
    fn a_many_to_one_join_is_not_fan_out() {
        let w = World::new(tracker());
        let p = plan(
            &["Limit", "Sort", "Hash Join", "Seq Scan", "Hash", "Seq Scan"],
            10.0,
            40_000.0,
        );
        let q = "SELECT \"tracker_issue\".\"id\", \"tracker_project\".\"name\" FROM \"tracker_issue\" INNER JOIN \"tracker_project\" ON (\"tracker_issue\".\"project_id\" = \"tracker_project\".\"id\") WHERE \"tracker_issue\".\"title\" = $1 ORDER BY \"tracker_issue\".\"created_at\" DESC LIMIT $2";
        let f = w.finding_with(
            q,
            500,
            5000,
            450_000.0,
            Some(&p),
            Some((40_000.0, 39_000.0)),
            None,
        );
        assert_ne!(f.map(|f| f.0), Some(Pattern::FanOutSort));
    }
}
