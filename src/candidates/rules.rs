//! The rules that turn one statement's shape into candidate indexes.
//!
//! Stage `candidates`. Must not do I/O or judge cost (the what-if engine does; these rules only
//! propose what can plausibly help). Invariant: every proposal names a column of the catalog
//! table, proposals of one table occurrence are in priority order, and a statement yields at
//! most [`MAX_PER_STATEMENT`] distinct specs.

use crate::model::{Column, IndexKey, IndexSpec, KeyExpr, PredTerm, Predicate, Table};
use crate::parse::{QueryShape, StatementKind, TableAccess};

use super::candidate::{Advice, Rule};

/// Problem: a statement with many predicates could yield dozens of variants and drown the
/// what-if engine. What we do: keep the first eight proposals per table occurrence and twelve
/// per statement, in priority order (composites first, then variants).
/// Example: a join of three tables each with a sort, ranges and partial variants stops at 12.
pub const MAX_PER_TABLE: usize = 8;
/// See [`MAX_PER_TABLE`].
pub const MAX_PER_STATEMENT: usize = 12;
/// Longest key list we propose (B-tree keys beyond this rarely pay for their width).
pub const MAX_KEYS: usize = 6;
/// A most-common value at or below this frequency is "rare": a partial index on it is small.
pub const RARE_FREQ: f64 = 0.05;
/// The most common value of a column must reach this frequency for it to count as skewed.
pub const SKEWED_TOP_FREQ: f64 = 0.3;
/// Index-only scans pay when at least this share of the heap is all-visible.
pub const COVERING_MIN_ALL_VISIBLE: f64 = 0.8;
/// At most this many INCLUDE columns, each at most [`COVERING_MAX_WIDTH`] bytes wide.
pub const COVERING_MAX_COLUMNS: usize = 3;
/// See [`COVERING_MAX_COLUMNS`].
pub const COVERING_MAX_WIDTH: i32 = 16;

/// One proposal: a spec and the rule behind it.
pub(crate) type Proposal = (IndexSpec, Rule);

/// All proposals of one statement, deduplicated by spec (first rule kept per spec; the other
/// rules that proposed the same spec are kept too), capped at [`MAX_PER_STATEMENT`] specs.
pub(crate) fn for_shape(
    shape: &QueryShape,
    catalog: &crate::model::Catalog,
    advice: &mut Vec<Advice>,
) -> Vec<Proposal> {
    let mut out: Vec<Proposal> = Vec::new();
    let mut specs: Vec<IndexSpec> = Vec::new();
    for acc in &shape.tables {
        let Some(t) = catalog.table(&acc.schema, &acc.table) else {
            continue;
        };
        let mut n = 0;
        for (spec, rule) in for_table(shape, acc, t, advice) {
            if spec.keys.is_empty() || spec.keys.len() > MAX_KEYS {
                continue;
            }
            let new = !specs.contains(&spec);
            if new && (n >= MAX_PER_TABLE || specs.len() >= MAX_PER_STATEMENT) {
                continue;
            }
            if new {
                n += 1;
                specs.push(spec.clone());
            }
            out.push((spec, rule));
        }
    }
    out
}

/// Estimated distinct values of a column; a single-column unique index means every row.
fn distinct(t: &Table, col: &str) -> f64 {
    if unique_alone(t, col) {
        return t.rows.max(1.0);
    }
    t.column(col)
        .and_then(|c| c.stats.as_ref())
        .map(|s| s.distinct(t.rows.max(1.0)))
        .unwrap_or(0.0)
}

/// A valid, non-partial unique index on exactly this column exists.
fn unique_alone(t: &Table, col: &str) -> bool {
    t.indexes.iter().any(|i| {
        i.unique
            && i.valid
            && i.predicate.is_none()
            && i.keys.len() == 1
            && i.keys
                .first()
                .is_some_and(|k| !k.is_expression && k.expr == col)
    })
}

