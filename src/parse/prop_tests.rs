//! Property tests: no input makes `parse` or `candidates` panic.
//!
//! Stage `parse`, tests only. Invariant: arbitrary text, SQL-ish token soup and mutated
//! Django texts all end as a shape or a skip, and every shape goes through `candidates`.
//! Run long with `PROPTEST_CASES=20000 cargo test --lib prop_`.

use proptest::prelude::*;

use super::corpus_tests::{django_texts, shop_catalog, stmt};
use super::parse_statement;
use crate::candidates::generate;

const TOKENS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "LIKE",
    "ILIKE",
    "BETWEEN",
    "EXISTS",
    "ORDER",
    "BY",
    "GROUP",
    "DESC",
    "ASC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "OFFSET",
    "JOIN",
    "LEFT",
    "OUTER",
    "INNER",
    "ON",
    "USING",
    "AS",
    "WITH",
    "UNION",
    "ALL",
    "DISTINCT",
    "INSERT",
    "INTO",
    "VALUES",
    "RETURNING",
    "UPDATE",
    "SET",
    "DELETE",
    "ONLY",
    "FOR",
    "KEY",
    "SHARE",
    "interval",
    "date",
    "timestamptz",
    "extract",
    "UPPER",
    "COUNT",
    "ANY",
    "AT",
    "TIME",
    "ZONE",
    "\"shop_order\"",
    "\"shop_customer\"",
    "\"shop_order\".\"id\"",
    "\"shop_order\".\"customer_id\"",
    "\"shop_order\".\"status\"",
    "\"shop_customer\".\"email\"",
    "\"deleted_at\"",
    "\"is_active\"",
    "U0",
    "x",
    "pg_class",
    "pg_temp.t",
    "information_schema.tables",
    "$1",
    "$2",
    "$99",
    "$0",
    "1",
    "'a%'",
    "'%'",
    "(",
    ")",
    ",",
    ";",
    "=",
    "<",
    ">=",
    "<>",
    "::text",
    "::date",
    "||",
    "@>",
    "*",
    ".",
    "'",
    "\"",
    "$$",
    "--",
    "/*",
    "*/",
    "E'\\'",
    "é",
    "\u{0}",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..80).prop_map(|v| v.join(" "))
}

fn mutated() -> impl Strategy<Value = String> {
    let texts: Vec<String> = django_texts().into_iter().map(|(_, t)| t).collect();
    (
        prop::sample::select(texts),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        prop::sample::select(TOKENS),
        0u8..3,
    )
        .prop_map(|(t, cut, at, tok, how)| {
            let bounds: Vec<usize> = t.char_indices().map(|(i, _)| i).chain([t.len()]).collect();
            let c = bounds[cut.index(bounds.len())];
            let a = bounds[at.index(bounds.len())];
            match how {
                0 => t[..c].to_string(),
                1 => format!("{}{}{}", &t[..a], tok, &t[a..]),
                _ => format!("{}{}", &t[..a.min(c)], &t[a.max(c)..]),
            }
        })
}

fn never_panics(text: &str) {
    let cat = shop_catalog();
    if let Ok(shape) = parse_statement(&stmt(1, text), &cat) {
        let set = generate(&[shape], &cat);
        for c in &set.candidates {
            let _ = c.spec.hypothetical_sql();
        }
    }
}

proptest! {
    #[test]
    fn prop_arbitrary_text(text in any::<String>()) {
        never_panics(&text);
    }

    #[test]
    fn prop_token_soup(text in soup()) {
        never_panics(&text);
    }

    #[test]
    fn prop_mutated_django_texts(text in mutated()) {
        never_panics(&text);
    }
}

#[test]
fn pathological_inputs() {
    for text in [
        format!(
            "SELECT 1 FROM shop_order WHERE {}1{}",
            "(".repeat(5000),
            ")".repeat(5000)
        ),
        format!("SELECT {}1", "-".repeat(20_000)),
        format!(
            "SELECT 1 FROM shop_order WHERE id IN ({})",
            "$1, ".repeat(30_000) + "$2"
        ),
        format!(
            "SELECT 1 FROM shop_order WHERE {}",
            "NOT ".repeat(20_000) + "true"
        ),
        format!(
            "SELECT {} FROM shop_order",
            "(SELECT ".repeat(300) + "1" + &")".repeat(300)
        ),
        format!(
            "SELECT 1 FROM shop_order WHERE id = {}1",
            "$1 || ".repeat(4000)
        ),
        "x".repeat(2 << 20),
    ] {
        never_panics(&text);
    }
}
