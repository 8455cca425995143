//! What `analyze` and `explain` print on stdout once the files are written: the terminal
//! table and the list of files, `report.json` or `report.md` — or, for `explain`, the advice
//! and plan diff of its one statement.
//!
//! Stage `report`. Writes only to the writer it is given.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use super::Report;
use crate::config::OutputFormat;
use crate::emit::EmittedFile;
use crate::whatif::Evaluation;

/// What was written, for the text summary's last line.
#[derive(Debug, Clone, Copy)]
pub struct Written<'a> {
    /// The output folder.
    pub out_dir: &'a Path,
    /// Plan diffs written under `plans/`.
    pub plan_diffs: usize,
    /// Migrations planned by the project target.
    pub migrations: usize,
    /// What the project target calls them ("Django migrations").
    pub migrations_label: &'a str,
}

/// The result of `analyze` in `format`.
pub fn write_result(
    out: &mut dyn Write,
    format: OutputFormat,
    report: &Report,
    written: Written<'_>,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Text => {
            out.write_all(super::render::text_table(report).as_bytes())?;
            writeln!(
                out,
                "\nFiles in {}: indexes.sql, report.md, report.json, baseline.json{}{}",
                written.out_dir.display(),
                if written.plan_diffs == 0 {
                    String::new()
                } else {
                    format!(", plans/ ({} plan diffs)", written.plan_diffs)
                },
                if written.migrations == 0 {
                    String::new()
                } else {
                    format!(", {} {}", written.migrations, written.migrations_label)
                }
            )
        }
        OutputFormat::Json => out.write_all(super::render::to_json(report).as_bytes()),
        OutputFormat::Markdown => out.write_all(super::render::markdown(report).as_bytes()),
    }
}

/// `explain`'s text output: the indexes, then the plan diff (or the plan when nothing helps).
/// `simulated` is the number of candidate indexes simulated for the statement: with none, the
/// output says so rather than that none helped.
pub fn write_explain(
    out: &mut dyn Write,
    report: &Report,
    files: &[EmittedFile],
    baseline: &BTreeMap<i64, Evaluation>,
    simulated: usize,
) -> std::io::Result<()> {
    if !report.workload.skipped.is_empty() {
        for skip in &report.workload.skipped {
            writeln!(out, "Skipped ({}): {}", skip.reason.label(), skip.detail)?;
        }
        return Ok(());
    }
    for f in &report.findings.findings {
        writeln!(
            out,
            "Django: {}: {}\n  fix: {}\n  e.g. {}{}\n",
            f.pattern.label(),
            f.evidence,
            f.fix,
            f.example,
            if f.names == Some(crate::model::NameSource::ContentTypes) {
                "  (model names from django_content_type: check the class names' capitals)"
            } else {
                ""
            }
        )?;
    }
    if report.indexes.is_empty() {
        let date_lookup = report
            .findings
            .findings
            .iter()
            .any(|f| f.pattern == super::patterns::Pattern::DateLookup);
        if simulated == 0 && date_lookup {
            // The finding above offers an expression index; say that none was simulated,
            // rather than that no index could serve the statement.
            writeln!(
                out,
                "No index was simulated: idxadvise simulates no index on the date expression `(col AT TIME ZONE …)::date`; the range in the finding above is what an index on the column serves (measure an expression index yourself with EXPLAIN ANALYZE)."
            )?;
        } else if simulated == 0 {
            writeln!(
                out,
                "No index was simulated: no B-tree candidate serves this statement's filters, joins or order as written."
            )?;
        } else {
            writeln!(
                out,
                "No simulated index makes this statement cheaper ({simulated} simulated)."
            )?;
        }
        for e in &report.triage.entries {
            if matches!(
                e.verdict,
                super::Verdict::FilteredWalk | super::Verdict::RangeRewrite
            ) {
                writeln!(
                    out,
                    "Not well indexed: {}
  next: {}",
                    e.evidence,
                    e.action()
                )?;
            }
        }
        for a in &report.advice {
            writeln!(out, "Advice: {}.{}: {}", a.table, a.column, a.message)?;
        }
        if let Some(p) = baseline.values().next().and_then(|e| e.plan.as_ref()) {
            writeln!(out, "\nIts plan:\n{}", p.text)?;
        }
        return Ok(());
    }
    for ix in &report.indexes {
        writeln!(out, "{};", ix.sql)?;
    }
    for f in files.iter().filter(|f| f.path.starts_with("plans")) {
        writeln!(out, "\n{}", f.contents)?;
    }
    Ok(())
}