/// Problem: which equality columns lead, and in what order.
/// What we do: most selective first (pg_stats n_distinct; unknown last; ties by name); if one
/// of them is unique on its own, it alone identifies the row and the others add nothing.
/// Example: `customer_id = $1 AND status = $2` → `(customer_id, status)` (90,000 vs 4
/// distinct); `id = $1 AND status = $2` → `(id)`.
fn ordered_equality(acc: &TableAccess, t: &Table) -> Vec<String> {
    let mut eq: Vec<(f64, String)> = acc
        .equality
        .iter()
        .filter(|c| t.column(c).is_some())
        .map(|c| (distinct(t, c), c.clone()))
        .collect();
    eq.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    if let Some((_, u)) = eq.iter().find(|(_, c)| unique_alone(t, c)) {
        return vec![u.clone()];
    }
    eq.into_iter().map(|(_, c)| c).collect()
}

fn order_key(o: &crate::parse::OrderKey) -> IndexKey {
    IndexKey {
        expr: KeyExpr::Column(o.column.clone()),
        desc: o.desc,
        // NULLS LAST is the default for ASC, NULLS FIRST for DESC: only a departure is kept.
        nulls_first: o.nulls_first.filter(|nf| *nf != o.desc),
        opclass: None,
    }
}

/// The collation is not C/POSIX: prefix LIKE needs a pattern operator class
/// (docs/postgres-facts.md §7). A column without an explicit collation uses the database
/// default, which we treat as non-C.
fn needs_pattern_ops(c: &Column) -> bool {
    !matches!(c.collation.as_deref(), Some("C") | Some("POSIX"))
}

/// The pattern operator class for a column's type, `None` for non-string types.
fn pattern_opclass(type_name: &str) -> Option<&'static str> {
    let t = type_name.to_ascii_lowercase();
    if t.starts_with("character varying") || t.starts_with("varchar") {
        Some("varchar_pattern_ops")
    } else if t == "text" || t == "citext" {
        Some("text_pattern_ops")
    } else if t.starts_with("character") || t.starts_with("bpchar") {
        Some("bpchar_pattern_ops")
    } else {
        None
    }
}

/// `character varying(20)` → `character varying`: the cast in a partial predicate.
fn base_type(type_name: &str) -> String {
    match type_name.find('(') {
        Some(i) => {
            let close = type_name[i..]
                .find(')')
                .map(|j| i + j + 1)
                .unwrap_or(type_name.len());
            format!("{}{}", type_name[..i].trim_end(), &type_name[close..])
        }
        None => type_name.to_string(),
    }
}

/// Parameter-free predicate terms of the statement on this table: IS [NOT] NULL, booleans.
fn predicate_terms(acc: &TableAccess) -> Vec<PredTerm> {
    let mut terms: Vec<PredTerm> = acc
        .null_tests
        .iter()
        .map(|(c, is_null)| {
            let column = c.clone();
            if *is_null {
                PredTerm::IsNull { column }
            } else {
                PredTerm::IsNotNull { column }
            }
        })
        .chain(acc.booleans.iter().map(|(c, v)| {
            let column = c.clone();
            if *v {
                PredTerm::IsTrue { column }
            } else {
                PredTerm::IsFalse { column }
            }
        }))
        .collect();
    terms.sort();
    terms.dedup();
    terms
}

/// Share of rows a term keeps, from pg_stats (1.0 when unknown).
fn term_share(t: &Table, term: &PredTerm) -> f64 {
    let Some(s) = t.column(term.column()).and_then(|c| c.stats.as_ref()) else {
        return 1.0;
    };
    let mcv = |v: &str| {
        s.most_common_vals
            .iter()
            .zip(&s.most_common_freqs)
            .find(|(m, _)| m.as_str() == v)
            .map(|(_, f)| *f)
    };
    match term {
        PredTerm::IsNull { .. } => s.null_frac,
        PredTerm::IsNotNull { .. } => 1.0 - s.null_frac,
        PredTerm::IsTrue { .. } => mcv("t").unwrap_or(1.0),
        PredTerm::IsFalse { .. } => mcv("f").unwrap_or(1.0),
        PredTerm::Eq { value, .. } => mcv(value).unwrap_or(1.0),
    }
}

