//! The findings as the terminal and `report.md` show them.

use std::fmt::Write;

use super::Findings;

/// Terminal lines: "After these indexes, the time goes to" and the findings.
pub fn text(f: &Findings) -> String {
    let mut s = String::new();
    if !f.after.is_empty() {
        let _ = writeln!(
            s,
            "\nAfter these indexes (weight {:.0}% of today's), the time goes to:",
            100.0 * f.after_ratio
        );
        for r in f.after.iter().take(6) {
            let _ = writeln!(s, "  {:>5.1}%  {:<24} {}", 100.0 * r.share, r.what, r.next);
        }
    }
    if !f.findings.is_empty() {
        let _ = writeln!(s, "\nDjango findings ({}):", f.weighting);
        for x in f.findings.iter().take(10) {
            let _ = writeln!(
                s,
                "  {:>5.1}%  {:<24} {} [q{}]\n          fix: {}",
                100.0 * x.share,
                x.pattern.label(),
                x.evidence,
                x.queryid,
                x.pattern.fix()
            );
        }
    }
    s
}

/// `report.md`: the "after these indexes" lead section.
pub fn markdown_after(f: &Findings) -> String {
    let mut s = String::new();
    if f.after.is_empty() {
        return s;
    }
    let _ = writeln!(s, "## After these indexes, the time goes to\n");
    let _ = writeln!(
        s,
        "With the recommended indexes the workload weighs {:.0}% of today's ({}). What is left, largest first — the next step is in the last column (measure → fix queries and N+1 → index → cache last):\n",
        100.0 * f.after_ratio,
        f.weighting
    );
    let _ = writeln!(
        s,
        "| share | what | statements | next step |\n|---:|---|---|---|"
    );
    for r in &f.after {
        let _ = writeln!(
            s,
            "| {:.1}% | {} | {} | {} |",
            100.0 * r.share,
            r.what,
            r.queryids
                .iter()
                .map(|q| format!("`{q}`"))
                .collect::<Vec<_>>()
                .join(", "),
            r.next.replace('|', "\\|")
        );
    }
    s.push('\n');
    s
}

/// `report.md`: the findings section.
pub fn markdown_findings(f: &Findings) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## Django findings\n");
    if f.findings.is_empty() {
        let _ = writeln!(s, "None of the patterns idxadvise knows was found.\n");
        return s;
    }
    let _ = writeln!(s, "Weighted by {}.\n", f.weighting);
    if !f.names.is_empty() {
        let _ = writeln!(s, "Examples: {}.\n", f.names);
    }
    let _ = writeln!(
        s,
        "| share | after indexes | pattern | evidence | fix | example | queryid |\n|---:|---:|---|---|---|---|---|"
    );
    for x in &f.findings {
        let _ = writeln!(
            s,
            "| {:.1}% | {:.1}% | {} | {} | {} | `{}` | `{}` |",
            100.0 * x.share,
            100.0 * x.share_after,
            x.pattern.label(),
            x.evidence.replace('|', "\\|"),
            x.fix.replace('|', "\\|"),
            x.example.replace('`', "'").replace('|', "\\|"),
            x.queryid
        );
    }
    s.push('\n');
    s
}
