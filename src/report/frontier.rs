//! The frontier section: what more (or less) storage would buy, from the one selection run.
//!
//! Pure: rows from the recommendation's frontier, rendered as a markdown table (`report.md`)
//! and a small bar chart (the terminal). Invariant: rows are in ascending budget, each row's
//! predicted saving is at least the previous row's (selection makes the frontier monotone),
//! and the configured budget's row is the recommendation itself.
//!
//! Example (terminal):
//!
//! ```text
//! What more storage buys (predicted share of the workload's time saved, net of writes):
//!     budget      size  indexes  saved
//!    8.0 MiB   6.1 MiB        2  31.0%  █████████████████
//!   32.0 MiB  30.2 MiB        4  42.5%  ████████████████████████  ◀ --budget
//! ```

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::document::human_bytes;
use crate::candidates::CandidateSet;
use crate::select::Recommendation;

/// One budget of the frontier, for the reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrontierRow {
    /// Storage budget, bytes.
    pub budget_bytes: i64,
    /// Estimated size of the indexes chosen at this budget, bytes.
    pub size_bytes: i64,
    /// Indexes chosen at this budget.
    pub indexes: usize,
    /// Predicted share of the workload saved (0..1): time net of write cost, or planner cost
    /// when ranked by cost.
    pub saved_share: f64,
    /// This is the configured budget: the recommendation.
    pub chosen: bool,
    /// The cap on new indexes (`--max-indexes`) is reached at this budget.
    pub at_index_cap: bool,
    /// Indexes chosen here but not at the previous (smaller) budget, labels.
    pub added: Vec<String>,
    /// Indexes chosen at the previous budget but not here (swapped for better ones), labels.
    pub removed: Vec<String>,
}

/// The rows of `rec`'s frontier, ascending by budget; index labels from `candidates`.
pub fn rows(rec: &Recommendation, candidates: &CandidateSet) -> Vec<FrontierRow> {
    let label = |c: &usize| {
        candidates
            .candidates
            .get(*c)
            .map(|x| x.spec.label())
            .unwrap_or_else(|| format!("candidate {c}"))
    };
    let mut points: Vec<&crate::select::FrontierPoint> = rec.frontier.iter().collect();
    points.sort_by_key(|p| p.budget_bytes);
    let mut out = Vec::with_capacity(points.len());
    let mut prev: &[usize] = &[];
    for p in points {
        out.push(FrontierRow {
            budget_bytes: p.budget_bytes,
            size_bytes: p.size_bytes,
            indexes: p.candidates.len(),
            saved_share: p.saved_share.max(0.0),
            chosen: p.budget_bytes == rec.budget_bytes,
            at_index_cap: rec.limits.max_indexes > 0
                && p.candidates.len() >= rec.limits.max_indexes,
            added: p
                .candidates
                .iter()
                .filter(|c| !prev.contains(c))
                .map(label)
                .collect(),
            removed: prev
                .iter()
                .filter(|c| !p.candidates.contains(c))
                .map(label)
                .collect(),
        });
        prev = &p.candidates;
    }
    out
}

/// Width of the longest bar, characters.
const BAR: usize = 24;

/// A bar of `share` of `max` in eighths of a block.
fn bar(share: f64, max: f64) -> String {
    if max <= 0.0 || share <= 0.0 {
        return String::new();
    }
    let eighths = ((share / max).min(1.0) * (BAR * 8) as f64).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    const PART: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    s.push_str(PART[eighths % 8]);
    s
}