/// Rare values of a skewed column: MCVs at or below [`RARE_FREQ`] when the top MCV reaches
/// [`SKEWED_TOP_FREQ`]; rarest first, at most two.
fn rare_values(c: &Column) -> Vec<String> {
    let Some(s) = &c.stats else {
        return vec![];
    };
    let top = s.most_common_freqs.iter().copied().fold(0.0, f64::max);
    if top < SKEWED_TOP_FREQ {
        return vec![];
    }
    let mut rare: Vec<(f64, &String)> = s
        .most_common_vals
        .iter()
        .zip(&s.most_common_freqs)
        .filter(|(_, f)| **f <= RARE_FREQ)
        .map(|(v, f)| (*f, v))
        .collect();
    rare.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    rare.into_iter().take(2).map(|(_, v)| v.clone()).collect()
}

fn narrow(c: &Column) -> bool {
    match &c.stats {
        Some(s) => s.avg_width <= COVERING_MAX_WIDTH,
        None => {
            matches!(
                c.type_name.as_str(),
                "bigint"
                    | "integer"
                    | "smallint"
                    | "boolean"
                    | "date"
                    | "real"
                    | "double precision"
            ) || c.type_name.starts_with("timestamp")
        }
    }
}

fn cols(v: &[String]) -> Vec<IndexKey> {
    v.iter().map(|c| IndexKey::col(c)).collect()
}

