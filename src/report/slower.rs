//! The statements the recommendation is predicted to make slower ([`crate::select::slower`]):
//! a section of the terminal report and of report.md.
//!
//! Stage `report` (pure). Invariant: every statement in `Report::made_slower` is printed, with
//! its predicted ratio, its share of the time and the indexes its new plan uses; nothing is
//! printed when there is none.

use std::fmt::Write as _;

use crate::select::Slower;

/// One statement as a sentence.
fn line(s: &Slower) -> String {
    format!(
        "{}: {:.3} → {:.3} ms per call ({:.2}× the speed, {:.1}% of the time), through {}",
        s.queryid,
        s.before_ms,
        s.after_ms,
        s.speed_ratio,
        100.0 * s.share_of_time,
        if s.indexes.is_empty() {
            "the new plan".to_string()
        } else {
            s.indexes.join(", ")
        }
    )
}

/// The terminal section (empty when no statement is made slower).
pub fn text(slower: &[Slower]) -> String {
    let mut s = String::new();
    if slower.is_empty() {
        return s;
    }
    let _ = writeln!(
        s,
        "\nMade slower by the recommendation (predicted; no repair within the limits):"
    );
    for x in slower {
        let _ = writeln!(s, "  {}", line(x));
    }
    s
}

/// The report.md section (empty when no statement is made slower).
pub fn markdown(slower: &[Slower]) -> String {
    let mut s = String::new();
    if slower.is_empty() {
        return s;
    }
    let _ = writeln!(
        s,
        "## Made slower by the recommendation\n\nPredicted by the planner for these statements; no index within the limits served them without costing the set more net benefit than the `--min-benefit` amount, so the slowdown is accepted because the set saves more than it loses. Check them after applying (`idxadvise verify`).\n\n| queryid | ms per call before → predicted | speed | share of time | indexes its plan uses |\n|---:|---|---:|---:|---|"
    );
    for x in slower {
        let _ = writeln!(
            s,
            "| {} | {:.3} → {:.3} | {:.2}× | {:.1}% | {} |",
            x.queryid,
            x.before_ms,
            x.after_ms,
            x.speed_ratio,
            100.0 * x.share_of_time,
            x.indexes
                .iter()
                .map(|i| format!("`{}`", i.replace('|', "\\|")))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one() -> Slower {
        Slower {
            queryid: 42,
            before_cost: 10.0,
            after_cost: 16.0,
            speed_ratio: 0.61,
            before_ms: 0.075,
            after_ms: 0.122,
            share_of_time: 0.004,
            indexes: vec!["shop_order(status, created_at)".into()],
            reason: "r".into(),
        }
    }

    #[test]
    fn every_slower_statement_is_printed_with_ratio_and_share() {
        let t = text(&[one()]);
        assert!(
            t.contains("42: 0.075 → 0.122 ms per call (0.61× the speed, 0.4% of the time)"),
            "{t}"
        );
        let m = markdown(&[one()]);
        assert!(
            m.contains("| 42 | 0.075 → 0.122 | 0.61× | 0.4% | `shop_order(status, created_at)` |"),
            "{m}"
        );
        assert!(text(&[]).is_empty() && markdown(&[]).is_empty());
    }
}
