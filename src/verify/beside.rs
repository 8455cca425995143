//! Statements that got slower beside the change: on a table that got a new index or lost one,
//! though no new index is in their plan.
//!
//! Stage: verify (after the control is measured). Pure: must not do I/O.
//!
//! Problem: the control ([`super::control`]) lists the statements that moved on their own as
//! "moved without a new index (cache, load or data growth?)", and `verify` exited 0 with them.
//! On a django-oscar shop (PostgreSQL 18, `shared_buffers` 256 MB, a new set of 147 MiB) the
//! order-history and basket lookups ran 2–7× slower after `migrate` in every one of four runs:
//! no new index was in their plans, but they read 2.4–3.0 blocks per call from outside
//! `shared_buffers` instead of 1.0–1.4 (the new indexes, once used, took the buffer cache from
//! their pages). A CI gate on `verify`'s exit code passed that change.
//! What we do: a control member that got slower beyond the noise and reads a table that got a
//! new index or lost one ([`touched_tables`]) is named with those tables and its block reads
//! per call from outside `shared_buffers` before and after ([`attribute`]); the reports give it
//! its own label and a note, and `verify` exits with the "recommendations" code. A statement on
//! a table nothing touched keeps the old label: the change cannot have moved it.

use std::collections::{BTreeMap, BTreeSet};

use super::baseline::Baseline;
use super::control::{Control, MoveDirection};
use crate::model::Snapshot;

/// How the reports introduce a mover on a touched table.
pub const BESIDE_LABEL: &str = "slower beside the change (on a table that got or lost an index; the new indexes may be taking the buffer cache from it): ";

/// `schema.table` of every table whose indexes the change altered as far as the server shows:
/// a recommended index that exists now, or a recommended drop whose index is gone.
pub fn touched_tables(baseline: &Baseline, now: &Snapshot) -> BTreeSet<String> {
    let has = |schema: &str, table: &str, name: &str| {
        now.catalog
            .table(schema, table)
            .is_some_and(|t| t.indexes.iter().any(|i| i.name == name))
    };
    let created = baseline
        .indexes
        .iter()
        .filter(|i| has(&i.schema, &i.table, &i.name))
        .map(|i| format!("{}.{}", i.schema, i.table));
    let dropped = baseline
        .drops
        .iter()
        .filter(|d| !has(&d.schema, &d.table, &d.name))
        .map(|d| format!("{}.{}", d.schema, d.table));
    created.chain(dropped).collect()
}

/// Fill `touched` (and the block reads per call, `blocks[queryid]` = before, after) of every
/// mover that got slower and reads one of `touched`. Returns the report note, when any.
pub fn attribute(
    control: &mut Control,
    touched: &BTreeSet<String>,
    now: &Snapshot,
    blocks: &BTreeMap<i64, (Option<f64>, Option<f64>)>,
) -> Option<String> {
    let mut lines = vec![];
    for m in control
        .movers
        .iter_mut()
        .filter(|m| m.direction == MoveDirection::Slower)
    {
        // A statement the parser does not take is left with the old label.
        let statement = crate::model::Statement::text(m.queryid, &m.query);
        let Ok(shape) = crate::parse::parse_statement(&statement, &now.catalog) else {
            continue;
        };
        let tables: BTreeSet<String> = shape
            .tables
            .iter()
            .map(|t| format!("{}.{}", t.schema, t.table))
            .filter(|t| touched.contains(t))
            .collect();
        if tables.is_empty() {
            continue;
        }
        m.touched = tables.into_iter().collect();
        let (before, after) = blocks.get(&m.queryid).copied().unwrap_or((None, None));
        m.before_blks_read = before;
        m.after_blks_read = after;
        lines.push(format!(
            "{} {:.2}× slower on {}{}",
            m.queryid,
            m.ratio,
            m.touched.join(", "),
            reads(before, after)
        ));
    }
    (!lines.is_empty()).then(|| {
        format!(
            "statement(s) got slower beside the change, with no new index in their plan: {}; when the block reads grew, the new indexes are taking the buffer cache from these statements' pages (warm them with pg_prewarm, apply fewer indexes at a time, or give shared_buffers room); else compare their plans (idxadvise explain)",
            lines.join("; ")
        )
    })
}

/// `" (blocks read per call from outside shared_buffers: 1.1 → 2.6)"`, or nothing when unknown.
fn reads(before: Option<f64>, after: Option<f64>) -> String {
    match (before, after) {
        (Some(b), Some(a)) => {
            format!(" (blocks read per call from outside shared_buffers: {b:.1} → {a:.1})")
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::control::ControlMover;
    use super::super::fixtures::{baseline, now};
    use super::*;

    fn mover(queryid: i64, query: &str, direction: MoveDirection) -> ControlMover {
        ControlMover {
            queryid,
            query: query.into(),
            direction,
            before_ms: 0.3,
            after_ms: 0.9,
            ratio: 3.0,
            touched: vec![],
            before_blks_read: None,
            after_blks_read: None,
        }
    }

    fn control(movers: Vec<ControlMover>) -> Control {
        Control {
            statements: vec![],
            calls: 100,
            drift: 1.0,
            moved: false,
            spread: Some(0.1),
            spread_stddev: None,
            spread_used: Some(0.1),
            movers,
        }
    }

    #[test]
    fn a_slower_statement_on_a_table_that_got_an_index_is_named_with_its_reads() {
        let b = baseline();
        let n = now();
        let touched = touched_tables(&b, &n);
        assert!(
            touched.contains("public.shop_order"),
            "the fixture's index exists now: {touched:?}"
        );
        let mut c = control(vec![
            mover(
                7,
                "SELECT id FROM shop_order WHERE customer_id = $1",
                MoveDirection::Slower,
            ),
            mover(
                8,
                "SELECT id FROM shop_order WHERE customer_id = $1 AND status = $2",
                MoveDirection::Faster,
            ),
        ]);
        let blocks = BTreeMap::from([(7, (Some(1.1), Some(2.6)))]);
        let note = attribute(&mut c, &touched, &n, &blocks).expect("a note");
        assert_eq!(c.movers[0].touched, vec!["public.shop_order".to_string()]);
        assert_eq!(c.movers[0].after_blks_read, Some(2.6));
        assert!(c.movers[1].touched.is_empty(), "faster is not attributed");
        assert!(
            note.contains("7 3.00× slower on public.shop_order"),
            "{note}"
        );
        assert!(note.contains("1.1 → 2.6"), "{note}");
    }

    #[test]
    fn a_table_nothing_touched_keeps_the_old_label() {
        let n = now();
        let mut c = control(vec![mover(
            7,
            "SELECT id FROM shop_order WHERE customer_id = $1",
            MoveDirection::Slower,
        )]);
        // Nothing applied: no table touched.
        let note = attribute(&mut c, &BTreeSet::new(), &n, &BTreeMap::new());
        assert!(note.is_none());
        assert!(c.movers[0].touched.is_empty());
    }
}
