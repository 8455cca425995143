//! Rule `containment`: advice only.
//!
//! Problem: containment and full-text operators (`@>`, `?`, `@@`, `&&`: Django's JSONField
//! `contains`/`has_key`, ArrayField `overlap`, `SearchVector`) are served by GIN indexes only,
//! which HypoPG cannot simulate. What we do: no candidate; one advice per column, so the report
//! says which index to consider by hand.
//! Example: `"tags" @> $1` → advice on `tags`.

use super::{Advice, Context};

/// Advice for each column compared with a containment or full-text operator.
pub(crate) fn advise(cx: &Context) -> Vec<Advice> {
    cx.acc
        .containment
        .iter()
        .map(|c| {
            cx.advice(
                c,
                "containment or full-text operator (@>, ?, @@, &&): only a GIN index serves it; not simulated",
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn plain_comparisons_get_no_advice() {
        let text =
            r#"SELECT "shop_order"."id" FROM "shop_order" WHERE "shop_order"."customer_id" = $1"#;
        on(text, "shop_order", |cx| assert!(advise(cx).is_empty()));
    }

    #[test]
    fn a_containment_column_gets_gin_advice() {
        let text = r#"SELECT "shop_product"."id" FROM "shop_product" WHERE "shop_product"."name" @@ to_tsquery($1)"#;
        on(text, "shop_product", |cx| {
            let a = advise(cx);
            assert_eq!(a.len(), 1, "{a:?} from {:?}", cx.acc.containment);
            assert_eq!(a[0].column, "name");
            assert!(a[0].message.contains("GIN"));
            assert_eq!(a[0].table, "shop_product");
        });
    }
}
