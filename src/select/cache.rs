//! What a recommendation does to the buffer cache: warnings for the report, never a change of
//! which indexes are chosen.
//!
//! Stage: select (after naming). Pure: must not do I/O. Invariant: only adds notes (and the
//! size of each drop's surviving index); the chosen creates and drops stay as they are.
//!
//! Problem: the cost model prices a statement as if its pages were cached at the same rate
//! before and after. They are not. On a django-oscar shop (PostgreSQL 18, 1 GiB of data,
//! `shared_buffers` 256 MB) a set of ten new indexes of 146.6 MiB, 57% of `shared_buffers`,
//! made cheap point lookups 3–7× slower (1.15 → 2.85 block reads per call): once in use, the
//! new indexes took the cache from the heap pages those lookups read. With `shared_buffers` at
//! 1.5 GB (data and set both fit) the same set slowed nothing. A "redundant" drop moved the
//! basket-line lookups from a 19 MiB foreign-key index to a 54 MiB composite unique index:
//! 10× slower right after the change (the larger index was cold) and +35% per lookup even warm.
//! What we do:
//! - [`set_share_note`]: when the new indexes total at least [`SHARED_BUFFERS_WARN_SHARE`] of
//!   `shared_buffers` and the data and the set do not both fit in it, a note with the figures,
//!   what it means, and what to do (apply in steps, `pg_prewarm`, check `shared_buffers`). A
//!   quarter: the review's harmful set was 57%, and a set that, once warm, holds a quarter of
//!   the cache has already pushed out a quarter of what was there; below that, the lookups'
//!   reads move within the noise a `verify` can see. When the database fits beside the set,
//!   nothing is pushed out, so no note.
//! - [`larger_survivor_notes`]: for a drop whose reads would move to an index at least
//!   [`LARGER_SURVIVOR_FACTOR`] times larger (the index that makes it redundant or duplicate,
//!   existing or new), the sizes go in the drop's note, in its migration's header (through
//!   [`DropProposal::covered_by_size_bytes`]) and in a report note. Such a drop of an index in
//!   use is not proposed at all ([`super::survivor`], which does change the drops); what
//!   reaches this note is a drop of an index without scans, so the note says that no reads
//!   move, and that a statement the statistics missed would read the larger index (warm it
//!   with `pg_prewarm` if one appears). It asks for no step between building the survivor and
//!   the drop: both can land in one `migrate` run.

use crate::model::units::human_bytes;
use crate::model::Catalog;

use super::recommendation::{DropProposal, Proposed};

/// The share of `shared_buffers` from which the new indexes' total size gets a warning.
pub const SHARED_BUFFERS_WARN_SHARE: f64 = 0.25;

/// A drop's reads that move to an index this many times larger get a warning.
pub const LARGER_SURVIVOR_FACTOR: f64 = 1.5;

/// The note on the new indexes' share of `shared_buffers`, or `None` when it is small, when
/// the database and the set both fit in `shared_buffers`, or when the setting is not known.
pub fn set_share_note(
    create: &[Proposed],
    shared_buffers_bytes: Option<i64>,
    database_size_bytes: Option<i64>,
) -> Option<String> {
    let sb = shared_buffers_bytes.filter(|b| *b > 0)?;
    let total: i64 = create.iter().map(|p| p.size_bytes.max(0)).sum();
    let share = total as f64 / sb as f64;
    if share < SHARED_BUFFERS_WARN_SHARE {
        return None;
    }
    if database_size_bytes.is_some_and(|db| db + total <= sb) {
        return None;
    }
    Some(format!(
        "cache: the {} new index(es) total {} (estimated), {:.0}% of shared_buffers ({}){}: once in use they compete with the data for the buffer cache, so point lookups may read more from disk, and run slower, until the cache is warm again (each index page read into shared_buffers evicts a page the lookups read before, which they then fetch from the OS cache or the disk); apply the migrations in steps, a few indexes at a time, watching shared_blks_read in pg_stat_statements; warm each new index after it is built with SELECT pg_prewarm('<index>') (extension pg_prewarm); and check that shared_buffers holds the data read often",
        create.len(),
        human_bytes(total),
        100.0 * share,
        human_bytes(sb),
        database_size_bytes
            .map(|db| format!(", with a database of {}", human_bytes(db)))
            .unwrap_or_default(),
    ))
}

