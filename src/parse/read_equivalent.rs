//! Stage `parse`: the read an UPDATE or DELETE does before it writes, as a SELECT to plan.
//!
//! Problem: EXPLAIN of an UPDATE or DELETE needs the write privilege on its table (PostgreSQL
//! checks privileges when the plan is started, even without ANALYZE), so with a read-only role
//! (`pg_monitor` + `pg_read_all_data`) every write statement failed to plan and was skipped. An
//! index changes only how such a statement finds its rows; the write itself is costed by the
//! write model (entries, lost HOT updates).
//! What we do: plan `SELECT <target>.ctid, <SET values>, <RETURNING items> FROM <target>
//! [, <FROM/USING items>] [WHERE <predicate>]`: the same scan, the same joins, every `$n` kept
//! (the SET values keep their parameters, so the numbering and the types stay those of the
//! original). The target's `ctid` is what the real statement's scan returns too, so an
//! index-only scan is no more possible than it is for the write.
//! Example: `UPDATE "t" SET "status" = $1 WHERE "t"."id" = $2` is planned as
//! `SELECT "t".ctid, $1 FROM "t" WHERE "t"."id" = $2`.
//!
//! The same holds for row locks: `SELECT … FOR UPDATE` (Django's `select_for_update()`) and
//! the other locking clauses need the UPDATE privilege to be planned, and change nothing an
//! index does (a `LockRows` node over the same scan). [`without_row_locks`] plans the statement
//! without them.
//!
//! Must not do I/O. Statements outside this shape (a `WITH` before the UPDATE, `DEFAULT` in a
//! SET, MySQL-only clauses) keep their own text: planning them may then need the write
//! privilege, and a failure is reported with its reason.

use sqlparser::ast::{
    Delete, Expr, FromTable, ObjectNamePart, SelectItem, Statement, TableFactor, TableWithJoins,
    Update, UpdateTableFromKind,
};

/// The SELECT to plan for an UPDATE or DELETE, or `None` for any other statement (and for the
/// forms described in the module header).
pub(crate) fn read_equivalent(st: &Statement) -> Option<String> {
    match st {
        Statement::Update(u) => update(u),
        Statement::Delete(d) => delete(d),
        _ => None,
    }
}

fn update(u: &Update) -> Option<String> {
    if u.output.is_some() || u.or.is_some() || !u.order_by.is_empty() || u.limit.is_some() {
        return None;
    }
    let target = reference(&u.table)?;
    let mut items = vec![format!("{target}.ctid")];
    for a in &u.assignments {
        if is_default(&a.value) {
            return None;
        }
        items.push(a.value.to_string());
    }
    items.extend(returning(u.returning.as_deref()));
    let mut from = vec![u.table.to_string()];
    match &u.from {
        Some(UpdateTableFromKind::BeforeSet(v)) | Some(UpdateTableFromKind::AfterSet(v)) => {
            from.extend(v.iter().map(ToString::to_string))
        }
        None => {}
    }
    Some(select(&items, &from, u.selection.as_ref()))
}

fn delete(d: &Delete) -> Option<String> {
    if !d.tables.is_empty() || d.output.is_some() || !d.order_by.is_empty() || d.limit.is_some() {
        return None;
    }
    let (FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables)) = &d.from;
    let [first] = tables.as_slice() else {
        return None;
    };
    let target = reference(first)?;
    let mut items = vec![format!("{target}.ctid")];
    items.extend(returning(d.returning.as_deref()));
    let mut from = vec![first.to_string()];
    from.extend(d.using.iter().flatten().map(ToString::to_string));
    Some(select(&items, &from, d.selection.as_ref()))
}

/// How the statement refers to its target: the alias, else the table's own (last) name part.
fn reference(t: &TableWithJoins) -> Option<String> {
    if !t.joins.is_empty() {
        return None;
    }
    let TableFactor::Table { name, alias, .. } = &t.relation else {
        return None;
    };
    if let Some(a) = alias {
        return Some(a.name.to_string());
    }
    match name.0.last()? {
        ObjectNamePart::Identifier(i) => Some(i.to_string()),
        ObjectNamePart::Function(_) => None,
    }
}

