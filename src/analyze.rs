//! `idxadvise analyze`: the whole pipeline, from pg_stat_statements (or a snapshot file) to the
//! review files: migrations and `Meta.indexes` lines, `indexes.sql`, plan diffs, `report.md`,
//! `report.json`, and the terminal table.
//!
//! A sequencer only: [`run`] calls each stage in turn and hands one stage's typed output to the
//! next; every decision lives in its stage (preflight, collect, parse, candidates, whatif,
//! select, naming, emit, report). Invariants: nothing is written unless the whole run succeeded
//! (files are planned in memory, then written all at once, atomically); the same snapshot and
//! database give byte-identical files.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use crate::emit::{EmitConfig, EmittedFile, FileKind};
use crate::error::{Error, Result, EXIT_OK, EXIT_RECOMMENDATIONS};
use crate::parse::QueryShape;
use crate::report::evidence::Costed;
use crate::report::Report;
use crate::select::{SelectInput, SelectOptions};
use crate::whatif::{Engine, EngineOptions};

/// Where the workload comes from, and the work run during a live observation window (both
/// belong to `collect`).
pub use crate::collect::source::{DuringWindow, Source};
/// What to print on stdout (one enum for every command, in `config`).
pub use crate::config::OutputFormat;

/// Validated configuration of one `analyze` run.
#[derive(Debug, Clone)]
pub struct AnalyzeConfig {
    /// Where the workload comes from.
    pub source: Source,
    /// The what-if engine (connection to the analysed server, sessions).
    pub engine: EngineOptions,
    /// Selection limits.
    pub select: SelectOptions,
    /// Where and what to write: `--out` (must not exist or be empty), the project whose
    /// migrations to write (Django: `--django-project`, `--migrations-app`),
    /// `--write-into-project`.
    pub emit: EmitConfig,
    /// Tables (`table` or `schema.table`) to leave out of the analysis.
    pub exclude_tables: Vec<String>,
    /// Parameter values the application is known to use (`--hot-values`).
    pub hot_values: Vec<crate::config::HotValues>,
    /// Any skipped statement is an error.
    pub strict: bool,
    /// stdout format.
    pub format: OutputFormat,
    /// No progress on stderr.
    pub quiet: bool,
    /// `explain`: print the advice and plan diff of the one statement instead of the table.
    pub explain: bool,
    /// Per-call round-trip overhead added to each statement's weight in the findings, ms
    /// (`--per-call-overhead`).
    pub per_call_overhead_ms: f64,
    /// Blocking work to run while the observation window is open (the demo replays its
    /// workload); the second reading waits for it to finish.
    pub during_window: Option<DuringWindow>,
    /// Server log files to read (`--log`); they replace the snapshot's when given.
    pub logs: crate::collect::log::LogOptions,
}

/// What a run produced, for callers (the demo, tests).
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The report.
    pub report: Report,
    /// Files written, relative to the output folder.
    pub files: Vec<PathBuf>,
    /// The exit code: [`EXIT_RECOMMENDATIONS`] when there is something to apply.
    pub exit_code: i32,
}

/// Progress lines on stderr: one per stage, only when not quiet.
struct Stages {
    quiet: bool,
    start: Instant,
}

impl Stages {
    fn say(&self, msg: &str) {
        if !self.quiet {
            eprintln!("[{:>5.1}s] {msg}", self.start.elapsed().as_secs_f64());
        }
    }
}

fn excluded(shape: &QueryShape, exclude: &[String]) -> bool {
    shape.tables.iter().any(|t| {
        exclude
            .iter()
            .any(|e| *e == t.table || *e == format!("{}.{}", t.schema, t.table))
    })
}

