//! The column proxy: costing `UPPER(col) = UPPER(v)` (Django's `iexact`) with the column's own
//! statistics, where the planner has none for the expression.
//!
//! Stage `whatif` (pure: text and catalog in, text out). Must not change the database (no
//! `CREATE STATISTICS`, no ANALYZE). Invariant: a statement is rewritten only where every
//! rewritten comparison is on a proxied column, and a proxied statement sees each candidate on
//! `UPPER(col)` only through its twin on the column (and existing indexes on the bare column
//! not at all), so the proxy changes the row estimates, never which indexes can serve it.
//!
//! Problem: the planner takes the selectivity of `UPPER(email::text) = UPPER($1)` from the
//! statistics ANALYZE gathers for an index on that expression. Without one it assumes 0.5% of
//! the rows match (1,500 of 300,000), whatever the column holds; a hypothetical expression
//! index has no statistics either. Measured on a ticket table where an email matches 7.6 rows:
//! behind `ORDER BY created DESC LIMIT 10` an index on `(created DESC)` was predicted 157 →
//! 25 ms and measured 151 → 308 ms (it walks the whole table through a filter), while the
//! expression index that was costed as poor measured 161 → 0.3 ms.
//!
//! What we do: where a statement compares `UPPER(col[::text]) = UPPER(x)` on a text column that
//! has statistics and no existing index on `upper(col)` (whose statistics the planner would
//! read), it is costed as `col COLLATE "C" = (x)`: upper-casing keeps (nearly) the column's
//! distinct values, so the column's statistics are the best estimate of the expression's. The
//! `COLLATE "C"` (`"POSIX"` on a column that is `C` already) keeps every existing index on the
//! bare column, and every candidate on it, from serving the proxy (an index matches a
//! comparison only in its own collation), while the planner still reads the column's
//! statistics. Each candidate with an `UPPER(col)` key gets a twin hypothetical index with
//! `col COLLATE "C"` in that key, which only the proxy can use; both report as the candidate.
//!
//! Example: `WHERE UPPER("t"."email"::text) = UPPER($1) ORDER BY "t"."created" DESC LIMIT 10`
//! is costed as `WHERE "t"."email" COLLATE "C" = ($1) ORDER BY …`, and candidate
//! `t(upper(email))` also as `t(email COLLATE "C")`.
//!
//! Limits: values that differ only in case count as distinct (the column's statistics then
//! overstate how selective the expression is); `LIKE` under `UPPER` (`istartswith`) is left
//! to the planner's guess (a histogram in another collation is not used for a prefix); a
//! partial candidate gets no twin (the planner never reads a partial expression index's
//! statistics, so the real one is costed with the guess too); extended statistics on the
//! expression (`CREATE STATISTICS … ON (upper(email))`) are not read from the catalog.

use std::collections::BTreeMap;

use crate::model::{Catalog, IndexSpec, KeyExpr, Table};
use crate::parse::shape::QueryShape;
use crate::pg::quote::ident;

/// A proxied column: (schema, table, column).
pub type ColumnKey = (String, String, String);

/// Proxied columns and the collation each is compared in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Proxies {
    columns: BTreeMap<ColumnKey, &'static str>,
}

/// Normalise an expression text: lower-case, no quotes, parentheses or blanks.
fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '"' | '(' | ')' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether `table.column` can be proxied, and in which collation.
fn eligible(table: &Table, column: &str) -> Option<&'static str> {
    let col = table.column(column)?;
    let text_like = col.type_name == "text"
        || col.type_name.starts_with("character varying")
        || col.type_name.starts_with("character(");
    if !text_like || col.stats.is_none() || table.rows <= 0.0 {
        return None;
    }
    let has_expression_index = table.indexes.iter().any(|i| {
        i.keys
            .iter()
            .any(|k| k.is_expression && norm(&k.expr) == norm(&format!("upper({column}::text)")))
    });
    if has_expression_index {
        return None;
    }
    match col.collation.as_deref() {
        Some("C") => Some("POSIX"),
        _ => Some("C"),
    }
}

