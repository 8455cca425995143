//! Rendering the verify report: the terminal table, `verify.md` and `verify.json`.
//!
//! Pure. Invariant: deterministic (fixed precision, the report's order, no timestamps).

use std::fmt::Write as _;

use super::compare::{Change, RatePeriod, TableWriteResult, VerifyReport, Window};
use crate::report::document::human_bytes;
use crate::report::render::{aligned, pretty_json, short};

/// `verify.json`: pretty JSON with a trailing newline.
pub fn to_json(report: &VerifyReport) -> String {
    pretty_json(report)
}

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{:+.0}%", 100.0 * v))
        .unwrap_or_else(|| "-".into())
}

fn ms(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.3}")).unwrap_or_else(|| "-".into())
}

fn speed(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.1}×")).unwrap_or_else(|| "-".into())
}

fn change_label(c: Change, w: Window) -> String {
    let base = match c {
        Change::Faster => "faster",
        Change::Unchanged => "unchanged",
        Change::Slower => "SLOWER",
        Change::TooFewCalls => "too few calls",
    };
    match w {
        Window::Delta => base.to_string(),
        Window::SinceReset => format!("{base} (since reset)"),
        Window::Absent => "not in pg_stat_statements".into(),
        Window::Observed => format!("{base} (window)"),
    }
}

fn index_rows(report: &VerifyReport) -> Vec<Vec<String>> {
    let mut rows = vec![[
        "index",
        "table",
        "valid",
        "size est → real",
        "error",
        "scans",
        "verdict",
        "suggestion",
    ]
    .map(String::from)
    .to_vec()];
    for ix in &report.indexes {
        rows.push(vec![
            ix.name.clone(),
            ix.table.clone(),
            match (ix.exists, ix.valid) {
                (false, _) => "missing".into(),
                (true, true) => "yes".into(),
                (true, false) => "INVALID".into(),
            },
            format!(
                "{} → {}",
                human_bytes(ix.estimated_size_bytes),
                ix.real_size_bytes
                    .map(human_bytes)
                    .unwrap_or_else(|| "-".into())
            ),
            pct(ix.size_error),
            ix.scans
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
            ix.verdict.label().into(),
            ix.suggestion.label().into(),
        ]);
    }
    rows
}

fn statement_rows(report: &VerifyReport, width: usize) -> Vec<Vec<String>> {
    let mut rows = vec![[
        "queryid",
        "calls after",
        "ms before",
        "predicted",
        "measured",
        "speedup pred",
        "speedup real",
        "corrected",
        "change",
        "statement",
    ]
    .map(String::from)
    .to_vec()];
    for s in &report.statements {
        rows.push(vec![
            s.queryid.to_string(),
            s.after_calls.to_string(),
            format!("{:.3}", s.before_ms),
            if s.predicted {
                format!("{:.3}", s.predicted_after_ms)
            } else {
                "(no change)".into()
            },
            ms(s.after_ms),
            if s.predicted {
                format!("{:.1}×", s.predicted_speedup)
            } else {
                "-".into()
            },
            speed(s.measured_speedup),
            speed(s.corrected_speedup),
            change_label(s.change, s.window),
            short(&s.query, width),
        ]);
    }
    rows
}

