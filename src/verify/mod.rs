//! `idxadvise verify`: measure the real effect of the applied indexes against the prediction.
//!
//! `analyze` saves what it predicted from in `baseline.json` ([`baseline`]). After the team
//! applied the migrations and traffic ran, `verify` takes a second snapshot ([`measure`]: the
//! server now, or a file from `collect`), compares ([`compare`]: per index existence, validity,
//! real size, scans; per statement mean time per call from counter deltas, next to the
//! prediction; write-side effects; a verdict and a suggestion), reads the real plans of the
//! statements after the change ([`replan`], [`real_plan`]: which recommended index each plan
//! uses, against the prediction), and renders ([`render`]) the terminal table, `verify.md` and
//! `verify.json`, written next to the baseline.
//!
//! Orchestration only. Must not change the database (the snapshot is read by `collect`'s
//! read-only sessions, the plans by EXPLAIN without ANALYZE in the what-if engine's). Invariant: never overwrites a file (`verify-2.md`, … on later runs).

pub mod baseline;
pub mod beside;
pub mod compare;
pub mod control;
#[cfg(test)]
mod fixtures;
pub mod measure;
pub mod noise;
pub mod real_plan;
pub mod render;
pub mod replan;

use std::io::Write;
use std::path::PathBuf;

pub use baseline::{Baseline, BASELINE_FILE, BASELINE_FORMAT_VERSION};
pub use compare::{compare, IndexVerdict, Suggestion, VerifyReport, VERIFY_FORMAT_VERSION};
pub use measure::Measurement;

use crate::config::OutputFormat;
use crate::emit::{EmittedFile, FileKind, ProjectConfig};
use crate::error::Result;

/// Validated configuration of one `verify` run.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    /// The analyze output folder holding `baseline.json` (or the file itself).
    pub baseline: PathBuf,
    /// Where the second snapshot comes from.
    pub measurement: Measurement,
    /// Where to write `verify.md`/`verify.json` (default: the baseline's folder).
    pub out: Option<PathBuf>,
    /// The project for drop migrations (Django: the project, its Python, settings, migrations
    /// app).
    pub project: Option<ProjectConfig>,
    /// stdout format.
    pub format: OutputFormat,
    /// No progress on stderr.
    pub quiet: bool,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The report.
    pub report: VerifyReport,
    /// Files written (full paths).
    pub files: Vec<PathBuf>,
    /// [`crate::error::EXIT_RECOMMENDATIONS`] when an index needs something other than "keep".
    pub exit_code: i32,
}

/// Run `verify`: load the baseline, measure, compare, write the files, print the result.
pub async fn run(config: &VerifyConfig, out: &mut dyn Write) -> Result<Outcome> {
    let say = |m: &str| {
        if !config.quiet {
            eprintln!("verify: {m}");
        }
    };
    let base = measure::load_baseline(&config.baseline)?;
    let out_dir = match &config.out {
        Some(d) => d.clone(),
        None if config.baseline.is_dir() => config.baseline.clone(),
        None => config
            .baseline
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default(),
    };
    // Everything knowable now is checked before the measurement (which may watch the server
    // for minutes): the output folder, the project and its Python.
    if let Some(d) = &config.out {
        crate::preflight::writable_folder(d)?;
    }
    let target = match &config.project {
        Some(p) => {
            say("reading the Django project");
            Some(measure::open_project(p)?)
        }
        None => None,
    };
    say(match &config.measurement {
        Measurement::Live(_) => "reading pg_stat_statements, the indexes and write statistics now",
        Measurement::Snapshot(_) => "reading the second snapshot",
    });
    let now = measure::measure(&config.measurement, &mut |w| say(&format!("warning: {w}"))).await?;
    let mut report = compare(&base, &now);
    match &config.measurement {
        Measurement::Live(c) => {
            say("reading the statements' real plans now (EXPLAIN, no ANALYZE)");
            let targets = compare::plan_targets(&base, &now);
            match replan::read(&c.connection.target, &base, &now, &targets).await {
                Ok(plans) => report = compare::compare_with(&base, &now, Some(&plans)),
                Err(e) => report.notes.push(format!(
                    "the statements' real plans were not read ({}): which index each one uses is not known",
                    e.to_string().lines().next().unwrap_or_default()
                )),
            }
        }
        Measurement::Snapshot(_) => report.notes.push(
            "the statements' real plans were not read (a snapshot file, no server to EXPLAIN on): run verify with --database-url to see which index each one uses".into(),
        ),
    }
    let stem = measure::free_stem(&out_dir);
    let mut files: Vec<EmittedFile> = vec![];
    let drops: Vec<&str> = report
        .indexes
        .iter()
        .filter_map(|i| i.drop_sql.as_deref())
        .collect();
    if !drops.is_empty() {
        let mut sql = String::from(
            "-- idxadvise verify: indexes without a scan since they were created.\n-- Run outside a transaction block, one statement at a time.\n",
        );
        for d in drops {
            sql.push_str(d);
            sql.push('\n');
        }
        files.push(EmittedFile {
            path: PathBuf::from(format!("{stem}-drops.sql")),
            contents: sql,
            kind: FileKind::SqlScript,
        });
    }
    if let Some(target) = &target {
        say("planning drop migrations with the Django project");
        let (migrations, notes) =
            measure::drop_migrations(&report, &now.catalog, target.as_ref(), &stem)?;
        report.notes.extend(notes);
        for m in &migrations {
            report
                .notes
                .push(format!("drop migration: {}", m.path.display()));
        }
        files.extend(migrations);
    }
    files.push(EmittedFile {
        path: PathBuf::from(format!("{stem}.md")),
        contents: render::markdown(&report),
        kind: FileKind::Report,
    });
    files.push(EmittedFile {
        path: PathBuf::from(format!("{stem}.json")),
        contents: render::to_json(&report),
        kind: FileKind::Report,
    });
    let written = measure::write(&out_dir, &files)?;
    say(&format!(
        "wrote {} files to {}",
        written.len(),
        out_dir.display()
    ));
    match config.format {
        OutputFormat::Text => {
            out.write_all(render::text(&report).as_bytes())?;
            writeln!(
                out,
                "\nFiles in {}: {}",
                out_dir.display(),
                files
                    .iter()
                    .filter(|f| !matches!(f.kind, FileKind::Migration { .. }))
                    .map(|f| f.path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        OutputFormat::Json => out.write_all(render::to_json(&report).as_bytes())?,
        OutputFormat::Markdown => out.write_all(render::markdown(&report).as_bytes())?,
    }
    let exit_code = compare::exit_code(&report);
    Ok(Outcome {
        report,
        files: written,
        exit_code,
    })
}
