//! Rule `like`: prefix patterns (`startswith`, `istartswith`), and advice for the patterns no
//! B-tree serves.
//!
//! Problem: under a non-C collation a B-tree on a text column cannot serve `LIKE 'abc%'`, and
//! nothing B-tree serves `LIKE '%abc%'` (`icontains`) or ILIKE. What we do: for a prefix
//! pattern, the equality columns then the column with its pattern operator class
//! (`varchar_pattern_ops`, `text_pattern_ops`, `bpchar_pattern_ops`; none needed under C or
//! POSIX); for `UPPER(col) LIKE UPPER($1)` (`istartswith`) the `upper(col::text)` expression
//! with `text_pattern_ops`. A leading wildcard or a bare ILIKE gets advice (a trigram GIN
//! index, which HypoPG cannot simulate) and no candidate; a parameter pattern gets both the
//! candidate and the advice, since the parameter may start with `%`.
//! Example: `"name"::text LIKE $1` on `character varying(200)` → `(name varchar_pattern_ops)`
//! and the trigram advice.

use crate::model::{Column, IndexKey, KeyExpr};

use super::{Advice, Context, Proposal, Rule};

/// The prefix candidates of the statement's LIKEs; advice into `advice`.
pub(crate) fn propose(cx: &Context, advice: &mut Vec<Advice>) -> Vec<Proposal> {
    let mut out = vec![];
    for l in &cx.acc.likes {
        let Some(c) = cx.table.column(&l.column) else {
            continue;
        };
        if l.leading_wildcard || (l.ilike && !l.upper) {
            advice.push(cx.advice(
                &l.column,
                "a pattern with a leading wildcard (icontains) or ILIKE: only a trigram GIN index (pg_trgm, gin_trgm_ops) serves it; not simulated",
            ));
            continue;
        }
        if !l.prefix {
            advice.push(cx.advice(
                &l.column,
                "LIKE with a parameter pattern: the B-tree candidate serves a prefix (startswith); if the parameter starts with % (contains), only a trigram GIN index (pg_trgm) serves it; not simulated",
            ));
        }
        let (expr, opclass, rule) = if l.upper {
            let op = needs_pattern_ops(c).then(|| "text_pattern_ops".to_string());
            (KeyExpr::Upper(l.column.clone()), op, Rule::UpperExpression)
        } else {
            let Some(op) = pattern_opclass(&c.type_name) else {
                continue;
            };
            let op = needs_pattern_ops(c).then(|| op.to_string());
            (KeyExpr::Column(l.column.clone()), op, Rule::PatternOps)
        };
        let mut keys = cx.eq_keys.clone();
        keys.push(IndexKey {
            expr,
            desc: false,
            nulls_first: None,
            opclass,
        });
        out.push((cx.spec(keys), rule));
    }
    out
}

/// The collation is not C/POSIX: prefix LIKE needs a pattern operator class
/// (docs/postgres-facts.md §7). A column without an explicit collation uses the database
/// default, which we treat as non-C.
fn needs_pattern_ops(c: &Column) -> bool {
    !matches!(c.collation.as_deref(), Some("C") | Some("POSIX"))
}

/// The pattern operator class for a column's type, `None` for non-string types.
fn pattern_opclass(type_name: &str) -> Option<&'static str> {
    let t = type_name.to_ascii_lowercase();
    if t.starts_with("character varying") || t.starts_with("varchar") {
        Some("varchar_pattern_ops")
    } else if t == "text" || t == "citext" {
        Some("text_pattern_ops")
    } else if t.starts_with("character") || t.starts_with("bpchar") {
        Some("bpchar_pattern_ops")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn pattern_opclass_by_type() {
        assert_eq!(
            pattern_opclass("character varying(254)"),
            Some("varchar_pattern_ops")
        );
        assert_eq!(pattern_opclass("text"), Some("text_pattern_ops"));
        assert_eq!(pattern_opclass("character(3)"), Some("bpchar_pattern_ops"));
        assert_eq!(pattern_opclass("bigint"), None);
    }

    #[test]
    fn a_parameter_pattern_gets_the_opclass_and_the_trigram_advice() {
        let text = r#"SELECT "shop_product"."id" FROM "shop_product" WHERE "shop_product"."name"::text LIKE $1"#;
        on(text, "shop_product", |cx| {
            let mut advice = vec![];
            let p = propose(cx, &mut advice);
            assert_eq!(
                p[0].0.definition_tail(),
                r#"ON "public"."shop_product" USING btree ("name" "varchar_pattern_ops")"#
            );
            assert_eq!(p[0].1, Rule::PatternOps);
            assert_eq!(advice.len(), 1);
            assert!(advice[0].message.contains("trigram"), "{advice:?}");
        });
    }

    #[test]
    fn istartswith_is_the_upper_expression_with_text_pattern_ops() {
        let text = r#"SELECT "shop_customer"."id" FROM "shop_customer" WHERE UPPER("shop_customer"."email"::text) LIKE UPPER($1)"#;
        on(text, "shop_customer", |cx| {
            let p = propose(cx, &mut vec![]);
            assert_eq!(p.len(), 1, "{p:#?}");
            assert_eq!(p[0].0.keys[0].expr, KeyExpr::Upper("email".into()));
            assert_eq!(p[0].0.keys[0].opclass.as_deref(), Some("text_pattern_ops"));
            assert_eq!(p[0].1, Rule::UpperExpression);
        });
    }

    #[test]
    fn a_leading_wildcard_is_advice_only() {
        let text = r#"SELECT "shop_customer"."id" FROM "shop_customer" WHERE "shop_customer"."name"::text LIKE '%' || $1 || '%'"#;
        on(text, "shop_customer", |cx| {
            let mut advice = vec![];
            assert!(propose(cx, &mut advice).is_empty());
            assert_eq!(advice.len(), 1);
            assert_eq!(advice[0].column, "name");
        });
    }
}
