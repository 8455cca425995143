//! `idxadvise analyze`: the whole pipeline, from pg_stat_statements (or a snapshot file) to the
//! review files: migrations and `Meta.indexes` lines, `indexes.sql`, plan diffs, `report.md`,
//! `report.json`, and the terminal table.
//!
//! Orchestration only: each stage is its own module. Invariants: nothing is written unless the
//! whole run succeeded (files are planned in memory, then written all at once, atomically);
//! the same snapshot and database give byte-identical files.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use crate::candidates::CandidateSet;
use crate::config::CollectConfig;
/// What to print on stdout (one enum for every command, in `config`).
pub use crate::config::OutputFormat;
use crate::emit::{EmitConfig, EmittedFile, FileKind};
use crate::error::{Error, Result, EXIT_OK, EXIT_RECOMMENDATIONS};
use crate::model::{Skipped, Snapshot};
use crate::parse::QueryShape;
use crate::report::document::count_skips;
use crate::report::{
    plan_diff, triage, PlanDiffHeader, Report, ReportIndex, ReportStatement, TriageInput,
    WorkloadSummary, REPORT_FORMAT_VERSION,
};
use crate::select::{Recommendation, SelectInput, SelectOptions};
use crate::whatif::{Engine, EngineOptions, Evaluation, Request, WhatIf};

/// Where the workload comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Collect from the server now.
    Live(CollectConfig),
    /// A snapshot file written by `idxadvise collect` (the what-if stage still needs the server).
    Snapshot(PathBuf),
    /// One statement given by the user (`idxadvise explain`): the catalog is read from the
    /// server, the workload is this statement alone.
    Statement {
        /// Where to read the catalog.
        connection: crate::config::ConnectionConfig,
        /// The statement's text.
        text: String,
    },
}

/// Validated configuration of one `analyze` run.
#[derive(Debug, Clone)]
pub struct AnalyzeConfig {
    /// Where the workload comes from.
    pub source: Source,
    /// The what-if engine (connection to the analysed server, sessions).
    pub engine: EngineOptions,
    /// Selection limits.
    pub select: SelectOptions,
    /// Where and what to write: `--out` (must not exist or be empty), the Django project,
    /// `--migrations-app`, `--write-into-project`.
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

/// Blocking work run on a worker thread during the observation window (see
/// [`crate::collect::window`]).
#[derive(Clone)]
pub struct DuringWindow(pub std::sync::Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for DuringWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DuringWindow(..)")
    }
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
    let writes = config.emit.out_dir.is_some() || config.emit.write_into_project;
    let out_dir = config.emit.out_dir.clone().unwrap_or_default();
    // Fail early: everything knowable before collection (crate::preflight).
    if config.emit.out_dir.is_some() {
        check_out_dir(&out_dir)?;
        crate::preflight::writable_folder(&out_dir)?;
    }
    if let Some(p) = &config.emit.django_project {
        crate::preflight::django_project(p, config.emit.python.as_deref())?;
    }
    // The Django project is read before any work: a refusal known now never waits for the
    // analysis (crate::emit::read_project_early).
    let early_django = crate::emit::read_project_early(&config.emit)?;
    crate::preflight::readable_tables(&config.engine.connect).await?;

