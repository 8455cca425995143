//! Does an existing index already serve a candidate?
//!
//! Stage `candidates`. Must not do I/O; it reads the catalog's `ExistingIndex` records only.
//! Invariant: a candidate is dropped only when a valid B-tree gives the same access path: its
//! leading keys match (same column or `upper()` expression, same opclass, same directions or
//! all flipped; in any order when the candidate is equality-only), it holds every INCLUDE
//! column, and its predicate is the same (or both have none).

use crate::model::catalog::ExistingKey;
use crate::model::{ExistingIndex, IndexKey, IndexSpec, KeyExpr, Table};

use super::candidate::Rule;

/// Problem: proposing what already exists wastes what-if calls and confuses the report.
/// What we do: match leading keys, directions (all flipped is the same index read backwards),
/// opclasses, INCLUDE and predicate; equality-only candidates match in any key order.
/// Example: `(customer_id)` is served by Django's FK index `shop_order_customer_id_…`;
/// `(customer_id, created_at DESC)` is not.
pub(crate) fn served_by<'t>(
    spec: &IndexSpec,
    rules: &[Rule],
    t: &'t Table,
) -> Option<&'t ExistingIndex> {
    let equality_only = !rules.is_empty() && rules.iter().all(|r| *r == Rule::Equality);
    t.indexes.iter().find(|x| {
        x.valid
            && x.method == spec.method
            && x.method.is_btree()
            && x.keys.len() >= spec.keys.len()
            && same_predicate(spec, x)
            && includes(spec, x)
            && keys_match(&spec.keys, &x.keys, equality_only)
    })
}

pub(crate) fn keys_match(want: &[IndexKey], have: &[ExistingKey], any_order: bool) -> bool {
    let lead = &have[..want.len().min(have.len())];
    if any_order {
        return want
            .iter()
            .all(|w| lead.iter().any(|h| same_expr(w, h) && same_opclass(w, h)));
    }
    let same = want.iter().zip(lead).all(|(w, h)| {
        same_expr(w, h) && same_opclass(w, h) && direction(w) == (h.desc, h.nulls_first)
    });
    let flipped = want.iter().zip(lead).all(|(w, h)| {
        same_expr(w, h) && same_opclass(w, h) && direction(w) == (!h.desc, !h.nulls_first)
    });
    same || flipped
}

/// (desc, nulls_first) with the defaults spelled out.
fn direction(k: &IndexKey) -> (bool, bool) {
    (k.desc, k.nulls_first.unwrap_or(k.desc))
}

fn same_opclass(w: &IndexKey, h: &ExistingKey) -> bool {
    w.opclass.as_deref().map(str::to_ascii_lowercase)
        == h.opclass.as_deref().map(str::to_ascii_lowercase)
}

/// Normalise an expression text: lower-case, no quotes, parentheses or blanks.
fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '"' | '(' | ')' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

fn same_expr(w: &IndexKey, h: &ExistingKey) -> bool {
    match &w.expr {
        KeyExpr::Column(c) => !h.is_expression && h.expr == *c,
        KeyExpr::Upper(c) => h.is_expression && norm(&h.expr) == norm(&format!("upper({c}::text)")),
    }
}

fn includes(spec: &IndexSpec, x: &ExistingIndex) -> bool {
    spec.include
        .iter()
        .all(|c| x.include.contains(c) || x.keys.iter().any(|k| !k.is_expression && k.expr == *c))
}

pub(crate) fn same_predicate(spec: &IndexSpec, x: &ExistingIndex) -> bool {
    match (&spec.predicate, &x.predicate) {
        (None, None) => true,
        (Some(p), Some(q)) => {
            // pg_get_expr adds casts and parentheses; compare without them.
            let strip = |s: &str| {
                norm(s)
                    .replace("::charactervarying", "")
                    .replace("::text", "")
                    .replace("::boolean", "")
            };
            strip(&p.sql()) == strip(q)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IndexMethod, PredTerm, Predicate};

    fn key(expr: &str, desc: bool) -> ExistingKey {
        ExistingKey {
            expr: expr.into(),
            is_expression: expr.contains('('),
            desc,
            nulls_first: desc,
            opclass: None,
        }
    }

    fn index(name: &str, keys: Vec<ExistingKey>, predicate: Option<&str>) -> ExistingIndex {
        ExistingIndex {
            name: name.into(),
            definition: String::new(),
            method: IndexMethod::Btree,
            keys,
            include: vec![],
            predicate: predicate.map(str::to_string),
            unique: false,
            primary: false,
            constraint: None,
            valid: true,
            planner_ready: true,
            size_bytes: 0,
            scans: 0,
        }
    }

    fn table(indexes: Vec<ExistingIndex>) -> Table {
        Table {
            oid: 1,
            indexes,
            ..Table::named("public", "t")
        }
    }

    #[test]
    fn prefix_flipped_order_expression_and_predicate() {
        let t = table(vec![
            index("a_b", vec![key("a", false), key("b", true)], None),
            index("up", vec![key("upper((email)::text)", false)], None),
            index("p", vec![key("c", false)], Some("(deleted_at IS NULL)")),
        ]);
        let spec = |keys| IndexSpec::on("public", "t", keys);
        let eq = [Rule::Equality];
        let sort = [Rule::EqualityThenSort];
        assert!(served_by(&spec(vec![IndexKey::col("a")]), &sort, &t).is_some());
        assert!(served_by(
            &spec(vec![IndexKey::col("a"), IndexKey::col_desc("b")]),
            &sort,
            &t
        )
        .is_some());
        assert!(served_by(
            &spec(vec![IndexKey::col_desc("a"), IndexKey::col("b")]),
            &sort,
            &t
        )
        .is_some());
        assert!(served_by(
            &spec(vec![IndexKey::col("a"), IndexKey::col("b")]),
            &sort,
            &t
        )
        .is_none());
        assert!(served_by(&spec(vec![IndexKey::col("b"), IndexKey::col("a")]), &eq, &t).is_some());
        assert!(served_by(&spec(vec![IndexKey::col("b")]), &eq, &t).is_none());
        let up = IndexKey {
            expr: KeyExpr::Upper("email".into()),
            ..IndexKey::col("x")
        };
        assert!(served_by(&spec(vec![up]), &eq, &t).is_some());
        let mut partial = spec(vec![IndexKey::col("c")]);
        assert!(served_by(&partial, &eq, &t).is_none());
        partial.predicate = Some(Predicate {
            terms: vec![PredTerm::IsNull {
                column: "deleted_at".into(),
            }],
        });
        assert!(served_by(&partial, &eq, &t).is_some());
    }

    /// Only a B-tree serves a B-tree candidate: a hash index on the same column does not.
    #[test]
    fn a_hash_index_does_not_serve_a_btree_candidate() {
        let hash = ExistingIndex {
            method: IndexMethod::Hash,
            ..index("h", vec![key("a", false)], None)
        };
        let t = table(vec![hash]);
        let spec = IndexSpec::on("public", "t", vec![IndexKey::col("a")]);
        assert!(served_by(&spec, &[Rule::Equality], &t).is_none());
    }
}