/// Run the pipeline and write the output folder. `out` receives the stdout result.
pub async fn run(config: &AnalyzeConfig, out: &mut dyn Write) -> Result<Outcome> {
    let stages = Stages {
        quiet: config.quiet,
        start: Instant::now(),
    };
    let writes = config.emit.writes();
    let out_dir = config.emit.out_dir.clone().unwrap_or_default();
    // Fail early: everything knowable before collection (crate::preflight).
    if writes {
        config.emit.validate()?;
    }
    if config.emit.out_dir.is_some() {
        crate::preflight::empty_out_dir(&out_dir)?;
        crate::preflight::writable_folder(&out_dir)?;
    }
    if let Some(p) = &config.emit.project {
        p.preflight()?;
    }
    // The project is read before any work: a refusal known now never waits for the analysis
    // (crate::emit::read_project_early).
    let target = crate::emit::read_project_early(&config.emit)?;
    for w in crate::preflight::analysed_database(
        &config.engine.connect,
        &config.hot_values,
        &config.exclude_tables,
    )
    .await?
    {
        if !config.quiet {
            eprintln!("warning: {w}");
        }
    }

    // collect
    let mut snapshot = crate::collect::source::gather(
        &config.source,
        config.during_window.clone(),
        &config.logs,
        &|m| stages.say(m),
    )
    .await?;
    for h in &config.hot_values {
        h.apply(&mut snapshot.catalog)?;
    }
    if snapshot.workload.statements.is_empty() {
        return Err(Error::Workload(
            "the workload is empty: pg_stat_statements holds no statement of this database\n(let the application run, or lower --min-calls)".into(),
        ));
    }

    // parse
    let (shapes, mut skipped) = crate::parse::parse_workload(&snapshot.workload, &snapshot.catalog);
    let shapes: Vec<QueryShape> = shapes
        .into_iter()
        .filter(|s| !excluded(s, &config.exclude_tables))
        .collect();
    crate::whatif::rows_per_call::add_inferred(
        &mut snapshot.observed,
        &shapes,
        &snapshot.workload,
        &snapshot.catalog,
    );
    stages.say(&format!(
        "parse: {} statements understood, {} skipped",
        shapes.len(),
        skipped.len()
    ));

    // candidates
    let candidates = crate::candidates::generate(&shapes, &snapshot.catalog);
    stages.say(&format!(
        "candidates: {} indexes to simulate",
        candidates.candidates.len()
    ));
    let sizes: Vec<i64> = candidates
        .candidates
        .iter()
        .map(|c| crate::whatif::size::estimate_index_size(&c.spec, &snapshot.catalog))
        .collect::<Result<_, _>>()
        .map_err(|e| Error::caused(crate::error::Kind::Internal, e.to_string(), e))?;

    // what-if + select
    let mut engine = Engine::new(
        config.engine.clone(),
        &snapshot.server,
        &snapshot.catalog,
        &shapes,
        &candidates,
    )
    .await?;
    engine.set_observed(std::sync::Arc::new(snapshot.observed.clone()));
    engine.set_workload(&snapshot.workload);
    stages.say("what-if: costing statements with hypothetical indexes (HypoPG)");
    let mut select_opts = config.select.clone();
    select_opts.can_hide = engine.can_hide();
    // The frontier around the budget, from the same run (not for one statement's `explain`).
    select_opts.ladder = !config.explain;
    // Drops are the whole workload's business, never one statement's.
    select_opts.drops = !config.explain;
    let mut rec = crate::select::select(
        SelectInput {
            shapes: &shapes,
            candidates: &candidates,
            snapshot: &snapshot,
            sizes: &sizes,
        },
        &select_opts,
        &mut engine,
    )
    .await?;
    crate::select::withhold_doubtful_drops(&mut rec, snapshot.write_stats.seconds);
    let chosen: Vec<usize> = {
        let mut v: Vec<usize> = rec.create.iter().map(|p| p.candidate).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    // Each drop measured by hiding the index (HypoPG 1.4+), with the new indexes in place.
    rec.notes.extend(crate::select::drops::not_ready_notes(
        &snapshot.catalog,
        engine.stand_ins().1,
    ));
    crate::select::check_drops(&mut rec, &shapes, &chosen, &snapshot.catalog, &mut engine).await?;

    // naming: one name per new index, chosen before any output and used by every output
    // target, the report and verify's baseline.
    let reserved = target
        .as_ref()
        .map(|t| t.reserved_names())
        .unwrap_or_default();
    let mut named = crate::naming::name_declared(rec, &snapshot.catalog, reserved, |spec| {
        target
            .as_ref()
            .and_then(|t| t.declared_name(spec, &snapshot.catalog))
    });
    crate::select::superseded::name_superseding(
        &mut named.rec.drop,
        &named.rec.create,
        &named.names,
    );
    // Drops of an index in use whose reads would move to a much larger index are withheld
    // before any note, file or baseline mentions them (crate::select::survivor).
    crate::select::cache::survivor_sizes(
        &mut named.rec.drop,
        &snapshot.catalog,
        &named.rec.create,
        &named.names,
    );
    let withheld =
        crate::select::survivor::withhold_larger_survivors(&mut named.rec, &snapshot.catalog);
    stages.say(&format!(
        "select: {} indexes to create, {} to drop",
        named.rec.create.len(),
        named.rec.drop.len()
    ));
    let write_known = named.rec.write_rates.as_ref().is_some_and(|r| r.known());
    let superseded = crate::select::superseded::superseded_notes(&named.rec.drop, write_known);
    named.rec.notes.extend(superseded);
    // cache: the set's share of shared_buffers, and drops whose reads move to a larger index.
    let cache_notes = crate::select::cache::larger_survivor_notes(
        &mut named.rec.drop,
        &snapshot.catalog,
        &named.rec.create,
        &named.names,
    );
    let cache_notes: Vec<String> = crate::select::cache::set_share_note(
        &named.rec.create,
        snapshot.server.shared_buffers_bytes,
        snapshot.server.database_size_bytes,
    )
    .into_iter()
    .chain(withheld)
    .chain(cache_notes)
    .collect();
    if !config.quiet {
        for n in &cache_notes {
            eprintln!("warning: {n}");
        }
    }
    named.rec.notes.extend(cache_notes);
    let names = named.by_candidate();

    // evidence: baseline and final plans of every analysed statement (from the cache where
    // possible), and the plans of the statements the new indexes change.
    let baseline =
        crate::whatif::evidence::evaluate_all(&mut engine, &shapes, &[], &mut skipped).await?;
    let after =
        crate::whatif::evidence::evaluate_all(&mut engine, &shapes, &chosen, &mut skipped).await?;
    skipped.extend(named.rec.skipped.iter().cloned());
    skipped.sort_by_key(|s| s.queryid);
    skipped.dedup_by(|a, b| a.queryid == b.queryid);
    if config.strict && !skipped.is_empty() {
        return Err(Error::Workload(format!(
            "{} statements were skipped and --strict is set (first: queryid {}: {})",
            skipped.len(),
            skipped[0].queryid,
            skipped[0].detail
        )));
    }
    if shapes.is_empty() || baseline.is_empty() {
        return Err(Error::Workload(
            crate::report::assemble::every_statement_skipped(&skipped, config.explain),
        ));
    }
    let changed = crate::report::evidence::changed_statements(&shapes, &baseline, &after, &chosen);
    let outcomes = crate::whatif::evidence::outcome_pairs(&mut engine, &changed, &chosen).await?;
    let pairs = crate::report::evidence::plan_pairs(&outcomes);
    let counters = crate::whatif::WhatIf::counters(&engine);
    engine.close().await.ok();

    // emit
    let migrations_label = target
        .as_ref()
        .map_or("migrations", |t| t.migrations_label());
    if target.is_some() {
        stages.say(&format!("emit: planning the {migrations_label}"));
    }
    // Without a needed --migrations-app: everything but the migrations, and one line
    // (crate::emit::fallback).
    let (plan, missing_app) = crate::emit::fallback::plan_or_sql_only(
        &named,
        &snapshot.catalog,
        target.as_deref(),
        env!("CARGO_PKG_VERSION"),
        config.emit.out_dir.is_some(),
    )?;
    if let (Some(line), false) = (&missing_app, config.quiet) {
        eprintln!("warning: {line}");
    }

    // report
    let costed = Costed {
        snapshot: &snapshot,
        shapes: &shapes,
        baseline: &baseline,
        after: &after,
    };
    let (diff_files, diffs) =
        crate::report::evidence::plan_diff_files(costed, &pairs, &names, config.explain);
    let mut files: Vec<EmittedFile> = plan.files.clone();
    files.extend(diff_files);
    // The models' names for the findings' examples: the project's, else django_content_type's.
    let mut app_names =
        crate::model::AppNames::from_content_types(&snapshot.content_types, &snapshot.catalog);
    if let Some(project) = target.as_ref().and_then(|t| t.app_names()) {
        app_names.extend(project);
    }
    let report = crate::report::assemble::assemble(&crate::report::assemble::Inputs {
        costed,
        skipped: &skipped,
        candidates: &candidates,
        named: &named,
        plan: &plan,
        pairs: &pairs,
        diffs: &diffs,
        counters,
        per_call_overhead_ms: config.per_call_overhead_ms,
        explain: config.explain,
        names: &app_names,
    });
    files.push(EmittedFile {
        path: PathBuf::from("report.md"),
        contents: crate::report::render::markdown(&report),
        kind: FileKind::Report,
    });
    files.push(EmittedFile {
        path: PathBuf::from("report.json"),
        contents: crate::report::render::to_json(&report),
        kind: FileKind::Report,
    });
    if !config.explain {
        // What `idxadvise verify` compares against later.
        files.push(EmittedFile {
            path: PathBuf::from(crate::verify::BASELINE_FILE),
            contents: crate::verify::baseline::build(&snapshot, &named, &baseline, &after)
                .to_json(),
            kind: FileKind::Report,
        });
    }

    // write
    if writes {
        let written = crate::emit::write_plan(
            &files,
            target.as_ref().and_then(|t| t.project_root()),
            &config.emit,
        )
        .map_err(|e| {
            crate::emit::not_written(e, named.rec.create.len(), named.rec.drop.len(), &out_dir)
        })?;
        stages.say(&format!(
            "wrote {} files to {}",
            written.len(),
            out_dir.display()
        ));
    }

    // stdout
    if config.explain && config.format == OutputFormat::Text {
        crate::report::stdout::write_explain(
            out,
            &report,
            &files,
            &baseline,
            candidates.candidates.len(),
        )?;
        return Ok(Outcome {
            exit_code: if named.rec.create.is_empty() {
                EXIT_OK
            } else {
                EXIT_RECOMMENDATIONS
            },
            report,
            files: files.into_iter().map(|f| f.path).collect(),
        });
    }
    crate::report::stdout::write_result(
        out,
        config.format,
        &report,
        crate::report::stdout::Written {
            out_dir: &out_dir,
            plan_diffs: diffs.len(),
            migrations: plan.migrations().len(),
            migrations_label,
        },
    )?;
    let exit_code = if named.rec.create.is_empty() && named.rec.drop.is_empty() {
        EXIT_OK
    } else {
        EXIT_RECOMMENDATIONS
    };
    Ok(Outcome {
        report,
        files: files.into_iter().map(|f| f.path).collect(),
        exit_code,
    })
}