/// Fill each drop's `covered_by_size_bytes`: from the catalog for an existing index, from the
/// estimate for a new one. `names[i]` is the name of `create[i]`.
pub fn survivor_sizes(
    drops: &mut [DropProposal],
    catalog: &Catalog,
    create: &[Proposed],
    names: &[String],
) {
    for d in drops.iter_mut() {
        let Some(by) = d.covered_by.clone() else {
            continue;
        };
        d.covered_by_size_bytes = match d.superseded_by {
            Some(c) => create
                .iter()
                .zip(names)
                .find(|(p, n)| p.candidate == c || **n == by)
                .map(|(p, _)| p.size_bytes),
            None => catalog
                .table(&d.schema, &d.table)
                .and_then(|t| t.indexes.iter().find(|i| i.name == by))
                .map(|i| i.size_bytes),
        };
    }
}

/// Fill each drop's `covered_by_size_bytes` ([`survivor_sizes`]) and, where the surviving
/// index is at least [`LARGER_SURVIVOR_FACTOR`] times larger, add the warning to the drop's
/// note; returns the report notes. `names[i]` is the name of `create[i]`. The drops of an
/// index in use are withheld before this ([`super::survivor`]), so what is left here had no
/// scans.
pub fn larger_survivor_notes(
    drops: &mut [DropProposal],
    catalog: &Catalog,
    create: &[Proposed],
    names: &[String],
) -> Vec<String> {
    survivor_sizes(drops, catalog, create, names);
    let mut notes = vec![];
    for d in drops.iter_mut() {
        let Some(text) = larger_survivor(d) else {
            continue;
        };
        d.note = Some(match d.note.take() {
            Some(n) => format!("{n}; {text}"),
            None => text.clone(),
        });
        notes.push(format!("cache: drop {}.{}: {text}", d.schema, d.index));
    }
    notes
}

/// The note for a drop whose reads would move to a larger index. Only drops of an index
/// without scans get here ([`super::survivor`] keeps the others), so no reads move when the
/// drop lands, and there is no "prewarm before the drop" step to ask for: when the surviving
/// index is new, it is built in the same `migrate` run as the drop (review 4, G6).
pub fn larger_survivor(d: &DropProposal) -> Option<String> {
    let by = d.covered_by.as_deref()?;
    let (survivor, ratio) = survivor_ratio(d)?;
    Some(format!(
        "it had no scans, so no reads move; a statement the statistics did not see would read {by} instead ({}, {ratio:.1}× the {} of the dropped index: more pages per lookup, and cold at first); should one appear, warm it with SELECT pg_prewarm('{}') (extension pg_prewarm)",
        human_bytes(survivor),
        human_bytes(d.size_bytes),
        prewarm_target(&d.schema, by),
    ))
}

/// The surviving index's size and its ratio to the dropped index's, when it is at least
/// [`LARGER_SURVIVOR_FACTOR`] times larger.
pub fn survivor_ratio(d: &DropProposal) -> Option<(i64, f64)> {
    d.covered_by.as_ref()?;
    let survivor = d.covered_by_size_bytes?;
    if d.size_bytes <= 0 || (survivor as f64) < LARGER_SURVIVOR_FACTOR * d.size_bytes as f64 {
        return None;
    }
    Some((survivor, survivor as f64 / d.size_bytes as f64))
}