    // collect
    let mut snapshot: Snapshot = match &config.source {
        Source::Live(c) => {
            stages.say("collect: reading pg_stat_statements, the catalog and write statistics");
            let task = config.during_window.clone();
            let (collected, ()) = crate::collect::collect_observed(c, |_clock| async move {
                if let Some(t) = task {
                    let _ = tokio::task::spawn_blocking(move || (t.0)()).await;
                }
            })
            .await?;
            if let Some(o) = &collected.snapshot.workload.observation {
                stages.say(&format!("observe: {}", o.summary()));
            }
            for w in &collected.warnings {
                stages.say(&format!("warning: {w}"));
            }
            collected.snapshot
        }
        Source::Snapshot(p) => {
            stages.say(&format!("collect: reading snapshot {}", p.display()));
            crate::collect::load_snapshot(p)?
        }
        Source::Statement { connection, text } => {
            stages.say("collect: reading the catalog");
            statement_snapshot(connection, text).await?
        }
    };
    if !config.logs.paths.is_empty() {
        let read = crate::collect::log::read_logs(&config.logs)?;
        for w in &read.warnings {
            stages.say(&format!("warning: {w}"));
        }
        stages.say(&format!("collect: {}", read.summary()));
        let (values, matched) = crate::collect::observe::observe_logs(&snapshot.workload, &read);
        stages.say(&format!(
            "collect: {matched} log entries matched a statement of the workload (their values are observed values)"
        ));
        snapshot.observed.merge(values);
        snapshot.logs = read;
    }
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
    let candidates: CandidateSet = crate::candidates::generate(&shapes, &snapshot.catalog);
    stages.say(&format!(
        "candidates: {} indexes to simulate",
        candidates.candidates.len()
    ));
    let sizes: Vec<i64> = candidates
        .candidates
        .iter()
        .map(|c| crate::whatif::size::estimate_index_size(&c.spec, &snapshot.catalog))
        .collect();

