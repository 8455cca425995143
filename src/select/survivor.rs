//! Drops whose reads would move to a much larger index: kept while the index is in use.
//!
//! Stage `select`, after naming and after the surviving indexes are sized
//! ([`super::cache::survivor_sizes`]), before any note, migration, script or baseline mentions
//! the drops. Pure. Invariant: every drop withheld gets a note that says it is kept, why, and
//! what dropping it by hand would save; no other drop is touched.
//!
//! Problem: a redundant (or duplicate, or superseded by a new index) index that the planner
//! uses is usually the smaller one; dropping it moves its lookups to the wider index, which
//! reads more pages per lookup and is cold when the change lands. On a django-oscar shop
//! (PostgreSQL 18) dropping the 19 MiB foreign-key index `basket_line(basket_id)` for the
//! 54.6 MiB unique `(basket_id, line_reference)` made its two lookups 10× slower right after the
//! change, 1.9–3.5× slower with 1.5 GB of `shared_buffers` (everything cached), and +35% per
//! lookup in a fully cached micro-benchmark. A drop that makes a real statement slower is not
//! advice a DBA takes. What we do: a Duplicate or Redundant drop whose index had scans in the
//! statistics and whose reads would move to an index at least
//! [`super::cache::LARGER_SURVIVOR_FACTOR`] times larger is not proposed; a note gives the
//! sizes, the ratio, the scans and what the drop would free and save on writes, so a team that
//! prefers the saving can drop it by hand. A drop of an index without scans moves no reads and
//! stays proposed (with the cache note of [`super::cache::larger_survivor_notes`]). Example:
//! `basket_line_basket_id_b615c905` (19.3 MiB, 1200 scans) beside the unique
//! `(basket_id, line_reference)` (54.6 MiB, 2.8×): kept, with a note.

use crate::model::units::human_bytes;
use crate::model::Catalog;

use super::cache::survivor_ratio;
use super::recommendation::{DropProposal, DropReason, Recommendation};

/// Withhold from `rec.drop` every drop of an index in use whose reads would move to an index
/// at least [`super::cache::LARGER_SURVIVOR_FACTOR`] times larger (see the module doc); returns
/// one note per drop withheld, in drop order. `covered_by_size_bytes` must be filled.
pub fn withhold_larger_survivors(rec: &mut Recommendation, catalog: &Catalog) -> Vec<String> {
    let write_known = rec.write_rates.as_ref().is_some_and(|r| r.known());
    let mut notes = vec![];
    rec.drop.retain(|d| {
        if !matches!(d.reason, DropReason::Duplicate | DropReason::Redundant) {
            return true;
        }
        let Some((survivor, ratio)) = survivor_ratio(d) else {
            return true;
        };
        let scans = scans(catalog, d);
        // An index missing from the catalog cannot be shown unused: kept.
        if scans == Some(0) {
            return true;
        }
        notes.push(note(d, survivor, ratio, scans, write_known));
        false
    });
    notes
}

/// `idx_scan` of the dropped index, from the catalog.
fn scans(catalog: &Catalog, d: &DropProposal) -> Option<i64> {
    catalog
        .table(&d.schema, &d.table)?
        .indexes
        .iter()
        .find(|i| i.name == d.index)
        .map(|i| i.scans)
}