/// The terminal chart (empty when the frontier has fewer than two budgets).
pub fn chart(rows: &[FrontierRow]) -> String {
    if rows.len() < 2 {
        return String::new();
    }
    let max = rows.iter().map(|r| r.saved_share).fold(0.0, f64::max);
    let cells: Vec<(String, String)> = rows
        .iter()
        .map(|r| (human_bytes(r.budget_bytes), human_bytes(r.size_bytes)))
        .collect();
    let wb = cells
        .iter()
        .map(|c| c.0.chars().count())
        .max()
        .unwrap_or(0)
        .max(6);
    let ws = cells
        .iter()
        .map(|c| c.1.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut s = String::from(
        "What more storage buys (predicted share of the workload's time saved, net of writes):\n",
    );
    let _ = writeln!(s, "  {:>wb$}  {:>ws$}  indexes  saved", "budget", "size");
    for (r, (b, z)) in rows.iter().zip(&cells) {
        let mut mark = String::new();
        if r.chosen {
            mark.push_str("◀ --budget");
        }
        if r.at_index_cap {
            if !mark.is_empty() {
                mark.push_str(", ");
            }
            mark.push_str("at --max-indexes");
        }
        let line = format!(
            "  {b:>wb$}  {z:>ws$}  {:>7}  {:>5.1}%  {:<w$}  {mark}",
            r.indexes,
            100.0 * r.saved_share,
            bar(r.saved_share, max),
            w = BAR
        );
        let _ = writeln!(s, "{}", line.trim_end());
    }
    s
}

/// The `report.md` section (empty when the frontier has fewer than two budgets).
pub fn markdown(rows: &[FrontierRow]) -> String {
    if rows.len() < 2 {
        return String::new();
    }
    let mut s = String::from(
        "## What more storage buys\n\nThe best set of indexes for each storage budget, from the same selection run (every point costed by the planner; a larger budget never saves less). Saved: predicted share of the workload's time, net of write cost.\n\n| budget | size | indexes | saved | changes from the row above |\n|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        let mut changes: Vec<String> = r
            .added
            .iter()
            .map(|l| format!("+ `{}`", l.replace('|', "\\|")))
            .collect();
        changes.extend(
            r.removed
                .iter()
                .map(|l| format!("− `{}`", l.replace('|', "\\|"))),
        );
        let mut budget = human_bytes(r.budget_bytes);
        if r.chosen {
            budget = format!("**{budget}** (--budget)");
        }
        let mut indexes = r.indexes.to_string();
        if r.at_index_cap {
            indexes.push_str(" (at --max-indexes)");
        }
        let _ = writeln!(
            s,
            "| {budget} | {} | {indexes} | {:.1}% | {} |",
            human_bytes(r.size_bytes),
            100.0 * r.saved_share,
            changes.join(", ")
        );
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(mib: i64, size: i64, n: usize, share: f64, chosen: bool) -> FrontierRow {
        FrontierRow {
            budget_bytes: mib << 20,
            size_bytes: size << 20,
            indexes: n,
            saved_share: share,
            chosen,
            at_index_cap: n >= 4,
            added: vec![format!("t(c{n})")],
            removed: if n == 4 { vec!["t(c1)".into()] } else { vec![] },
        }
    }

    fn rows() -> Vec<FrontierRow> {
        vec![
            row(8, 6, 1, 0.12, false),
            row(16, 15, 2, 0.31, false),
            row(32, 30, 3, 0.425, true),
            row(64, 60, 4, 0.45, false),
        ]
    }

    #[test]
    fn terminal_chart() {
        insta::assert_snapshot!(chart(&rows()), @r"
        What more storage buys (predicted share of the workload's time saved, net of writes):
            budget      size  indexes  saved
           8.0 MiB   6.0 MiB        1   12.0%  ██████▍
          16.0 MiB  15.0 MiB        2   31.0%  ████████████████▌
          32.0 MiB  30.0 MiB        3   42.5%  ██████████████████████▋   ◀ --budget
          64.0 MiB  60.0 MiB        4   45.0%  ████████████████████████  at --max-indexes
        ");
    }

    #[test]
    fn markdown_section() {
        insta::assert_snapshot!(markdown(&rows()), @r"
        ## What more storage buys

        The best set of indexes for each storage budget, from the same selection run (every point costed by the planner; a larger budget never saves less). Saved: predicted share of the workload's time, net of write cost.

        | budget | size | indexes | saved | changes from the row above |
        |---:|---:|---:|---:|---|
        | 8.0 MiB | 6.0 MiB | 1 | 12.0% | + `t(c1)` |
        | 16.0 MiB | 15.0 MiB | 2 | 31.0% | + `t(c2)` |
        | **32.0 MiB** (--budget) | 30.0 MiB | 3 | 42.5% | + `t(c3)` |
        | 64.0 MiB | 60.0 MiB | 4 (at --max-indexes) | 45.0% | + `t(c4)`, − `t(c1)` |
        ");
    }

    #[test]
    fn one_budget_shows_nothing() {
        assert_eq!(chart(&rows()[..1]), "");
        assert_eq!(markdown(&rows()[..1]), "");
    }
}