fn returning(items: Option<&[SelectItem]>) -> Vec<String> {
    items
        .unwrap_or_default()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn is_default(e: &Expr) -> bool {
    matches!(e, Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default"))
}

fn select(items: &[String], from: &[String], selection: Option<&Expr>) -> String {
    let mut s = format!("SELECT {} FROM {}", items.join(", "), from.join(", "));
    if let Some(w) = selection {
        s.push_str(" WHERE ");
        s.push_str(&w.to_string());
    }
    s
}

/// The text without its row-locking clauses (`FOR UPDATE`, `FOR NO KEY UPDATE`, `FOR SHARE`,
/// `FOR KEY SHARE`, each with `OF …`, `NOWAIT`, `SKIP LOCKED`), at any nesting depth; `None`
/// when it has none. Nothing inside literals, quoted identifiers or comments is touched.
///
/// Example: `SELECT … WHERE "id" = $1 LIMIT 1 FOR UPDATE SKIP LOCKED` → `SELECT … WHERE "id" =
/// $1 LIMIT 1`.
pub(crate) fn without_row_locks(text: &str) -> Option<String> {
    use super::text::{lex, tok_text, TokKind};
    let lx = lex(text);
    let toks = &lx.toks;
    let word = |k: usize| {
        toks.get(k)
            .filter(|t| t.kind == TokKind::Word)
            .map(|t| tok_text(text, t).to_ascii_lowercase())
    };
    let mut cuts: Vec<(usize, usize)> = vec![];
    let mut k = 0;
    while k < toks.len() {
        let t = &toks[k];
        let starts = word(k).as_deref() == Some("for")
            && matches!(
                (word(k + 1).as_deref(), word(k + 2).as_deref()),
                (Some("update" | "share"), _) | (Some("no" | "key"), Some("key" | "share"))
            );
        if !starts {
            k += 1;
            continue;
        }
        // The clause runs until a `)` closing its level, LIMIT/OFFSET/FETCH on its level, or
        // the end.
        let start = t.start;
        let mut j = k + 1;
        let mut inner = 0i64;
        while j < toks.len() {
            match toks[j].kind {
                TokKind::Punct('(') => inner += 1,
                TokKind::Punct(')') if inner == 0 => break,
                TokKind::Punct(')') => inner -= 1,
                _ => {}
            }
            if inner == 0 && matches!(word(j).as_deref(), Some("limit" | "offset" | "fetch")) {
                break;
            }
            j += 1;
        }
        let end = toks.get(j).map(|t| t.start).unwrap_or(text.len());
        cuts.push((start, end));
        k = j;
    }
    if cuts.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for (s, e) in cuts {
        out.push_str(text[pos..s].trim_end());
        out.push(' ');
        pos = e;
    }
    out.push_str(&text[pos..]);
    Some(out.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn read(sql: &str) -> Option<String> {
        let st = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap();
        super::read_equivalent(&st[0])
    }

    #[test]
    fn update_becomes_the_select_of_its_rows_with_every_parameter() {
        assert_eq!(
            read(r#"UPDATE "shop_order" SET "status" = $1, "updated_at" = $2 WHERE "shop_order"."id" = $3"#)
                .unwrap(),
            r#"SELECT "shop_order".ctid, $1, $2 FROM "shop_order" WHERE "shop_order"."id" = $3"#
        );
        // Django's bulk update through a subquery, schema-qualified, with an alias.
        assert_eq!(
            read(r#"UPDATE "public"."t" AS u SET "n" = "n" + $1 FROM "o" WHERE u."id" = "o"."t_id" AND "o"."k" IN (SELECT U0."id" FROM "o" U0 WHERE U0."x" = $2) RETURNING u."id""#)
                .unwrap(),
            r#"SELECT u.ctid, "n" + $1, u."id" FROM "public"."t" AS u, "o" WHERE u."id" = "o"."t_id" AND "o"."k" IN (SELECT U0."id" FROM "o" U0 WHERE U0."x" = $2)"#
        );
    }

    #[test]
    fn delete_becomes_the_select_of_its_rows() {
        assert_eq!(
            read(r#"DELETE FROM "shop_cart" WHERE "shop_cart"."id" IN ($1, $2)"#).unwrap(),
            r#"SELECT "shop_cart".ctid FROM "shop_cart" WHERE "shop_cart"."id" IN ($1, $2)"#
        );
        assert_eq!(
            read(r#"DELETE FROM t USING u WHERE t.u_id = u.id AND u.gone"#).unwrap(),
            "SELECT t.ctid FROM t, u WHERE t.u_id = u.id AND u.gone"
        );
        assert_eq!(read("DELETE FROM t").unwrap(), "SELECT t.ctid FROM t");
    }

    #[test]
    fn row_locks_are_left_out_at_any_depth() {
        use super::without_row_locks as w;
        assert_eq!(
            w(r#"SELECT "t"."id" FROM "t" WHERE "t"."id" = $1 LIMIT $2 FOR UPDATE"#).unwrap(),
            r#"SELECT "t"."id" FROM "t" WHERE "t"."id" = $1 LIMIT $2"#
        );
        assert_eq!(
            w("SELECT a FROM t FOR NO KEY UPDATE OF t SKIP LOCKED LIMIT 1").unwrap(),
            "SELECT a FROM t LIMIT 1"
        );
        assert_eq!(
            w("SELECT a FROM t WHERE id IN (SELECT id FROM u FOR KEY SHARE OF u NOWAIT) AND b = 'FOR UPDATE'")
                .unwrap(),
            "SELECT a FROM t WHERE id IN (SELECT id FROM u ) AND b = 'FOR UPDATE'"
        );
        assert_eq!(
            w("SELECT a FROM t FOR SHARE"),
            Some("SELECT a FROM t".into())
        );
        assert_eq!(w(r#"SELECT "for", update FROM t -- FOR UPDATE"#), None);
    }

    #[test]
    fn other_forms_keep_their_text() {
        assert_eq!(read("UPDATE t SET a = DEFAULT WHERE id = $1"), None);
        assert_eq!(read("SELECT 1"), None);
        assert_eq!(read("INSERT INTO t (a) VALUES ($1)"), None);
    }
}
