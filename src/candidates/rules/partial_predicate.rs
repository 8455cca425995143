//! Rule `partial_predicate`: the statement's parameter-free predicate as the index predicate.
//!
//! Problem: `filter(deleted_at__isnull=True)` or `filter(is_active=True)` is in every statement
//! of a model; an index over all rows carries the ones no statement reads. What we do: for the
//! first three base proposals, a variant with the statement's parameter-free terms (`IS [NOT]
//! NULL`, bare booleans) as its predicate and the predicate's columns removed from its keys.
//! When the statement has no other proposal and the terms keep under half of the rows, the
//! predicate is the whole index, keyed on the primary key (or the predicate's first column).
//! Example: `deleted_at IS NULL ORDER BY created_at DESC LIMIT $1` → `(created_at DESC) WHERE
//! deleted_at IS NULL`; `WHERE NOT "is_active"` (3% of customers) → `(id) WHERE NOT
//! is_active`.

use crate::model::{IndexKey, PredTerm, Predicate, Table};
use crate::parse::TableAccess;

use super::{Context, Proposal, Rule};

/// The partial variants of `base` (the base rules' proposals).
pub(crate) fn propose(cx: &Context, base: &[Proposal]) -> Vec<Proposal> {
    let terms = terms(cx.acc);
    let mut out = vec![];
    if terms.is_empty() {
        return out;
    }
    if base.is_empty() {
        let share: f64 = terms.iter().map(|x| share(cx.table, x)).product();
        if share < 0.5 {
            let key = cx
                .table
                .constraints
                .iter()
                .find(|c| c.kind == "p")
                .and_then(|c| c.columns.first().cloned())
                .or_else(|| terms.first().map(|x| x.column().to_string()));
            if let Some(k) = key {
                let mut s = cx.spec(vec![IndexKey::col(&k)]);
                s.predicate = Some(Predicate {
                    terms: terms.clone(),
                });
                out.push((s, Rule::PartialPredicate));
            }
        }
    }
    for (s, _) in base.iter().take(3) {
        let mut v = s.clone();
        v.keys
            .retain(|k| !terms.iter().any(|x| x.column() == k.expr.column()));
        if v.keys.is_empty() {
            continue;
        }
        v.predicate = Some(Predicate {
            terms: terms.clone(),
        });
        out.push((v, Rule::PartialPredicate));
    }
    out
}

/// Parameter-free predicate terms of the statement on this table: IS [NOT] NULL, booleans;
/// sorted, without duplicates.
pub(crate) fn terms(acc: &TableAccess) -> Vec<PredTerm> {
    let mut terms: Vec<PredTerm> = acc
        .null_tests
        .iter()
        .map(|(c, is_null)| {
            let column = c.clone();
            if *is_null {
                PredTerm::IsNull { column }
            } else {
                PredTerm::IsNotNull { column }
            }
        })
        .chain(acc.booleans.iter().map(|(c, v)| {
            let column = c.clone();
            if *v {
                PredTerm::IsTrue { column }
            } else {
                PredTerm::IsFalse { column }
            }
        }))
        .collect();
    terms.sort();
    terms.dedup();
    terms
}

/// Share of rows a term keeps, from pg_stats (1.0 when unknown).
fn share(t: &Table, term: &PredTerm) -> f64 {
    let Some(s) = t.column(term.column()).and_then(|c| c.stats.as_ref()) else {
        return 1.0;
    };
    let mcv = |v: &str| {
        s.most_common_vals
            .iter()
            .zip(&s.most_common_freqs)
            .find(|(m, _)| m.as_str() == v)
            .map(|(_, f)| *f)
    };
    match term {
        PredTerm::IsNull { .. } => s.null_frac,
        PredTerm::IsNotNull { .. } => 1.0 - s.null_frac,
        PredTerm::IsTrue { .. } => mcv("t").unwrap_or(1.0),
        PredTerm::IsFalse { .. } => mcv("f").unwrap_or(1.0),
        PredTerm::Eq { value, .. } => mcv(value).unwrap_or(1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn the_base_proposals_get_the_predicate() {
        let text = r#"SELECT "shop_customer"."id", "shop_customer"."name" FROM "shop_customer" WHERE "shop_customer"."deleted_at" IS NULL ORDER BY "shop_customer"."created_at" DESC LIMIT $1"#;
        on(text, "shop_customer", |cx| {
            assert_eq!(
                labels(&propose(cx, &base(cx))),
                expect(&[(
                    r#"shop_customer(created_at DESC) WHERE "deleted_at" IS NULL"#,
                    Rule::PartialPredicate
                )])
            );
        });
    }

    #[test]
    fn a_selective_predicate_alone_is_the_whole_index() {
        let text = r#"SELECT "shop_customer"."id" FROM "shop_customer" WHERE NOT "shop_customer"."is_active""#;
        on(text, "shop_customer", |cx| {
            assert!(base(cx).is_empty());
            assert_eq!(
                labels(&propose(cx, &[])),
                expect(&[(
                    r#"shop_customer(id) WHERE NOT "is_active""#,
                    Rule::PartialPredicate
                )])
            );
        });
    }

    #[test]
    fn a_predicate_most_rows_pass_is_no_index() {
        let text = r#"SELECT "shop_customer"."id" FROM "shop_customer" WHERE "shop_customer"."deleted_at" IS NULL"#;
        on(text, "shop_customer", |cx| {
            assert!(propose(cx, &[]).is_empty());
        });
    }
}
