//! Tests of `candidates` over the example shop: the candidates Django's texts must produce,
//! and why.
//!
//! Stage `candidates`, tests only. Invariant: each test names a text exactly as Django emits it
//! and the spec (label) that must (or must not) appear.

use super::*;
use crate::parse::corpus_tests::{django_texts, shape, shop_catalog, stmt};
use crate::parse::{parse_statement, parse_workload};

/// Candidates of one text, as `(label, rules)`.
fn labels(text: &str) -> Vec<(String, Vec<Rule>)> {
    let set = generate(&[shape(text)], &shop_catalog());
    set.candidates
        .iter()
        .map(|c| (c.spec.label(), c.sources.iter().map(|s| s.rule).collect()))
        .collect()
}

fn has(text: &str, label: &str, rule: Rule) {
    let got = labels(text);
    assert!(
        got.iter().any(|(l, r)| l == label && r.contains(&rule)),
        "expected {label} by {rule:?} for\n  {text}\ngot {got:#?}"
    );
}

fn lacks(text: &str, label: &str) {
    let got = labels(text);
    assert!(
        !got.iter().any(|(l, _)| l == label),
        "did not expect {label} for\n  {text}\ngot {got:#?}"
    );
}

const ORDER_COLS: &str = r#""shop_order"."id", "shop_order"."customer_id", "shop_order"."status", "shop_order"."created_at", "shop_order"."total", "shop_order"."deleted_at""#;

/// The top-N shape: equality then ORDER BY in the query's direction. The FK index on
/// customer_id alone finds the rows but must sort them all; the composite reads 20 in order.
#[test]
fn composite_desc_for_customer_orders() {
    let text = format!(
        r#"SELECT {ORDER_COLS} FROM "shop_order" WHERE "shop_order"."customer_id" = $1 ORDER BY "shop_order"."created_at" DESC LIMIT $2"#
    );
    has(
        &text,
        "shop_order(customer_id, created_at DESC)",
        Rule::EqualityThenSort,
    );
    // Django's FK index already serves the equality alone.
    lacks(&text, "shop_order(customer_id)");
}

/// iexact compiles to `UPPER(col::text) = UPPER($n)`: only an expression index serves it.
#[test]
fn upper_expression_for_iexact() {
    has(
        r#"SELECT "shop_customer"."id", "shop_customer"."email" FROM "shop_customer" WHERE UPPER("shop_customer"."email"::text) = UPPER($1) LIMIT $2"#,
        "shop_customer(upper(email))",
        Rule::UpperExpression,
    );
}

/// Soft-deleted rows are excluded by a parameter-free predicate: a partial index holds only
/// the live rows, in the wanted order.
#[test]
fn partial_for_deleted_at_is_null() {
    has(
        r#"SELECT "shop_customer"."id", "shop_customer"."name" FROM "shop_customer" WHERE "shop_customer"."deleted_at" IS NULL ORDER BY "shop_customer"."created_at" DESC LIMIT $1"#,
        r#"shop_customer(created_at DESC) WHERE "deleted_at" IS NULL"#,
        Rule::PartialPredicate,
    );
}

/// `filter(is_active=True)` compiles to a bare boolean column: a partial index with it.
#[test]
fn partial_for_bare_boolean() {
    let text = r#"SELECT "shop_product"."id", "shop_product"."name" FROM "shop_product" WHERE "shop_product"."is_active" ORDER BY "shop_product"."name" ASC LIMIT $1"#;
    has(
        text,
        r#"shop_product(name) WHERE "is_active""#,
        Rule::PartialPredicate,
    );
    has(text, "shop_product(name)", Rule::SortOnly);
}

/// status is skewed (pending 1%): next to `(status, created_at)`, a partial index on the
/// rare value is tiny and serves the queue query. The value is gone from the text (`$1`), so
/// the rare values come from pg_stats.
#[test]
fn partial_skew_for_rare_status() {
    let text = format!(
        r#"SELECT {ORDER_COLS} FROM "shop_order" WHERE "shop_order"."status" = $1 ORDER BY "shop_order"."created_at" ASC LIMIT $2"#
    );
    has(
        &text,
        "shop_order(status, created_at)",
        Rule::EqualityThenSort,
    );
    has(
        &text,
        r#"shop_order(created_at) WHERE "status" = 'pending'::character varying"#,
        Rule::PartialSkew,
    );
    has(
        &text,
        r#"shop_order(created_at) WHERE "status" = 'cancelled'::character varying"#,
        Rule::PartialSkew,
    );
    // delivered (90%) and shipped (6%) are not rare.
    lacks(
        &text,
        r#"shop_order(created_at) WHERE "status" = 'delivered'::character varying"#,
    );
}

