//! Rule `equality_then_sort` (and `sort_only`): the top-N shape.
//!
//! Problem: `WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20` with an index on
//! `customer_id` alone finds every row of the customer and sorts them all. What we do: the
//! equality columns, then the ORDER BY columns in the query's directions (NULLS placement kept
//! when it departs from the default), so the index reads the first rows in order. Without
//! equality only under a LIMIT (`sort_only`): a full-table ordered scan rarely beats a sort
//! otherwise.
//! Example: `customer_id = $1 ORDER BY created_at DESC LIMIT 20` →
//! `(customer_id, created_at DESC)`.

use crate::model::{IndexKey, KeyExpr};
use crate::parse::OrderKey;

use super::{Context, Proposal, Rule};

/// `(equality…, order by…)`, when the statement orders by a column of the table.
pub(crate) fn propose(cx: &Context) -> Vec<Proposal> {
    let order: Vec<IndexKey> = cx
        .acc
        .order_by
        .iter()
        .filter(|o| !cx.eq.contains(&o.column) && cx.table.column(&o.column).is_some())
        .map(order_key)
        .collect();
    if order.is_empty() || (cx.eq.is_empty() && cx.shape.limit.is_none()) {
        return vec![];
    }
    let rule = if cx.eq.is_empty() {
        Rule::SortOnly
    } else {
        Rule::EqualityThenSort
    };
    vec![(cx.spec([cx.eq_keys.clone(), order].concat()), rule)]
}

fn order_key(o: &OrderKey) -> IndexKey {
    IndexKey {
        expr: KeyExpr::Column(o.column.clone()),
        desc: o.desc,
        // NULLS LAST is the default for ASC, NULLS FIRST for DESC: only a departure is kept.
        nulls_first: o.nulls_first.filter(|nf| *nf != o.desc),
        opclass: None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn equality_then_order_in_the_query_direction() {
        let text = r#"SELECT "shop_order"."id" FROM "shop_order" WHERE "shop_order"."customer_id" = $1 ORDER BY "shop_order"."created_at" DESC LIMIT $2"#;
        on(text, "shop_order", |cx| {
            assert_eq!(
                labels(&propose(cx)),
                expect(&[(
                    "shop_order(customer_id, created_at DESC)",
                    Rule::EqualityThenSort
                )])
            );
        });
    }

    #[test]
    fn order_alone_only_under_a_limit() {
        let limited = r#"SELECT "shop_customer"."id" FROM "shop_customer" ORDER BY "shop_customer"."created_at" DESC LIMIT $1"#;
        on(limited, "shop_customer", |cx| {
            assert_eq!(
                labels(&propose(cx)),
                expect(&[("shop_customer(created_at DESC)", Rule::SortOnly)])
            );
        });
        let all = r#"SELECT "shop_customer"."id" FROM "shop_customer" ORDER BY "shop_customer"."created_at" DESC"#;
        on(all, "shop_customer", |cx| assert!(propose(cx).is_empty()));
    }

    #[test]
    fn a_departing_nulls_placement_is_kept() {
        let text = r#"SELECT "shop_customer"."id" FROM "shop_customer" ORDER BY "shop_customer"."deleted_at" DESC NULLS LAST LIMIT $1"#;
        on(text, "shop_customer", |cx| {
            let p = propose(cx);
            assert_eq!(p.len(), 1, "{p:#?}");
            assert_eq!(p[0].0.keys[0].nulls_first, Some(false));
            assert!(p[0].0.keys[0].desc);
        });
    }
}
