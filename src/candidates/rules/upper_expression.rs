//! Rule `upper_expression`: Django's `iexact`.
//!
//! Problem: `filter(email__iexact=…)` compiles to `UPPER("email"::text) = UPPER($1)`, which no
//! index on the column serves. What we do: the expression `upper(col::text)` as the first key,
//! then the equality columns. (Django's `istartswith` is the [`super::like`] rule's.)
//! Example: `UPPER("shop_customer"."email"::text) = UPPER($1)` → `(upper(email))`.

use crate::model::{IndexKey, KeyExpr};

use super::{Context, Proposal, Rule};

/// `(upper(col), equality…)` for each `UPPER(col) = …`.
pub(crate) fn propose(cx: &Context) -> Vec<Proposal> {
    cx.acc
        .upper_equality
        .iter()
        .map(|u| {
            let mut keys = vec![IndexKey {
                expr: KeyExpr::Upper(u.clone()),
                desc: false,
                nulls_first: None,
                opclass: None,
            }];
            keys.extend(cx.eq_keys.iter().cloned());
            (cx.spec(keys), Rule::UpperExpression)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn iexact_gets_the_expression_then_the_equality() {
        let text = r#"SELECT "shop_customer"."id" FROM "shop_customer" WHERE (UPPER("shop_customer"."email"::text) = UPPER($1) AND "shop_customer"."is_active" = $2)"#;
        on(text, "shop_customer", |cx| {
            assert_eq!(
                labels(&propose(cx)),
                expect(&[(
                    "shop_customer(upper(email), is_active)",
                    Rule::UpperExpression
                )])
            );
            assert_eq!(
                propose(cx)[0].0.definition_tail(),
                r#"ON "public"."shop_customer" USING btree ((upper(("email")::text)), "is_active")"#
            );
        });
    }
}