    // what-if + select
    let mut engine = Engine::new(
        config.engine.clone(),
        &snapshot.catalog,
        &shapes,
        &candidates,
    )
    .await?;
    engine.set_observed(std::sync::Arc::new(snapshot.observed.clone()));
    stages.say("what-if: costing statements with hypothetical indexes (HypoPG)");
    let mut select_opts = config.select.clone();
    select_opts.can_hide = engine.can_hide();
    // The frontier around the budget, from the same run (not for one statement's `explain`).
    select_opts.ladder = !config.explain;
    let rec: Recommendation = crate::select::select(
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
    let mut rec = rec;
    withhold_doubtful_drops(&mut rec, &snapshot);
    let chosen: Vec<usize> = {
        let mut v: Vec<usize> = rec.create.iter().map(|p| p.candidate).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    // Each drop measured by hiding the index (HypoPG 1.4+), with the new indexes in place.
    crate::select::check_drops(&mut rec, &shapes, &chosen, &mut engine).await?;
    stages.say(&format!(
        "select: {} indexes to create, {} to drop",
        rec.create.len(),
        rec.drop.len()
    ));

    // Baseline and final plans of every analysed statement (from the cache where possible).
    let baseline = evaluate_all(&mut engine, &shapes, &[], &mut skipped).await?;
    let after = evaluate_all(&mut engine, &shapes, &chosen, &mut skipped).await?;
    skipped.extend(rec.skipped.iter().cloned());
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
        return Err(Error::Workload(every_statement_skipped(
            &skipped,
            config.explain,
        )));
    }

    // emit
    if config.emit.django_project.is_some() {
        stages.say("emit: planning the Django migrations");
    }
    let (plan, project) = if writes {
        crate::emit::prepare_with(
            &rec,
            &snapshot.catalog,
            &config.emit,
            env!("CARGO_PKG_VERSION"),
            early_django,
        )?
    } else {
        let plan = crate::emit::plan_files(
            &rec,
            &snapshot.catalog,
            None,
            &crate::emit::EmitOptions::default(),
        )?;
        (plan, None)
    };
    let names: BTreeMap<usize, String> = rec
        .create
        .iter()
        .zip(&plan.names)
        .map(|(p, n)| (p.candidate, n.clone()))
        .collect();

    // report
    let mut files: Vec<EmittedFile> = plan.files.clone();
    let mut diffs: BTreeMap<i64, String> = BTreeMap::new();
    let changed: Vec<i64> = shapes
        .iter()
        .filter(|sh| {
            after
                .get(&sh.queryid)
                .is_some_and(|a| a.used.iter().any(|u| names.contains_key(u)))
                && baseline.contains_key(&sh.queryid)
        })
        .map(|sh| sh.queryid)
        .collect();
    let plan_pairs = plan_pairs(&mut engine, &changed, &chosen).await?;
    for (queryid, pair) in &plan_pairs {
        let (Some(b), Some(a), Some(stmt)) = (
            baseline.get(queryid),
            after.get(queryid),
            snapshot.workload.get(*queryid),
        ) else {
            continue;
        };
        let header = PlanDiffHeader {
            queryid: *queryid,
            query: stmt.query.clone(),
            // `explain`'s statement has no measured calls or time: 0 says so (no line).
            calls: if config.explain { 0 } else { stmt.calls },
            mean_ms: stmt.mean_time_ms,
            before_cost: b.cost,
            after_cost: a.cost,
            after_ms: crate::cost::read::predicted_mean_ms(stmt.mean_time_ms, b.cost, a.cost),
            values: Some(pair.values.clone()),
            generic: b.generic_cost.zip(a.generic_cost),
            observed: snapshot.observed.get(*queryid).map(|o| {
                crate::report::values::evidence(o, shapes.iter().find(|s| s.queryid == *queryid))
            }),
        };
        let before_text = crate::report::diff::rename_stable(&pair.before, &names);
        let after_text = crate::report::diff::rename_stable(&pair.after, &names);
        // `q` first: a negative queryid must not make a name that starts with `-`.
        let path = format!("plans/q{queryid}.diff");
        files.push(EmittedFile {
            path: PathBuf::from(&path),
            contents: plan_diff(&header, &before_text, &after_text, &[]),
            kind: FileKind::Report,
        });
        diffs.insert(*queryid, path);
    }
    let counters = engine.counters();
    engine.close().await.ok();

    let report = build_report(
        &snapshot,
        &shapes,
        &skipped,
        &candidates,
        &rec,
        &plan,
        &names,
        &baseline,
        &after,
        &diffs,
        counters,
    );
    let mut report = Report {
        findings: findings(
            &snapshot,
            &shapes,
            &baseline,
            &after,
            &report.triage,
            config.per_call_overhead_ms,
            config.explain,
        ),
        ..report
    };
    // Every statement a finding or the "after" view names is in the report, with its text.
    let named: BTreeSet<i64> = report
        .findings
        .findings
        .iter()
        .map(|f| f.queryid)
        .chain(
            report
                .findings
                .after
                .iter()
                .flat_map(|r| r.queryids.iter().copied()),
        )
        .collect();
    for st in &snapshot.workload.statements {
        if named.contains(&st.queryid) && !report.statements.iter().any(|s| s.queryid == st.queryid)
        {
            report.statements.push(ReportStatement {
                queryid: st.queryid,
                query: st.query.clone(),
                calls: st.calls,
                mean_ms: st.mean_time_ms,
                total_time_ms: st.total_time_ms,
                plan_diff: None,
                values: None,
                risk: None,
                runs_on: snapshot
                    .workload
                    .observation
                    .as_ref()
                    .and_then(|o| o.runs_on(st.queryid)),
            });
        }
    }
    mark_risks(&mut report, &plan_pairs, &snapshot);
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
            contents: crate::verify::baseline::build(&snapshot, &rec, &names, &baseline, &after)
                .to_json(),
            kind: FileKind::Report,
        });
    }
    if writes {
        let written = crate::emit::write_plan(&files, project.as_ref(), &config.emit)
            .map_err(|e| not_written(e, &rec, &out_dir))?;
        stages.say(&format!(
            "wrote {} files to {}",
            written.len(),
            out_dir.display()
        ));
    }

    if config.explain && config.format == OutputFormat::Text {
        write_explain(out, &report, &files, &baseline)?;
        return Ok(Outcome {
            exit_code: if rec.create.is_empty() {
                EXIT_OK
            } else {
                EXIT_RECOMMENDATIONS
            },
            report,
            files: files.into_iter().map(|f| f.path).collect(),
        });
    }
    match config.format {
        OutputFormat::Text => {
            out.write_all(crate::report::render::text_table(&report).as_bytes())?;
            writeln!(
                out,
                "\nFiles in {}: indexes.sql, report.md, report.json, baseline.json{}{}",
                out_dir.display(),
                if diffs.is_empty() {
                    String::new()
                } else {
                    format!(", plans/ ({} plan diffs)", diffs.len())
                },
                if plan.migrations().is_empty() {
                    String::new()
                } else {
                    format!(", {} Django migrations", plan.migrations().len())
                }
            )?;
        }
        OutputFormat::Json => out.write_all(crate::report::render::to_json(&report).as_bytes())?,
        OutputFormat::Markdown => {
            out.write_all(crate::report::render::markdown(&report).as_bytes())?
        }
    }
    let exit_code = if rec.create.is_empty() && rec.drop.is_empty() {
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

/// The error when nothing could be analysed, with each skip's reason (the first five), so
/// `explain` of one statement says why it cannot be planned.
fn every_statement_skipped(skipped: &[Skipped], explain: bool) -> String {
    let why = |s: &Skipped| format!("{}: {}", s.reason.label(), s.detail);
    match skipped {
        [one] if explain => format!("the statement cannot be analysed: {}", why(one)),
        [] => {
            "no statement could be costed (an INSERT's cost is writing: nothing an index changes)"
                .into()
        }
        many => {
            let listed: Vec<String> = many
                .iter()
                .take(5)
                .map(|s| format!("queryid {}: {}", s.queryid, why(s)))
                .collect();
            format!(
                "every statement was skipped ({} in all); nothing to analyse: {}{}",
                many.len(),
                listed.join("; "),
                if many.len() > 5 { "; …" } else { "" }
            )
        }
    }
}

/// Statistics must cover at least this long before an index without scans is called unused.
pub const UNUSED_MIN_WINDOW_S: f64 = 7.0 * 24.0 * 3600.0;
/// Redundant or duplicate indexes smaller than this are not worth a migration.
pub const DROP_MIN_BYTES: i64 = 1 << 20;

/// Problem: "no scans" means nothing when the statistics cover an hour (or an unknown period),
/// and an 8 kB redundant index on a contrib table is not worth a migration. What we do: keep
/// unused-index drops only when the counters cover at least a week, and redundant/duplicate
/// drops only from 1 MiB; say in a note how many were withheld and why. Example: a freshly
/// loaded database whose `_like` indexes have no scans yet gets no drop proposals.
fn withhold_doubtful_drops(rec: &mut Recommendation, snapshot: &Snapshot) {
    use crate::select::DropReason;
    let window = snapshot.write_stats.seconds.unwrap_or(0.0);
    let before = rec.drop.len();
    let mut unused_withheld = 0;
    let mut small_withheld = 0;
    rec.drop.retain(|d| match d.reason {
        DropReason::Unused if window < UNUSED_MIN_WINDOW_S => {
            unused_withheld += 1;
            false
        }
        DropReason::Duplicate | DropReason::Redundant if d.size_bytes < DROP_MIN_BYTES => {
            small_withheld += 1;
            false
        }
        _ => true,
    });
    if unused_withheld > 0 {
        rec.notes.push(format!(
            "{unused_withheld} indexes had no scans, but the statistics cover {}: not proposed for dropping until they cover a week",
            if window > 0.0 {
                format!("only {:.1} days", window / 86400.0)
            } else {
                "an unknown period (never reset)".to_string()
            }
        ));
    }
    if small_withheld > 0 {
        rec.notes.push(format!(
            "{small_withheld} redundant or duplicate indexes smaller than 1 MiB are left alone"
        ));
    }
    debug_assert!(rec.drop.len() + unused_withheld + small_withheld == before);
}

/// A write failure after the analysis: say what was completed, and that nothing was left.
fn not_written(
    e: crate::emit::EmitError,
    rec: &Recommendation,
    out_dir: &std::path::Path,
) -> Error {
    let done = format!(
        "the analysis completed ({} indexes to create, {} to drop) but its files were not written: ",
        rec.create.len(),
        rec.drop.len()
    );
    match Error::from(e) {
        Error::Output { message, source } => Error::Output {
            message: format!(
                "{done}{message}\n(no file was left in {:?}; {})",
                out_dir.display().to_string(),
                source
                    .as_ref()
                    .map(crate::preflight::write_hint)
                    .unwrap_or("choose another --out, then run again")
            ),
            source,
        },
        other => other,
    }
}

/// The output folder must not exist, or be empty: nothing is ever overwritten.
fn check_out_dir(dir: &std::path::Path) -> Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::Usage(format!(
                    "the output folder {:?} is not empty; idxadvise never overwrites files\n(choose another --out, or remove the folder)",
                    dir.display().to_string()
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::output(dir, e)),
    }
}

