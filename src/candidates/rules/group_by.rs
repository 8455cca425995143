//! Rule `group_by`: sorted input for a GroupAggregate.
//!
//! Problem: `values("status").annotate(n=Count("id"))` groups the rows; with the rows read in
//! group order the planner can aggregate without a sort or a hash table. What we do: the
//! equality columns, then the grouped columns of the table.
//! Example: `WHERE customer_id = $1 GROUP BY status` → `(customer_id, status)`.

use super::{cols, Context, Proposal, Rule};

/// `(equality…, grouped…)` when the statement groups by columns of the table.
pub(crate) fn propose(cx: &Context) -> Vec<Proposal> {
    let group: Vec<String> = cx
        .acc
        .group_by
        .iter()
        .filter(|g| !cx.eq.contains(g))
        .cloned()
        .collect();
    if group.is_empty() {
        return vec![];
    }
    vec![(
        cx.spec([cx.eq_keys.clone(), cols(&group)].concat()),
        Rule::GroupBy,
    )]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn equality_then_the_grouped_columns() {
        let text = r#"SELECT "shop_order"."status", COUNT("shop_order"."id") AS "n" FROM "shop_order" WHERE "shop_order"."customer_id" = $1 GROUP BY "shop_order"."status""#;
        on(text, "shop_order", |cx| {
            assert_eq!(
                labels(&propose(cx)),
                expect(&[("shop_order(customer_id, status)", Rule::GroupBy)])
            );
        });
    }

    #[test]
    fn no_group_by_no_proposal() {
        let text = r#"SELECT COUNT(*) FROM "shop_order" WHERE "shop_order"."customer_id" = $1"#;
        on(text, "shop_order", |cx| assert!(propose(cx).is_empty()));
    }
}
