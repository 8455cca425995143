//! Rule `partial_skew`: a partial index on a rare value of a skewed column.
//!
//! Problem: `filter(status="pending")` reads 1% of the orders; the status is a parameter in the
//! text (`$1`), but pg_stats shows a column where one value holds most rows and others are
//! rare. A partial index on the rare value is small and serves the queue page. What we do: when
//! the column's most common value reaches [`SKEWED_TOP_FREQ`], for each of its two rarest most
//! common values at or below [`RARE_FREQ`], a variant of the base composite containing the
//! column (else any base proposal with it) with the column moved into the predicate
//! (`col = 'value'::type`, next to the statement's parameter-free terms).
//! Example: `status = $1 ORDER BY created_at LIMIT $2` with `pending` at 1% → `(created_at)
//! WHERE status = 'pending'::character varying` next to `(status, created_at)`.

use crate::model::{Column, IndexKey, IndexSpec, KeyExpr, PredTerm, Predicate};

use super::{partial_predicate, Context, Proposal, Rule};

/// A most-common value at or below this frequency is "rare": a partial index on it is small.
pub const RARE_FREQ: f64 = 0.05;
/// The most common value of a column must reach this frequency for it to count as skewed.
pub const SKEWED_TOP_FREQ: f64 = 0.3;

/// The rare-value variants of `base` (the base rules' proposals).
pub(crate) fn propose(cx: &Context, base: &[Proposal]) -> Vec<Proposal> {
    let terms = partial_predicate::terms(cx.acc);
    let mut out = vec![];
    for c in cx.eq.iter().filter_map(|c| cx.table.column(c)) {
        // Prefer a composite containing the column (its other keys become the partial
        // index's keys), else any proposal with it.
        let with_c = |s: &IndexSpec| {
            s.keys
                .iter()
                .any(|k| k.expr == KeyExpr::Column(c.name.clone()))
        };
        let Some((first, _)) = base
            .iter()
            .find(|(s, _)| with_c(s) && s.keys.len() > 1)
            .or_else(|| base.iter().find(|(s, _)| with_c(s)))
        else {
            continue;
        };
        for value in rare_values(c) {
            let mut v = first.clone();
            if v.keys.len() > 1 {
                v.keys.retain(|k| k.expr != KeyExpr::Column(c.name.clone()));
            }
            let mut pt = terms.clone();
            pt.push(PredTerm::Eq {
                column: c.name.clone(),
                value,
                type_name: base_type(&c.type_name),
            });
            pt.sort();
            v.keys
                .retain(|k| !terms.iter().any(|x| x.column() == k.expr.column()));
            if v.keys.is_empty() {
                v.keys.push(IndexKey::col(&c.name));
            }
            v.predicate = Some(Predicate { terms: pt });
            out.push((v, Rule::PartialSkew));
        }
    }
    out
}

/// Rare values of a skewed column: MCVs at or below [`RARE_FREQ`] when the top MCV reaches
/// [`SKEWED_TOP_FREQ`]; rarest first, at most two.
fn rare_values(c: &Column) -> Vec<String> {
    let Some(s) = &c.stats else {
        return vec![];
    };
    let top = s.most_common_freqs.iter().copied().fold(0.0, f64::max);
    if top < SKEWED_TOP_FREQ {
        return vec![];
    }
    let mut rare: Vec<(f64, &String)> = s
        .most_common_vals
        .iter()
        .zip(&s.most_common_freqs)
        .filter(|(_, f)| **f <= RARE_FREQ)
        .map(|(v, f)| (*f, v))
        .collect();
    rare.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    rare.into_iter().take(2).map(|(_, v)| v.clone()).collect()
}

/// `character varying(20)` → `character varying`: the cast in a partial predicate.
fn base_type(type_name: &str) -> String {
    match type_name.find('(') {
        Some(i) => {
            let close = type_name[i..]
                .find(')')
                .map(|j| i + j + 1)
                .unwrap_or(type_name.len());
            format!("{}{}", type_name[..i].trim_end(), &type_name[close..])
        }
        None => type_name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn base_type_drops_typmod() {
        assert_eq!(base_type("character varying(20)"), "character varying");
        assert_eq!(base_type("numeric(10,2)"), "numeric");
        assert_eq!(base_type("text"), "text");
        assert_eq!(base_type("character varying(20)[]"), "character varying[]");
        assert_eq!(base_type("weird("), "weird");
    }

    /// status: delivered 90%, shipped 6%, pending and cancelled rare.
    #[test]
    fn the_two_rarest_values_of_a_skewed_column() {
        let text = r#"SELECT "shop_order"."id" FROM "shop_order" WHERE "shop_order"."status" = $1 ORDER BY "shop_order"."created_at" ASC LIMIT $2"#;
        on(text, "shop_order", |cx| {
            let got = labels(&propose(cx, &base(cx)));
            assert_eq!(got.len(), 2, "{got:#?}");
            for value in ["pending", "cancelled"] {
                let label = format!(
                    r#"shop_order(created_at) WHERE "status" = '{value}'::character varying"#
                );
                assert!(got.contains(&(label, Rule::PartialSkew)), "{got:#?}");
            }
        });
    }

    #[test]
    fn a_column_without_skew_gets_no_variant() {
        let text =
            r#"SELECT "shop_order"."id" FROM "shop_order" WHERE "shop_order"."customer_id" = $1"#;
        on(text, "shop_order", |cx| {
            assert!(propose(cx, &base(cx)).is_empty());
        });
    }
}