impl Proxies {
    /// The columns to proxy for these statements: every `UPPER(col) = …` column that is
    /// [eligible](self).
    pub fn for_shapes(shapes: &[QueryShape], catalog: &Catalog) -> Proxies {
        let mut columns = BTreeMap::new();
        for s in shapes {
            for t in &s.tables {
                let Some(table) = catalog.table(&t.schema, &t.table) else {
                    continue;
                };
                for c in &t.upper_equality {
                    if let Some(coll) = eligible(table, c) {
                        columns.insert((t.schema.clone(), t.table.clone(), c.clone()), coll);
                    }
                }
            }
        }
        Proxies { columns }
    }

    /// No column is proxied.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    fn collation(&self, schema: &str, table: &str, column: &str) -> Option<&'static str> {
        self.columns
            .get(&(schema.to_string(), table.to_string(), column.to_string()))
            .copied()
    }

    /// The twin of a candidate for proxied statements: the hypothetical DDL with each
    /// `UPPER(col)` key on a proxied column as `col COLLATE "C"`; `None` when the candidate has
    /// no such key, or is partial.
    pub fn twin_sql(&self, spec: &IndexSpec) -> Option<String> {
        if spec.predicate.is_some() || !spec.method.is_btree() {
            return None;
        }
        let mut any = false;
        let keys: Vec<String> = spec
            .keys
            .iter()
            .map(|k| match &k.expr {
                KeyExpr::Upper(c) => match self.collation(&spec.schema, &spec.table, c) {
                    Some(coll) => {
                        any = true;
                        let plain = crate::model::IndexKey {
                            expr: KeyExpr::Column(c.clone()),
                            opclass: None,
                            ..k.clone()
                        };
                        // `"col" [DESC …]` → `"col" COLLATE "C" [DESC …]`.
                        let s = plain.sql();
                        let name = ident(c);
                        format!("{name} COLLATE {}{}", ident(coll), &s[name.len()..])
                    }
                    None => k.sql(),
                },
                KeyExpr::Column(_) => k.sql(),
            })
            .collect();
        if !any {
            return None;
        }
        let keyless = IndexSpec {
            keys: vec![],
            unique: false,
            ..spec.clone()
        };
        let tail = keyless.definition_tail();
        let head = format!(
            "ON {} USING {} (",
            spec.qualified_table(),
            spec.method.sql()
        );
        let rest = tail.strip_prefix(&head)?;
        Some(format!("CREATE INDEX {head}{}{rest}", keys.join(", ")))
    }

    /// The text to cost `shape` by: its plan text with every `UPPER(col[::text]) = UPPER(x)`
    /// on a proxied column rewritten as `col COLLATE "C" = (x)`; `None` when nothing was
    /// rewritten.
    pub fn rewrite(&self, shape: &QueryShape) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let text = &shape.plan_text;
        let b = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        let mut copied = 0;
        let mut changed = false;
        while i < b.len() {
            match b[i] {
                b'\'' => i = skip_quoted(b, i, b'\''),
                b'"' => i = skip_quoted(b, i, b'"'),
                b'-' if b.get(i + 1) == Some(&b'-') => {
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                }
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    i = text[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
                }
                _ if is_upper_call(b, i) => {
                    if let Some((end, replacement)) = self.comparison(shape, text, i) {
                        out.push_str(&text[copied..i]);
                        out.push_str(&replacement);
                        copied = end;
                        i = end;
                        changed = true;
                    } else {
                        i += 5;
                    }
                }
                _ => i += 1,
            }
        }
        out.push_str(&text[copied..]);
        changed.then_some(out)
    }

    /// At `start` (an `upper` call): `UPPER(colref[::text]) = UPPER(arg)` on a proxied column,
    /// as (end, replacement).
    fn comparison(&self, shape: &QueryShape, text: &str, start: usize) -> Option<(usize, String)> {
        let b = text.as_bytes();
        let mut i = skip_ws(b, start + 5);
        expect(b, &mut i, b'(')?;
        i = skip_ws(b, i);
        let col_start = i;
        let mut parts: Vec<String> = vec![];
        loop {
            let (part, next) = identifier(text, i)?;
            parts.push(part);
            i = next;
            if b.get(i) == Some(&b'.') {
                i += 1;
                continue;
            }
            break;
        }
        let col_end = i;
        i = skip_ws(b, i);
        if text[i..].starts_with("::") {
            let j = skip_ws(b, i + 2);
            if !text[j..].to_ascii_lowercase().starts_with("text") {
                return None;
            }
            i = j + 4;
        }
        i = skip_ws(b, i);
        expect(b, &mut i, b')')?;
        i = skip_ws(b, i);
        expect(b, &mut i, b'=')?;
        if matches!(b.get(i), Some(b'=' | b'<' | b'>')) {
            return None;
        }
        i = skip_ws(b, i);
        if !is_upper_call(b, i) {
            return None;
        }
        i = skip_ws(b, i + 5);
        expect(b, &mut i, b'(')?;
        let arg_start = i;
        let arg_end = crate::parse::text::closing_paren(text, i)?;
        let arg = text[arg_start..arg_end].trim();
        if arg.is_empty() {
            return None;
        }
        let column = parts.pop()?;
        let qualifier = parts.pop();
        let coll = self.resolve(shape, qualifier.as_deref(), &column)?;
        let colref = &text[col_start..col_end];
        Some((
            arg_end + 1,
            format!("{colref} COLLATE {} = ({arg})", ident(coll)),
        ))
    }

    /// The collation of the proxied column a reference names, if it is one.
    fn resolve(
        &self,
        shape: &QueryShape,
        qualifier: Option<&str>,
        column: &str,
    ) -> Option<&'static str> {
        let matching: Vec<&'static str> = shape
            .tables
            .iter()
            .filter(|t| match qualifier {
                Some(q) => t.table == q || t.aliases.iter().any(|a| a == q),
                None => shape.tables.len() == 1,
            })
            .filter_map(|t| self.collation(&t.schema, &t.table, column))
            .collect();
        match matching.as_slice() {
            [c, rest @ ..] if rest.iter().all(|r| r == c) => Some(c),
            _ => None,
        }
    }
}

