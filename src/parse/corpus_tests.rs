//! Tests of `parse` over the hand-written Django corpus (`tests/fixtures/django_texts.txt`)
//! and the example shop catalog (`tests/fixtures/shop_catalog.json`).
//!
//! Stage `parse`, tests only. Invariant: the corpus keeps the proportions of
//! docs/postgres-facts.md §1 (the same five kinds of text are skipped as utility or truncated)
//! and every other text parses.

use serde::Serialize;

use super::*;
use crate::model::{Catalog, SkipReason, Statement};

/// The example shop's catalog.
pub(crate) fn shop_catalog() -> Catalog {
    serde_json::from_str(include_str!("../../tests/fixtures/shop_catalog.json"))
        .expect("tests/fixtures/shop_catalog.json is a serialised model::Catalog")
}

/// `(label, text)` pairs of the corpus, in file order.
pub(crate) fn django_texts() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut label = String::new();
    for line in include_str!("../../tests/fixtures/django_texts.txt").lines() {
        if let Some(l) = line.strip_prefix("# ") {
            label = l.to_string();
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            out.push((label.clone(), line.to_string()));
        }
    }
    out
}

/// A statement with a queryid derived from its position.
pub(crate) fn stmt(queryid: i64, text: &str) -> Statement {
    Statement {
        queryid,
        query: text.to_string(),
        calls: 100,
        total_time_ms: 1000.0,
        mean_time_ms: 10.0,
        rows: 100,
        shared_blks_hit: 0,
        shared_blks_read: 0,
        stddev_time_ms: None,
    }
}

/// Parse a text against the shop catalog, expecting a shape.
pub(crate) fn shape(text: &str) -> QueryShape {
    match parse_statement(&stmt(1, text), &shop_catalog()) {
        Ok(s) => s,
        Err(e) => panic!("expected a shape for {text}, got {e:?}"),
    }
}

fn table<'a>(s: &'a QueryShape, name: &str) -> &'a TableAccess {
    s.tables
        .iter()
        .find(|t| t.table == name)
        .unwrap_or_else(|| panic!("expected table {name} in {:?}", s.tables))
}

#[derive(Serialize)]
struct Entry {
    label: String,
    result: Result<QueryShape, crate::model::Skipped>,
}

#[test]
fn corpus_parses_like_facts_section_1() {
    let cat = shop_catalog();
    let texts = django_texts();
    assert!(texts.len() >= 60, "corpus has {} texts", texts.len());
    let mut entries = Vec::new();
    let mut reasons: Vec<(String, SkipReason)> = Vec::new();
    for (k, (label, text)) in texts.iter().enumerate() {
        let r = parse_statement(&stmt(k as i64 + 1, text), &cat);
        if let Err(e) = &r {
            reasons.push((label.clone(), e.reason));
        }
        entries.push(Entry {
            label: label.clone(),
            result: r,
        });
    }
    // The failures of docs/postgres-facts.md §1 are all skipped, with the right reason.
    for (label, want) in [
        ("savepoint param", SkipReason::Utility),
        ("release", SkipReason::Utility),
        ("rollback to", SkipReason::Utility),
        ("deallocate", SkipReason::Utility),
        ("truncated", SkipReason::Truncated),
        ("system catalog", SkipReason::SystemCatalog),
        ("information_schema", SkipReason::SystemCatalog),
        ("django_migrations unknown", SkipReason::UnknownTable),
    ] {
        assert!(
            reasons.contains(&(label.to_string(), want)),
            "{label} should be skipped as {want:?}; skips: {reasons:?}"
        );
    }
    // Everything else that is not a utility statement parses.
    let unexpected: Vec<_> = reasons
        .iter()
        .filter(|(_, r)| {
            !matches!(
                r,
                SkipReason::Utility
                    | SkipReason::Truncated
                    | SkipReason::SystemCatalog
                    | SkipReason::UnknownTable
            )
        })
        .collect();
    assert!(unexpected.is_empty(), "unexpected skips: {unexpected:?}");
    insta::assert_yaml_snapshot!("django_corpus_shapes", entries);
}

#[test]
fn customer_orders_newest_first() {
    let s = shape(
        r#"SELECT "shop_order"."id", "shop_order"."customer_id" FROM "shop_order" WHERE "shop_order"."customer_id" = $1 ORDER BY "shop_order"."created_at" DESC LIMIT $2"#,
    );
    let t = table(&s, "shop_order");
    assert_eq!(t.equality, vec!["customer_id"]);
    assert_eq!(
        t.order_by,
        vec![OrderKey {
            column: "created_at".into(),
            desc: true,
            nulls_first: None
        }]
    );
    assert_eq!(s.limit, Some(Limit::Param(2)));
    assert_eq!(s.params[0].column.as_deref(), Some("customer_id"));
    assert_eq!(s.params[0].op, ParamOp::Eq);
    assert_eq!(s.params[1].op, ParamOp::Limit);
}

