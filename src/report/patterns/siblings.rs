//! Workload evidence: what one statement's siblings in the workload say about it. A pattern
//! that claims "this runs once per page" or "this runs once per row" needs the statement that
//! makes it so; a statement alone cannot show either.
//!
//! Pure. Computed once per report from every statement (its pg_stat_statements counters and
//! parsed shape) and the catalog, then read by the patterns and the triage.
//!
//! **Paginator count.** Problem: every filtered `.count()` looked like Django's paginator
//! (a dashboard's `User.objects.filter(date_joined__gte=…).count()`, a stock alert's
//! `filter(num_in_stock__lt=F(…)).count()`), so a slow count an index fixes was told to switch
//! to cursor pagination. What we do: a `COUNT(*)` is a paginator count only when the workload
//! holds its list page: a SELECT with a `LIMIT` (with an `OFFSET`, or returning more than one
//! row per call, so not `.first()`/`.exists()`), reading every table the count reads, whose
//! `WHERE` is the count's own (same text once each `$n` is renumbered in order). Example:
//! `SELECT COUNT(*) AS "__count" FROM "order_order" WHERE "order_order"."status" = $1` with
//! `SELECT … FROM "order_order" LEFT OUTER JOIN "auth_user" … WHERE "order_order"."status" = $1
//! ORDER BY … LIMIT $2 OFFSET $3`.
//!
//! **Per-row calls (N+1).** Problem: a count or lookup by key run once per request (a product
//! page's `ProductViewEvent.objects.filter(product=p).count()`) is called as often as the
//! request, many times the median, and looked like an N+1. An N+1 runs once per row another
//! statement listed. What we do: a single-table SELECT filtered by equality on a primary or
//! foreign key has per-row calls when
//! (a) a SELECT listing rows of the parent table (the table the foreign key references; for a
//!     primary key, a table whose foreign key references it), more than
//!     [`LIST_ROWS_PER_CALL`] rows per call, was called at most 1/[`PER_ROW_CALLS`] as often
//!     and returned at least 1/[`PER_ROW_CALLS`] as many rows as the statement has calls (one
//!     call per listed row), and
//! (b) no SELECT fetching about one row of the parent table per call (not a count) was called
//!     about as often (within [`PER_ROW_CALLS`]×): that is the request fetching its one
//!     parent, and the statement runs once per request.
//! Without such evidence (no list statement in the workload, or a per-request sibling) the
//! statement is not called an N+1. Example: `order.lines.count()` for each of a customer's
//! orders: 2,039 counts, 2.6× the 771 calls of the order list that returned those orders.

use std::collections::{BTreeMap, BTreeSet};

use super::util::upper;
use crate::model::{Catalog, Statement, Table};
use crate::parse::{QueryShape, StatementKind};

/// A list statement returns more than this many rows per call.
pub const LIST_ROWS_PER_CALL: f64 = 1.5;
/// Per-row calls are at least this multiple of the list's calls; a per-request sibling is
/// within this factor of the statement's calls.
pub const PER_ROW_CALLS: f64 = 2.0;

/// One statement of the workload, with its shape when parsed.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    /// The pg_stat_statements entry.
    pub statement: &'a Statement,
    /// Its shape.
    pub shape: Option<&'a QueryShape>,
}

/// What the workload says about its statements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Siblings {
    /// COUNT statements with their list page: count queryid → the list's queryid.
    pub paginated: BTreeMap<i64, i64>,
    /// Statements called once per row another statement listed: queryid → evidence.
    pub per_row: BTreeMap<i64, String>,
    /// Statements an index that a limit kept out would make markedly cheaper: no finding may
    /// say that no index helps them.
    pub left_out: BTreeSet<i64>,
}

