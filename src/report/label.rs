//! Statement labels for report rows: the part of a statement that tells it apart from its
//! neighbours.
//!
//! Pure. Invariant: a label never drops the tables, WHERE, GROUP BY, ORDER BY or LIMIT of a
//! statement before its length limit; only a long select list is elided.
//!
//! Problem: Django's statements on one table all begin with the same long column list, so
//! every row of a report cut at 90 characters read `SELECT "tickets_ticket"."id",
//! "tickets_ticket"."queue_id", "tickets_ticket"."re…`. What we do: replace a select list
//! longer than [`MAX_SELECT_LIST`] characters with `…`, drop the double quotes around plain
//! lower-case identifiers, and only then cut. Example: `SELECT "t"."id", … FROM "t" WHERE
//! "t"."queue_id" = $1 ORDER BY "t"."created" DESC LIMIT 21` becomes `SELECT … FROM t WHERE
//! queue_id = $1 ORDER BY created DESC LIMIT 21` (a statement on one table loses the
//! qualifier of its columns).

/// A select list up to this many characters is kept (`COUNT(*) AS "__count"` tells statements
/// apart); a longer one becomes `…`.
pub const MAX_SELECT_LIST: usize = 40;

/// The label of `query`, at most `n` characters (cut with `…`).
pub fn statement_label(query: &str, n: usize) -> String {
    let one: String = query.split_whitespace().collect::<Vec<_>>().join(" ");
    let elided = elide_select_list(&one);
    let plain = drop_single_qualifier(&unquote_plain(&elided));
    if plain.chars().count() <= n {
        return plain;
    }
    cut(&elide_join_conditions(&plain), n)
}

/// Replace the condition of each top-level `JOIN … ON (…)` with `…`: Django joins on a foreign
/// key, which the two table names already say, and the WHERE after it tells statements apart.
fn elide_join_conditions(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    for (i, depth) in unquoted(b, 0) {
        if i < copied || depth != 0 || b[i] != b' ' {
            continue;
        }
        if b.len() >= i + 5 && b[i + 1..i + 5].eq_ignore_ascii_case(b"ON (") {
            let open = i + 4;
            if let Some(close) = matching_paren(s, open) {
                out.push_str(&s[copied..open + 1]);
                out.push('…');
                copied = close;
            }
        }
    }
    out.push_str(&s[copied..]);
    out
}

/// The positions of `b` from `start` on that lie outside string literals and quoted
/// identifiers (their quotes included), each with the parenthesis depth after it, counted from
/// `start`: a `(` is at depth 1, the `)` that closes it at 0. The one scanner of this module.
fn unquoted(b: &[u8], start: usize) -> impl Iterator<Item = (usize, i32)> + '_ {
    let (mut depth, mut in_str, mut in_ident) = (0i32, false, false);
    b.iter().enumerate().skip(start).filter_map(move |(i, &c)| {
        if in_str {
            in_str = c != b'\'';
            return None;
        }
        if in_ident {
            in_ident = c != b'"';
            return None;
        }
        match c {
            b'\'' => in_str = true,
            b'"' => in_ident = true,
            b'(' => depth += 1,
            b')' => depth -= 1,
            _ => return Some((i, depth)),
        }
        (c == b'(' || c == b')').then_some((i, depth))
    })
}

/// The index of the `)` that closes the `(` at `open`.
fn matching_paren(s: &str, open: usize) -> Option<usize> {
    crate::parse::text::closing_paren(s, open + 1)
}

