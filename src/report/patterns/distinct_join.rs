//! `DISTINCT` over a join: filtering through a multi-valued relation (`filter(labels__name__in
//! =…)`) duplicates rows, and `.distinct()` then sorts or hashes them all away.
//!
//! What we do: a `SELECT DISTINCT` over at least two tables, on a table of at least
//! [`MIN_ROWS`] rows. Example: the corpus' issues with one of two labels → `Exists()`.

use super::util::{largest_rows, per_call, rows, upper};
use super::{Context, Hit, PatternInput};

/// Small tables deduplicate fast enough.
pub const MIN_ROWS: f64 = 20_000.0;

pub(super) fn detect(i: &PatternInput<'_>, cx: &Context<'_>) -> Hit {
    let shape = i.shape?;
    if !upper(&i.statement.query).starts_with("SELECT DISTINCT") || shape.tables.len() < 2 {
        return None;
    }
    let n = largest_rows(cx.catalog, shape);
    if n < MIN_ROWS {
        return None;
    }
    let mut tables: Vec<&str> = shape.tables.iter().map(|t| t.table.as_str()).collect();
    tables.dedup();
    Some(format!(
        "DISTINCT over {} (up to {} rows){}",
        tables.join(" ⋈ "),
        rows(n),
        per_call(i.statement)
    ))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{tracker, World};
    use super::super::Pattern;

    #[test]
    fn the_corpus_issues_with_labels_distinct_is_found() {
        let q = "SELECT DISTINCT \"tracker_issue\".\"id\", \"tracker_issue\".\"title\" FROM \"tracker_issue\" INNER JOIN \"tracker_issue_labels\" ON (\"tracker_issue\".\"id\" = \"tracker_issue_labels\".\"issue_id\") WHERE (\"tracker_issue\".\"deleted_at\" IS NULL AND \"tracker_issue_labels\".\"label_id\" IN ($1, $2))";
        let (p, e) = World::new(tracker())
            .finding(q, 50, 500, 400.0)
            .expect("found");
        assert_eq!(p, Pattern::DistinctJoin);
        assert!(e.contains("tracker_issue ⋈ tracker_issue_labels"), "{e}");
    }

    #[test]
    fn distinct_on_one_table_is_not_this_pattern() {
        let q = "SELECT DISTINCT \"tracker_comments\".\"author_id\" AS \"author_id\" FROM \"tracker_comments\"";
        let f = World::new(tracker()).finding(q, 50, 500, 400.0);
        assert_ne!(f.map(|f| f.0), Some(Pattern::DistinctJoin));
    }
}
