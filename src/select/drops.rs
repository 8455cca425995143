//! Drops: existing indexes that can go: exact duplicates, indexes made redundant by another,
//! and unused ones, each with what dropping it saves on writes.
//!
//! Pure on the catalog. Must not touch indexes that back a constraint (primary key, unique,
//! exclusion) or are unique (they enforce something even when never scanned). Invariant: of
//! two duplicates exactly one is proposed, deterministically (the one not backing a
//! constraint, else the one the planner does not use yet, else the later name); nothing is
//! proposed twice.
//!
//! The read impact of a drop can only be checked by hiding the index from the planner
//! (`hypopg_hide_index`, HypoPG 1.4+). With HypoPG 1.3.1 (Debian's) proposals carry
//! `verified: false` and the report must say so.

use std::collections::BTreeSet;

use super::recommendation::{DropProposal, DropReason};
use crate::cost::WriteModel;
use crate::model::{Catalog, ExistingIndex};

fn keeps_something(i: &ExistingIndex) -> bool {
    i.unique || i.primary || i.constraint.is_some()
}

fn same_keys(a: &ExistingIndex, b: &ExistingIndex, n: usize) -> bool {
    a.keys.len() >= n
        && b.keys.len() >= n
        && a.keys[..n].iter().zip(&b.keys[..n]).all(|(x, y)| {
            x.expr == y.expr
                && x.is_expression == y.is_expression
                && x.desc == y.desc
                && x.nulls_first == y.nulls_first
                && x.opclass == y.opclass
        })
}

fn duplicate(a: &ExistingIndex, b: &ExistingIndex) -> bool {
    a.method == b.method
        && a.keys.len() == b.keys.len()
        && same_keys(a, b, a.keys.len())
        && a.include == b.include
        && a.predicate == b.predicate
}

/// `a` is redundant with `b`: same method (B-tree), `a`'s keys a strict prefix of `b`'s, `a`'s
/// INCLUDE columns all in `b`, and `b` serves every row `a` does (same predicate, or `b` none).
fn redundant(a: &ExistingIndex, b: &ExistingIndex) -> bool {
    if !a.method.is_btree() || !b.method.is_btree() || a.keys.len() >= b.keys.len() {
        return false;
    }
    if !same_keys(a, b, a.keys.len()) {
        return false;
    }
    let b_cols: BTreeSet<&str> = b
        .keys
        .iter()
        .map(|k| k.expr.as_str())
        .chain(b.include.iter().map(|s| s.as_str()))
        .collect();
    let incl_ok = a.include.iter().all(|c| b_cols.contains(c.as_str()));
    let pred_ok = b.predicate.is_none() || a.predicate == b.predicate;
    incl_ok && pred_ok
}

/// The indexes to drop, sorted by (schema, table, index).
pub fn propose_drops(catalog: &Catalog, write: &WriteModel, can_hide: bool) -> Vec<DropProposal> {
    let mut out: Vec<DropProposal> = Vec::new();
    let mut taken: BTreeSet<(String, String, String)> = BTreeSet::new();
    for t in &catalog.tables {
        let valid: Vec<&ExistingIndex> = t.indexes.iter().filter(|i| i.valid).collect();
        let mut propose = |i: &ExistingIndex,
                           reason: DropReason,
                           by: Option<&str>,
                           out: &mut Vec<DropProposal>| {
            if !taken.insert((t.schema.clone(), t.name.clone(), i.name.clone())) {
                return;
            }
            out.push(DropProposal {
                schema: t.schema.clone(),
                table: t.name.clone(),
                index: i.name.clone(),
                reason,
                covered_by: by.map(str::to_string),
                size_bytes: i.size_bytes,
                verified: false,
                write_saving_ms_per_s: write.drop_saving(&t.schema, &t.name, i.size_bytes),
                superseded_by: None,
                covered_by_size_bytes: None,
                note: Some(if can_hide {
                    "read impact to be checked by hiding the index (hypopg_hide_index)".to_string()
                } else {
                    "read impact not verified: HypoPG < 1.4 cannot hide an existing index"
                        .to_string()
                }),
            });
        };
        // Duplicates: keep the constraint-backing one, else the one the planner uses today (the
        // other waits for older transactions to end, `indcheckxmin`: dropping the usable one
        // would leave its statements with neither until then), else the first by name.
        for (ai, a) in valid.iter().enumerate() {
            for b in valid.iter().skip(ai + 1) {
                if !duplicate(a, b) {
                    continue;
                }
                let (drop, keep) = match (keeps_something(a), keeps_something(b)) {
                    (true, true) => continue,
                    (true, false) => (*b, *a),
                    (false, true) => (*a, *b),
                    (false, false) if b.planner_ready && !a.planner_ready => (*a, *b),
                    (false, false) => (*b, *a),
                };
                if drop.unique && !keep.unique {
                    continue;
                }
                propose(drop, DropReason::Duplicate, Some(&keep.name), &mut out);
            }
        }
        // Redundant: a strict prefix of another.
        for a in &valid {
            if keeps_something(a) {
                continue;
            }
            if let Some(b) = valid.iter().find(|b| b.name != a.name && redundant(a, b)) {
                propose(a, DropReason::Redundant, Some(&b.name), &mut out);
            }
        }
        // Unused since the statistics reset. An index the planner may not use yet has had no
        // chance to be scanned: not called unused (see [`not_ready_notes`]).
        for a in &valid {
            if a.scans == 0 && a.planner_ready && !keeps_something(a) {
                propose(a, DropReason::Unused, None, &mut out);
            }
        }
    }
    out.sort_by(|a, b| (&a.schema, &a.table, &a.index).cmp(&(&b.schema, &b.table, &b.index)));
    out
}

