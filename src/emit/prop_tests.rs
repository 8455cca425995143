//! Property tests (issue 8, fuzzing) over what turns names into text: the index SQL, HypoPG's
//! DDL, Django's index names, Python string literals and the SQL script. Arbitrary identifiers
//! and values (quotes, backslashes, newlines, `%`, unicode, control characters, 63-byte and
//! longer names) must never panic, never escape their literal, and always give valid output.
//!
//! Run long with `PROPTEST_CASES=100000 cargo test --lib emit::prop_tests`.

use proptest::prelude::*;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::emit::django::migration::module_fragment;
use crate::emit::django::pystr::{python_str, python_str_black};
use crate::model::{IndexKey, IndexSpec, KeyExpr, PredTerm, Predicate};
use crate::naming::scheme::{base_name, Namer};

/// Any identifier PostgreSQL accepts (no NUL), biased towards the hostile characters.
fn ident() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_]{0,20}",
        "[\"'\\\\ %\n\t;$()\\-a-zA-Z0-9éü🚀]{1,40}",
        "\\PC{1,70}",
    ]
    .prop_filter("no NUL", |s| !s.contains('\0'))
}

fn spec() -> impl Strategy<Value = IndexSpec> {
    (
        ident(),
        ident(),
        prop::collection::vec((ident(), any::<bool>(), any::<bool>()), 1..4),
        prop::option::of(ident()),
        prop::option::of((ident(), "\\PC{0,30}")),
    )
        .prop_map(|(schema, table, keys, include, pred)| IndexSpec {
            schema,
            table,
            keys: keys
                .into_iter()
                .map(|(c, desc, upper)| IndexKey {
                    expr: if upper {
                        KeyExpr::Upper(c)
                    } else {
                        KeyExpr::Column(c)
                    },
                    desc,
                    nulls_first: None,
                    opclass: None,
                })
                .collect(),
            include: include.into_iter().collect(),
            predicate: pred.map(|(column, value)| Predicate {
                terms: vec![
                    PredTerm::IsNull {
                        column: column.clone(),
                    },
                    PredTerm::Eq {
                        column,
                        value: value.replace('\0', ""),
                        type_name: "text".into(),
                    },
                ],
            }),
            unique: false,
            method: crate::model::IndexMethod::Btree,
        })
}

/// Undo [`python_str`]'s escapes (the subset it produces).
fn python_unescape(lit: &str) -> Option<String> {
    let inner = lit.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '"' {
            return None; // an unescaped quote would end the literal
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '"' => out.push('"'),
            '\'' => out.push('\''),
            '\\' => out.push('\\'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'x' => {
                let h: String = chars.by_ref().take(2).collect();
                out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
            }
            'u' => {
                let h: String = chars.by_ref().take(4).collect();
                out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
            }
            'U' => {
                let h: String = chars.by_ref().take(8).collect();
                out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The CREATE INDEX statement (and HypoPG's nameless form) is exactly one statement that
    /// the SQL parser reads back, whatever the names and values.
    #[test]
    fn index_sql_is_one_valid_statement(s in spec(), name in ident()) {
        for sql in [s.create_sql(&name, true), s.create_sql(&name, false), s.hypothetical_sql()] {
            let parsed = Parser::parse_sql(&PostgreSqlDialect {}, &sql);
            prop_assert!(parsed.is_ok(), "{sql}: {parsed:?}");
            prop_assert_eq!(parsed.map(|v| v.len()).unwrap_or(0), 1, "{}", sql);
        }
    }

    /// Django's index names are at most 30 characters, never start with `_` or a digit, are
    /// unique, and give a plain module fragment.
    #[test]
    fn django_names_are_valid(specs in prop::collection::vec(spec(), 1..6)) {
        let mut namer = Namer::new(std::iter::empty());
        let mut seen = std::collections::BTreeSet::new();
        for s in &specs {
            let n = namer.name(s);
            prop_assert!(n.chars().count() <= 30, "{n:?}");
            prop_assert!(!n.starts_with('_') && !n.starts_with(|c: char| c.is_ascii_digit()), "{n:?}");
            prop_assert!(seen.insert(n.clone()), "duplicate {n:?}");
            let m = module_fragment(&n);
            prop_assert!(m.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{m:?}");
            let _ = base_name(s, 3);
        }
    }

    /// Python literals never let a value out: one line, and they decode to the value.
    #[test]
    fn python_literals_round_trip(v in "\\PC{0,60}|[\"'\\\\\n\r\t\u{0}-\u{1f}é🚀]{0,30}") {
        let lit = python_str(&v);
        prop_assert!(!lit.contains('\n') && !lit.contains('\r'), "{lit:?}");
        prop_assert_eq!(python_unescape(&lit), Some(v.clone()));
        let black = python_str_black(&v);
        prop_assert!(!black.contains('\n'), "{black:?}");
        prop_assert!(black.starts_with('"') || black.starts_with('\''), "{black:?}");
    }

    /// The SQL script: every line is a comment, blank, or a statement the parser reads; no name
    /// breaks out of a comment.
    #[test]
    fn sql_script_lines_stay_in_place(s in spec()) {
        let rec = crate::select::Recommendation {
            create: vec![crate::select::Proposed {
                read_gain_ms: 1.0,
                ..crate::select::Proposed::of(0, s.clone())
            }],
            ..Default::default()
        };
        let named = crate::naming::name(rec, &crate::model::Catalog::default(), []);
        let script = crate::emit::sql::render(&named, "0.0.0");
        // The whole script through the SQL tokenizer (which knows comments and quoted
        // identifiers spanning lines): exactly the one CREATE INDEX (and the ANALYZE after an
        // expression index), nothing else escaped.
        let parsed = Parser::parse_sql(&PostgreSqlDialect {}, &script);
        prop_assert!(parsed.is_ok(), "{script}: {parsed:?}");
        let stmts = parsed.unwrap_or_default();
        let analyze = s.analyze_sql().is_some();
        prop_assert_eq!(stmts.len(), 1 + usize::from(analyze), "{}", script);
        prop_assert!(matches!(stmts[0], sqlparser::ast::Statement::CreateIndex { .. }), "{script}");
        if analyze {
            prop_assert!(matches!(stmts[1], sqlparser::ast::Statement::Analyze { .. }), "{script}");
        }
    }
}
