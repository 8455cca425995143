//! Rule `join_inner`: the inner side of a join.
//!
//! Problem: a nested loop (or a semi-join from `filter(pk__in=Subquery(…))`) looks up the
//! inner table once per outer row, by the join column. What we do: the join column first, then
//! the local equality columns; nothing after a join column that is unique on its own (it
//! identifies the row).
//! Example: `product_id IN (SELECT U0."product_id" FROM "shop_orderitem" U0 WHERE
//! U0."quantity" = $1)` → `shop_orderitem(product_id, quantity)`.

use crate::model::IndexKey;

use super::equality::unique_alone;
use super::{Context, Proposal, Rule};

/// `(join column, equality…)` for each join column that is not an equality column.
pub(crate) fn propose(cx: &Context) -> Vec<Proposal> {
    cx.acc
        .join_columns
        .iter()
        .filter(|j| !cx.eq.contains(j))
        .map(|j| {
            let mut keys = vec![IndexKey::col(j)];
            if !unique_alone(cx.table, j) {
                keys.extend(cx.eq_keys.iter().cloned());
            }
            (cx.spec(keys), Rule::JoinInner)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn join_column_then_local_equality() {
        let text = r#"SELECT "shop_product"."id" FROM "shop_product" WHERE "shop_product"."id" IN (SELECT U0."product_id" FROM "shop_orderitem" U0 WHERE U0."quantity" = $1)"#;
        on(text, "shop_orderitem", |cx| {
            assert_eq!(
                labels(&propose(cx)),
                expect(&[("shop_orderitem(product_id, quantity)", Rule::JoinInner)])
            );
        });
    }

    #[test]
    fn nothing_after_a_unique_join_column() {
        let text = r#"SELECT "shop_orderitem"."id" FROM "shop_orderitem" INNER JOIN "shop_product" ON ("shop_orderitem"."product_id" = "shop_product"."id") WHERE ("shop_orderitem"."order_id" = $1 AND "shop_product"."is_active" = $2)"#;
        on(text, "shop_product", |cx| {
            assert_eq!(
                labels(&propose(cx)),
                expect(&[("shop_product(id)", Rule::JoinInner)])
            );
        });
    }
}