/// One note per valid index the planner leaves out for now (a plain `CREATE INDEX` that met
/// broken HOT chains, waiting for older transactions to end: `pg_index.indcheckxmin`). It is
/// not called unused. `failed` are the ones HypoPG could not copy (name, why): their plans are
/// today's, without them; the others' plans count them in through a hypothetical copy.
pub fn not_ready_notes(catalog: &Catalog, failed: &[(String, String)]) -> Vec<String> {
    catalog
        .tables
        .iter()
        .flat_map(|t| {
            t.indexes
                .iter()
                .filter(|i| i.waiting())
                .map(move |i| {
                    let plans = match failed.iter().find(|(n, _)| *n == i.name) {
                        Some((_, why)) => format!(
                            "today's plans and costs are without it (HypoPG could not copy it: {why}); \
                             analyze again once they have ended"
                        ),
                        None => "the plans here count it in through a hypothetical copy, as the planner \
                                 will once they have ended"
                            .to_string(),
                    };
                    format!(
                        "{}.{} on {} is not used by the planner yet: a plain CREATE INDEX waits for every \
                         older transaction to end (pg_index.indcheckxmin); {plans}; it is not proposed as unused",
                        t.schema,
                        i.name,
                        t.name
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::catalog::Table;
    use crate::model::IndexMethod;

    fn idx(name: &str, cols: &[&str], scans: i64) -> ExistingIndex {
        ExistingIndex {
            size_bytes: 1 << 20,
            scans,
            ..ExistingIndex::btree_on(name, cols)
        }
    }

    fn catalog(indexes: Vec<ExistingIndex>) -> Catalog {
        Catalog {
            tables: vec![Table {
                oid: 1,
                rows: 1000.0,
                pages: 10,
                all_visible_frac: 1.0,
                size_bytes: 1 << 22,
                indexes,
                ..Table::named("public", "shop_order")
            }],
            search_path: vec![],
        }
    }

    fn found(d: &[DropProposal]) -> Vec<(String, DropReason, Option<String>)> {
        d.iter()
            .map(|p| (p.index.clone(), p.reason, p.covered_by.clone()))
            .collect()
    }

    #[test]
    fn duplicate_prefix_unique_and_unused() {
        let mut pk = idx("shop_order_pkey", &["id"], 100);
        pk.unique = true;
        pk.primary = true;
        pk.constraint = Some("shop_order_pkey".into());
        let mut uniq_unused = idx("shop_order_code_uniq", &["code"], 0);
        uniq_unused.unique = true;
        let cat = catalog(vec![
            idx("a_customer", &["customer_id"], 5),
            idx("b_customer_dup", &["customer_id"], 7),
            idx("c_customer_created", &["customer_id", "created_at"], 9),
            pk,
            idx("shop_order_id_dup", &["id"], 3),
            uniq_unused,
            idx("z_status", &["status"], 0),
        ]);
        let d = propose_drops(&cat, &WriteModel::unavailable("test"), false);
        assert_eq!(
            found(&d),
            vec![
                (
                    "a_customer".into(),
                    DropReason::Redundant,
                    Some("c_customer_created".into())
                ),
                (
                    "b_customer_dup".into(),
                    DropReason::Duplicate,
                    Some("a_customer".into())
                ),
                (
                    "shop_order_id_dup".into(),
                    DropReason::Duplicate,
                    Some("shop_order_pkey".into())
                ),
                ("z_status".into(), DropReason::Unused, None),
            ]
        );
        assert!(d.iter().all(|p| !p.verified));
        assert!(d[0]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("not verified")));
    }

    /// An index the planner may not use yet had no chance to be scanned: not unused, and a
    /// note names it; a duplicate that is not ready is still a duplicate.
    #[test]
    fn an_index_the_planner_does_not_use_yet_is_not_called_unused() {
        let mut waiting = idx("a_total", &["total"], 0);
        waiting.planner_ready = false;
        let mut waiting_copy = idx("c_status_copy", &["status"], 0);
        waiting_copy.planner_ready = false;
        let cat = catalog(vec![
            waiting,
            idx("b_status", &["status"], 4),
            waiting_copy,
            idx("d_created", &["created_at"], 0),
        ]);
        let d = propose_drops(&cat, &WriteModel::unavailable("test"), false);
        assert_eq!(
            found(&d),
            vec![
                (
                    "c_status_copy".into(),
                    DropReason::Duplicate,
                    Some("b_status".into())
                ),
                ("d_created".into(), DropReason::Unused, None),
            ]
        );
        let failed = [("c_status_copy".to_string(), "unsupported".to_string())];
        let notes = not_ready_notes(&cat, &failed);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].starts_with("public.a_total on shop_order is not used by the planner yet")
                && notes[0].contains("count it in through a hypothetical copy"),
            "{notes:?}"
        );
        assert!(
            notes[1].contains("without it (HypoPG could not copy it: unsupported)"),
            "{notes:?}"
        );
    }

    /// Of two copies, the one the planner does not use yet is the one proposed, whatever the
    /// names: dropping the usable one would leave its statements with no usable index until
    /// the older transactions end.
    #[test]
    fn of_two_copies_the_one_the_planner_does_not_use_yet_goes() {
        let mut waiting = idx("a_total_waiting", &["total"], 0);
        waiting.planner_ready = false;
        let cat = catalog(vec![waiting, idx("b_total", &["total"], 4)]);
        let d = propose_drops(&cat, &WriteModel::unavailable("test"), true);
        assert_eq!(
            found(&d),
            vec![(
                "a_total_waiting".into(),
                DropReason::Duplicate,
                Some("b_total".into())
            )]
        );
    }

    /// A hash or GIN index on the same columns as a B-tree is neither its duplicate nor makes
    /// it redundant: only the same method gives the same access path.
    #[test]
    fn other_methods_are_not_duplicates_or_supersets_of_a_btree() {
        let mut hash = idx("b_customer_hash", &["customer_id"], 7);
        hash.method = IndexMethod::Hash;
        let mut gin = idx("c_customer_created_gin", &["customer_id", "created_at"], 9);
        gin.method = IndexMethod::Gin;
        let cat = catalog(vec![idx("a_customer", &["customer_id"], 5), hash, gin]);
        assert!(propose_drops(&cat, &WriteModel::unavailable("test"), false).is_empty());
        // Two hash indexes on one column are duplicates.
        let mut hash2 = idx("d_customer_hash", &["customer_id"], 3);
        hash2.method = IndexMethod::Hash;
        let mut hash = idx("b_customer_hash", &["customer_id"], 7);
        hash.method = IndexMethod::Hash;
        let cat = catalog(vec![idx("a_customer", &["customer_id"], 5), hash, hash2]);
        assert_eq!(
            found(&propose_drops(
                &cat,
                &WriteModel::unavailable("test"),
                false
            )),
            vec![(
                "d_customer_hash".into(),
                DropReason::Duplicate,
                Some("b_customer_hash".into())
            )]
        );
    }

    #[test]
    fn partial_or_differently_ordered_is_not_redundant() {
        let mut part = idx("p_customer_created", &["customer_id", "created_at"], 9);
        part.predicate = Some("(deleted_at IS NULL)".into());
        let mut desc = idx("q_customer_desc", &["customer_id", "total"], 9);
        desc.keys[0].desc = true;
        let cat = catalog(vec![idx("a_customer", &["customer_id"], 5), part, desc]);
        assert!(propose_drops(&cat, &WriteModel::unavailable("test"), false).is_empty());
    }
}