impl Siblings {
    /// The evidence of a workload.
    pub fn new(members: &[Member<'_>], catalog: &Catalog) -> Siblings {
        Siblings {
            paginated: paginated(members),
            per_row: per_row(members, catalog),
            left_out: BTreeSet::new(),
        }
    }
}

fn is_count(st: &Statement) -> bool {
    upper(&st.query).starts_with("SELECT COUNT(")
}

fn rows_per_call(st: &Statement) -> f64 {
    if st.calls > 0 {
        st.rows as f64 / st.calls as f64
    } else {
        0.0
    }
}

fn tables(shape: &QueryShape) -> BTreeSet<(&str, &str)> {
    shape
        .tables
        .iter()
        .map(|t| (t.schema.as_str(), t.table.as_str()))
        .collect()
}

fn paginated(members: &[Member<'_>]) -> BTreeMap<i64, i64> {
    let lists: Vec<(&Member<'_>, &QueryShape, String)> = members
        .iter()
        .filter_map(|m| {
            let s = m.shape?;
            let page = s.kind == StatementKind::Select
                && s.limit.is_some()
                && !is_count(m.statement)
                && (s.offset || rows_per_call(m.statement) > 1.0);
            page.then(|| (m, s, where_key(&m.statement.query)))
        })
        .collect();
    let mut out = BTreeMap::new();
    for m in members {
        let Some(shape) = m.shape else { continue };
        if shape.kind != StatementKind::Select || !is_count(m.statement) {
            continue;
        }
        let key = where_key(count_body(&m.statement.query));
        let mine = tables(shape);
        let list = lists
            .iter()
            .filter(|(l, s, k)| {
                l.statement.queryid != m.statement.queryid
                    && *k == key
                    && mine.is_subset(&tables(s))
            })
            .max_by(|a, b| {
                a.0.statement
                    .calls
                    .cmp(&b.0.statement.calls)
                    .then(b.0.statement.queryid.cmp(&a.0.statement.queryid))
            });
        if let Some((l, _, _)) = list {
            out.insert(m.statement.queryid, l.statement.queryid);
        }
    }
    out
}

/// The statement a count counts: the inner SELECT of `SELECT COUNT(*) … FROM (SELECT …)
/// subquery` (Django's count of a distinct or sliced queryset), else the text itself.
fn count_body(text: &str) -> &str {
    let Some(from) = top_level(text, "FROM").first().copied() else {
        return text;
    };
    let rest = text[from + 4..].trim_start();
    if let Some(inner) = rest.strip_prefix('(') {
        if let Some(close) = crate::parse::text::closing_paren(inner, 0) {
            return &inner[..close];
        }
    }
    text
}

/// Byte offsets of `keyword` (a word, any case) outside parentheses and quotes.
fn top_level(text: &str, keyword: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let kw = keyword.as_bytes();
    let mut out = vec![];
    let (mut depth, mut quote) = (0i32, None::<u8>);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'\'' | b'"' => quote = Some(c),
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ if depth == 0
                    && bytes.len() - i >= kw.len()
                    && bytes[i..i + kw.len()].eq_ignore_ascii_case(kw)
                    && (i == 0 || !is_word(bytes[i - 1]))
                    && bytes.get(i + kw.len()).is_none_or(|b| !is_word(*b)) =>
                {
                    out.push(i);
                }
                _ => {}
            },
        }
        i += 1;
    }
    out
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// The top-level WHERE of a SELECT, whitespace collapsed and each `$n` renumbered in order of
/// appearance (the list's LIMIT parameters and the count's differ in number only); empty
/// without a WHERE.
pub fn where_key(text: &str) -> String {
    let Some(start) = top_level(text, "WHERE").first().copied() else {
        return String::new();
    };
    let body = &text[start + 5..];
    let end = [
        "ORDER", "LIMIT", "OFFSET", "GROUP", "HAVING", "FOR", "WINDOW", "FETCH",
    ]
    .iter()
    .filter_map(|k| top_level(body, k).first().copied())
    .min()
    .unwrap_or(body.len());
    let clause = upper(&body[..end]);
    // Renumber $n in order of appearance.
    let mut out = String::with_capacity(clause.len());
    let mut seen: Vec<String> = vec![];
    let mut chars = clause.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            let mut n = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                n.push(*d);
                chars.next();
            }
            let idx = match seen.iter().position(|s| *s == n) {
                Some(i) => i,
                None => {
                    seen.push(n);
                    seen.len() - 1
                }
            };
            out.push_str(&format!("${}", idx + 1));
        } else {
            out.push(c);
        }
    }
    out.trim().to_string()
}

/// The table a foreign-key definition references (`FOREIGN KEY (a) REFERENCES x(id) …`).
pub fn referenced_table(definition: &str) -> Option<&str> {
    let rest = definition.split("REFERENCES ").nth(1)?;
    let target = rest.split('(').next()?.trim();
    Some(
        target
            .rsplit('.')
            .next()
            .unwrap_or(target)
            .trim_matches('"'),
    )
}

