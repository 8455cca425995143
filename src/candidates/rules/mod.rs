//! The rules that turn one statement's shape into candidate indexes, one rule per file with
//! its tests beside it, and the driver that runs them in priority order.
//!
//! Stage `candidates`. Must not do I/O or judge cost (the what-if engine does; these rules only
//! propose what can plausibly help). Invariant: every proposal names a column of the catalog
//! table, proposals of one table occurrence are in priority order, and a statement yields at
//! most [`MAX_PER_STATEMENT`] distinct specs.
//!
//! Per table occurrence, the *base* rules read the statement: [`equality_then_sort`],
//! [`equality`], [`equality_then_range`], [`upper_expression`], [`like`] (and [`containment`],
//! advice only), [`join_inner`], [`group_by`]. The *variant* rules derive from the base
//! proposals: [`partial_predicate`], [`partial_skew`], [`covering`]. [`dimension`] looks at the
//! whole statement (star joins) and has its own cap. Adding a rule: a file here with
//! `propose` and its tests, a [`Rule`] variant, one line in [`for_table`].

pub mod containment;
pub mod covering;
pub mod dimension;
pub mod equality;
pub mod equality_then_range;
pub mod equality_then_sort;
pub mod group_by;
pub mod join_inner;
pub mod like;
pub mod partial_predicate;
pub mod partial_skew;
pub mod upper_expression;

use crate::model::{IndexKey, IndexSpec, Table};
use crate::parse::{QueryShape, TableAccess};

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

/// One proposal: a spec and the rule behind it.
pub(crate) type Proposal = (IndexSpec, Rule);

/// What every rule of one table occurrence reads: the statement, the occurrence, its catalog
/// table, and the equality columns in the order a composite leads with them.
pub(crate) struct Context<'a> {
    /// The statement.
    pub shape: &'a QueryShape,
    /// The table occurrence in it.
    pub acc: &'a TableAccess,
    /// The catalog's table.
    pub table: &'a Table,
    /// Equality columns, most selective first ([`equality::ordered`]).
    pub eq: Vec<String>,
    /// [`Context::eq`] as ascending keys.
    pub eq_keys: Vec<IndexKey>,
}