/// The plans to show for one statement: the value set whose weighted cost the recommendation
/// lowers most (a statement's most frequent values may not be where an index pays).
struct PlanPair {
    before: String,
    after: String,
    values: String,
    /// The worst value set, when the recommendation makes its plan markedly worse.
    worst: Option<(String, f64, f64, f64)>,
}

async fn plan_pairs(
    engine: &mut Engine,
    queryids: &[i64],
    chosen: &[usize],
) -> Result<BTreeMap<i64, PlanPair>> {
    let mut requests = vec![];
    for q in queryids {
        requests.push(Request {
            queryid: *q,
            config: vec![],
        });
        requests.push(Request {
            queryid: *q,
            config: chosen.to_vec(),
        });
    }
    let outcomes = engine.outcomes(&requests).await?;
    let mut out = BTreeMap::new();
    for (q, pair) in queryids.iter().zip(outcomes.chunks(2)) {
        let [Ok(b), Ok(a)] = pair else {
            continue;
        };
        let best = b.custom.iter().zip(&a.custom).max_by(|(b1, a1), (b2, a2)| {
            let g1 = b1.weight * (b1.plan.total_cost - a1.plan.total_cost);
            let g2 = b2.weight * (b2.plan.total_cost - a2.plan.total_cost);
            g1.partial_cmp(&g2).unwrap_or(std::cmp::Ordering::Equal)
        });
        if let Some((bv, av)) = best {
            let values = bv
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Some(v) => format!("${} = {}", i + 1, crate::pg::quote::literal(v)),
                    None => format!("${} = NULL", i + 1),
                })
                .collect::<Vec<_>>()
                .join(", ");
            out.insert(
                *q,
                PlanPair {
                    before: bv.plan.text.clone(),
                    after: av.plan.text.clone(),
                    values: format!("{values} (weight {:.1}%)", 100.0 * bv.weight),
                    worst: crate::report::risk::worst_value(b, a),
                },
            );
        }
    }
    Ok(out)
}