fn note(
    d: &DropProposal,
    survivor: i64,
    ratio: f64,
    scans: Option<i64>,
    write_known: bool,
) -> String {
    let by = d.covered_by.as_deref().unwrap_or("?");
    let why = match (d.reason, d.superseded_by) {
        (DropReason::Duplicate, _) => format!("a duplicate of {by}"),
        (_, Some(_)) => format!("made redundant by the new index {by}"),
        _ => format!("redundant by {by}"),
    };
    let used = match scans {
        Some(n) => format!("{n} scans in the statistics"),
        None => "its scans are unknown".to_string(),
    };
    let saving = if write_known {
        format!(
            " and save {:.3} ms of database time per second of writes",
            d.write_saving_ms_per_s.abs()
        )
    } else {
        " (its write saving is unknown: no write statistics)".to_string()
    };
    format!(
        "cache: kept {}.{}, not proposed for dropping: it is {why}, but it is in use ({used}) and its reads would move to {by} ({}, {ratio:.1}× its {}), a larger index that reads more pages per lookup and is slower until it is cached; dropping it by hand would free {}{saving}: DROP INDEX CONCURRENTLY {}.{};",
        d.schema,
        d.index,
        human_bytes(survivor),
        human_bytes(d.size_bytes),
        human_bytes(d.size_bytes),
        crate::pg::quote::ident(&d.schema),
        crate::pg::quote::ident(&d.index),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ExistingIndex, Table, WriteRates};

    const MIB: i64 = 1 << 20;

    fn index(name: &str, cols: &[&str], size_bytes: i64, scans: i64) -> ExistingIndex {
        ExistingIndex {
            size_bytes,
            scans,
            ..ExistingIndex::btree_on(name, cols)
        }
    }

    fn catalog(indexes: Vec<ExistingIndex>) -> Catalog {
        Catalog {
            tables: vec![Table {
                indexes,
                ..Table::named("public", "basket_line")
            }],
            search_path: vec![],
        }
    }

    fn drop(index: &str, covered_by: &str, size_bytes: i64, survivor: i64) -> DropProposal {
        DropProposal {
            covered_by: Some(covered_by.into()),
            covered_by_size_bytes: Some(survivor),
            size_bytes,
            verified: true,
            write_saving_ms_per_s: 0.0126,
            ..DropProposal::of("basket_line", index, DropReason::Redundant)
        }
    }

    fn rec(drop: Vec<DropProposal>) -> Recommendation {
        Recommendation {
            drop,
            write_rates: Some(WriteRates::Window { seconds: 60.0 }),
            ..Default::default()
        }
    }

    fn names(rec: &Recommendation) -> Vec<&str> {
        rec.drop.iter().map(|d| d.index.as_str()).collect()
    }

    /// The review's shop: the 19 MiB foreign-key index in use, the 54.6 MiB unique index.
    #[test]
    fn r_g1_an_index_in_use_whose_reads_move_to_a_larger_index_is_kept() {
        let catalog = catalog(vec![
            index(
                "basket_line_basket_id_b615c905",
                &["basket_id"],
                19 * MIB,
                1234,
            ),
            index(
                "basket_line_uniq",
                &["basket_id", "line_reference"],
                54 * MIB,
                3,
            ),
        ]);
        let mut r = rec(vec![drop(
            "basket_line_basket_id_b615c905",
            "basket_line_uniq",
            19 * MIB,
            54 * MIB,
        )]);
        let notes = withhold_larger_survivors(&mut r, &catalog);
        assert!(r.drop.is_empty(), "{:?}", r.drop);
        assert_eq!(
            notes,
            vec![
                "cache: kept public.basket_line_basket_id_b615c905, not proposed for dropping: it is redundant by basket_line_uniq, but it is in use (1234 scans in the statistics) and its reads would move to basket_line_uniq (54.0 MiB, 2.8× its 19.0 MiB), a larger index that reads more pages per lookup and is slower until it is cached; dropping it by hand would free 19.0 MiB and save 0.013 ms of database time per second of writes: DROP INDEX CONCURRENTLY \"public\".\"basket_line_basket_id_b615c905\";".to_string()
            ]
        );
        // Without write statistics the saving is said to be unknown, not 0.
        let mut r = rec(vec![drop(
            "basket_line_basket_id_b615c905",
            "basket_line_uniq",
            19 * MIB,
            54 * MIB,
        )]);
        r.write_rates = None;
        let notes = withhold_larger_survivors(&mut r, &catalog);
        assert!(
            notes[0].contains("would free 19.0 MiB (its write saving is unknown"),
            "{}",
            notes[0]
        );
    }

    #[test]
    fn an_unused_index_is_still_dropped_whatever_the_survivor() {
        let catalog = catalog(vec![
            index(
                "basket_line_basket_id_b615c905",
                &["basket_id"],
                19 * MIB,
                0,
            ),
            index(
                "basket_line_uniq",
                &["basket_id", "line_reference"],
                54 * MIB,
                900,
            ),
        ]);
        let mut r = rec(vec![drop(
            "basket_line_basket_id_b615c905",
            "basket_line_uniq",
            19 * MIB,
            54 * MIB,
        )]);
        assert!(withhold_larger_survivors(&mut r, &catalog).is_empty());
        assert_eq!(names(&r), vec!["basket_line_basket_id_b615c905"]);
    }

    #[test]
    fn an_index_in_use_with_a_survivor_of_similar_size_is_dropped() {
        let catalog = catalog(vec![
            index("a_idx", &["a"], 20 * MIB, 500),
            index("a_b_idx", &["a", "b"], 29 * MIB, 10),
            index("c_idx", &["c"], 20 * MIB, 500),
        ]);
        // 1.45×, just under the factor; and a survivor of unknown size.
        let mut unknown = drop("c_idx", "c_d_new", 20 * MIB, 0);
        unknown.covered_by_size_bytes = None;
        let mut r = rec(vec![drop("a_idx", "a_b_idx", 20 * MIB, 29 * MIB), unknown]);
        assert!(withhold_larger_survivors(&mut r, &catalog).is_empty());
        assert_eq!(names(&r), vec!["a_idx", "c_idx"]);
        // Exactly 1.5× is withheld.
        let mut r = rec(vec![drop("a_idx", "a_b_idx", 20 * MIB, 30 * MIB)]);
        assert_eq!(withhold_larger_survivors(&mut r, &catalog).len(), 1);
        assert!(r.drop.is_empty());
    }

    #[test]
    fn a_drop_superseded_by_a_larger_new_index_is_kept_while_in_use() {
        let catalog = catalog(vec![index("t_a_idx", &["a"], 10 * MIB, 42)]);
        let mut d = drop("t_a_idx", "t_a_b_5f3e2a_idx", 10 * MIB, 30 * MIB);
        d.superseded_by = Some(7);
        let mut dup = drop("t_a_copy", "t_a_idx", 10 * MIB, 10 * MIB);
        dup.reason = DropReason::Duplicate;
        let mut r = rec(vec![d, dup]);
        let notes = withhold_larger_survivors(&mut r, &catalog);
        assert_eq!(names(&r), vec!["t_a_copy"]);
        assert!(
            notes[0].starts_with("cache: kept public.t_a_idx, not proposed for dropping: it is made redundant by the new index t_a_b_5f3e2a_idx, but it is in use (42 scans in the statistics) and its reads would move to t_a_b_5f3e2a_idx (30.0 MiB, 3.0× its 10.0 MiB)"),
            "{}",
            notes[0]
        );
        // An index the catalog does not know cannot be shown unused: kept.
        let mut r = rec(vec![drop("ghost", "t_a_idx", 2 * MIB, 10 * MIB)]);
        let notes = withhold_larger_survivors(&mut r, &catalog);
        assert!(r.drop.is_empty());
        assert!(notes[0].contains("(its scans are unknown)"), "{}", notes[0]);
    }
}
