//! Existing indexes that a recommended new index makes redundant, proposed for dropping in the
//! same run.
//!
//! Stage `select`, after the new indexes are chosen and after [`super::drops::propose_drops`];
//! pure on the catalog and the chosen specs. Must not touch an index that is unique, a primary
//! key or backs a constraint (it enforces something even when a wider index serves its reads).
//! Invariant: an index is proposed only when the new index serves every row and every order it
//! serves: same method (B-tree), its keys the new index's leading keys (same column or
//! expression, same operator class, same directions or all flipped), its INCLUDE columns all
//! in the new index, no collation of its own, and the new index has no predicate or the same
//! one; the new index is strictly wider (more keys or more INCLUDE columns).
//!
//! Problem: the advice `order_line(order_id) INCLUDE (product_id, quantity)` next to Django's
//! foreign-key index on `(order_id)` leaves two indexes maintained on every write where one
//! serves; the next run calls the old one redundant and asks for a second round of migrations.
//! What we do: propose the old one for dropping now, with the new index as the reason
//! ([`DropProposal::superseded_by`]); the drop goes through the same size policy and the same
//! hidden-index check ([`super::drop_check`]) as every other drop, with the new indexes in
//! place. Example: `(product_id)` next to a new `(product_id, basket_id)`: dropped in run 1.

use std::collections::BTreeSet;

use super::recommendation::{DropProposal, DropReason, Proposed};
use crate::candidates::existing::{keys_match, same_predicate};
use crate::cost::WriteModel;
use crate::model::{Catalog, ExistingIndex, IndexSpec, KeyExpr};

/// Does the new index `new` serve everything `old` serves (see the module doc)?
pub fn supersedes(new: &IndexSpec, old: &ExistingIndex) -> bool {
    if !old.valid
        || !old.method.is_btree()
        || new.method != old.method
        || old.unique
        || old.primary
        || old.constraint.is_some()
        // A non-default collation shows in the definition; new indexes never have one.
        || old.definition.to_ascii_uppercase().contains(" COLLATE ")
        || old.keys.is_empty()
        || old.keys.len() > new.keys.len()
        || !keys_match(&new.keys[..old.keys.len()], &old.keys, false)
    {
        return false;
    }
    let new_cols: BTreeSet<&str> = new
        .keys
        .iter()
        .filter_map(|k| match &k.expr {
            KeyExpr::Column(c) => Some(c.as_str()),
            KeyExpr::Upper(_) => None,
        })
        .chain(new.include.iter().map(String::as_str))
        .collect();
    if !old.include.iter().all(|c| new_cols.contains(c.as_str())) {
        return false;
    }
    let rows_ok = match (&new.predicate, &old.predicate) {
        (None, _) => true,
        (Some(_), Some(_)) => same_predicate(new, old),
        (Some(_), None) => false,
    };
    let wider =
        new.keys.len() > old.keys.len() || new.include.iter().any(|c| !old.include.contains(c));
    rows_ok && wider
}

/// Add to `drops` every existing index one of `create` supersedes, unless already proposed
/// (as a duplicate or redundant by another existing index). The first new index in `create`
/// order is the reason; `covered_by` holds its label until [`name_superseding`] gives it its
/// name. `drops` stays sorted by (schema, table, index).
pub fn propose_superseded(
    drops: &mut Vec<DropProposal>,
    catalog: &Catalog,
    create: &[Proposed],
    write: &WriteModel,
    can_hide: bool,
) {
    let taken: BTreeSet<(String, String, String)> = drops
        .iter()
        .map(|d| (d.schema.clone(), d.table.clone(), d.index.clone()))
        .collect();
    for t in &catalog.tables {
        for old in &t.indexes {
            if taken.contains(&(t.schema.clone(), t.name.clone(), old.name.clone())) {
                continue;
            }
            let Some(by) = create.iter().find(|p| {
                p.spec.schema == t.schema && p.spec.table == t.name && supersedes(&p.spec, old)
            }) else {
                continue;
            };
            drops.push(DropProposal {
                schema: t.schema.clone(),
                table: t.name.clone(),
                index: old.name.clone(),
                reason: DropReason::Redundant,
                covered_by: Some(by.spec.label()),
                size_bytes: old.size_bytes,
                verified: false,
                write_saving_ms_per_s: write.drop_saving(&t.schema, &t.name, old.size_bytes),
                note: Some(if can_hide {
                    "read impact to be checked by hiding the index with the new one in place (hypopg_hide_index)".to_string()
                } else {
                    "read impact not verified: HypoPG < 1.4 cannot hide an existing index"
                        .to_string()
                }),
                superseded_by: Some(by.candidate),
                covered_by_size_bytes: None,
            });
        }
    }
    // A copy (or prefix) proposed because of an index that now goes too is covered by the new
    // index instead: of the two copies of `(customer_id)` beside a new `(customer_id, x)`, both
    // go, each because of the new index.
    let superseded: Vec<(String, String, String, usize, String)> = drops
        .iter()
        .filter_map(|d| {
            Some((
                d.schema.clone(),
                d.table.clone(),
                d.index.clone(),
                d.superseded_by?,
                d.covered_by.clone()?,
            ))
        })
        .collect();
    for d in drops.iter_mut().filter(|d| d.superseded_by.is_none()) {
        if let Some((.., by, label)) = superseded.iter().find(|(s, t, i, ..)| {
            *s == d.schema && *t == d.table && d.covered_by.as_deref() == Some(i.as_str())
        }) {
            d.covered_by = Some(label.clone());
            d.superseded_by = Some(*by);
        }
    }
    drops.sort_by(|a, b| (&a.schema, &a.table, &a.index).cmp(&(&b.schema, &b.table, &b.index)));
}

