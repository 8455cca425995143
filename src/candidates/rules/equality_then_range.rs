//! Rule `equality_then_range`: the equality columns, then one range column.
//!
//! Problem: `WHERE customer_id = $1 AND created_at >= $2` reads every row of the customer
//! through an index on the equality alone. What we do: the equality columns, then one range
//! column (a B-tree serves one range at the end of its keys); at most two range columns, one
//! proposal each.
//! Example: `customer_id = $1 AND created_at >= $2` → `(customer_id, created_at)`.

use crate::model::IndexKey;

use super::{Context, Proposal, Rule};

/// `(equality…, range)` for each of the first two range columns.
pub(crate) fn propose(cx: &Context) -> Vec<Proposal> {
    cx.acc
        .ranges
        .iter()
        .filter(|r| !cx.eq.contains(r))
        .take(2)
        .map(|r| {
            let mut keys = cx.eq_keys.clone();
            keys.push(IndexKey::col(r));
            (cx.spec(keys), Rule::EqualityThenRange)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn equality_then_each_range_column() {
        let text = r#"SELECT "shop_order"."id" FROM "shop_order" WHERE ("shop_order"."customer_id" = $1 AND "shop_order"."created_at" >= $2 AND "shop_order"."total" > $3)"#;
        on(text, "shop_order", |cx| {
            assert_eq!(
                labels(&propose(cx)),
                expect(&[
                    (
                        "shop_order(customer_id, created_at)",
                        Rule::EqualityThenRange
                    ),
                    ("shop_order(customer_id, total)", Rule::EqualityThenRange),
                ])
            );
        });
    }

    #[test]
    fn a_range_alone_is_a_single_column() {
        let text =
            r#"SELECT "shop_order"."id" FROM "shop_order" WHERE "shop_order"."created_at" >= $1"#;
        on(text, "shop_order", |cx| {
            assert_eq!(
                labels(&propose(cx)),
                expect(&[("shop_order(created_at)", Rule::EqualityThenRange)])
            );
        });
    }
}