/// PostgreSQL 18 folds a list of constants into one pg_stat_statements entry, written
/// `IN ($1 /*, ... */)` (measured on 18.6): the column is an equality column, `$1` is a list
/// parameter of that column, and the plan text binds it as an array (`= ANY($1)`).
#[test]
fn pg18_squashed_in_list_is_a_list_parameter() {
    let s = shape(
        r#"SELECT "shop_order"."id" FROM "shop_order" WHERE ("shop_order"."customer_id" IN ($1 /*, ... */) AND "shop_order"."status" = $2)"#,
    );
    let t = table(&s, "shop_order");
    assert_eq!(t.equality, vec!["customer_id", "status"]);
    assert_eq!(s.param_count, 2);
    assert_eq!(s.params[0].column.as_deref(), Some("customer_id"));
    assert_eq!(s.params[0].op, ParamOp::InList);
    assert_eq!(s.params[1].op, ParamOp::Eq);
    assert!(
        s.plan_text
            .contains(r#""shop_order"."customer_id" = ANY($1) AND"#),
        "{}",
        s.plan_text
    );
    // PostgreSQL 15 keeps one entry per length, each value its own equality parameter.
    let s = shape(
        r#"SELECT "shop_order"."id" FROM "shop_order" WHERE "shop_order"."customer_id" IN ($1, $2, $3)"#,
    );
    assert!(
        s.params.iter().all(|u| u.op == ParamOp::Eq),
        "{:?}",
        s.params
    );
    assert!(s.plan_text.contains("IN ($1, $2, $3)"));
}

#[test]
fn iexact_istartswith_and_startswith() {
    let s = shape(
        r#"SELECT "shop_customer"."id" FROM "shop_customer" WHERE UPPER("shop_customer"."email"::text) = UPPER($1)"#,
    );
    assert_eq!(table(&s, "shop_customer").upper_equality, vec!["email"]);
    assert_eq!(s.params[0].column.as_deref(), Some("email"));
    let s = shape(
        r#"SELECT "shop_customer"."id" FROM "shop_customer" WHERE UPPER("shop_customer"."name"::text) LIKE UPPER($1)"#,
    );
    let l = &table(&s, "shop_customer").likes[0];
    assert!(l.upper && !l.prefix && !l.leading_wildcard);
    assert_eq!(s.params[0].op, ParamOp::Like);
    let s = shape(r#"SELECT "id" FROM "shop_product" WHERE "shop_product"."sku"::text LIKE 'AB%'"#);
    let l = &table(&s, "shop_product").likes[0];
    assert!(!l.upper && l.prefix);
}

#[test]
fn null_tests_booleans_ranges_and_dates() {
    let s = shape(
        r#"SELECT "id" FROM "shop_customer" WHERE "shop_customer"."deleted_at" IS NULL AND "shop_customer"."is_active" AND "shop_customer"."created_at" BETWEEN $1 AND $2"#,
    );
    let t = table(&s, "shop_customer");
    assert_eq!(t.null_tests, vec![("deleted_at".to_string(), true)]);
    assert_eq!(t.booleans, vec![("is_active".to_string(), true)]);
    assert_eq!(t.ranges, vec!["created_at"]);
    assert_eq!(s.params[0].op, ParamOp::Upper);
    assert_eq!(s.params[1].op, ParamOp::Lower);
    let s = shape(
        r#"SELECT "id" FROM "shop_order" WHERE ("shop_order"."created_at" AT TIME ZONE $1)::date = $2"#,
    );
    assert!(table(&s, "shop_order").equality.is_empty());
    assert_eq!(s.params[1].column.as_deref(), Some("created_at"));
    assert_eq!(s.params[1].op, ParamOp::Other);
}

#[test]
fn joins_exists_and_unqualified_columns() {
    let s = shape(
        r#"SELECT c."id" FROM "shop_customer" c WHERE EXISTS(SELECT $1 AS "a" FROM "shop_order" U0 WHERE (U0."customer_id" = (c."id") AND U0."status" = $2) LIMIT $3) AND "email" = $4"#,
    );
    let c = table(&s, "shop_customer");
    assert_eq!(c.aliases, vec!["c"]);
    assert_eq!(c.join_columns, vec!["id"]);
    assert_eq!(c.equality, vec!["email"]);
    let o = table(&s, "shop_order");
    assert_eq!(o.join_columns, vec!["customer_id"]);
    assert_eq!(o.equality, vec!["status"]);
    // LIMIT of the subquery is not the statement's limit.
    assert_eq!(s.limit, None);
}

#[test]
fn writes_record_target_set_columns_and_values() {
    let s = shape(r#"UPDATE "shop_order" SET "status" = $1 WHERE "shop_order"."id" = $2"#);
    assert_eq!(s.kind, StatementKind::Update);
    let t = table(&s, "shop_order");
    assert!(t.is_target);
    assert_eq!(t.set_columns, vec!["status"]);
    assert_eq!(t.equality, vec!["id"]);
    assert_eq!(s.params[0].op, ParamOp::Value);
    assert_eq!(s.params[0].column.as_deref(), Some("status"));
    let s = shape(
        r#"INSERT INTO "shop_orderitem" ("order_id", "quantity") VALUES ($1, $2), ($3, $4) RETURNING "shop_orderitem"."id""#,
    );
    assert_eq!(s.kind, StatementKind::Insert);
    assert_eq!(s.params[3].column.as_deref(), Some("quantity"));
    let s = shape(r#"DELETE FROM "shop_orderitem" WHERE "shop_orderitem"."order_id" IN ($1)"#);
    assert_eq!(s.kind, StatementKind::Delete);
    assert_eq!(table(&s, "shop_orderitem").equality, vec!["order_id"]);
}

#[test]
fn skips_with_precise_reasons() {
    let cat = shop_catalog();
    let reason = |t: &str| {
        parse_statement(&stmt(9, t), &cat)
            .map(|_| ())
            .unwrap_err()
            .reason
    };
    assert_eq!(reason("SELECT 1; SELECT 2"), SkipReason::MultiStatement);
    assert_eq!(reason("SELECT $1"), SkipReason::NoTable);
    assert_eq!(reason("SELECT * FROM pg_temp.t"), SkipReason::UnknownTable);
    assert_eq!(reason("SELECT * FROM pg_class"), SkipReason::SystemCatalog);
    assert_eq!(
        reason("SELECT * FROM \"shop_order\" WHERE (\"id\" = $1"),
        SkipReason::Truncated
    );
    assert_eq!(reason("SELECT FROM WHERE ORDER"), SkipReason::Unparseable);
    assert_eq!(reason("   "), SkipReason::Unparseable);
    let deep = format!(
        "SELECT 1 FROM shop_order WHERE {}",
        "id = 1 AND ".repeat(6000) + "true"
    );
    assert_eq!(reason(&deep), SkipReason::Unparseable);
}

#[test]
fn deep_chains_below_the_guard_parse_without_overflow() {
    // Just under MAX_OPERATORS: a left-deep OR chain (built and dropped without recursion
    // limits in sqlparser) must neither overflow nor be refused by the walker.
    let text = format!(
        r#"SELECT "id" FROM "shop_order" WHERE "status" = $1{}"#,
        r#" OR "status" = $1"#.repeat(2000)
    );
    let s = shape(&text);
    assert_eq!(s.tables.len(), 1);
}

#[test]
fn names_fold_qualify_and_shadow() {
    // Unquoted names fold to lower case; schema-qualified names resolve directly.
    let s = shape("SELECT ID FROM PUBLIC.SHOP_ORDER WHERE STATUS = $1");
    assert_eq!(table(&s, "shop_order").equality, vec!["status"]);
    // A quoted name keeps its case: not the shop table.
    let cat = shop_catalog();
    let skip = parse_statement(&stmt(3, r#"SELECT 1 FROM "Shop_Order""#), &cat).unwrap_err();
    assert_eq!(skip.reason, SkipReason::UnknownTable);
    // A CTE shadows a table of the same name and is dropped from the shape.
    let skip = parse_statement(
        &stmt(
            4,
            "WITH shop_order AS (SELECT $1 AS id) SELECT id FROM shop_order",
        ),
        &cat,
    )
    .unwrap_err();
    assert_eq!(skip.reason, SkipReason::NoTable);
    // Table functions are not tables; `*` reads every column of the real table.
    let s = shape(
        r#"SELECT * FROM "shop_order" o JOIN generate_series($1::int, $2::int) g(n) ON g.n = o."id" WHERE o."deleted_at" IS NOT NULL"#,
    );
    assert_eq!(s.tables.len(), 1);
    let o = table(&s, "shop_order");
    assert_eq!(o.columns_read.len(), 6);
    assert_eq!(o.null_tests, vec![("deleted_at".to_string(), false)]);
    // A system catalog next to a user table: the user table is kept.
    let s = shape(
        r#"SELECT o."id" FROM "shop_order" o WHERE o."status" IN (SELECT c.relname FROM pg_catalog.pg_class c)"#,
    );
    assert_eq!(s.tables.len(), 1);
}
