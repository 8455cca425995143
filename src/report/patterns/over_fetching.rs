//! Over-fetching: a list statement loads every column of many rows, wide `text`/`jsonb`
//! columns included, though a list shows a few.
//!
//! Problem: Django loads every field unless told otherwise; a list of 50 articles with a 5 kB
//! `body` moves 250 kB per request, which no index changes.
//! What we do: a SELECT returning at least [`MIN_ROWS_PER_CALL`] rows per call that reads
//! every column of a table with a column at least [`WIDE_BYTES`] wide on average
//! (`pg_stats.avg_width`).
//! Example: the corpus' `tracker_issue` list (title, body, metadata…) → `.defer("body")`.

use super::util::{rows_per_call, table};
use super::{Context, Hit, PatternInput};
use crate::parse::StatementKind;

/// A list: at least this many rows per call.
pub const MIN_ROWS_PER_CALL: f64 = 10.0;
/// A wide column: at least this many bytes on average.
pub const WIDE_BYTES: i32 = 500;

pub(super) fn detect(i: &PatternInput<'_>, cx: &Context<'_>) -> Hit {
    let shape = i.shape?;
    if shape.kind != StatementKind::Select {
        return None;
    }
    let rpc = rows_per_call(i.statement.rows, i.statement.calls);
    if rpc < MIN_ROWS_PER_CALL {
        return None;
    }
    shape.tables.iter().find_map(|t| {
        let tbl = table(cx.catalog, t)?;
        let all = tbl.columns.iter().all(|c| t.columns_read.contains(&c.name));
        if !all {
            return None;
        }
        let wide: Vec<(&str, i32)> = tbl
            .columns
            .iter()
            .filter_map(|c| {
                let w = c.stats.as_ref()?.avg_width;
                (w >= WIDE_BYTES).then_some((c.name.as_str(), w))
            })
            .collect();
        if wide.is_empty() {
            return None;
        }
        let bytes: i32 = wide.iter().map(|w| w.1).sum();
        Some(format!(
            "{rpc:.0} rows per call of every column of {}, {} ({} B average): ~{:.0} kB per call",
            t.table,
            wide.iter().map(|w| w.0).collect::<Vec<_>>().join(", "),
            bytes,
            rpc * bytes as f64 / 1024.0
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{shop, tracker, World};
    use super::super::Pattern;

    const COMMENTS: &str = "SELECT \"tracker_comments\".\"id\", \"tracker_comments\".\"issue_id\", \"tracker_comments\".\"author_id\", \"tracker_comments\".\"body\", \"tracker_comments\".\"is_internal\", \"tracker_comments\".\"created_at\" FROM \"tracker_comments\" WHERE NOT \"tracker_comments\".\"is_internal\" ORDER BY \"tracker_comments\".\"created_at\" DESC LIMIT $1";

    #[test]
    fn the_corpus_comment_list_with_its_body_is_over_fetching() {
        let w = World::new(tracker());
        let (p, e) = w.finding(COMMENTS, 100, 5000, 300.0).expect("found");
        assert_eq!(p, Pattern::OverFetching);
        assert!(
            e.contains("50 rows per call of every column of tracker_comments, body"),
            "{e}"
        );
    }

    #[test]
    fn narrow_rows_or_single_rows_are_not_over_fetching() {
        let w = World::new(tracker());
        assert_ne!(
            w.finding(COMMENTS, 100, 100, 300.0).map(|f| f.0),
            Some(Pattern::OverFetching)
        );
        let shop = World::new(shop());
        let orders = "SELECT \"shop_order\".\"id\", \"shop_order\".\"customer_id\", \"shop_order\".\"status\", \"shop_order\".\"created_at\", \"shop_order\".\"total\", \"shop_order\".\"deleted_at\" FROM \"shop_order\" WHERE \"shop_order\".\"status\" = $1 ORDER BY \"shop_order\".\"created_at\" ASC LIMIT $2";
        assert_ne!(
            shop.finding(orders, 100, 10_000, 300.0).map(|f| f.0),
            Some(Pattern::OverFetching)
        );
    }
}
