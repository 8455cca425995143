//! Rule `covering`: INCLUDE the few narrow columns a SELECT also reads.
//!
//! Problem: `values_list("id")` with a filter reads the index, then the heap for one more
//! column. With the column in the index (`INCLUDE`) and a mostly all-visible heap, an
//! index-only scan skips the heap. What we do: for a SELECT on a table whose heap is at least
//! [`COVERING_MIN_ALL_VISIBLE`] all-visible, the widest base proposal (first among equals) with
//! the other columns the statement reads INCLUDEd, when they are at most
//! [`COVERING_MAX_COLUMNS`], each at most [`COVERING_MAX_WIDTH`] bytes wide, and the keys are
//! not an `upper()` expression (the column itself is read, not the expression).
//! Example: `SELECT id … WHERE customer_id = $1 AND status IN (…)` →
//! `(customer_id, status) INCLUDE (id)`.

use crate::model::{Column, KeyExpr};
use crate::parse::StatementKind;

use super::{Context, Proposal, Rule};

/// Index-only scans pay when at least this share of the heap is all-visible.
pub const COVERING_MIN_ALL_VISIBLE: f64 = 0.8;
/// At most this many INCLUDE columns, each at most [`COVERING_MAX_WIDTH`] bytes wide.
pub const COVERING_MAX_COLUMNS: usize = 3;
/// See [`COVERING_MAX_COLUMNS`].
pub const COVERING_MAX_WIDTH: i32 = 16;

/// The covering variant of the widest of `base` (the base rules' proposals), if it pays.
pub(crate) fn propose(cx: &Context, base: &[Proposal]) -> Vec<Proposal> {
    if cx.shape.kind != StatementKind::Select
        || cx.table.all_visible_frac < COVERING_MIN_ALL_VISIBLE
    {
        return vec![];
    }
    let widest = base.iter().fold(None::<&Proposal>, |best, p| match best {
        Some(b) if b.0.keys.len() >= p.0.keys.len() => Some(b),
        _ => Some(p),
    });
    let Some((s, _)) = widest else {
        return vec![];
    };
    let keyed: Vec<&str> = s.keys.iter().map(|k| k.expr.column()).collect();
    let extra: Vec<&Column> = cx
        .acc
        .columns_read
        .iter()
        .filter(|c| !keyed.contains(&c.as_str()))
        .filter_map(|c| cx.table.column(c))
        .collect();
    let upper_only = s.keys.iter().any(|k| matches!(k.expr, KeyExpr::Upper(_)));
    if extra.is_empty()
        || extra.len() > COVERING_MAX_COLUMNS
        || !extra.iter().all(|c| narrow(c))
        || upper_only
    {
        return vec![];
    }
    let mut v = s.clone();
    v.include = extra.iter().map(|c| c.name.clone()).collect();
    v.include.sort();
    vec![(v, Rule::Covering)]
}

/// At most [`COVERING_MAX_WIDTH`] bytes on average (pg_stats), or a fixed-width type when
/// there are no statistics.
fn narrow(c: &Column) -> bool {
    match &c.stats {
        Some(s) => s.avg_width <= COVERING_MAX_WIDTH,
        None => {
            matches!(
                c.type_name.as_str(),
                "bigint"
                    | "integer"
                    | "smallint"
                    | "boolean"
                    | "date"
                    | "real"
                    | "double precision"
            ) || c.type_name.starts_with("timestamp")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn values_list_gets_the_column_included() {
        let text = r#"SELECT "shop_order"."id" FROM "shop_order" WHERE ("shop_order"."customer_id" = $1 AND "shop_order"."status" IN ($2, $3))"#;
        on(text, "shop_order", |cx| {
            assert_eq!(
                labels(&propose(cx, &base(cx))),
                expect(&[(
                    "shop_order(customer_id, status) INCLUDE (id)",
                    Rule::Covering
                )])
            );
        });
    }

    #[test]
    fn wide_reads_are_not_covered() {
        let text = r#"SELECT "shop_order"."id", "shop_order"."customer_id", "shop_order"."status", "shop_order"."created_at", "shop_order"."total", "shop_order"."deleted_at" FROM "shop_order" WHERE ("shop_order"."customer_id" = $1 AND "shop_order"."status" = $2)"#;
        on(text, "shop_order", |cx| {
            assert!(propose(cx, &base(cx)).is_empty());
        });
    }

    #[test]
    fn only_selects_are_covered() {
        let text = r#"UPDATE "shop_order" SET "total" = $1 WHERE "shop_order"."customer_id" = $2"#;
        on(text, "shop_order", |cx| {
            assert!(!base(cx).is_empty());
            assert!(propose(cx, &base(cx)).is_empty());
        });
    }
}