/// Whether an `upper(` call (any case, blanks before the parenthesis) starts at `i`.
fn is_upper_call(b: &[u8], i: usize) -> bool {
    if i > 0
        && (b[i - 1].is_ascii_alphanumeric()
            || b[i - 1] == b'_'
            || b[i - 1] == b'"'
            || b[i - 1] == b'.')
    {
        return false;
    }
    if b.len() < i + 5 || !b[i..i + 5].eq_ignore_ascii_case(b"upper") {
        return false;
    }
    b.get(skip_ws(b, i + 5)) == Some(&b'(')
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn expect(b: &[u8], i: &mut usize, c: u8) -> Option<()> {
    (b.get(*i) == Some(&c)).then(|| *i += 1)
}

/// The index after a quoted string or identifier opening at `i` (doubled quotes escape).
fn skip_quoted(b: &[u8], i: usize, q: u8) -> usize {
    let mut j = i + 1;
    while j < b.len() {
        if b[j] == q {
            if b.get(j + 1) == Some(&q) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    b.len()
}

/// An identifier at `i` (`"Quoted"` or bare, folded to lower case) and the index after it.
fn identifier(text: &str, i: usize) -> Option<(String, usize)> {
    let b = text.as_bytes();
    match b.get(i)? {
        b'"' => {
            let end = skip_quoted(b, i, b'"');
            if end > b.len() || b.get(end - 1) != Some(&b'"') || end < i + 2 {
                return None;
            }
            Some((text[i + 1..end - 1].replace("\"\"", "\""), end))
        }
        c if c.is_ascii_alphabetic() || *c == b'_' => {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'$') {
                j += 1;
            }
            Some((text[i..j].to_ascii_lowercase(), j))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, ColumnStats, ExistingIndex, IndexKey};
    use crate::parse::shape::{StatementKind, TableAccess};

    fn catalog(expression_index: bool, collation: Option<&str>) -> Catalog {
        let col = |name: &str, ty: &str, stats: bool| Column {
            name: name.into(),
            attnum: 1,
            type_name: ty.into(),
            not_null: false,
            collation: if name == "email" {
                collation.map(str::to_string)
            } else {
                None
            },
            stats: stats.then(|| ColumnStats {
                n_distinct: -0.13,
                ..Default::default()
            }),
        };
        let mut indexes = vec![ExistingIndex::btree("t_email", "email", false)];
        if expression_index {
            let mut x = ExistingIndex::btree("t_upper", "email", false);
            x.keys[0].expr = "upper((email)::text)".into();
            x.keys[0].is_expression = true;
            indexes.push(x);
        }
        Catalog {
            tables: vec![Table {
                oid: 1,
                rows: 300_000.0,
                columns: vec![
                    col("email", "character varying(254)", true),
                    col("title", "text", false),
                    col("n", "integer", true),
                ],
                indexes,
                ..Table::named("public", "t")
            }],
            search_path: vec![],
        }
    }

    fn shape(text: &str, upper: &[&str]) -> QueryShape {
        QueryShape {
            queryid: 1,
            kind: StatementKind::Select,
            plan_text: text.into(),
            param_count: 1,
            tables: vec![TableAccess {
                schema: "public".into(),
                table: "t".into(),
                aliases: vec!["u".into()],
                upper_equality: upper.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            }],
            params: vec![],
            limit: None,
            offset: false,
        }
    }

    const DJANGO: &str = r#"SELECT "t"."id" FROM "t" WHERE UPPER("t"."email"::text) = UPPER($1) ORDER BY "t"."created" DESC LIMIT $2"#;

    #[test]
    fn iexact_is_costed_on_the_column_in_another_collation() {
        let s = shape(DJANGO, &["email"]);
        let p = Proxies::for_shapes(std::slice::from_ref(&s), &catalog(false, None));
        assert_eq!(
            p.rewrite(&s).as_deref(),
            Some(
                r#"SELECT "t"."id" FROM "t" WHERE "t"."email" COLLATE "C" = ($1) ORDER BY "t"."created" DESC LIMIT $2"#
            )
        );
        let lit = shape(
            "select * from t u where upper(u.email) = upper('a''b)') and upper(title) = upper($1)",
            &["email", "title"],
        );
        assert_eq!(
            p.rewrite(&lit).as_deref(),
            Some(
                r#"select * from t u where u.email COLLATE "C" = ('a''b)') and upper(title) = upper($1)"#
            ),
            "the title has no statistics: left to the planner"
        );
    }

    #[test]
    fn no_proxy_where_the_expression_has_statistics_or_the_column_none() {
        let s = shape(DJANGO, &["email"]);
        assert!(Proxies::for_shapes(std::slice::from_ref(&s), &catalog(true, None)).is_empty());
        let n = shape("SELECT 1 FROM t WHERE UPPER(n::text) = UPPER($1)", &["n"]);
        assert!(Proxies::for_shapes(std::slice::from_ref(&n), &catalog(false, None)).is_empty());
        let like = shape(
            r#"SELECT 1 FROM t WHERE UPPER("t"."email"::text) LIKE UPPER($1)"#,
            &["email"],
        );
        let p = Proxies::for_shapes(std::slice::from_ref(&s), &catalog(false, None));
        assert_eq!(p.rewrite(&like), None, "LIKE is not proxied");
        let c = Proxies::for_shapes(std::slice::from_ref(&s), &catalog(false, Some("C")));
        assert!(c
            .rewrite(&s)
            .is_some_and(|t| t.contains(r#"COLLATE "POSIX""#)));
    }

    #[test]
    fn candidates_on_the_expression_get_a_twin_on_the_column() {
        let s = shape(DJANGO, &["email"]);
        let p = Proxies::for_shapes(std::slice::from_ref(&s), &catalog(false, None));
        let spec = IndexSpec {
            schema: "public".into(),
            table: "t".into(),
            keys: vec![
                IndexKey {
                    expr: KeyExpr::Upper("email".into()),
                    ..IndexKey::col("email")
                },
                IndexKey::col_desc("created"),
            ],
            include: vec!["id".into()],
            predicate: None,
            unique: false,
            method: crate::model::IndexMethod::Btree,
        };
        assert_eq!(
            p.twin_sql(&spec).as_deref(),
            Some(
                r#"CREATE INDEX ON "public"."t" USING btree ("email" COLLATE "C", "created" DESC) INCLUDE ("id")"#
            )
        );
        let plain = IndexSpec {
            keys: vec![IndexKey::col("email")],
            ..spec
        };
        assert_eq!(p.twin_sql(&plain), None);
    }
}