/// The terminal table: indexes with their verdicts, then statements predicted versus measured.
pub fn text(report: &VerifyReport) -> String {
    let mut s = String::new();
    if report.indexes.is_empty() {
        s.push_str("The baseline recommended no index.\n");
    } else {
        s.push_str(&aligned(&index_rows(report)));
    }
    for ix in &report.indexes {
        let _ = writeln!(s, "  {}: {}", ix.name, ix.reason);
        if let Some(d) = &ix.drop_sql {
            let _ = writeln!(s, "    {d}");
        }
    }
    for d in &report.drops {
        let _ = writeln!(
            s,
            "  drop {} on {}: {}: {}",
            d.name, d.table, d.verdict, d.reason
        );
    }
    let _ = writeln!(s, "\n{}", control_line(report));
    for m in report.control.iter().flat_map(|c| &c.movers) {
        let _ = writeln!(s, "  {}{}", mover_label(m), m.line(60));
    }
    if !report.statements.is_empty() {
        let _ = writeln!(s, "\nStatements (mean ms per call):");
        s.push_str(&aligned(&statement_rows(report, 60)));
    }
    if report.real_plans_read {
        let _ = writeln!(
            s,
            "\nReal plans after the change (EXPLAIN on the server, one plan per value set):"
        );
        for (q, line) in real_plan_lines(report) {
            let _ = writeln!(s, "  {q}: {line}");
        }
    }
    if !report.writes.is_empty() {
        let _ = writeln!(s, "\nWrites:");
        for w in &report.writes {
            let _ = writeln!(
                s,
                "  {}: {}, HOT updates {} → {}",
                w.table,
                write_rates(w),
                share(w.before_hot_share),
                share(w.after_hot_share),
            );
        }
    }
    for n in &report.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

/// Per statement whose real plan was read: queryid and one line on what it uses against the
/// prediction (or a line saying none was read).
pub fn real_plan_lines(report: &VerifyReport) -> Vec<(String, String)> {
    let lines: Vec<(String, String)> = report
        .statements
        .iter()
        .filter_map(|st| {
            let p = st.real_plan.as_ref()?;
            Some((st.queryid.to_string(), p.summary(&st.uses)))
        })
        .collect();
    if lines.is_empty() {
        return vec![(
            "-".into(),
            "no statement of the report was planned (none reads a table that got a new index)"
                .into(),
        )];
    }
    lines
}

/// One line on the control group: its size and its speedup (what corrected the others).
pub fn control_line(report: &VerifyReport) -> String {
    match &report.control {
        Some(c) => c.summary(),
        None => format!(
            "Control: none (fewer than {} statements that no recommended index touches ran at least {} times in the \"after\" measurement); speedups are not corrected for a change of load.",
            super::control::CONTROL_MIN_STATEMENTS,
            super::control::CONTROL_MIN_CALLS
        ),
    }
}

/// What the rate at the baseline was measured over: "analyze's 60 s window", "since the
/// statistics reset".
fn before_over(w: &TableWriteResult) -> Option<String> {
    Some(match w.before_rate_over? {
        RatePeriod::Window => format!("analyze's {:.0} s window", w.before_seconds?),
        RatePeriod::Counters => "since the statistics reset".into(),
    })
}

/// What the rate after the change was measured over: "verify's 90 s window", "since the
/// baseline".
fn after_over(w: &TableWriteResult) -> Option<String> {
    Some(match w.after_rate_over? {
        RatePeriod::Window => format!("verify's {:.0} s window", w.window_seconds?),
        RatePeriod::Counters if w.reset => "since the reset".into(),
        RatePeriod::Counters => "since the baseline".into(),
    })
}

/// One table's write rates, before → after, each with what it covers; "no rates" only when
/// neither side had a period (no statistics reset time, no window).
fn write_rates(w: &TableWriteResult) -> String {
    let over = |o: Option<String>| o.unwrap_or_else(|| "-".into());
    let rows = w.after_rows_written;
    match (w.before_writes_per_s, w.after_writes_per_s) {
        (Some(b), Some(a)) => format!(
            "{b:.2} → {a:.2} rows written/s ({} → {})",
            over(before_over(w)),
            over(after_over(w))
        ),
        (None, Some(a)) => format!(
            "{a:.2} rows written/s ({}; none at the baseline: no statistics reset time, no analyze window), {rows} rows written since the baseline",
            over(after_over(w))
        ),
        (Some(b), None) => format!(
            "{b:.2} rows written/s at the baseline ({}), {rows} rows written since (no rate after: no statistics reset time, no verify window)",
            over(before_over(w))
        ),
        (None, None) => format!(
            "{rows} rows written since the baseline (no rates: no statistics reset time, no window)"
        ),
    }
}

fn share(x: Option<f64>) -> String {
    x.map(|v| format!("{:.0}%", 100.0 * v))
        .unwrap_or_else(|| "-".into())
}

fn md_table(rows: &[Vec<String>], right: &[usize]) -> String {
    let mut s = String::new();
    for (k, r) in rows.iter().enumerate() {
        let cells: Vec<String> = r
            .iter()
            .map(|c| c.replace('|', "\\|").replace('`', "'"))
            .collect();
        let _ = writeln!(s, "| {} |", cells.join(" | "));
        if k == 0 {
            let seps: Vec<&str> = (0..r.len())
                .map(|i| if right.contains(&i) { "---:" } else { "---" })
                .collect();
            let _ = writeln!(s, "|{}|", seps.join("|"));
        }
    }
    s
}

/// `verify.md`, for a pull request or a ticket.
pub fn markdown(report: &VerifyReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# idxadvise verify\n");
    let _ = writeln!(
        s,
        "Database `{}`: the indexes recommended by {} measured against their prediction. Generated by {}.\n",
        report.database, report.baseline_created_by, report.created_by
    );
    for n in &report.notes {
        let _ = writeln!(s, "> **Note:** {n}\n");
    }
    let _ = writeln!(s, "## Indexes\n");
    if report.indexes.is_empty() {
        let _ = writeln!(s, "The baseline recommended no index.\n");
    } else {
        s.push_str(&md_table(&index_rows(report), &[4, 5]));
        let _ = writeln!(s);
        for ix in &report.indexes {
            let _ = writeln!(s, "- `{}`: {}", ix.name, ix.reason);
            if let Some(d) = &ix.drop_sql {
                let _ = writeln!(s, "  ```sql\n  {d}\n  ```");
            }
        }
        let _ = writeln!(s);
    }
    if !report.drops.is_empty() {
        let _ = writeln!(s, "## Drops\n");
        for d in &report.drops {
            let _ = writeln!(
                s,
                "- `{}` on `{}`: {}: {}",
                d.name, d.table, d.verdict, d.reason
            );
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "{}\n", control_line(report));
    let movers: Vec<String> = report
        .control
        .iter()
        .flat_map(|c| &c.movers)
        .map(|m| format!("- {}{}", mover_label(m), m.line(90)))
        .collect();
    if !movers.is_empty() {
        let _ = writeln!(s, "{}\n", movers.join("\n").replace('`', "'"));
    }
    if !report.statements.is_empty() {
        let _ = writeln!(
            s,
            "## Statements: mean time per call (ms), predicted and measured\n"
        );
        s.push_str(&md_table(
            &statement_rows(report, 90),
            &[0, 1, 2, 3, 4, 5, 6, 7],
        ));
        let _ = writeln!(s);
    }
    if report.real_plans_read {
        let _ = writeln!(
            s,
            "## Real plans after the change\n\nEXPLAIN (no ANALYZE) on the server with the real indexes, one plan per value set.\n"
        );
        for (q, line) in real_plan_lines(report) {
            let _ = writeln!(s, "- `{q}`: {}", line.replace('`', "'"));
        }
        let _ = writeln!(s);
    }
    if !report.writes.is_empty() {
        let _ = writeln!(s, "## Writes\n");
        let mut rows = vec![[
            "table",
            "rows written/s before",
            "after",
            "rates over",
            "HOT before",
            "HOT after",
            "predicted lost HOT/s",
            "rows written after",
        ]
        .map(String::from)
        .to_vec()];
        for w in &report.writes {
            rows.push(vec![
                w.table.clone(),
                w.before_writes_per_s
                    .map(|v| format!("{v:.2}"))
                    .unwrap_or_else(|| "-".into()),
                w.after_writes_per_s
                    .map(|v| format!("{v:.2}"))
                    .unwrap_or_else(|| "-".into()),
                format!(
                    "{} → {}",
                    before_over(w).unwrap_or_else(|| "-".into()),
                    after_over(w).unwrap_or_else(|| "-".into())
                ),
                share(w.before_hot_share),
                share(w.after_hot_share),
                format!("{:.2}", w.predicted_lost_hot_updates_per_s),
                w.after_rows_written.to_string(),
            ]);
        }
        s.push_str(&md_table(&rows, &[1, 2, 4, 5, 6, 7]));
    }
    s
}

/// The label of a control mover: beside the change when it reads a touched table.
fn mover_label(m: &super::control::ControlMover) -> &'static str {
    if m.touched.is_empty() {
        super::control::MOVED_LABEL
    } else {
        super::beside::BESIDE_LABEL
    }
}

#[cfg(test)]
mod tests {
    use super::super::compare::compare;
    use super::super::fixtures::{baseline, now};
    use super::*;

    #[test]
    fn renders_text_and_markdown() {
        let r = compare(&baseline(), &now());
        insta::assert_snapshot!("verify_text", text(&r));
        insta::assert_snapshot!("verify_markdown", markdown(&r));
        let back: VerifyReport = serde_json::from_str(&to_json(&r)).unwrap();
        assert_eq!(back, r);
        assert!(!to_json(&r).contains("\"real_plan\""));
    }

    /// Review 3 (F7): each rate says what it covers; "no rates" only when neither a reset time
    /// nor a window gave a period.
    #[test]
    fn write_rates_say_what_they_cover_and_no_rates_only_without_a_period() {
        let mut r = compare(&baseline(), &now());
        let w = &mut r.writes[0];
        assert_eq!(
            write_rates(w),
            "10.00 → 10.00 rows written/s (since the statistics reset → since the baseline)"
        );
        // Never reset, verify watched 90 s.
        (w.before_writes_per_s, w.before_rate_over, w.before_seconds) = (None, None, None);
        (w.after_writes_per_s, w.after_rate_over, w.window_seconds) =
            (Some(3.0), Some(RatePeriod::Window), Some(90.0));
        assert_eq!(
            write_rates(w),
            "3.00 rows written/s (verify's 90 s window; none at the baseline: no statistics reset time, no analyze window), 600 rows written since the baseline"
        );
        // analyze watched 60 s too.
        (w.before_writes_per_s, w.before_rate_over, w.before_seconds) =
            (Some(2.0), Some(RatePeriod::Window), Some(60.0));
        assert_eq!(
            write_rates(w),
            "2.00 → 3.00 rows written/s (analyze's 60 s window → verify's 90 s window)"
        );
        let t = text(&r);
        assert!(
            t.contains("\nWrites:\n  public.shop_order: 2.00 → 3.00 rows written/s (analyze's 60 s window → verify's 90 s window), HOT updates 90% → 10%\n"),
            "{t}"
        );
        let md = markdown(&r);
        assert!(
            md.contains("| public.shop_order | 2.00 | 3.00 | analyze's 60 s window → verify's 90 s window | 90% | 10% |"),
            "{md}"
        );
        // Only analyze's window.
        let w = &mut r.writes[0];
        (w.after_writes_per_s, w.after_rate_over, w.window_seconds) = (None, None, None);
        assert_eq!(
            write_rates(w),
            "2.00 rows written/s at the baseline (analyze's 60 s window), 600 rows written since (no rate after: no statistics reset time, no verify window)"
        );
        // Neither.
        (w.before_writes_per_s, w.before_rate_over, w.before_seconds) = (None, None, None);
        assert_eq!(
            write_rates(w),
            "600 rows written since the baseline (no rates: no statistics reset time, no window)"
        );
        assert!(markdown(&r).contains("| public.shop_order | - | - | - → - |"));
    }

    #[test]
    fn renders_the_real_plans() {
        use super::super::compare::compare_with;
        use super::super::real_plan::{PlanRead, RealPlans};
        let b = baseline();
        let x = b.indexes[0].name.clone();
        let read = |ix: &[&str]| {
            Ok(PlanRead {
                indexes: ix.iter().map(|s| s.to_string()).collect(),
                seq_scan: ix.is_empty(),
                plans: 4,
                text: String::new(),
            })
        };
        let plans = RealPlans {
            statements: [(101, read(&[&x])), (102, read(&[&x]))].into(),
            building: Default::default(),
        };
        let r = compare_with(&b, &now(), Some(&plans));
        let t = text(&r);
        assert!(
            t.contains(&format!("  101: uses {x}, as predicted\n")),
            "{t}"
        );
        assert!(
            t.contains(&format!("  102: uses {x} (not predicted)\n")),
            "{t}"
        );
        let md = markdown(&r);
        assert!(md.contains("## Real plans after the change"), "{md}");
        assert!(
            md.contains(&format!("- `102`: uses {x} (not predicted)")),
            "{md}"
        );
        let back: VerifyReport = serde_json::from_str(&to_json(&r)).unwrap();
        assert_eq!(back, r);
    }
}