/// Once the new indexes have names: each superseded drop's `covered_by` becomes the name of
/// the new index that supersedes it. `names[i]` is the name of `create[i]`.
pub fn name_superseding(drops: &mut [DropProposal], create: &[Proposed], names: &[String]) {
    for d in drops.iter_mut() {
        let Some(c) = d.superseded_by else { continue };
        if let Some(name) = create
            .iter()
            .zip(names)
            .find(|(p, _)| p.candidate == c)
            .map(|(_, n)| n)
        {
            d.covered_by = Some(name.clone());
        }
    }
}

/// One report note per drop the new indexes make possible: what it frees and saves, and why.
pub fn superseded_notes(drops: &[DropProposal], write_known: bool) -> Vec<String> {
    drops
        .iter()
        .filter(|d| d.superseded_by.is_some())
        .map(|d| {
            format!(
                "drop {}.{} in the same change: the new index {} serves every statement it serves; frees {}{}",
                d.schema,
                d.index,
                d.covered_by.as_deref().unwrap_or("?"),
                crate::model::units::human_bytes(d.size_bytes),
                if write_known {
                    format!(
                        " and saves {:.3} ms of database time per second of writes",
                        d.write_saving_ms_per_s.abs()
                    )
                } else {
                    String::new()
                }
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::catalog::Table;
    use crate::model::{IndexKey, IndexMethod, PredTerm, Predicate};

    fn old(name: &str, cols: &[&str]) -> ExistingIndex {
        ExistingIndex {
            size_bytes: 4 << 20,
            scans: 10,
            ..ExistingIndex::btree_on(name, cols)
        }
    }

    fn new(cols: &[&str], include: &[&str]) -> IndexSpec {
        let mut s = IndexSpec::on(
            "public",
            "order_line",
            cols.iter().map(|c| IndexKey::col(c)).collect(),
        );
        s.include = include.iter().map(|c| c.to_string()).collect();
        s
    }

    #[test]
    fn a_wider_index_with_the_same_leading_keys_supersedes() {
        let fk = old("order_line_order_id_b9148391", &["order_id"]);
        assert!(supersedes(&new(&["order_id"], &["product_id"]), &fk));
        assert!(supersedes(&new(&["order_id", "product_id"], &[]), &fk));
        // Not the leading key, or the very same index.
        assert!(!supersedes(&new(&["product_id", "order_id"], &[]), &fk));
        assert!(!supersedes(&new(&["order_id"], &[]), &fk));
        // The old one's INCLUDE columns must be in the new one.
        let mut inc = old("x", &["order_id"]);
        inc.include = vec!["quantity".into()];
        assert!(!supersedes(&new(&["order_id", "product_id"], &[]), &inc));
        assert!(supersedes(&new(&["order_id", "quantity"], &[]), &inc));
        assert!(supersedes(
            &new(&["order_id"], &["quantity", "price"]),
            &inc
        ));
    }

    #[test]
    fn unique_constraint_opclass_collation_direction_and_predicate_are_respected() {
        let wide = new(&["order_id", "product_id"], &[]);
        let mut uniq = old("u", &["order_id"]);
        uniq.unique = true;
        assert!(!supersedes(&wide, &uniq), "unique enforces something");
        let mut pk = old("pk", &["order_id"]);
        pk.primary = true;
        assert!(!supersedes(&wide, &pk));
        let mut con = old("c", &["order_id"]);
        con.constraint = Some("c".into());
        assert!(!supersedes(&wide, &con));
        let mut ops = old("o", &["order_id"]);
        ops.keys[0].opclass = Some("varchar_pattern_ops".into());
        assert!(!supersedes(&wide, &ops), "another opclass serves LIKE");
        let mut coll = old("k", &["order_id"]);
        coll.definition =
            "CREATE INDEX k ON public.order_line USING btree (order_id COLLATE \"C\")".into();
        assert!(
            !supersedes(&wide, &coll),
            "another collation orders differently"
        );
        // (a DESC, b) is not served by (a, b, c) in one direction only...
        let mut mixed = old("m", &["order_id", "product_id"]);
        mixed.keys[0].desc = true;
        mixed.keys[0].nulls_first = true;
        assert!(!supersedes(
            &new(&["order_id", "product_id", "x"], &[]),
            &mixed
        ));
        // ...but a single DESC key is the same index read backwards.
        let mut desc = old("d", &["order_id"]);
        desc.keys[0].desc = true;
        desc.keys[0].nulls_first = true;
        assert!(supersedes(&wide, &desc));
        // A partial new index does not serve a full one; a full one serves a partial one.
        let mut partial_new = wide.clone();
        partial_new.predicate = Some(Predicate {
            terms: vec![PredTerm::IsNotNull {
                column: "product_id".into(),
            }],
        });
        assert!(!supersedes(&partial_new, &old("f", &["order_id"])));
        let mut partial_old = old("p", &["order_id"]);
        partial_old.predicate = Some("(product_id IS NOT NULL)".into());
        assert!(supersedes(&wide, &partial_old));
        assert!(supersedes(&partial_new, &partial_old), "same predicate");
        // Another method.
        let mut hash = old("h", &["order_id"]);
        hash.method = IndexMethod::Hash;
        assert!(!supersedes(&wide, &hash));
        let mut invalid = old("i", &["order_id"]);
        invalid.valid = false;
        assert!(!supersedes(&wide, &invalid));
    }

    #[test]
    fn an_upper_expression_key_matches_its_catalog_text() {
        let mut ex = old("e", &["upper((email)::text)"]);
        ex.keys[0].is_expression = true;
        let mut s = IndexSpec::on(
            "public",
            "order_line",
            vec![IndexKey {
                expr: KeyExpr::Upper("email".into()),
                desc: false,
                nulls_first: None,
                opclass: None,
            }],
        );
        s.include = vec!["id".into()];
        assert!(supersedes(&s, &ex));
        assert!(!supersedes(&new(&["email", "id"], &[]), &ex));
    }

    fn proposed(candidate: usize, spec: IndexSpec) -> Proposed {
        Proposed {
            size_bytes: 8 << 20,
            read_gain_ms: 1.0,
            ..Proposed::of(candidate, spec)
        }
    }

    #[test]
    fn proposed_once_named_after_the_new_index_and_sorted() {
        let mut uniq = old("order_line_order_id_line_uniq", &["order_id", "line"]);
        uniq.unique = true;
        let cat = Catalog {
            tables: vec![Table {
                oid: 1,
                rows: 1000.0,
                pages: 10,
                all_visible_frac: 1.0,
                size_bytes: 1 << 22,
                indexes: vec![
                    old("order_line_order_id_b9148391", &["order_id"]),
                    old("order_line_product_id_aa", &["product_id"]),
                    uniq,
                ],
                ..Table::named("public", "order_line")
            }],
            search_path: vec![],
        };
        let create = vec![
            proposed(7, new(&["order_id"], &["product_id", "quantity"])),
            proposed(3, new(&["order_id", "line", "x"], &[])),
            proposed(9, new(&["product_id", "basket_id"], &[])),
        ];
        // The product index is already proposed (say, as a duplicate): not twice.
        let copy = DropProposal {
            index: "order_line_order_id_copy".into(),
            covered_by: Some("order_line_order_id_b9148391".into()),
            ..drop_template()
        };
        let mut drops = vec![
            copy,
            DropProposal {
                covered_by: Some("order_line_product_id_bb".into()),
                ..DropProposal::of(
                    "order_line",
                    "order_line_product_id_aa",
                    DropReason::Duplicate,
                )
            },
        ];
        fn drop_template() -> DropProposal {
            DropProposal::of("order_line", "", DropReason::Duplicate)
        }
        propose_superseded(
            &mut drops,
            &cat,
            &create,
            &WriteModel::unavailable("test"),
            false,
        );
        let got: Vec<(&str, Option<usize>, Option<&str>)> = drops
            .iter()
            .map(|d| (d.index.as_str(), d.superseded_by, d.covered_by.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "order_line_order_id_b9148391",
                    Some(7),
                    Some("order_line(order_id) INCLUDE (product_id, quantity)")
                ),
                (
                    "order_line_order_id_copy",
                    Some(7),
                    Some("order_line(order_id) INCLUDE (product_id, quantity)")
                ),
                (
                    "order_line_product_id_aa",
                    None,
                    Some("order_line_product_id_bb")
                ),
            ],
            "the unique index is never proposed; the copy of a superseded index is covered by the new one"
        );
        assert_eq!(drops[0].reason, DropReason::Redundant);
        assert_eq!(drops[1].reason, DropReason::Duplicate);
        let names: Vec<String> = vec!["order_l_order_i_1_idx".into(), "b".into(), "c".into()];
        name_superseding(&mut drops, &create, &names);
        assert_eq!(
            drops[0].covered_by.as_deref(),
            Some("order_l_order_i_1_idx")
        );
        assert_eq!(
            superseded_notes(&drops, false),
            vec![
                "drop public.order_line_order_id_b9148391 in the same change: the new index order_l_order_i_1_idx serves every statement it serves; frees 4.0 MiB".to_string(),
                "drop public.order_line_order_id_copy in the same change: the new index order_l_order_i_1_idx serves every statement it serves; frees 1.0 MiB".to_string(),
            ]
        );
    }
}