/// `schema.index` quoted for `pg_prewarm`'s regclass argument.
fn prewarm_target(schema: &str, index: &str) -> String {
    // regclass text: identifiers double-quoted; inside the SQL literal, quotes doubled.
    format!(
        "{}.{}",
        crate::pg::quote::ident(schema),
        crate::pg::quote::ident(index)
    )
    .replace('\'', "''")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ExistingIndex, IndexKey, IndexSpec, Table};
    use crate::select::recommendation::DropReason;

    const MIB: i64 = 1 << 20;

    fn proposed(candidate: usize, size_bytes: i64) -> Proposed {
        Proposed {
            size_bytes,
            read_gain_ms: 1.0,
            ..Proposed::of(
                candidate,
                IndexSpec::on("public", "t", vec![IndexKey::col("a")]),
            )
        }
    }

    fn sized(name: &str, cols: &[&str], size_bytes: i64) -> ExistingIndex {
        ExistingIndex {
            size_bytes,
            ..ExistingIndex::btree_on(name, cols)
        }
    }

    /// The review's figures: 146.6 MiB of new indexes, shared_buffers 256 MB, 1 GiB of data.
    #[test]
    fn r_f2_a_set_at_57_percent_of_shared_buffers_is_warned() {
        let set = [proposed(0, 100 * MIB), proposed(1, 46 * MIB + 600 * 1024)];
        let n = set_share_note(&set, Some(256 * MIB), Some(1024 * MIB)).expect("a note");
        assert!(
            n.starts_with("cache: the 2 new index(es) total 146.6 MiB"),
            "{n}"
        );
        assert!(
            n.contains("57% of shared_buffers (256.0 MiB), with a database of 1.0 GiB"),
            "{n}"
        );
        assert!(n.contains("pg_prewarm") && n.contains("in steps"), "{n}");
        // A 1.5 GB cache holds the data and the set: nothing is pushed out.
        assert_eq!(
            set_share_note(&set, Some(1536 * MIB), Some(1024 * MIB)),
            None
        );
        // A small set, or an unknown setting: no note.
        assert_eq!(
            set_share_note(&set[..1], Some(1024 * MIB), Some(4096 * MIB)),
            None
        );
        assert_eq!(set_share_note(&set, None, Some(1024 * MIB)), None);
        // Without the database's size, the share alone decides.
        assert!(set_share_note(&set, Some(256 * MIB), None).is_some());
    }

    fn drop(index: &str, covered_by: &str, size_bytes: i64) -> DropProposal {
        DropProposal {
            covered_by: Some(covered_by.into()),
            size_bytes,
            verified: true,
            note: Some("hidden from the planner".into()),
            ..DropProposal::of("basket_line", index, DropReason::Redundant)
        }
    }

    #[test]
    fn r_f2_a_drop_whose_reads_move_to_a_larger_index_says_so() {
        let catalog = Catalog {
            tables: vec![Table {
                oid: 1,
                rows: 1000.0,
                pages: 10,
                all_visible_frac: 1.0,
                size_bytes: 1 << 22,
                indexes: vec![
                    sized(
                        "basket_line_basket_id_line_reference_uniq",
                        &["basket_id", "line_reference"],
                        54 * MIB,
                    ),
                    sized("basket_line_other", &["x"], 20 * MIB),
                ],
                ..Table::named("public", "basket_line")
            }],
            search_path: vec![],
        };
        let mut drops = vec![
            drop(
                "basket_line_basket_id_b615c905",
                "basket_line_basket_id_line_reference_uniq",
                19 * MIB,
            ),
            drop("basket_line_x_copy", "basket_line_other", 19 * MIB),
        ];
        let notes = larger_survivor_notes(&mut drops, &catalog, &[], &[]);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].starts_with("cache: drop public.basket_line_basket_id_b615c905: it had no scans, so no reads move; a statement the statistics did not see would read basket_line_basket_id_line_reference_uniq instead (54.0 MiB, 2.8× the 19.0 MiB of the dropped index"), "{}", notes[0]);
        // Review 4 (G6): no "before applying this drop" step, which one `migrate` run that
        // builds the survivor and applies the drop leaves no moment for.
        assert!(!notes[0].contains("before applying"), "{}", notes[0]);
        assert!(
            notes[0].contains(
                "SELECT pg_prewarm('\"public\".\"basket_line_basket_id_line_reference_uniq\"')"
            ),
            "{}",
            notes[0]
        );
        let n = drops[0].note.as_deref().expect("note");
        assert!(
            n.starts_with("hidden from the planner; it had no scans, so no reads move"),
            "{n}"
        );
        assert_eq!(drops[0].covered_by_size_bytes, Some(54 * MIB));
        // A survivor of about the same size: its size is kept, no warning.
        assert_eq!(drops[1].covered_by_size_bytes, Some(20 * MIB));
        assert_eq!(drops[1].note.as_deref(), Some("hidden from the planner"));
    }

    #[test]
    fn a_new_survivor_is_sized_by_its_estimate() {
        let mut d = drop("t_a_idx", "t_a_b_new", 10 * MIB);
        d.superseded_by = Some(7);
        let mut drops = vec![d];
        let notes = larger_survivor_notes(
            &mut drops,
            &Catalog::default(),
            &[proposed(7, 30 * MIB)],
            &["t_a_b_new".to_string()],
        );
        assert_eq!(drops[0].covered_by_size_bytes, Some(30 * MIB));
        assert!(notes[0].contains("3.0× the 10.0 MiB"), "{}", notes[0]);
    }
}
