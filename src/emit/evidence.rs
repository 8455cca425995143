//! Stage `emit`: the evidence behind a recommended index, as comment lines for the SQL script
//! and migration headers.
//!
//! Pure. Invariant: fixed precision and sorted order (same recommendation → same text); every
//! line is safe inside a `#` or `--` comment (no line breaks or control characters).

use crate::model::WriteRates;
use crate::select::{DropProposal, DropReason, Proposed};

/// Text safe on one comment line: the typographic characters of our own texts (`×`, `→`, `–`,
/// `…`, `≥`, `≤`, `—`) spelt in ASCII, other control and non-ASCII characters escaped (the
/// files stay ASCII, whatever a client's encoding).
pub fn comment_safe(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '×' => "x".to_string(),
            '→' => "->".to_string(),
            '–' | '—' => "-".to_string(),
            '…' => "...".to_string(),
            '≥' => ">=".to_string(),
            '≤' => "<=".to_string(),
            c if c.is_ascii() && !c.is_ascii_control() => c.to_string(),
            c if c.is_ascii() => format!("\\x{:02x}", c as u32),
            c if (c as u32) <= 0xffff => format!("\\u{:04x}", c as u32),
            c => format!("\\U{:08x}", c as u32),
        })
        .collect()
}

/// `12,345`.
pub fn thousands(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// `6.4 MiB`: the reports' one size unit ([`crate::model::human_bytes`]).
pub fn size(bytes: i64) -> String {
    crate::model::human_bytes(bytes)
}

/// Evidence lines for one index (without comment markers). `rates`: where the write rates came
/// from (`Unknown`: the write cost is written as unknown, never as 0).
pub fn lines(p: &Proposed, rates: Option<&WriteRates>) -> Vec<String> {
    let calls: i64 = p.helps.iter().map(|h| h.calls).sum();
    let (before, after) = if calls > 0 {
        (
            p.helps
                .iter()
                .map(|h| h.before_ms * h.calls as f64)
                .sum::<f64>()
                / calls as f64,
            p.helps
                .iter()
                .map(|h| h.after_ms * h.calls as f64)
                .sum::<f64>()
                / calls as f64,
        )
    } else {
        (0.0, 0.0)
    };
    let mut out = vec![format!(
        "helps {} statement{} ({} calls): mean {:.3} ms -> {:.3} ms predicted",
        p.helps.len(),
        if p.helps.len() == 1 { "" } else { "s" },
        thousands(calls),
        before,
        after
    )];
    let mut helps = p.helps.clone();
    helps.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.queryid.cmp(&b.queryid)));
    for h in &helps {
        out.push(format!(
            "  queryid {}: {} calls, {:.3} ms -> {:.3} ms (cost {:.2} -> {:.2})",
            h.queryid,
            thousands(h.calls),
            h.before_ms,
            h.after_ms,
            h.before_cost,
            h.after_cost
        ));
    }
    match rates {
        Some(WriteRates::Unknown { reason }) => out.push(format!(
            "size {} (estimated); write cost unknown ({})",
            size(p.size_bytes),
            comment_safe(reason)
        )),
        _ => out.push(format!(
            "size {} (estimated); write cost {:.3} ms per second of workload",
            size(p.size_bytes),
            p.write_cost_ms_per_s
        )),
    }
    if let Some(h) = hot_line(p) {
        out.push(comment_safe(&h));
    }
    if let Some(r) = rates.filter(|r| r.known()) {
        out.push(format!("write rates: {}", r.describe()));
    }
    out
}

/// What an index costs in HOT updates, when it costs any: the columns it reads that an UPDATE
/// sets, and how many updates a second stop being HOT (review 4: an `INCLUDE` of the column
/// the stock allocation UPDATE writes turned 82% HOT updates into index writes, unsaid).
pub fn hot_line(p: &Proposed) -> Option<String> {
    p.costs_hot().then(|| {
        hot_sentence(
            &p.hot_columns.join(", "),
            p.hot_columns.len(),
            p.hot_columns.iter().any(|c| p.spec.include.contains(c)),
            p.lost_hot_updates_per_s,
            "the table",
        )
    })
}

/// The HOT sentence, for the migration header and `report.md`: `columns` already formatted
/// (`n` of them), whether one is an INCLUDE column, the updates per second, and the table as
/// the text names it.
pub fn hot_sentence(columns: &str, n: usize, include: bool, lost: f64, table: &str) -> String {
    format!(
        "HOT updates: an UPDATE sets {columns}, {} of this index{}: about {lost:.1} updates/s stop being HOT and write an entry into every index of {table} (counted in the write cost)",
        if n == 1 { "a column" } else { "columns" },
        if include {
            " (an INCLUDE column counts)"
        } else {
            ""
        },
    )
}

/// One evidence line for a drop.
pub fn drop_line(d: &DropProposal) -> String {
    let why = match d.reason {
        DropReason::Duplicate => "duplicate",
        DropReason::Redundant => "redundant",
        DropReason::Unused => "unused",
    };
    let by = d
        .covered_by
        .as_ref()
        .map(|c| {
            format!(
                " (covered by {}{})",
                if d.superseded_by.is_some() {
                    "the new index "
                } else {
                    ""
                },
                comment_safe(c)
            )
        })
        .unwrap_or_default();
    format!(
        "{why}{by}, {}{}{}",
        size(d.size_bytes),
        d.not_verified_why()
            .map(|why| format!("; read impact not verified ({})", comment_safe(&why)))
            .unwrap_or_default(),
        crate::select::cache::larger_survivor(d)
            .map(|w| format!("; {}", comment_safe(&w)))
            .unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(size(6_710_886), "6.4 MiB");
        assert_eq!(comment_safe("a\nb\"é"), "a\\x0ab\"\\u00e9");
        assert_eq!(
            comment_safe("2.8× the 19 MiB; 1.1 → 2.6, 3–7 …"),
            "2.8x the 19 MiB; 1.1 -> 2.6, 3-7 ..."
        );
    }

    #[test]
    fn r13_write_cost_says_unknown_or_its_source_never_a_bare_zero() {
        let p = Proposed::of(
            0,
            crate::model::IndexSpec::on("public", "t", vec![crate::model::IndexKey::col("c")]),
        );
        let unknown = WriteRates::Unknown {
            reason: "a replica without --primary-url".into(),
        };
        let l = lines(&p, Some(&unknown)).join("\n");
        assert!(
            l.contains("write cost unknown (a replica without --primary-url)"),
            "{l}"
        );
        assert!(!l.contains("write cost 0"), "{l}");
        let window = WriteRates::Window { seconds: 60.0 };
        let l = lines(&p, Some(&window)).join("\n");
        assert!(l.contains("write cost 0.000 ms per second"), "{l}");
        assert!(
            l.contains("write rates: measured on the primary over the 60 s observation window"),
            "{l}"
        );
    }
}