/// Say which statements a recommended index makes markedly worse for a plausible value
/// ([`crate::report::risk`]), and add one note when any of them was not observed.
fn mark_risks(report: &mut Report, pairs: &BTreeMap<i64, PlanPair>, snapshot: &Snapshot) {
    let mut unobserved = 0;
    for st in &mut report.statements {
        let Some(worst) = pairs.get(&st.queryid).and_then(|p| p.worst.as_ref()) else {
            continue;
        };
        let observed = snapshot.observed.get(st.queryid).is_some();
        if !observed {
            unobserved += 1;
        }
        st.risk = Some(crate::report::risk::risk_line(worst, observed));
    }
    if unobserved > 0 {
        report.notes.push(format!(
            "{unobserved} statements depend on values not observed: a recommended index makes their plan markedly worse for a plausible value (see each statement's risk); {}",
            crate::report::risk::HOW_TO_OBSERVE
        ));
    }
}

/// Evaluate every shape under one configuration; skipped statements are recorded.
async fn evaluate_all<W: WhatIf>(
    engine: &mut W,
    shapes: &[QueryShape],
    config: &[usize],
    skipped: &mut Vec<Skipped>,
) -> Result<BTreeMap<i64, Evaluation>> {
    // An INSERT's cost is writing (the write model's); no index changes how it reads.
    let requests: Vec<Request> = shapes
        .iter()
        .filter(|s| s.kind != crate::parse::StatementKind::Insert)
        .map(|s| Request {
            queryid: s.queryid,
            config: config.to_vec(),
        })
        .collect();
    let answers = engine.evaluate(&requests).await?;
    let mut out = BTreeMap::new();
    for (req, ans) in requests.iter().zip(answers) {
        match ans {
            Ok(e) => {
                out.insert(req.queryid, e);
            }
            Err(s) => skipped.push(s),
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn build_report(
    snapshot: &Snapshot,
    shapes: &[QueryShape],
    skipped: &[Skipped],
    candidates: &CandidateSet,
    rec: &Recommendation,
    plan: &crate::emit::Plan,
    names: &BTreeMap<usize, String>,
    baseline: &BTreeMap<i64, Evaluation>,
    after: &BTreeMap<i64, Evaluation>,
    diffs: &BTreeMap<i64, String>,
    counters: crate::whatif::WhatIfCounters,
) -> Report {
    let total_ms = snapshot.workload.total_time_ms();
    let write_known = match &rec.write_rates {
        Some(r) => r.known(),
        None => snapshot.write_stats.available(),
    };
    let observation = snapshot.workload.observation.as_ref();
    let shape_of: BTreeMap<i64, &QueryShape> = shapes.iter().map(|s| (s.queryid, s)).collect();
    let left_out = left_out_evidence(rec);
    let skip_of: BTreeMap<i64, &Skipped> = skipped.iter().map(|s| (s.queryid, s)).collect();
    let inputs: Vec<TriageInput<'_>> = snapshot
        .workload
        .statements
        .iter()
        .map(|st| {
            // A statement that could not be planned is "not planned: <reason>", never "fine".
            let shape = shape_of.get(&st.queryid).copied();
            TriageInput {
                queryid: st.queryid,
                calls: st.calls,
                total_time_ms: st.total_time_ms,
                rows: st.rows,
                shape,
                baseline: baseline.get(&st.queryid).and_then(|e| e.plan.as_ref()),
                before_after: baseline
                    .get(&st.queryid)
                    .zip(after.get(&st.queryid))
                    .map(|(b, a)| (b.cost, a.cost)),
                key_lookup: shape.map(|s| key_lookup(s, snapshot)).unwrap_or(false),
                table_rows: shape
                    .map(|s| {
                        s.tables
                            .iter()
                            .filter_map(|t| snapshot.catalog.table(&t.schema, &t.table))
                            .map(|t| t.rows)
                            .fold(0.0, f64::max)
                    })
                    .unwrap_or(0.0),
                left_out: left_out.get(&st.queryid).cloned(),
                skip: skip_of.get(&st.queryid).copied(),
            }
        })
        .collect();
    let triage = triage(&inputs);
    let mut mentioned: BTreeSet<i64> = triage.entries.iter().take(20).map(|e| e.queryid).collect();
    let indexes: Vec<ReportIndex> = rec
        .create
        .iter()
        .map(|p| {
            let name = names.get(&p.candidate).cloned().unwrap_or_default();
            let saving_ms: f64 = p
                .helps
                .iter()
                .map(|h| h.calls as f64 * (h.before_ms - h.after_ms).max(0.0))
                .sum();
            for h in &p.helps {
                mentioned.insert(h.queryid);
            }
            let meta = plan.meta_indexes.iter().find_map(|m| {
                m.entries
                    .iter()
                    .find(|e| e.contains(&format!("\"{name}\"")))
                    .cloned()
            });
            let migration = plan
                .files
                .iter()
                .find(|f| {
                    matches!(f.kind, FileKind::Migration { .. })
                        && f.contents.contains(&format!("\"{name}\""))
                })
                .map(|f| f.path.display().to_string());
            ReportIndex {
                name: name.clone(),
                table: format!("{}.{}", p.spec.schema, p.spec.table),
                sql: p.spec.create_sql(&name, true),
                helps: p.helps.clone(),
                saving_ms,
                saving_share: if total_ms > 0.0 {
                    saving_ms / total_ms
                } else {
                    0.0
                },
                size_bytes: p.size_bytes,
                write_cost_ms_per_s: write_known.then_some(p.write_cost_ms_per_s),
                migration,
                meta_index: meta,
                rules: p.rules.clone(),
            }
        })
        .collect();
    mentioned.extend(diffs.keys().copied());
    mentioned.extend(skipped.iter().map(|s| s.queryid));
    mentioned.extend(rec.kept.iter().map(|k| k.queryid));
    let statements: Vec<ReportStatement> = snapshot
        .workload
        .statements
        .iter()
        .filter(|s| mentioned.contains(&s.queryid))
        .map(|s| ReportStatement {
            queryid: s.queryid,
            query: s.query.clone(),
            calls: s.calls,
            mean_ms: s.mean_time_ms,
            total_time_ms: s.total_time_ms,
            plan_diff: diffs.get(&s.queryid).cloned(),
            risk: None,
            values: snapshot.observed.get(s.queryid).map(|o| {
                crate::report::values::evidence(o, shapes.iter().find(|sh| sh.queryid == s.queryid))
            }),
            runs_on: observation.and_then(|o| o.runs_on(s.queryid)),
        })
        .collect();
    let mut notes = rec.notes.clone();
    notes.extend(plan.notes.iter().cloned());
    if let Some(n) = observation.and_then(|o| o.primary_note()) {
        notes.push(n);
    }
    Report {
        format_version: REPORT_FORMAT_VERSION,
        created_by: format!("idxadvise {}", env!("CARGO_PKG_VERSION")),
        server_version: snapshot.server.version.clone(),
        replica: snapshot.server.in_recovery,
        database: snapshot.server.database.clone(),
        workload: WorkloadSummary {
            statements: snapshot.workload.statements.len(),
            analysed: baseline.len(),
            total_time_ms: total_ms,
            skipped: skipped.to_vec(),
            skipped_by_reason: count_skips(skipped),
        },
        write_stats: snapshot.write_stats.source,
        triage,
        findings: Default::default(),
        indexes,
        drops: rec.drop.clone(),
        kept: rec.kept.clone(),
        advice: candidates.advice.clone(),
        statements,
        notes,
        whatif: counters,
        limits: rec.limits.clone(),
        left_out: rec.left_out.clone(),
        observation: observation.map(|o| crate::model::Observation {
            cumulative: vec![],
            runs_on: vec![],
            ..o.clone()
        }),
        write_rates: rec.write_rates.clone(),
        frontier: crate::report::frontier::rows(rec, candidates),
    }
}

/// The Django findings: every statement through the patterns, weighted with the per-call
/// overhead, before and after the recommended indexes.
fn findings(
    snapshot: &Snapshot,
    shapes: &[QueryShape],
    baseline: &BTreeMap<i64, Evaluation>,
    after: &BTreeMap<i64, Evaluation>,
    triage: &crate::report::Triage,
    per_call_overhead_ms: f64,
    explain: bool,
) -> crate::report::patterns::Findings {
    use crate::report::patterns::{findings, PatternInput};
    let shape_of: BTreeMap<i64, &QueryShape> = shapes.iter().map(|s| (s.queryid, s)).collect();
    let ws = &snapshot.write_stats;
    let writes_per_s = |shape: &QueryShape| -> Option<f64> {
        let secs = ws.seconds.filter(|s| *s > 0.0)?;
        if !ws.available() {
            return None;
        }
        Some(
            shape
                .tables
                .iter()
                .filter_map(|t| ws.table(&t.schema, &t.table))
                .map(|t| (t.n_tup_ins + t.n_tup_upd + t.n_tup_del) as f64)
                .sum::<f64>()
                / secs,
        )
    };
    // `explain`: one statement whose calls and times are unknown, not the invented ones.
    let statements: Vec<crate::model::Statement> = snapshot
        .workload
        .statements
        .iter()
        .map(|st| {
            if explain {
                crate::model::Statement {
                    calls: 0,
                    total_time_ms: 0.0,
                    mean_time_ms: 0.0,
                    rows: 0,
                    ..st.clone()
                }
            } else {
                st.clone()
            }
        })
        .collect();
    let inputs: Vec<PatternInput<'_>> = statements
        .iter()
        .map(|st| {
            let shape = shape_of.get(&st.queryid).copied();
            PatternInput {
                statement: st,
                shape,
                baseline: baseline.get(&st.queryid).and_then(|e| e.plan.as_ref()),
                before_after: baseline
                    .get(&st.queryid)
                    .zip(after.get(&st.queryid))
                    .map(|(b, a)| (b.cost, a.cost)),
                writes_per_s: shape.and_then(writes_per_s),
                top_values: snapshot.observed.get(st.queryid).and_then(|o| {
                    let n = o.total();
                    let top = o.tuples.first()?.weight;
                    (n > 0).then(|| (top as f64 / n as f64, n))
                }),
            }
        })
        .collect();
    let verdict_of = |q: i64| {
        triage
            .entries
            .iter()
            .find(|e| e.queryid == q)
            .map(|e| match e.verdict {
                crate::report::Verdict::IndexHelps => (
                    "served by the new indexes",
                    "after migrate, measure with idxadvise verify",
                ),
                v => (v.label(), v.action()),
            })
    };
    findings(
        &inputs,
        &snapshot.catalog,
        per_call_overhead_ms,
        &verdict_of,
    )
}

/// Triage evidence for each statement an index left out by a limit would help.
fn left_out_evidence(rec: &Recommendation) -> BTreeMap<i64, String> {
    let mut out = BTreeMap::new();
    for l in &rec.left_out {
        for (q, before, after) in &l.statements {
            let pct = if *before > 0.0 {
                100.0 * (before - after) / before
            } else {
                0.0
            };
            out.entry(*q).or_insert_with(|| {
                format!(
                    "left out by {}: {} ({}) makes it {pct:.0}% cheaper; raise it with {}",
                    l.limit.label(),
                    l.spec.label(),
                    crate::report::document::human_bytes(l.size_bytes),
                    l.raise
                )
            });
        }
    }
    out
}

/// Whether a single-table SELECT filters by equality on the table's primary key or a
/// foreign-key column (the shape of an N+1 lookup).
fn key_lookup(shape: &QueryShape, snapshot: &Snapshot) -> bool {
    let [t] = shape.tables.as_slice() else {
        return false;
    };
    let Some(table) = snapshot.catalog.table(&t.schema, &t.table) else {
        return false;
    };
    !t.equality.is_empty()
        && t.equality.iter().all(|col| {
            table.constraints.iter().any(|c| {
                (c.kind == "p" || c.kind == "f") && c.columns.len() == 1 && c.columns[0] == *col
            })
        })
}

/// A snapshot for one statement: the server's catalog, no write statistics, a workload of one.
async fn statement_snapshot(
    connection: &crate::config::ConnectionConfig,
    text: &str,
) -> Result<Snapshot> {
    let conn = crate::pg::connect(&connection.target).await?;
    let server = crate::collect::server::read(&conn.client).await?;
    let catalog = crate::collect::catalog::read(&conn.client).await?;
    let text = text.trim().trim_end_matches(';').trim().to_string();
    if text.is_empty() {
        return Err(Error::Usage("the statement is empty".into()));
    }
    Ok(Snapshot {
        format_version: crate::model::SNAPSHOT_FORMAT_VERSION,
        created_by: format!("idxadvise {}", env!("CARGO_PKG_VERSION")),
        server,
        catalog,
        workload: crate::model::Workload {
            statements: vec![crate::model::Statement {
                queryid: 1,
                query: text,
                calls: 1,
                total_time_ms: 1.0,
                mean_time_ms: 1.0,
                rows: 0,
                shared_blks_hit: 0,
                shared_blks_read: 0,
            }],
            excluded: vec![],
            stats_since: None,
            window_seconds: None,
            observation: None,
        },
        write_stats: crate::collect::writes::unavailable(),
        observed: Default::default(),
        logs: Default::default(),
    })
}

/// `explain`'s text output: the indexes, then the plan diff (or the plan when nothing helps).
fn write_explain(
    out: &mut dyn Write,
    report: &Report,
    files: &[EmittedFile],
    baseline: &BTreeMap<i64, Evaluation>,
) -> Result<()> {
    if !report.workload.skipped.is_empty() {
        for skip in &report.workload.skipped {
            writeln!(out, "Skipped ({}): {}", skip.reason.label(), skip.detail)?;
        }
        return Ok(());
    }
    for f in &report.findings.findings {
        writeln!(
            out,
            "Django: {}: {}\n  fix: {}\n  e.g. {}\n",
            f.pattern.label(),
            f.evidence,
            f.fix,
            f.example
        )?;
    }
    if report.indexes.is_empty() {
        writeln!(out, "No simulated index makes this statement cheaper.")?;
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
