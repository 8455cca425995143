//! Which proposed drops are worth a migration at all, before any is measured.
//!
//! Stage `select`, after [`super::drops::propose_drops`] and before
//! [`super::drop_check::check_drops`]. Pure. Invariant: every drop withheld is counted in a note
//! that says why; nothing else is removed.
//!
//! Problem: "no scans" means nothing when the statistics cover an hour (or an unknown period),
//! and an 8 kB redundant index on a contrib table is not worth a migration. What we do: keep
//! unused-index drops only when the counters cover at least a week ([`UNUSED_MIN_WINDOW_S`]),
//! and redundant/duplicate drops only from 1 MiB ([`DROP_MIN_BYTES`]); say in a note how many
//! were withheld and why. Example: a freshly loaded database whose `_like` indexes have no
//! scans yet gets no drop proposals.

use super::recommendation::{DropReason, Recommendation};

/// Statistics must cover at least this long before an index without scans is called unused.
pub const UNUSED_MIN_WINDOW_S: f64 = 7.0 * 24.0 * 3600.0;
/// Redundant or duplicate indexes smaller than this are not worth a migration.
pub const DROP_MIN_BYTES: i64 = 1 << 20;

/// Withhold the doubtful drops of `rec` (see the module doc); `stats_seconds` is how long the
/// table statistics cover (`None`: unknown, never reset).
pub fn withhold_doubtful_drops(rec: &mut Recommendation, stats_seconds: Option<f64>) {
    let window = stats_seconds.unwrap_or(0.0);
    let before = rec.drop.len();
    let mut unused_withheld = 0;
    let mut small_withheld = 0;
    rec.drop.retain(|d| match d.reason {
        DropReason::Unused if window < UNUSED_MIN_WINDOW_S => {
            unused_withheld += 1;
            false
        }
        DropReason::Duplicate | DropReason::Redundant if d.size_bytes < DROP_MIN_BYTES => {
            small_withheld += 1;
            false
        }
        _ => true,
    });
    if unused_withheld > 0 {
        rec.notes.push(format!(
            "{unused_withheld} indexes had no scans, but the statistics cover {}: not proposed for dropping until they cover a week",
            if window > 0.0 {
                format!("only {:.1} days", window / 86400.0)
            } else {
                "an unknown period (never reset)".to_string()
            }
        ));
    }
    if small_withheld > 0 {
        rec.notes.push(format!(
            "{small_withheld} redundant or duplicate indexes smaller than 1 MiB are left alone"
        ));
    }
    debug_assert!(rec.drop.len() + unused_withheld + small_withheld == before);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::DropProposal;

    fn drop(index: &str, reason: DropReason, size_bytes: i64) -> DropProposal {
        DropProposal {
            size_bytes,
            ..DropProposal::of("shop_order", index, reason)
        }
    }

    fn names(rec: &Recommendation) -> Vec<&str> {
        rec.drop.iter().map(|d| d.index.as_str()).collect()
    }

    #[test]
    fn unused_drops_wait_for_a_week_of_statistics() {
        let proposals = vec![
            drop("unused_big", DropReason::Unused, 10 << 20),
            drop("dup_big", DropReason::Duplicate, 2 << 20),
            drop("dup_small", DropReason::Duplicate, 8192),
            drop("redundant_small", DropReason::Redundant, 16384),
        ];
        let mut rec = Recommendation {
            drop: proposals.clone(),
            ..Default::default()
        };
        withhold_doubtful_drops(&mut rec, Some(3600.0 * 36.0));
        assert_eq!(names(&rec), vec!["dup_big"]);
        assert_eq!(
            rec.notes,
            vec![
                "1 indexes had no scans, but the statistics cover only 1.5 days: not proposed for dropping until they cover a week".to_string(),
                "2 redundant or duplicate indexes smaller than 1 MiB are left alone".to_string(),
            ]
        );

        let mut rec = Recommendation {
            drop: proposals.clone(),
            ..Default::default()
        };
        withhold_doubtful_drops(&mut rec, None);
        assert!(
            rec.notes[0].contains("an unknown period (never reset)"),
            "{:?}",
            rec.notes
        );

        let mut rec = Recommendation {
            drop: proposals,
            ..Default::default()
        };
        withhold_doubtful_drops(&mut rec, Some(UNUSED_MIN_WINDOW_S));
        assert_eq!(names(&rec), vec!["unused_big", "dup_big"]);
    }
}