impl<'a> Context<'a> {
    /// The context of one table occurrence.
    pub fn new(shape: &'a QueryShape, acc: &'a TableAccess, table: &'a Table) -> Context<'a> {
        let eq = equality::ordered(acc, table);
        let eq_keys = cols(&eq);
        Context {
            shape,
            acc,
            table,
            eq,
            eq_keys,
        }
    }

    /// A plain index on the table with these keys.
    pub fn spec(&self, keys: Vec<IndexKey>) -> IndexSpec {
        IndexSpec::on(&self.table.schema, &self.table.name, keys)
    }

    /// Advice about a column of the table, for this statement.
    pub fn advice(&self, column: &str, message: &str) -> Advice {
        Advice {
            queryid: self.shape.queryid,
            schema: self.table.schema.clone(),
            table: self.table.name.clone(),
            column: column.to_string(),
            message: message.to_string(),
        }
    }
}

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
        for (spec, rule) in for_table(&Context::new(shape, acc, t), advice) {
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

/// Proposals for one table occurrence, in priority order: the base rules, then the variants
/// of the base proposals.
fn for_table(cx: &Context, advice: &mut Vec<Advice>) -> Vec<Proposal> {
    let mut base: Vec<Proposal> = Vec::new();
    base.extend(equality_then_sort::propose(cx));
    base.extend(equality::propose(cx));
    base.extend(equality_then_range::propose(cx));
    base.extend(upper_expression::propose(cx));
    base.extend(like::propose(cx, advice));
    advice.extend(containment::advise(cx));
    base.extend(join_inner::propose(cx));
    base.extend(group_by::propose(cx));

    let mut out = base.clone();
    out.extend(partial_predicate::propose(cx, &base));
    out.extend(partial_skew::propose(cx, &base));
    out.extend(covering::propose(cx, &base));
    out
}

/// Ascending keys on these columns.
fn cols(v: &[String]) -> Vec<IndexKey> {
    v.iter().map(|c| IndexKey::col(c)).collect()
}

/// Helpers for the rules' tests: a statement as Django sends it, on the example shop.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::parse::corpus_tests::{shape, shop_catalog};

    /// Run `f` on the context of `table` in `text`, parsed against the example shop's catalog.
    pub fn on<R>(text: &str, table: &str, f: impl FnOnce(&Context) -> R) -> R {
        let catalog = shop_catalog();
        let shape = shape(text);
        let acc = shape
            .tables
            .iter()
            .find(|a| a.table == table)
            .unwrap_or_else(|| panic!("expected table {table} in {text}"));
        let t = catalog
            .table(&acc.schema, &acc.table)
            .unwrap_or_else(|| panic!("expected table {table} in the shop catalog"));
        f(&Context::new(&shape, acc, t))
    }

    /// The base proposals of `table` in `text` (what the variant rules derive from).
    pub fn base(cx: &Context) -> Vec<Proposal> {
        for_table(cx, &mut vec![])
            .into_iter()
            .filter(|(_, r)| {
                !matches!(
                    r,
                    Rule::PartialPredicate | Rule::PartialSkew | Rule::Covering
                )
            })
            .collect()
    }

    /// Proposals as `(label, rule)`, in order.
    pub fn labels(p: &[Proposal]) -> Vec<(String, Rule)> {
        p.iter().map(|(s, r)| (s.label(), *r)).collect()
    }

    /// `(label, rule)` from string literals.
    pub fn expect(v: &[(&str, Rule)]) -> Vec<(String, Rule)> {
        v.iter().map(|(l, r)| (l.to_string(), *r)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    /// The driver keeps the rules' priority order: the composite before its prefix, base
    /// proposals before their variants.
    #[test]
    fn base_rules_first_then_variants_in_priority_order() {
        let text = r#"SELECT "shop_order"."id" FROM "shop_order" WHERE ("shop_order"."deleted_at" IS NULL AND "shop_order"."customer_id" = $1) ORDER BY "shop_order"."created_at" DESC LIMIT $2"#;
        on(text, "shop_order", |cx| {
            assert_eq!(
                labels(&for_table(cx, &mut vec![])),
                expect(&[
                    (
                        "shop_order(customer_id, created_at DESC)",
                        Rule::EqualityThenSort
                    ),
                    ("shop_order(customer_id)", Rule::Equality),
                    (
                        r#"shop_order(customer_id, created_at DESC) WHERE "deleted_at" IS NULL"#,
                        Rule::PartialPredicate
                    ),
                    (
                        r#"shop_order(customer_id) WHERE "deleted_at" IS NULL"#,
                        Rule::PartialPredicate
                    ),
                    (
                        "shop_order(customer_id, created_at DESC) INCLUDE (deleted_at, id)",
                        Rule::Covering
                    ),
                ])
            );
        });
    }

    /// A table occurrence stops at [`MAX_PER_TABLE`] distinct specs.
    #[test]
    fn one_table_occurrence_is_capped() {
        let text = r#"SELECT "shop_order"."id" FROM "shop_order" WHERE ("shop_order"."deleted_at" IS NULL AND "shop_order"."customer_id" = $1 AND "shop_order"."status" = $2 AND "shop_order"."created_at" > $3 AND "shop_order"."total" > $4) ORDER BY "shop_order"."created_at" DESC LIMIT $5"#;
        let all = on(text, "shop_order", |cx| for_table(cx, &mut vec![]));
        assert!(all.len() > MAX_PER_TABLE, "{all:#?}");
        let capped = for_shape(
            &crate::parse::corpus_tests::shape(text),
            &crate::parse::corpus_tests::shop_catalog(),
            &mut vec![],
        );
        assert_eq!(capped.len(), MAX_PER_TABLE, "{capped:#?}");
        assert_eq!(capped[..], all[..MAX_PER_TABLE]);
    }
}
