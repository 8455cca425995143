//! Rule `equality`: the statement's equality columns alone, most selective first.
//!
//! Problem: `WHERE customer_id = $1 AND status = $2` needs an index led by its equality
//! columns, and their order matters. What we do: most selective first (pg_stats `n_distinct`;
//! unknown last; ties by name); if one of them is unique on its own, it alone identifies the
//! row and the others add nothing.
//! Example: `customer_id = $1 AND status = $2` → `(customer_id, status)` (90,000 vs 4
//! distinct); `id = $1 AND status = $2` → `(id)`.

use crate::model::Table;
use crate::parse::TableAccess;

use super::{Context, Proposal, Rule};

/// `(equality columns)` when the statement has any.
pub(crate) fn propose(cx: &Context) -> Vec<Proposal> {
    if cx.eq.is_empty() {
        return vec![];
    }
    vec![(cx.spec(cx.eq_keys.clone()), Rule::Equality)]
}

/// The equality columns of the occurrence that the table has, most selective first; only the
/// unique one when one is unique on its own.
pub(crate) fn ordered(acc: &TableAccess, t: &Table) -> Vec<String> {
    let mut eq: Vec<(f64, String)> = acc
        .equality
        .iter()
        .filter(|c| t.column(c).is_some())
        .map(|c| (distinct(t, c), c.clone()))
        .collect();
    eq.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    if let Some((_, u)) = eq.iter().find(|(_, c)| unique_alone(t, c)) {
        return vec![u.clone()];
    }
    eq.into_iter().map(|(_, c)| c).collect()
}

/// Estimated distinct values of a column; a single-column unique index means every row.
fn distinct(t: &Table, col: &str) -> f64 {
    if unique_alone(t, col) {
        return t.rows.max(1.0);
    }
    t.column(col)
        .and_then(|c| c.stats.as_ref())
        .map(|s| s.distinct(t.rows.max(1.0)))
        .unwrap_or(0.0)
}

/// A valid, non-partial unique index on exactly this column exists.
pub(crate) fn unique_alone(t: &Table, col: &str) -> bool {
    t.indexes.iter().any(|i| {
        i.unique
            && i.valid
            && i.predicate.is_none()
            && i.keys.len() == 1
            && i.keys
                .first()
                .is_some_and(|k| !k.is_expression && k.expr == col)
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn most_selective_column_leads() {
        let text = r#"SELECT "shop_order"."id" FROM "shop_order" WHERE ("shop_order"."status" = $1 AND "shop_order"."customer_id" = $2)"#;
        on(text, "shop_order", |cx| {
            assert_eq!(
                labels(&propose(cx)),
                expect(&[("shop_order(customer_id, status)", Rule::Equality)])
            );
        });
    }

    #[test]
    fn a_unique_column_alone_identifies_the_row() {
        let text = r#"SELECT "shop_order"."id" FROM "shop_order" WHERE ("shop_order"."id" = $1 AND "shop_order"."status" = $2)"#;
        on(text, "shop_order", |cx| {
            assert_eq!(cx.eq, vec!["id".to_string()]);
            assert_eq!(
                labels(&propose(cx)),
                expect(&[("shop_order(id)", Rule::Equality)])
            );
        });
    }

    #[test]
    fn no_equality_no_proposal() {
        let text =
            r#"SELECT "shop_order"."id" FROM "shop_order" WHERE "shop_order"."created_at" > $1"#;
        on(text, "shop_order", |cx| assert!(propose(cx).is_empty()));
    }
}