/// The parent tables of a key lookup on `table` by `columns`: the table each foreign key
/// references, and for the primary key every table with a foreign key referencing `table`.
fn parents<'c>(catalog: &'c Catalog, table: &Table, columns: &[String]) -> Vec<&'c Table> {
    let pk: Vec<&String> = table
        .constraints
        .iter()
        .filter(|c| c.kind == "p" && c.columns.len() == 1)
        .flat_map(|c| &c.columns)
        .collect();
    let mut out: Vec<&Table> = vec![];
    for col in columns {
        for c in table
            .constraints
            .iter()
            .filter(|c| c.kind == "f" && c.columns.len() == 1 && c.columns[0] == *col)
        {
            if let Some(name) = referenced_table(&c.definition) {
                out.extend(
                    catalog
                        .tables
                        .iter()
                        .filter(|t| t.name == name && t.schema == table.schema),
                );
            }
        }
        if pk.contains(&col) {
            out.extend(catalog.tables.iter().filter(|other| {
                other.constraints.iter().any(|c| {
                    c.kind == "f"
                        && c.columns.len() == 1
                        && referenced_table(&c.definition) == Some(table.name.as_str())
                })
            }));
        }
    }
    out.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    out.dedup_by(|a, b| a.schema == b.schema && a.name == b.name);
    out
}