/// values_list("id") reads one narrow column beyond the keys: INCLUDE it for an index-only
/// scan (the heap is 95% all-visible). Equality keys most selective first.
#[test]
fn covering_for_values_list() {
    let text = r#"SELECT "shop_order"."id" FROM "shop_order" WHERE ("shop_order"."customer_id" = $1 AND "shop_order"."status" IN ($2, $3))"#;
    has(text, "shop_order(customer_id, status)", Rule::Equality);
    has(
        text,
        "shop_order(customer_id, status) INCLUDE (id)",
        Rule::Covering,
    );
}

/// Wide SELECT * reads: no covering variant (it would copy the table).
#[test]
fn no_covering_for_wide_reads() {
    let text = format!(
        r#"SELECT {ORDER_COLS} FROM "shop_order" WHERE ("shop_order"."customer_id" = $1 AND "shop_order"."status" = $2)"#
    );
    let got = labels(&text);
    assert!(got.iter().all(|(l, _)| !l.contains("INCLUDE")), "{got:#?}");
}

/// startswith on a varchar under the default (non-C) collation needs varchar_pattern_ops;
/// istartswith needs the upper() expression with text_pattern_ops; on sku the existing
/// `_like` index already serves it.
#[test]
fn pattern_ops_for_prefix_like() {
    let set = generate(
        &[shape(
            r#"SELECT "shop_product"."id" FROM "shop_product" WHERE "shop_product"."name"::text LIKE $1"#,
        )],
        &shop_catalog(),
    );
    let c = &set.candidates[0];
    assert_eq!(
        c.spec.keys[0].opclass.as_deref(),
        Some("varchar_pattern_ops")
    );
    assert_eq!(c.sources[0].rule, Rule::PatternOps);
    let set = generate(
        &[shape(
            r#"SELECT "shop_customer"."id" FROM "shop_customer" WHERE UPPER("shop_customer"."email"::text) LIKE UPPER($1)"#,
        )],
        &shop_catalog(),
    );
    let c = &set.candidates[0];
    assert_eq!(
        c.spec.keys[0].expr,
        crate::model::KeyExpr::Upper("email".into())
    );
    assert_eq!(c.spec.keys[0].opclass.as_deref(), Some("text_pattern_ops"));
    // A parameter pattern may be icontains: advice for the trigram index too.
    assert_eq!(set.advice.len(), 1);
    let set = generate(
        &[shape(
            r#"SELECT "shop_product"."id" FROM "shop_product" WHERE "shop_product"."sku"::text LIKE $1"#,
        )],
        &shop_catalog(),
    );
    // Only a covering variant of the existing `_like` index remains.
    assert!(
        set.candidates.iter().all(|c| !c.spec.include.is_empty()),
        "{:#?}",
        set.candidates
    );
}

/// A leading wildcard: no B-tree candidate, only advice.
#[test]
fn leading_wildcard_is_advice_only() {
    let set = generate(
        &[shape(
            r#"SELECT "shop_customer"."id" FROM "shop_customer" WHERE "shop_customer"."name"::text LIKE '%' || $1 || '%'"#,
        )],
        &shop_catalog(),
    );
    assert!(set.candidates.is_empty());
    assert!(set.advice[0].message.contains("trigram"));
}

/// Inner side of a join: the join column first, then the local equality.
#[test]
fn join_inner_side() {
    has(
        r#"SELECT "shop_product"."id" FROM "shop_product" WHERE "shop_product"."id" IN (SELECT U0."product_id" FROM "shop_orderitem" U0 WHERE U0."quantity" = $1)"#,
        "shop_orderitem(product_id, quantity)",
        Rule::JoinInner,
    );
}

