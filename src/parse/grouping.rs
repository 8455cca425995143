//! Stage `parse`: GROUP BY and ORDER BY expressions that pg_stat_statements left with their
//! constants while the same expression in the select list got `$n`, made to match again for
//! planning.
//!
//! Must not do I/O, and changes nothing but those constants. Invariant: a rewritten expression
//! is token for token the select item it matched (a `$n` there where the GROUP BY or ORDER BY
//! had a number or a string), so every parameter keeps its number and the statement means what
//! it meant when it ran (it ran, so its constants were the select item's).
//!
//! Problem: the server matches `GROUP BY substr(w_warehouse_name, 1, 20)` to the select item
//! `substr(w_warehouse_name, 1, 20)` and keeps ONE expression for both, so pg_stat_statements
//! records its constants once, at the select item: the text it keeps is
//! `SELECT substr(w_warehouse_name, $1, $2) … GROUP BY substr(w_warehouse_name, 1, 20)`, which
//! cannot be prepared ("column … must appear in the GROUP BY clause": TPC-DS Q62 and Q99).
//! What we do: a GROUP BY or ORDER BY expression that equals a select item of the same SELECT
//! up to constants where the item has parameters is replaced by that item, and the statement
//! is planned from its rendering. Example: the text above is planned as
//! `SELECT substr(w_warehouse_name, $1, $2) … GROUP BY substr(w_warehouse_name, $1, $2)`.
//! Covered: the statement's SELECT, its CTEs, set operations and subqueries in FROM (not
//! subqueries inside expressions). Only a statement with such an expression is cloned and
//! rendered (both recurse: a 2,000-term OR chain would overflow the stack), and only one under
//! [`MAX_OPERATORS`] operators.

/// Statements with more operators than this keep their text (see the header).
pub(crate) const MAX_OPERATORS: usize = 500;