/// In a statement on one table (one FROM, no JOIN, no comma after the table), drop the
/// `table.` qualifier of its columns: `WHERE t.queue_id = $1` → `WHERE queue_id = $1`.
fn drop_single_qualifier(s: &str) -> String {
    let upper = s.to_ascii_uppercase();
    if upper.matches(" FROM ").count() != 1 || upper.contains(" JOIN ") {
        return s.to_string();
    }
    let Some(at) = upper.find(" FROM ") else {
        return s.to_string();
    };
    let rest = &s[at + 6..];
    let table: String = rest
        .chars()
        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
        .collect();
    let after = &rest[table.len()..];
    if table.is_empty()
        || !(after.is_empty() || after.starts_with(' '))
        || after.trim_start().starts_with(',')
    {
        return s.to_string();
    }
    let qual = format!("{table}.");
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let boundary = i == 0
            || !s[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '"');
        if boundary && s[i..].starts_with(&qual) {
            i += qual.len();
            continue;
        }
        let c = s[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Byte offset of the first top-level ` FROM ` (outside parentheses, quotes and strings).
fn top_level_from(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    unquoted(b, 0)
        .find(|&(i, depth)| {
            depth == 0
                && b[i] == b' '
                && b.len() >= i + 6
                && b[i + 1..i + 5].eq_ignore_ascii_case(b"FROM")
                && b[i + 5] == b' '
        })
        .map(|(i, _)| i)
}

fn elide_select_list(one: &str) -> String {
    let head = one.get(..7).unwrap_or("");
    if !head.eq_ignore_ascii_case("SELECT ") {
        return one.to_string();
    }
    let Some(from) = top_level_from(one) else {
        return one.to_string();
    };
    let mut list_start = 7;
    if one[7..].len() >= 9 && one[7..16].eq_ignore_ascii_case("DISTINCT ") {
        list_start = 16;
    }
    if from <= list_start || from - list_start <= MAX_SELECT_LIST {
        return one.to_string();
    }
    format!("{}…{}", &one[..list_start], &one[from..])
}

/// Drop double quotes around identifiers that need none (lower-case letters, digits, `_`).
fn unquote_plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut in_str = false;
    while let Some(c) = rest.chars().next() {
        if in_str {
            out.push(c);
            in_str = c != '\'';
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '\'' {
            in_str = true;
        }
        if c == '"' {
            if let Some(end) = rest[1..].find('"') {
                let ident = &rest[1..1 + end];
                let plain = !ident.is_empty()
                    && ident
                        .chars()
                        .next()
                        .is_some_and(|f| f.is_ascii_lowercase() || f == '_')
                    && ident
                        .chars()
                        .all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == '_');
                if plain {
                    out.push_str(ident);
                    rest = &rest[end + 2..];
                    continue;
                }
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_select_list_is_elided_and_the_rest_kept() {
        let q = r#"SELECT "tickets_ticket"."id", "tickets_ticket"."queue_id", "tickets_ticket"."reporter_id", "tickets_ticket"."status" FROM "tickets_ticket" WHERE ("tickets_ticket"."queue_id" = $1 AND "tickets_ticket"."status" = $2) ORDER BY "tickets_ticket"."created" DESC LIMIT 21"#;
        insta::assert_snapshot!(statement_label(q, 200), @"SELECT … FROM tickets_ticket WHERE (queue_id = $1 AND status = $2) ORDER BY created DESC LIMIT 21");
        let join = r#"SELECT "a"."id" FROM "a" INNER JOIN "b" ON ("a"."b_id" = "b"."id") WHERE "b"."x" = $1"#;
        assert_eq!(
            statement_label(join, 200),
            "SELECT a.id FROM a INNER JOIN b ON (a.b_id = b.id) WHERE b.x = $1"
        );
    }

    #[test]
    fn short_lists_subqueries_strings_and_odd_identifiers_stay() {
        let count = r#"SELECT COUNT(*) AS "__count" FROM "t" WHERE "t"."a" = $1"#;
        assert_eq!(
            statement_label(count, 200),
            "SELECT COUNT(*) AS __count FROM t WHERE a = $1"
        );
        let sub = r#"SELECT (SELECT max("x") FROM "u" WHERE "u"."id" = "t"."id") AS "m", "t"."aaaaaaaaaaaaaaaaaaaa", "t"."bbbbbbbbbbb" FROM "t" WHERE "t"."Name" = 'a "b" FROM c'"#;
        assert_eq!(
            statement_label(sub, 200),
            r#"SELECT … FROM t WHERE t."Name" = 'a "b" FROM c'"#,
            "two FROMs (one inside a string): qualifiers kept"
        );
        assert_eq!(
            statement_label("UPDATE \"t\" SET \"a\" = $1", 10),
            "UPDATE t …"
        );
    }

    /// The reviewer's two category pages (the second with an `Exists` annotation) read the
    /// same when cut at the join: a label that must be cut gives up the join conditions before
    /// the WHERE.
    #[test]
    fn a_long_join_gives_up_its_join_condition_before_its_where() {
        let cols = r#""catalogue_product"."id", "catalogue_product"."structure", "catalogue_product"."title", "catalogue_product"."rating""#;
        let join = r#"FROM "catalogue_product" INNER JOIN "catalogue_productcategory" ON ("catalogue_product"."id" = "catalogue_productcategory"."product_id")"#;
        let exists = r#"EXISTS(SELECT $4 AS "a" FROM "partner_stockrecord" U0 WHERE (U0."num_in_stock" > (U0."num_allocated") AND U0."product_id" = ("catalogue_product"."id")) LIMIT $5)"#;
        let a = format!(
            r#"SELECT {cols} {join} WHERE ("catalogue_productcategory"."category_id" = $1 AND "catalogue_product"."is_public") ORDER BY "catalogue_product"."rating" DESC, "catalogue_product"."id" ASC LIMIT $2"#
        );
        let b = format!(
            r#"SELECT {cols}, {exists} AS "has_stock" {join} WHERE ("catalogue_productcategory"."category_id" = $3 AND {exists}) ORDER BY "catalogue_product"."title" ASC LIMIT $6"#
        );
        let (la, lb) = (statement_label(&a, 140), statement_label(&b, 140));
        assert_ne!(la, lb);
        assert_eq!(
            la,
            "SELECT … FROM catalogue_product INNER JOIN catalogue_productcategory ON (…) WHERE (catalogue_productcategory.category_id = $1 AND catalogue…"
        );
        // Wide enough: the condition stays.
        assert!(statement_label(&a, 400).contains("ON (catalogue_product.id = "));
    }

    #[test]
    fn every_join_gives_up_its_condition_and_quotes_hide_parentheses() {
        let q = r#"SELECT "o"."id" FROM "o" INNER JOIN "c" ON ("o"."c_id" = "c"."id") LEFT OUTER JOIN "a" ON ("c"."a_id" = "a"."id" AND "a"."note" <> ')(') WHERE ("o"."status" = $1 AND "a"."x(" = $2) ORDER BY "o"."id" DESC"#;
        assert_eq!(
            statement_label(q, 120),
            "SELECT o.id FROM o INNER JOIN c ON (…) LEFT OUTER JOIN a ON (…) WHERE (o.status = $1 AND a.\"x(\" = $2) ORDER BY o.id DESC"
        );
        assert_eq!(
            top_level_from(r#"SELECT ' FROM ', "a FROM b" FROM t"#),
            Some(27)
        );
        assert_eq!(matching_paren("(a ')' \")\" (b)) c", 0), Some(14));
    }
}