/// Deterministic and merged: two statements proposing the same spec give one candidate with
/// both sources; output sorted by spec.
#[test]
fn merged_sorted_and_deterministic() {
    let cat = shop_catalog();
    let a = format!(
        r#"SELECT {ORDER_COLS} FROM "shop_order" WHERE "shop_order"."customer_id" = $1 ORDER BY "shop_order"."created_at" DESC LIMIT $2"#
    );
    let shapes: Vec<_> = [a.as_str(), a.as_str()]
        .iter()
        .enumerate()
        .map(|(k, t)| parse_statement(&stmt(k as i64 + 10, t), &cat).expect("parses"))
        .collect();
    let set = generate(&shapes, &cat);
    let c = set
        .candidates
        .iter()
        .find(|c| c.spec.label() == "shop_order(customer_id, created_at DESC)")
        .expect("composite");
    assert_eq!(c.sources.len(), 2);
    let mut sorted = set.candidates.clone();
    sorted.sort_by(|x, y| x.spec.cmp(&y.spec));
    assert_eq!(sorted, set.candidates);
    assert_eq!(generate(&shapes, &cat), set);
}

#[test]
fn prefix_pairs_link_narrow_to_wide() {
    let set = generate(
        &[shape(
            r#"SELECT "shop_order"."id" FROM "shop_order" WHERE "shop_order"."status" = $1 ORDER BY "shop_order"."created_at" DESC LIMIT $2"#,
        )],
        &shop_catalog(),
    );
    let pairs = prefix_pairs(&set);
    let narrow = set
        .candidates
        .iter()
        .position(|c| c.spec.label() == "shop_order(status)")
        .expect("(status)");
    let wide = set
        .candidates
        .iter()
        .position(|c| c.spec.label() == "shop_order(status, created_at DESC)")
        .expect("(status, created_at DESC)");
    assert!(pairs.contains(&(narrow, wide)), "{pairs:?}");
}

#[test]
fn corpus_candidates_snapshot() {
    let cat = shop_catalog();
    let workload = crate::model::Workload {
        statements: django_texts()
            .iter()
            .enumerate()
            .map(|(k, (_, t))| stmt(k as i64 + 1, t))
            .collect(),
        ..Default::default()
    };
    let (shapes, _) = parse_workload(&workload, &cat);
    let set = generate(&shapes, &cat);
    // Capped per statement.
    for s in &shapes {
        let n = set
            .candidates
            .iter()
            .filter(|c| c.sources.iter().any(|x| x.queryid == s.queryid))
            .count();
        assert!(n <= rules::MAX_PER_STATEMENT);
    }
    let view: Vec<(String, Vec<Source>)> = set
        .candidates
        .iter()
        .map(|c| (c.spec.definition_tail(), c.sources.clone()))
        .collect();
    insta::assert_yaml_snapshot!("corpus_candidates", (view, &set.advice));
}

/// Opposite ORDER BY directions ask for one index (read backwards): one candidate, in the
/// form most statements asked for, with every source.
#[test]
fn flipped_directions_merge() {
    let cat = shop_catalog();
    let texts = [
        r#"SELECT "shop_customer"."id" FROM "shop_customer" ORDER BY "shop_customer"."created_at" DESC LIMIT $1"#,
        r#"SELECT "shop_customer"."name" FROM "shop_customer" ORDER BY "shop_customer"."created_at" DESC LIMIT $1"#,
        r#"SELECT "shop_customer"."email" FROM "shop_customer" ORDER BY "shop_customer"."created_at" ASC LIMIT $1"#,
    ];
    let shapes: Vec<_> = texts
        .iter()
        .enumerate()
        .map(|(k, t)| parse_statement(&stmt(k as i64 + 1, t), &cat).expect("parses"))
        .collect();
    let set = generate(&shapes, &cat);
    let sort: Vec<_> = set
        .candidates
        .iter()
        .filter(|c| c.spec.include.is_empty() && c.spec.predicate.is_none())
        .collect();
    assert_eq!(sort.len(), 1, "{sort:#?}");
    assert_eq!(sort[0].spec.label(), "shop_customer(created_at DESC)");
    assert_eq!(sort[0].sources.len(), 3);
}