fn per_row(members: &[Member<'_>], catalog: &Catalog) -> BTreeMap<i64, String> {
    let mut out = BTreeMap::new();
    for m in members {
        let Some(shape) = m.shape else { continue };
        let [t] = shape.tables.as_slice() else {
            continue;
        };
        let st = m.statement;
        if shape.kind != StatementKind::Select || st.calls <= 0 || t.equality.is_empty() {
            continue;
        }
        let Some(table) = catalog.table(&t.schema, &t.table) else {
            continue;
        };
        let parents = parents(catalog, table, &t.equality);
        if parents.is_empty() {
            continue;
        }
        let calls = st.calls as f64;
        let readers: Vec<&Member<'_>> = members
            .iter()
            .filter(|r| r.statement.queryid != st.queryid && r.statement.calls > 0)
            .filter(|r| {
                r.shape.is_some_and(|s| {
                    s.kind == StatementKind::Select
                        && s.tables.iter().any(|a| {
                            parents
                                .iter()
                                .any(|p| p.schema == a.schema && p.name == a.table)
                        })
                })
            })
            .collect();
        // (b) the request fetching its one parent, about as often: once per request.
        let per_request = readers.iter().any(|r| {
            let c = r.statement.calls as f64;
            !is_count(r.statement)
                && rows_per_call(r.statement) <= LIST_ROWS_PER_CALL
                && c * PER_ROW_CALLS >= calls
                && c <= calls * PER_ROW_CALLS
        });
        if per_request {
            continue;
        }
        // (a) a list of parent rows that accounts for the calls, one per listed row.
        let list = readers
            .iter()
            .filter(|r| {
                let c = r.statement.calls as f64;
                rows_per_call(r.statement) > LIST_ROWS_PER_CALL
                    && calls >= PER_ROW_CALLS * c
                    && r.statement.rows as f64 * PER_ROW_CALLS >= calls
            })
            .max_by(|a, b| {
                a.statement
                    .calls
                    .cmp(&b.statement.calls)
                    .then(b.statement.queryid.cmp(&a.statement.queryid))
            });
        if let Some(l) = list {
            let parent = l
                .shape
                .and_then(|s| {
                    s.tables.iter().find(|a| {
                        parents
                            .iter()
                            .any(|p| p.schema == a.schema && p.name == a.table)
                    })
                })
                .map(|a| a.table.as_str())
                .unwrap_or("?");
            out.insert(
                st.queryid,
                format!(
                    "{} calls, {:.1}× the {} calls of the statement listing {parent} (queryid {}, {:.1} rows per call)",
                    st.calls,
                    calls / l.statement.calls as f64,
                    l.statement.calls,
                    l.statement.queryid,
                    rows_per_call(l.statement)
                ),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::patterns::fixtures::{shop, statement};

    fn member_set(catalog: &Catalog, specs: &[(i64, &str, i64, i64)]) -> Siblings {
        let sts: Vec<Statement> = specs
            .iter()
            .map(|(q, text, calls, rows)| Statement {
                queryid: *q,
                ..statement(text, *calls, *rows, *calls as f64)
            })
            .collect();
        let shapes: Vec<QueryShape> = sts
            .iter()
            .map(|s| crate::parse::parse_statement(s, catalog).expect("parses"))
            .collect();
        let members: Vec<Member<'_>> = sts
            .iter()
            .zip(&shapes)
            .map(|(statement, shape)| Member {
                statement,
                shape: Some(shape),
            })
            .collect();
        Siblings::new(&members, catalog)
    }

    #[test]
    fn where_keys_renumber_parameters_and_stop_at_the_order() {
        assert_eq!(
            where_key("SELECT COUNT(*) AS \"__count\" FROM \"t\" WHERE \"t\".\"s\" = $1"),
            "\"T\".\"S\" = $1"
        );
        assert_eq!(
            where_key("SELECT \"t\".\"id\" FROM \"t\" LEFT OUTER JOIN \"u\" ON (\"t\".\"u_id\" = \"u\".\"id\") WHERE \"t\".\"s\" = $3 ORDER BY \"t\".\"id\" LIMIT $4 OFFSET $5"),
            "\"T\".\"S\" = $1"
        );
        assert_eq!(where_key("SELECT 1 FROM t ORDER BY id LIMIT 2"), "");
        assert_eq!(
            where_key("SELECT 1 FROM t WHERE a IN (SELECT b FROM u WHERE c = $2 ORDER BY d LIMIT 1) AND e = $1"),
            "A IN (SELECT B FROM U WHERE C = $1 ORDER BY D LIMIT 1) AND E = $2"
        );
    }

    #[test]
    fn a_count_is_paginated_only_with_its_list_page() {
        let c = shop();
        let count = "SELECT COUNT(*) AS \"__count\" FROM \"shop_order\" WHERE \"shop_order\".\"status\" = $1";
        let page = "SELECT \"shop_order\".\"id\" FROM \"shop_order\" WHERE \"shop_order\".\"status\" = $1 ORDER BY \"shop_order\".\"created_at\" ASC LIMIT $2 OFFSET $3";
        let other = "SELECT \"shop_order\".\"id\" FROM \"shop_order\" WHERE \"shop_order\".\"customer_id\" = $1 ORDER BY \"shop_order\".\"created_at\" ASC LIMIT $2 OFFSET $3";
        let first = "SELECT \"shop_order\".\"id\" FROM \"shop_order\" WHERE \"shop_order\".\"status\" = $1 ORDER BY \"shop_order\".\"created_at\" ASC LIMIT $2";
        let s = member_set(&c, &[(1, count, 50, 50), (2, page, 50, 2500)]);
        assert_eq!(s.paginated.get(&1), Some(&2));
        let s = member_set(&c, &[(1, count, 50, 50), (2, other, 50, 2500)]);
        assert!(s.paginated.is_empty(), "another filter is not its page");
        // `.first()` over the same filter: one row per call, not a page.
        let s = member_set(&c, &[(1, count, 50, 50), (2, first, 50, 50)]);
        assert!(s.paginated.is_empty());
        // The first page of a paginator has no OFFSET: a page of rows per call.
        let s = member_set(&c, &[(1, count, 50, 50), (2, first, 50, 1000)]);
        assert_eq!(s.paginated.get(&1), Some(&2));
    }

    #[test]
    fn per_row_calls_need_a_list_and_no_per_request_sibling() {
        let c = shop();
        let count = "SELECT COUNT(*) AS \"__count\" FROM \"shop_order\" WHERE \"shop_order\".\"customer_id\" = $1";
        let list = "SELECT \"shop_customer\".\"id\" FROM \"shop_customer\" ORDER BY \"shop_customer\".\"id\" ASC LIMIT $1 OFFSET $2";
        let one = "SELECT \"shop_customer\".\"id\" FROM \"shop_customer\" WHERE \"shop_customer\".\"email\" = $1 LIMIT $2";
        // 20 pages of 20 customers, a count for each.
        let s = member_set(&c, &[(1, count, 400, 400), (2, list, 20, 400)]);
        assert!(
            s.per_row
                .get(&1)
                .is_some_and(|e| e.contains("20.0× the 20 calls")),
            "{s:?}"
        );
        // No list in the workload: no evidence.
        let s = member_set(&c, &[(1, count, 400, 400)]);
        assert!(s.per_row.is_empty());
        // The request fetches its one customer as often as it counts: once per request, even
        // with a list elsewhere.
        let s = member_set(
            &c,
            &[(1, count, 400, 400), (2, list, 20, 400), (3, one, 400, 400)],
        );
        assert!(s.per_row.is_empty(), "{s:?}");
        // A list too short to account for the calls.
        let s = member_set(&c, &[(1, count, 400, 400), (2, list, 20, 60)]);
        assert!(s.per_row.is_empty());
    }
}