/// Proposals for one table occurrence, in priority order. See the module's rules below.
fn for_table(
    shape: &QueryShape,
    acc: &TableAccess,
    t: &Table,
    advice: &mut Vec<Advice>,
) -> Vec<Proposal> {
    let spec = |keys: Vec<IndexKey>| IndexSpec::on(&t.schema, &t.name, keys);
    let mut advise = |column: &str, message: &str| {
        advice.push(Advice {
            queryid: shape.queryid,
            schema: t.schema.clone(),
            table: t.name.clone(),
            column: column.to_string(),
            message: message.to_string(),
        })
    };
    let eq = ordered_equality(acc, t);
    let eq_keys = cols(&eq);
    let mut base: Vec<Proposal> = Vec::new();

    // Equality, then ORDER BY in the query's directions: the top-N shape.
    // Example: `customer_id = $1 ORDER BY created_at DESC LIMIT 20` →
    // `(customer_id, created_at DESC)`. Without equality only under a LIMIT (a full-table
    // ordered scan rarely beats a sort otherwise).
    let order: Vec<IndexKey> = acc
        .order_by
        .iter()
        .filter(|o| !eq.contains(&o.column) && t.column(&o.column).is_some())
        .map(order_key)
        .collect();
    if !order.is_empty() && (!eq.is_empty() || shape.limit.is_some()) {
        let rule = if eq.is_empty() {
            Rule::SortOnly
        } else {
            Rule::EqualityThenSort
        };
        base.push((spec([eq_keys.clone(), order.clone()].concat()), rule));
    }
    if !eq.is_empty() {
        base.push((spec(eq_keys.clone()), Rule::Equality));
    }
    // Equality, then one range column (a B-tree serves one range at its end).
    for r in acc.ranges.iter().filter(|r| !eq.contains(r)).take(2) {
        let mut keys = eq_keys.clone();
        keys.push(IndexKey::col(r));
        base.push((spec(keys), Rule::EqualityThenRange));
    }
    // iexact: `UPPER(col::text) = UPPER($n)` needs the expression as key.
    for u in &acc.upper_equality {
        let mut keys = vec![IndexKey {
            expr: KeyExpr::Upper(u.clone()),
            desc: false,
            nulls_first: None,
            opclass: None,
        }];
        keys.extend(eq_keys.iter().cloned());
        base.push((spec(keys), Rule::UpperExpression));
    }
    // LIKE: a B-tree serves a prefix pattern with a pattern opclass (non-C collation);
    // a leading wildcard or ILIKE needs a trigram GIN (advice, not simulated).
    for l in &acc.likes {
        let Some(c) = t.column(&l.column) else {
            continue;
        };
        if l.leading_wildcard || (l.ilike && !l.upper) {
            advise(
                &l.column,
                "a pattern with a leading wildcard (icontains) or ILIKE: only a trigram GIN index (pg_trgm, gin_trgm_ops) serves it; not simulated",
            );
            continue;
        }
        if !l.prefix {
            advise(
                &l.column,
                "LIKE with a parameter pattern: the B-tree candidate serves a prefix (startswith); if the parameter starts with % (contains), only a trigram GIN index (pg_trgm) serves it; not simulated",
            );
        }
        let (expr, opclass, rule) = if l.upper {
            let op = needs_pattern_ops(c).then(|| "text_pattern_ops".to_string());
            (KeyExpr::Upper(l.column.clone()), op, Rule::UpperExpression)
        } else {
            let Some(op) = pattern_opclass(&c.type_name) else {
                continue;
            };
            let op = needs_pattern_ops(c).then(|| op.to_string());
            (KeyExpr::Column(l.column.clone()), op, Rule::PatternOps)
        };
        let mut keys = eq_keys.clone();
        keys.push(IndexKey {
            expr,
            desc: false,
            nulls_first: None,
            opclass,
        });
        base.push((spec(keys), rule));
    }
    for c in &acc.containment {
        advise(
            c,
            "containment or full-text operator (@>, ?, @@, &&): only a GIN index serves it; not simulated",
        );
    }
    // Inner side of a join: the join column first, then local equality.
    for j in acc.join_columns.iter().filter(|j| !eq.contains(j)) {
        let mut keys = vec![IndexKey::col(j)];
        // A unique join column identifies the row: nothing after it helps.
        if !unique_alone(t, j) {
            keys.extend(eq_keys.iter().cloned());
        }
        base.push((spec(keys), Rule::JoinInner));
    }
    // GROUP BY: equality, then the grouped columns (sorted input for a GroupAggregate).
    let group: Vec<String> = acc
        .group_by
        .iter()
        .filter(|g| !eq.contains(g))
        .cloned()
        .collect();
    if !group.is_empty() {
        base.push((
            spec([eq_keys.clone(), cols(&group)].concat()),
            Rule::GroupBy,
        ));
    }

    let terms = predicate_terms(acc);
    let mut out = base.clone();
    // A statement filtered only by a selective parameter-free predicate: the predicate is the
    // whole index, keyed on the primary key (or the predicate's first column).
    // Example: `WHERE NOT "is_active"` (3% of customers) → `(id) WHERE NOT is_active`.
    if base.is_empty() && !terms.is_empty() {
        let share: f64 = terms.iter().map(|x| term_share(t, x)).product();
        if share < 0.5 {
            let key = t
                .constraints
                .iter()
                .find(|c| c.kind == "p")
                .and_then(|c| c.columns.first().cloned())
                .or_else(|| terms.first().map(|x| x.column().to_string()));
            if let Some(k) = key {
                let mut s = spec(vec![IndexKey::col(&k)]);
                s.predicate = Some(Predicate {
                    terms: terms.clone(),
                });
                out.push((s, Rule::PartialPredicate));
            }
        }
    }
    // Partial variants: the statement's parameter-free predicate as the index predicate.
    // Example: `deleted_at IS NULL ORDER BY created_at DESC LIMIT $1` →
    // `(created_at DESC) WHERE deleted_at IS NULL`.
    if !terms.is_empty() {
        for (s, _) in base.iter().take(3) {
            let mut v = s.clone();
            v.keys
                .retain(|k| !terms.iter().any(|x| x.column() == k.expr.column()));
            if v.keys.is_empty() {
                continue;
            }
            v.predicate = Some(Predicate {
                terms: terms.clone(),
            });
            out.push((v, Rule::PartialPredicate));
        }
    }
    // Partial variants for a rare value of a skewed equality column.
    // Example: `status = $1` with status 'pending' at 1% → `(created_at) WHERE status =
    // 'pending'::character varying` next to `(status, created_at)`.
    for c in eq.iter().filter_map(|c| t.column(c)) {
        // Prefer a composite containing the column (its other keys become the partial
        // index's keys), else any proposal with it.
        let with_c = |s: &IndexSpec| {
            s.keys
                .iter()
                .any(|k| k.expr == KeyExpr::Column(c.name.clone()))
        };
        let Some((first, _)) = base
            .iter()
            .find(|(s, _)| with_c(s) && s.keys.len() > 1)
            .or_else(|| base.iter().find(|(s, _)| with_c(s)))
        else {
            continue;
        };
        for value in rare_values(c) {
            let mut v = first.clone();
            if v.keys.len() > 1 {
                v.keys.retain(|k| k.expr != KeyExpr::Column(c.name.clone()));
            }
            let mut pt = terms.clone();
            pt.push(PredTerm::Eq {
                column: c.name.clone(),
                value,
                type_name: base_type(&c.type_name),
            });
            pt.sort();
            v.keys
                .retain(|k| !terms.iter().any(|x| x.column() == k.expr.column()));
            if v.keys.is_empty() {
                v.keys.push(IndexKey::col(&c.name));
            }
            v.predicate = Some(Predicate { terms: pt });
            out.push((v, Rule::PartialSkew));
        }
    }
    // Covering: INCLUDE the few narrow columns a SELECT also reads, when an index-only scan
    // can pay (mostly all-visible heap).
    // Example: `SELECT id … WHERE customer_id = $1 AND status IN (…)` →
    // `(customer_id, status) INCLUDE (id)`.
    if shape.kind == StatementKind::Select && t.all_visible_frac >= COVERING_MIN_ALL_VISIBLE {
        // The widest base proposal (first among equals): its keys serve the most predicates.
        let widest = base.iter().fold(None::<&Proposal>, |best, p| match best {
            Some(b) if b.0.keys.len() >= p.0.keys.len() => Some(b),
            _ => Some(p),
        });
        if let Some((s, _)) = widest {
            let keyed: Vec<&str> = s.keys.iter().map(|k| k.expr.column()).collect();
            let extra: Vec<&Column> = acc
                .columns_read
                .iter()
                .filter(|c| !keyed.contains(&c.as_str()))
                .filter_map(|c| t.column(c))
                .collect();
            let upper_only = s.keys.iter().any(|k| matches!(k.expr, KeyExpr::Upper(_)));
            if !extra.is_empty()
                && extra.len() <= COVERING_MAX_COLUMNS
                && extra.iter().all(|c| narrow(c))
                && !upper_only
            {
                let mut v = s.clone();
                v.include = extra.iter().map(|c| c.name.clone()).collect();
                v.include.sort();
                out.push((v, Rule::Covering));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_type_drops_typmod() {
        assert_eq!(base_type("character varying(20)"), "character varying");
        assert_eq!(base_type("numeric(10,2)"), "numeric");
        assert_eq!(base_type("text"), "text");
        assert_eq!(base_type("character varying(20)[]"), "character varying[]");
        assert_eq!(base_type("weird("), "weird");
    }

    #[test]
    fn pattern_opclass_by_type() {
        assert_eq!(
            pattern_opclass("character varying(254)"),
            Some("varchar_pattern_ops")
        );
        assert_eq!(pattern_opclass("text"), Some("text_pattern_ops"));
        assert_eq!(pattern_opclass("character(3)"), Some("bpchar_pattern_ops"));
        assert_eq!(pattern_opclass("bigint"), None);
    }
}
