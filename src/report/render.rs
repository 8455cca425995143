//! Rendering the report: the terminal table, `report.md` and `report.json`.

use std::fmt::Write as _;

use unicode_width::UnicodeWidthStr;

use super::document::{human_bytes, Report};
use super::label::statement_label;

/// `report.json`: pretty JSON with a trailing newline.
pub fn to_json(report: &Report) -> String {
    pretty_json(report)
}

/// Rows as a terminal table: columns padded to their widest cell, two spaces apart, a dashed
/// line under the first row (the header). Widths are display columns (a CJK character takes
/// two, a combining accent none), not characters, so names in any script line up.
pub(crate) fn aligned(rows: &[Vec<String>]) -> String {
    let n = rows.first().map(Vec::len).unwrap_or(0);
    let mut widths = vec![0usize; n];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.width());
        }
    }
    let mut s = String::new();
    for (k, r) in rows.iter().enumerate() {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c}{}", " ".repeat(widths[i].saturating_sub(c.width()))))
            .collect();
        let _ = writeln!(s, "{}", line.join("  ").trim_end());
        if k == 0 {
            let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            let _ = writeln!(s, "{}", dashes.join("  "));
        }
    }
    s
}

/// Pretty JSON with a trailing newline (`report.json`, `verify.json`).
pub(crate) fn pretty_json<T: serde::Serialize>(value: &T) -> String {
    let mut s =
        serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// A statement on one line, whitespace collapsed, cut to `n` characters with `…`.
pub(crate) fn short(q: &str, n: usize) -> String {
    let one: String = q.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= n {
        one
    } else {
        let mut s: String = one.chars().take(n.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// The terminal table: index, table, statements helped, predicted saving, size, write cost,
/// verdict.
pub fn text_table(report: &Report) -> String {
    let mut rows: Vec<[String; 7]> = vec![[
        "index".into(),
        "table".into(),
        "helps".into(),
        "saving/call".into(),
        "share of DB time".into(),
        "size".into(),
        "write cost".into(),
    ]];
    for ix in &report.indexes {
        let calls: i64 = ix.helps.iter().map(|h| h.calls).sum();
        let per_call = if calls > 0 {
            ix.saving_ms / calls as f64
        } else {
            0.0
        };
        rows.push([
            ix.name.clone(),
            ix.table.clone(),
            format!("{} stmt", ix.helps.len()),
            format!("{per_call:.2} ms"),
            format!("{:.1}%", 100.0 * ix.saving_share),
            human_bytes(ix.size_bytes),
            match ix.write_cost_ms_per_s {
                Some(w) => format!("{w:.3} ms/s"),
                None => "unknown".into(),
            },
        ]);
    }
    let mut s = String::new();
    if report.indexes.is_empty() {
        s.push_str("No index to recommend.\n");
    } else {
        let rows: Vec<Vec<String>> = rows.into_iter().map(Vec::from).collect();
        s.push_str(&aligned(&rows));
    }
    if !report.drops.is_empty() {
        let _ = writeln!(s, "\nIndexes to drop:");
        for d in &report.drops {
            let _ = writeln!(
                s,
                "  {} on {}.{} ({:?}{}, {}){}",
                d.index,
                d.schema,
                d.table,
                d.reason,
                d.covered_by
                    .as_ref()
                    .map(|c| format!(
                        " by {}{c}",
                        if d.superseded_by.is_some() {
                            "new index "
                        } else {
                            ""
                        }
                    ))
                    .unwrap_or_default(),
                human_bytes(d.size_bytes),
                if d.verified {
                    ""
                } else {
                    " [read impact not verified]"
                }
            );
        }
    }
    if let Some(o) = &report.observation {
        let _ = writeln!(s, "\nObserved: {}", o.summary());
        if !o.split.is_empty() {
            let parts: Vec<String> = o
                .split
                .iter()
                .map(|x| {
                    format!(
                        "{} {} statements, {} calls, {:.1} s",
                        x.runs_on.label(),
                        x.statements,
                        x.calls,
                        x.total_time_ms / 1000.0
                    )
                })
                .collect();
            let _ = writeln!(s, "Where statements run: {}", parts.join("; "));
        }
    }
    if let Some(r) = &report.write_rates {
        let _ = writeln!(s, "Write rates: {}", r.describe());
    }
    s.push_str(&crate::report::patterns::render::text(&report.findings));
    let _ = writeln!(s, "\nWhere the database time goes:");
    for (v, share) in &report.triage.shares {
        let _ = writeln!(
            s,
            "  {:>5.1}%  {:<22} {}",
            100.0 * share,
            v.label(),
            report.triage.action(*v)
        );
    }
    if !report.left_out.is_empty() {
        let _ = writeln!(
            s,
            "\nLeft out by a limit (would help, raise the limit to get it):"
        );
        for l in &report.left_out {
            let _ = writeln!(s, "  {}", left_out_line(l));
        }
    }
    s.push_str(&super::slower::text(&report.made_slower));
    let chart = super::frontier::chart(&report.frontier);
    if !chart.is_empty() {
        let _ = write!(s, "\n{chart}");
    }
    let _ = writeln!(s, "\n{}", limits_line(report));
    s
}

/// One index a limit kept out, as a sentence.
fn left_out_line(l: &crate::select::LeftOut) -> String {
    format!(
        "{} ({}) would help {} statement(s); left out by {}: let it in with {}",
        l.spec.label(),
        human_bytes(l.size_bytes),
        l.statements.len(),
        l.limit.label(),
        l.raise
    )
}

/// The limits the recommendation was chosen under, one line.
fn limits_line(report: &Report) -> String {
    let l = &report.limits;
    format!(
        "Limits: budget {} = {}; at most {} new indexes, {} per table; a statement counts as helped from {:.0}% cheaper; an index must save {min:.1}% of the workload's time net of writes on its own, or at least {floor:.2}% while the indexes under {min:.1}% together save more than {min:.1}% (each on its own while the new indexes crowd the buffer cache). Sizes in binary units (1 MiB = 1,048,576 bytes).",
        l.budget_rule,
        human_bytes(l.budget_bytes),
        l.max_indexes,
        l.max_per_table,
        100.0 * l.min_improvement,
        min = 100.0 * l.min_benefit,
        floor = 100.0 * crate::select::threshold::floor(l.min_benefit),
    )
}

/// A statement's queryid cell and plan-diff link cell for report.md.
fn id_cells(report: &Report, queryid: i64) -> (String, String) {
    let diff = report
        .statements
        .iter()
        .find(|st| st.queryid == queryid)
        .and_then(|st| st.plan_diff.as_ref())
        .map(|d| format!("[diff]({d})"))
        .unwrap_or_else(|| "–".into());
    (format!("`{queryid}`"), diff)
}

/// A statement's label for report.md, escaped for a table cell.
fn label_cell(report: &Report, queryid: i64, n: usize) -> String {
    let q = report
        .statements
        .iter()
        .find(|st| st.queryid == queryid)
        .map(|st| statement_label(&st.query, n))
        .unwrap_or_default();
    format!("`{}`", q.replace('`', "'").replace('|', "\\|"))
}

/// The observation section of `report.md`: the window and its traffic, the basis and why,
/// where statements run, where write rates came from.
fn observation_markdown(s: &mut String, report: &Report) {
    if report.observation.is_none() && report.write_rates.is_none() {
        return;
    }
    let _ = writeln!(s, "## Observation\n");
    if let Some(o) = &report.observation {
        let _ = writeln!(s, "- Window: {}", o.summary());
        if !o.split.is_empty() {
            let _ = writeln!(
                s,
                "- Where statements run (indexes are built on the primary and serve both):\n\n| runs on | statements | calls | time s |\n|---|---:|---:|---:|"
            );
            for x in &o.split {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {:.1} |",
                    x.runs_on.label(),
                    x.statements,
                    x.calls,
                    x.total_time_ms / 1000.0
                );
            }
            let _ = writeln!(s);
        }
    }
    if let Some(r) = &report.write_rates {
        let _ = writeln!(s, "- Write rates: {}", r.describe());
    }
    let _ = writeln!(s);
}

/// "41 analysed, 2 skipped, 3 INSERTs not planned": every statement of the header's count is
/// accounted for (an INSERT is neither planned nor skipped: its cost is writing, which no index
/// lowers; the triage lists it as a write).
fn workload_counts(w: &super::document::WorkloadSummary) -> String {
    let mut out = format!("{} analysed", w.analysed);
    if !w.skipped.is_empty() {
        out.push_str(&format!(", {} skipped", w.skipped.len()));
    }
    let writes = w.statements.saturating_sub(w.analysed + w.skipped.len());
    if writes > 0 {
        out.push_str(&format!(
            ", {writes} INSERT{} not planned ({} cost is writing; see the triage's \"write\" rows)",
            if writes == 1 { "" } else { "s" },
            if writes == 1 { "its" } else { "their" }
        ));
    }
    out
}

/// `report.md`, for a pull request.
pub fn markdown(report: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# idxadvise report\n");
    let _ = writeln!(
        s,
        "Database `{}` on PostgreSQL {}{}; {} statements ({}), {:.1} s of execution time. Generated by {}.\n",
        report.database,
        report.server_version,
        if report.replica { " (replica)" } else { "" },
        report.workload.statements,
        workload_counts(&report.workload),
        report.workload.total_time_ms / 1000.0,
        report.created_by
    );
    let _ = writeln!(s, "{}\n", limits_line(report));
    for n in &report.notes {
        let _ = writeln!(s, "> **Note:** {n}\n");
    }
    observation_markdown(&mut s, report);
    s.push_str(&crate::report::patterns::render::markdown_after(
        &report.findings,
    ));
    let _ = writeln!(s, "## Triage: where the time goes\n");
    let _ = writeln!(s, "| share | verdict | what to do |\n|---:|---|---|");
    for (v, share) in &report.triage.shares {
        let _ = writeln!(
            s,
            "| {:.1}% | {} | {} |",
            100.0 * share,
            v.label(),
            report.triage.action(*v)
        );
    }
    let _ = writeln!(s, "\n| share | calls | mean ms | verdict | evidence | queryid | plan | statement |\n|---:|---:|---:|---|---|---|---|---|");
    for e in report.triage.entries.iter().take(20) {
        let (id, diff) = id_cells(report, e.queryid);
        let _ = writeln!(
            s,
            "| {:.1}% | {} | {:.3} | {} | {} | {id} | {diff} | {} |",
            100.0 * e.share,
            e.calls,
            e.mean_ms,
            e.verdict.label(),
            e.evidence.replace('|', "\\|"),
            label_cell(report, e.queryid, 140)
        );
    }
    s.push('\n');
    s.push_str(&crate::report::patterns::render::markdown_findings(
        &report.findings,
    ));
    let _ = writeln!(s, "## Recommended indexes\n");
    if report.indexes.is_empty() {
        let _ = writeln!(
            s,
            "None: no simulated index improves the workload enough.\n"
        );
    }
    for ix in &report.indexes {
        let _ = writeln!(s, "### `{}` on `{}`\n", ix.name, ix.table);
        let _ = writeln!(s, "```sql\n{};\n```\n", ix.sql);
        let write_cost = match (ix.write_cost_ms_per_s, &report.write_rates) {
            (Some(w), _) => format!("{w:.3} ms/s"),
            (None, Some(crate::model::WriteRates::Unknown { reason })) => {
                format!("unknown ({reason})")
            }
            (None, _) => "unknown (no write statistics)".to_string(),
        };
        let _ = writeln!(
            s,
            "Predicted saving {:.1} ms over the workload window ({:.1}% of database time); size {}; write cost {write_cost}.\n",
            ix.saving_ms,
            100.0 * ix.saving_share,
            human_bytes(ix.size_bytes),
        );
        if let (Some(lost), false) = (ix.lost_hot_updates_per_s, ix.hot_columns.is_empty()) {
            let columns: Vec<String> = ix.hot_columns.iter().map(|c| format!("`{c}`")).collect();
            let _ = writeln!(
                s,
                "{}.\n",
                crate::emit::evidence::hot_sentence(
                    &columns.join(", "),
                    columns.len(),
                    false,
                    lost,
                    &format!("`{}`", ix.table)
                )
            );
        }
        if let Some(m) = &ix.migration {
            let _ = writeln!(s, "Migration: `{m}`\n");
        }
        if let Some(meta) = &ix.meta_index {
            let _ = writeln!(
                s,
                "Add to the model's `Meta.indexes`:\n\n```python\n{meta}\n```\n"
            );
        }
        let _ = writeln!(s, "| queryid | plan | statement | calls | cost before → after | mean ms before → after |\n|---|---|---|---:|---|---|");
        for h in &ix.helps {
            let (id, diff) = id_cells(report, h.queryid);
            let _ = writeln!(
                s,
                "| {id} | {diff} | {} | {} | {:.1} → {:.1} | {:.3} → {:.3} |",
                label_cell(report, h.queryid, 120),
                h.calls,
                h.before_cost,
                h.after_cost,
                h.before_ms,
                h.after_ms
            );
        }
        let _ = writeln!(s);
    }
    s.push_str(&super::slower::markdown(&report.made_slower));
    s.push_str(&super::frontier::markdown(&report.frontier));
    if !report.left_out.is_empty() {
        let _ = writeln!(s, "## Left out by a limit\n\nThese indexes would help, but a limit kept them out; the option beside each lets it in.\n\n| index | size | limit | let it in with | statements (queryid: cost before → with it) |\n|---|---:|---|---|---|");
        for l in &report.left_out {
            let st: Vec<String> = l
                .statements
                .iter()
                .map(|(q, b, a)| format!("`{q}`: {b:.1} → {a:.1}"))
                .collect();
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | `{}` | {} |",
                l.spec.label().replace('|', "\\|"),
                human_bytes(l.size_bytes),
                l.limit.label(),
                l.raise,
                st.join("; ")
            );
        }
        let _ = writeln!(s);
    }
    let at_risk: Vec<&super::ReportStatement> = report
        .statements
        .iter()
        .filter(|st| st.risk.is_some())
        .collect();
    if !at_risk.is_empty() {
        let _ = writeln!(
            s,
            "## Where values decide\n\n| queryid | statement | risk |\n|---|---|---|"
        );
        for st in at_risk {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} |",
                st.queryid,
                label_cell(report, st.queryid, 140),
                st.risk.as_deref().unwrap_or("").replace('|', "\\|")
            );
        }
        let _ = writeln!(s);
    }
    let observed: Vec<&super::ReportStatement> = report
        .statements
        .iter()
        .filter(|st| st.values.is_some())
        .collect();
    if !observed.is_empty() {
        let _ = writeln!(
            s,
            "## Observed parameter values and derived limits\n\n| queryid | statement | values |\n|---|---|---|"
        );
        for st in observed {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} |",
                st.queryid,
                label_cell(report, st.queryid, 140),
                st.values.as_deref().unwrap_or("").replace('|', "\\|")
            );
        }
        let _ = writeln!(s);
    }
    if !report.drops.is_empty() {
        let _ = writeln!(s, "## Indexes to drop\n\n| index | table | reason | size | read impact |\n|---|---|---|---:|---|");
        for d in &report.drops {
            let _ = writeln!(
                s,
                "| `{}` | `{}.{}` | {:?}{} | {} | {} |",
                d.index,
                d.schema,
                d.table,
                d.reason,
                d.covered_by
                    .as_ref()
                    .map(|c| format!(
                        " by {}`{c}`",
                        if d.superseded_by.is_some() {
                            "new index "
                        } else {
                            ""
                        }
                    ))
                    .unwrap_or_default(),
                human_bytes(d.size_bytes),
                d.not_verified_why()
                    .map(|why| format!("not verified ({})", why.replace('|', "\\|")))
                    .unwrap_or_else(|| "verified (hidden)".to_string())
            );
        }
        let _ = writeln!(s);
    }
    if !report.advice.is_empty() {
        let _ = writeln!(s, "## Not simulated (no B-tree serves these)\n");
        for a in &report.advice {
            let _ = writeln!(
                s,
                "- `{}.{}`.`{}`: {}",
                a.schema, a.table, a.column, a.message
            );
        }
        let _ = writeln!(s);
    }
    if !report.workload.skipped.is_empty() {
        let _ = writeln!(s, "## Skipped statements\n");
        for (r, n) in &report.workload.skipped_by_reason {
            let _ = writeln!(s, "- {}: {n}", r.label());
        }
        let _ = writeln!(
            s,
            "\n| queryid | reason | why | statement |\n|---:|---|---|---|"
        );
        for sk in &report.workload.skipped {
            let q = report
                .statements
                .iter()
                .find(|st| st.queryid == sk.queryid)
                .map(|st| format!("`{}`", short(&st.query, 80).replace('`', "'")))
                .unwrap_or_default();
            let cell = |t: &str| t.replace('`', "'").replace('|', "\\|");
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                sk.queryid,
                sk.reason.label(),
                cell(&short(&sk.detail, 160)),
                q.replace('|', "\\|")
            );
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(
        s,
        "---\nWhat-if: {} cost lookups, {} EXPLAINs, {} from cache.",
        report.whatif.lookups, report.whatif.explains, report.whatif.cache_hits
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SkipReason, Skipped, WriteSource};
    use crate::report::document::{ReportIndex, ReportStatement, WorkloadSummary};
    use crate::report::{triage, TriageInput, REPORT_FORMAT_VERSION};
    use crate::select::{DropProposal, DropReason, Helped};

    /// A small, fixed report: one index, one drop, one skip, a triage of three statements.
    fn fixture() -> Report {
        let triage = triage(&[
            TriageInput {
                queryid: 1,
                calls: 300,
                total_time_ms: 1500.0,
                rows: 6000,
                shape: None,
                baseline: None,
                before_after: None,
                key_lookup: false,
                table_rows: 300_000.0,
                left_out: None,
                skip: None,
                date_range: None,
                per_row: None,
            },
            TriageInput {
                queryid: 2,
                calls: 10,
                total_time_ms: 500.0,
                rows: 10,
                shape: None,
                baseline: None,
                before_after: None,
                key_lookup: false,
                table_rows: 0.0,
                left_out: None,
                skip: None,
                date_range: None,
                per_row: None,
            },
        ]);
        Report {
            format_version: REPORT_FORMAT_VERSION,
            created_by: "idxadvise 0.0.0-test".into(),
            server_version: "15.18".into(),
            replica: true,
            database: "shop".into(),
            workload: WorkloadSummary {
                statements: 3,
                analysed: 2,
                total_time_ms: 2000.0,
                skipped: vec![Skipped {
                    queryid: 3,
                    reason: SkipReason::Utility,
                    detail: "SAVEPOINT".into(),
                }],
                skipped_by_reason: vec![(SkipReason::Utility, 1)],
            },
            write_stats: WriteSource::Unavailable,
            triage,
            findings: Default::default(),
            indexes: vec![ReportIndex {
                name: "shop_order_custome_da1929_idx".into(),
                table: "public.shop_order".into(),
                sql: "CREATE INDEX CONCURRENTLY \"shop_order_custome_da1929_idx\" ON \"public\".\"shop_order\" USING btree (\"customer_id\", \"created_at\" DESC)".into(),
                helps: vec![Helped {
                    queryid: 1,
                    calls: 300,
                    before_cost: 6000.0,
                    after_cost: 40.0,
                    before_ms: 5.0,
                    after_ms: 0.033,
                }],
                saving_ms: 1490.0,
                saving_share: 0.745,
                size_bytes: 9_300_000,
                write_cost_ms_per_s: None,
                migration: Some("shop/migrations/0002_order_shop_order_custome_da1929_idx.py".into()),
                meta_index: Some("models.Index(fields=[\"customer\", \"-created_at\"], name=\"shop_order_custome_da1929_idx\"),".into()),
                rules: vec!["equality_then_sort".into()],
                lost_hot_updates_per_s: None,
                hot_columns: vec![],
            }],
            drops: vec![DropProposal {
                schema: "public".into(),
                table: "shop_order".into(),
                index: "shop_order_customer_id_f638df20".into(),
                reason: DropReason::Redundant,
                covered_by: Some("shop_order_custome_da1929_idx".into()),
                size_bytes: 6_600_000,
                verified: false,
                write_saving_ms_per_s: 0.0,
                superseded_by: None,
                covered_by_size_bytes: None,
                note: None,
            }],
            kept: vec![],
            advice: vec![],
            statements: vec![ReportStatement {
                queryid: 1,
                query: "SELECT \"shop_order\".\"id\" FROM \"shop_order\" WHERE \"shop_order\".\"customer_id\" = $1 ORDER BY \"shop_order\".\"created_at\" DESC LIMIT $2".into(),
                calls: 300,
                mean_ms: 5.0,
                total_time_ms: 1500.0,
                plan_diff: Some("plans/q1.diff".into()),
                values: None,
                risk: None,
                runs_on: None,
            }],
            notes: vec!["write statistics are unavailable".into()],
            whatif: crate::whatif::WhatIfCounters {
                lookups: 10,
                cache_hits: 4,
                explains: 24,
            },
            limits: crate::select::LimitsUsed {
                budget_bytes: 16 << 20,
                budget_rule: "25% of the database (pg_database_size 11.0 MiB), at least 16.0 MiB"
                    .into(),
                database_bytes: 11 << 20,
                max_indexes: 10,
                max_per_table: 3,
                min_improvement: 0.1,
                min_benefit: 0.005,
            },
            left_out: vec![],
            made_slower: vec![],
            observation: None,
            write_rates: None,
            frontier: vec![],
        }
    }

    #[test]
    fn observation_and_write_rates_are_shown_everywhere() {
        use crate::model::{
            Basis, Observation, PrimaryStatements, RunsOn, ServerShare, WriteRates,
        };
        let mut r = fixture();
        r.observation = Some(Observation {
            window_s: 60.0,
            basis: Basis::Window,
            why: "4200 calls in the window".into(),
            window_calls: 4200,
            window_statements: 3,
            primary_statements: PrimaryStatements::Merged,
            runs_on: vec![],
            split: vec![
                ServerShare {
                    runs_on: RunsOn::Replica,
                    statements: 2,
                    calls: 4000,
                    total_time_ms: 1500.0,
                },
                ServerShare {
                    runs_on: RunsOn::Primary,
                    statements: 1,
                    calls: 200,
                    total_time_ms: 500.0,
                },
            ],
            cumulative: vec![],
        });
        r.write_rates = Some(WriteRates::Unknown {
            reason: "a replica without --primary-url".into(),
        });
        let text = text_table(&r);
        assert!(
            text.contains("watched 60 s: 4200 calls of 3 statements"),
            "{text}"
        );
        assert!(text.contains("primary 1 statements, 200 calls"), "{text}");
        assert!(text.contains("Write rates: unknown: a replica"), "{text}");
        assert!(text.contains("unknown"), "{text}");
        let md = markdown(&r);
        assert!(md.contains("## Observation"), "{md}");
        assert!(md.contains("| primary | 1 | 200 | 0.5 |"), "{md}");
        assert!(
            md.contains("write cost unknown (a replica without --primary-url)"),
            "{md}"
        );
        let json = to_json(&r);
        assert!(json.contains("\"write_cost_ms_per_s\": null"), "{json}");
        assert!(json.contains("\"basis\": \"window\""), "{json}");
        r.indexes[0].write_cost_ms_per_s = Some(0.25);
        r.write_rates = Some(WriteRates::Window { seconds: 60.0 });
        assert!(text_table(&r).contains("0.250 ms/s"));
        assert!(markdown(&r).contains("measured on the primary over the 60 s observation window"));
    }

    #[test]
    fn terminal_table() {
        insta::assert_snapshot!(text_table(&fixture()));
    }

    #[test]
    fn markdown_report() {
        insta::assert_snapshot!(markdown(&fixture()));
    }

    /// Review 4, G3: the Limits line states the set rule `select` applies (an index at the
    /// `--min-benefit` amount on its own, or over a tenth of it while the thin ones together
    /// clear the amount), not a per-index bar that the table above it contradicts.
    #[test]
    fn r_g3_the_limits_line_states_the_set_rule_applied() {
        let mut r = fixture();
        r.limits.min_benefit = 0.01;
        let line = limits_line(&r);
        assert!(
            line.contains("an index must save 1.0% of the workload's time net of writes on its own, or at least 0.10% while the indexes under 1.0% together save more than 1.0% (each on its own while the new indexes crowd the buffer cache)."),
            "{line}"
        );
        assert!(markdown(&r).contains(&line) && text_table(&r).contains(&line));
    }

    #[test]
    fn json_report_round_trips() {
        let r = fixture();
        let text = to_json(&r);
        let back: Report = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, r);
        insta::assert_snapshot!(text);
    }

    #[test]
    fn aligned_pads_by_display_width_for_wide_and_combining_characters() {
        // "商品" is two characters but four columns; "cafe\u{301}" is five characters but four
        // columns (the accent combines); the column after each must start at the same place.
        let rows = vec![
            vec!["name".to_string(), "x".to_string()],
            vec!["商品".to_string(), "1".to_string()],
            vec!["cafe\u{301}".to_string(), "2".to_string()],
            vec!["ab".to_string(), "3".to_string()],
        ];
        let out = aligned(&rows);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], "----  -");
        for line in &lines[2..] {
            let before_last = &line[..line.len() - 1];
            assert_eq!(before_last.width(), 6, "{line:?}");
        }
        assert_eq!(lines[2], "商品  1");
        assert_eq!(lines[3], "cafe\u{301}  2");
        assert_eq!(lines[4], "ab    3");
    }

    #[test]
    fn the_header_accounts_for_every_statement() {
        let w = |statements, analysed, skipped: usize| super::super::document::WorkloadSummary {
            statements,
            analysed,
            total_time_ms: 0.0,
            skipped: (0..skipped)
                .map(|i| crate::model::Skipped {
                    queryid: i as i64,
                    reason: crate::model::SkipReason::Unparseable,
                    detail: "x".into(),
                })
                .collect(),
            skipped_by_reason: vec![],
        };
        assert_eq!(workload_counts(&w(41, 41, 0)), "41 analysed");
        assert_eq!(
            workload_counts(&w(44, 41, 0)),
            "41 analysed, 3 INSERTs not planned (their cost is writing; see the triage's \"write\" rows)"
        );
        assert_eq!(
            workload_counts(&w(44, 40, 3)),
            "40 analysed, 3 skipped, 1 INSERT not planned (its cost is writing; see the triage's \"write\" rows)"
        );
    }
}