use sqlparser::ast::{
    Expr, GroupByExpr, OrderByKind, Query, Select, SelectItem, SetExpr, Statement, TableFactor,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// The statement with its GROUP BY / ORDER BY constants replaced by the matching select items'
/// parameters (see the module header), rendered; `None` when nothing matched.
pub(crate) fn with_grouping_params(st: &Statement) -> Option<String> {
    let Statement::Query(q) = st else {
        return None;
    };
    // Clone and render (both recursive) only a statement that has something to rewrite.
    if !worth_trying(q) {
        return None;
    }
    let mut q = q.clone();
    if query(&mut q) {
        Some(Statement::Query(q).to_string())
    } else {
        None
    }
}

/// Whether `q` (or a query inside it) groups or orders by an expression holding a constant
/// (not a position, a bare column or a bare constant), without cloning or rendering anything.
fn worth_trying(q: &Query) -> bool {
    let complex = |e: &Expr| {
        !matches!(
            e,
            Expr::Value(_) | Expr::Identifier(_) | Expr::CompoundIdentifier(_)
        )
    };
    if q.with
        .as_ref()
        .is_some_and(|w| w.cte_tables.iter().any(|c| worth_trying(&c.query)))
    {
        return true;
    }
    if let Some(ob) = &q.order_by {
        if let OrderByKind::Expressions(items) = &ob.kind {
            if items.iter().any(|o| complex(&o.expr)) {
                return true;
            }
        }
    }
    set_worth_trying(&q.body, &complex)
}

fn set_worth_trying(e: &SetExpr, complex: &dyn Fn(&Expr) -> bool) -> bool {
    match e {
        SetExpr::Select(s) => {
            let grouped = matches!(&s.group_by, GroupByExpr::Expressions(exprs, _) if exprs.iter().any(complex));
            grouped
                || s.from.iter().any(|t| {
                    factor_worth_trying(&t.relation)
                        || t.joins.iter().any(|j| factor_worth_trying(&j.relation))
                })
        }
        SetExpr::Query(q) => worth_trying(q),
        SetExpr::SetOperation { left, right, .. } => {
            set_worth_trying(left, complex) || set_worth_trying(right, complex)
        }
        _ => false,
    }
}

fn factor_worth_trying(f: &TableFactor) -> bool {
    match f {
        TableFactor::Derived { subquery, .. } => worth_trying(subquery),
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => {
            factor_worth_trying(&table_with_joins.relation)
                || table_with_joins
                    .joins
                    .iter()
                    .any(|j| factor_worth_trying(&j.relation))
        }
        _ => false,
    }
}

/// Rewrite inside `q`; whether anything changed.
fn query(q: &mut Query) -> bool {
    let mut changed = false;
    if let Some(w) = &mut q.with {
        for cte in &mut w.cte_tables {
            changed |= query(&mut cte.query);
        }
    }
    // ORDER BY of a plain SELECT matches its select list.
    if let (SetExpr::Select(s), Some(ob)) = (q.body.as_ref(), &mut q.order_by) {
        if let OrderByKind::Expressions(items) = &mut ob.kind {
            let select_items = items_of(s);
            for o in items.iter_mut() {
                changed |= replace(&mut o.expr, &select_items);
            }
        }
    }
    changed |= set_expr(&mut q.body);
    changed
}

fn set_expr(e: &mut SetExpr) -> bool {
    match e {
        SetExpr::Select(s) => select(s),
        SetExpr::Query(q) => query(q),
        SetExpr::SetOperation { left, right, .. } => {
            let l = set_expr(left);
            set_expr(right) | l
        }
        _ => false,
    }
}

fn select(s: &mut Select) -> bool {
    let mut changed = false;
    for t in &mut s.from {
        changed |= factor(&mut t.relation);
        for j in &mut t.joins {
            changed |= factor(&mut j.relation);
        }
    }
    let select_items = items_of(s);
    if let GroupByExpr::Expressions(exprs, _) = &mut s.group_by {
        for g in exprs.iter_mut() {
            changed |= replace(g, &select_items);
        }
    }
    changed
}

fn factor(f: &mut TableFactor) -> bool {
    match f {
        TableFactor::Derived { subquery, .. } => query(subquery),
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => {
            let mut changed = factor(&mut table_with_joins.relation);
            for j in &mut table_with_joins.joins {
                changed |= factor(&mut j.relation);
            }
            changed
        }
        _ => false,
    }
}

/// The select list's expressions that hold a parameter.
fn items_of(s: &Select) -> Vec<Expr> {
    s.projection
        .iter()
        .filter_map(|i| match i {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
            _ => None,
        })
        .filter(|e| tokens(e).iter().any(|t| matches!(t, Token::Placeholder(_))))
        .cloned()
        .collect()
}

/// Replace `e` by the first of `items` it equals up to constants; whether it did.
fn replace(e: &mut Expr, items: &[Expr]) -> bool {
    // A bare number is a select-list position (`GROUP BY 1`), not a constant.
    if matches!(e, Expr::Value(_)) {
        return false;
    }
    let mine = tokens(e);
    if !mine
        .iter()
        .any(|t| matches!(t, Token::Number(..) | Token::SingleQuotedString(_)))
    {
        return false;
    }
    match items
        .iter()
        .find(|i| matches_up_to_constants(&tokens(i), &mine))
    {
        Some(i) => {
            *e = i.clone();
            true
        }
        None => false,
    }
}

/// Whether `item` (with parameters) and `other` (with constants) are the same tokens, a
/// parameter of `item` standing for a number or string of `other`, and differ somewhere.
fn matches_up_to_constants(item: &[Token], other: &[Token]) -> bool {
    item.len() == other.len()
        && item != other
        && item.iter().zip(other).all(|(a, b)| {
            a == b
                || (matches!(a, Token::Placeholder(_))
                    && matches!(b, Token::Number(..) | Token::SingleQuotedString(_)))
        })
}

/// The expression's tokens, whitespace left out (empty when its rendering does not tokenize).
fn tokens(e: &Expr) -> Vec<Token> {
    let text = e.to_string();
    Tokenizer::new(&PostgreSqlDialect {}, &text)
        .tokenize()
        .unwrap_or_default()
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect()
}

#[cfg(test)]
mod tests {
    use sqlparser::parser::Parser;

    use super::*;

    fn rewrite(sql: &str) -> Option<String> {
        let st = Parser::parse_sql(&PostgreSqlDialect {}, sql).expect("parses");
        with_grouping_params(&st[0])
    }

    /// TPC-DS Q99 as pg_stat_statements keeps it (shortened).
    #[test]
    fn group_and_order_by_take_the_select_items_parameters() {
        let out = rewrite(
            "select substr(w_warehouse_name,$1,$2), sm_type, sum(case when d > $3 then $4 else $5 end) \
             from catalog_sales, warehouse, ship_mode where d_month_seq between $6 and $7 + $8 \
             group by substr(w_warehouse_name,1,20), sm_type \
             order by substr(w_warehouse_name,1,20), sm_type limit $9",
        )
        .expect("rewritten");
        assert_eq!(
            out,
            "SELECT SUBSTR(w_warehouse_name, $1, $2), sm_type, sum(CASE WHEN d > $3 THEN $4 ELSE $5 END) \
             FROM catalog_sales, warehouse, ship_mode WHERE d_month_seq BETWEEN $6 AND $7 + $8 \
             GROUP BY SUBSTR(w_warehouse_name, $1, $2), sm_type \
             ORDER BY SUBSTR(w_warehouse_name, $1, $2), sm_type LIMIT $9"
        );
    }

    #[test]
    fn inside_ctes_set_operations_and_derived_tables() {
        let out = rewrite(
            "with c as (select left(a, $1) as x, count(*) from t group by left(a, 3)) \
             select * from c, (select upper(b || $2) from u group by upper(b || 'z')) d \
             union all select lower(a), 1 from t group by lower(a)",
        )
        .expect("rewritten");
        assert!(out.contains("GROUP BY left(a, $1)"), "{out}");
        assert!(out.contains("GROUP BY upper(b || $2)"), "{out}");
        assert!(out.contains("GROUP BY lower(a)"), "{out}");
    }

    #[test]
    fn nothing_to_do() {
        // Already matching, no parameters, a different expression, a different function.
        for sql in [
            "select substr(a, $1, $2) from t group by substr(a, $1, $2)",
            "select substr(a, 1, 2) from t group by substr(a, 1, 2)",
            "select substr(a, $1, $2) from t group by substr(b, 1, 2)",
            "select left(a, $1) from t group by right(a, 1)",
            "select a, count(*) from t group by a order by 2",
            "select a, $1, count(*) from t group by 1, 2 order by 1",
            "update t set a = $1 where b = 2",
        ] {
            assert_eq!(rewrite(sql), None, "{sql}");
        }
    }
}
