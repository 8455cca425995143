//! The real Django corpus (issue 3): the project in tests/django_corpus runs its ORM workload
//! (`manage.py capture_corpus`) through a real Django against the test cluster, pg_stat_statements
//! is read back, and the statements are parsed against the catalog that the real `idxadvise
//! collect` reads from the same database.
//!
//! `newest_django_corpus_still_parses` re-captures with the newest Django on every run, so a
//! Django upgrade that changes the SQL it sends is caught. `write_corpus_fixtures` (ignored; run
//! by tests/django_corpus/capture.sh) regenerates tests/fixtures/django_corpus_<version>.json for
//! Django 4.2 LTS and the newest Django, and tests/fixtures/django_corpus_catalog.json.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use idxadvise::collect::load_snapshot;
use idxadvise::collect::workload::exclusion;
use idxadvise::model::{Catalog, Statement};
use idxadvise::parse::parse_statement;

use crate::django::{must, python};
use crate::support::{cluster, repo_root};

/// What `capture_corpus` writes.
#[derive(Debug, Deserialize)]
struct CorpusFile {
    django: String,
    python: String,
    statements: Vec<CorpusStatement>,
}

#[derive(Debug, Deserialize)]
struct CorpusStatement {
    queryid: i64,
    query: String,
    calls: i64,
}

/// One capture: the file `capture_corpus` wrote (kept as written) and the collected catalog.
struct Capture {
    /// The database the workload ran in.
    url: String,
    corpus_json: String,
    corpus: CorpusFile,
    catalog: Catalog,
    catalog_json: String,
}

fn project() -> PathBuf {
    repo_root().join("tests/django_corpus")
}

/// Migrate a fresh database, run the corpus workload with the `label` venv's Django, ANALYZE,
/// and `idxadvise collect` the catalog.
fn capture(label: &str) -> Capture {
    capture_in(label, &format!("corpus_{label}"))
}

/// [`capture`] into the database `db_name`.
fn capture_in(label: &str, db_name: &str) -> Capture {
    let (py, version) = python(label);
    let c = cluster();
    let db = c.create_database(db_name);
    let url = c.url(&db);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("corpus.json");
    must(&py, &project(), &url, &["migrate", "-v", "0"]);
    must(
        &py,
        &project(),
        &url,
        &[
            "capture_corpus",
            "--out",
            out.to_str().expect("utf-8 temp path"),
        ],
    );
    c.psql(&db, "ANALYZE");
    let snap = dir.path().join("snapshot.json");
    let run = Command::new(env!("CARGO_BIN_EXE_idxadvise"))
        .args(["collect", "--database-url", &url, "-o"])
        .arg(&snap)
        .env("IDXADVISE_WINDOW", "0")
        .env_remove("IDXADVISE_PRIMARY_URL")
        .output()
        .expect("run idxadvise collect");
    assert!(
        run.status.success(),
        "idxadvise collect failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let catalog = load_snapshot(&snap)
        .expect("collect wrote a snapshot")
        .catalog;
    let corpus_json = std::fs::read_to_string(&out).expect("capture_corpus wrote its file");
    let corpus: CorpusFile = serde_json::from_str(&corpus_json).expect("corpus JSON");
    assert_eq!(
        corpus.django, version,
        "the capture ran under the {label} venv's Django"
    );
    let catalog_json = serde_json::to_string_pretty(&catalog).expect("catalog serialises") + "\n";
    Capture {
        url,
        corpus_json,
        corpus,
        catalog,
        catalog_json,
    }
}

/// (statements `collect` keeps, of them parsed into shapes, skipped texts with reasons).
fn parse_rate(corpus: &CorpusFile, catalog: &Catalog) -> (usize, usize, Vec<String>) {
    let mut kept = 0;
    let mut shapes = 0;
    let mut skipped = Vec::new();
    for s in &corpus.statements {
        if exclusion(&s.query).is_some() {
            continue;
        }
        kept += 1;
        let stmt = Statement {
            calls: s.calls,
            ..Statement::text(s.queryid, &s.query)
        };
        match parse_statement(&stmt, catalog) {
            Ok(_) => shapes += 1,
            Err(e) => skipped.push(format!("{:?} {}: {}", e.reason, e.detail, s.query)),
        }
    }
    (kept, shapes, skipped)
}

/// The Django SQL of today's newest Django still parses (≥ 150 statements, ≥ 97 % shapes).
#[test]
fn newest_django_corpus_still_parses() {
    let cap = capture("newest");
    let n = cap.corpus.statements.len();
    assert!(n >= 150, "only {n} distinct statements captured");
    let (kept, shapes, skipped) = parse_rate(&cap.corpus, &cap.catalog);
    let rate = shapes as f64 / kept as f64;
    eprintln!(
        "django {} (python {}): {n} statements, {kept} kept by collect, {shapes} shapes ({:.1} %)",
        cap.corpus.django,
        cap.corpus.python,
        rate * 100.0
    );
    assert!(
        rate >= 0.97,
        "{shapes} of {kept} statements parsed ({:.1} %); skipped:\n{}",
        rate * 100.0,
        skipped.join("\n")
    );
    // Same texts as the stored fixture of that version, apart from per-process names.
    let version: String = cap
        .corpus
        .django
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".");
    let fixture = repo_root().join(format!("tests/fixtures/django_corpus_{version}.json"));
    if let Ok(text) = std::fs::read_to_string(&fixture) {
        let stored: CorpusFile = serde_json::from_str(&text).expect("fixture JSON");
        let texts = |c: &CorpusFile| -> std::collections::BTreeSet<String> {
            c.statements
                .iter()
                .filter(|s| exclusion(&s.query).is_none())
                .map(|s| idxadvise::parse::stable_cursor_names(&s.query))
                .collect()
        };
        let (now, then) = (texts(&cap.corpus), texts(&stored));
        let changed: Vec<_> = now.symmetric_difference(&then).collect();
        assert!(
            changed.is_empty(),
            "Django {} sends other SQL than {} holds; re-run tests/django_corpus/capture.sh and \
             review the snapshots. Differences:\n{changed:#?}",
            cap.corpus.django,
            fixture.display()
        );
    } else {
        eprintln!(
            "no fixture {} for this Django yet: run tests/django_corpus/capture.sh",
            fixture.display()
        );
    }
}

/// Issue 18: every statement of the real corpus that parses is also planned by the what-if
/// engine from its pg_stat_statements text, among them Django's arithmetic and annotations
/// over parameters (`F("size_bytes") * Value(2)`, `ExpressionWrapper`, `Value(5.0) +
/// Value(1.5)`, `date - timedelta`, `Sum(F * F, filter=…)`, `Sum(Case(When(…, then=Value(1))))`),
/// whose parameters the server cannot type alone.
#[test]
fn r18_every_parsed_corpus_statement_plans() {
    use idxadvise::candidates::candidate::CandidateSet;
    use idxadvise::parse::StatementKind;
    use idxadvise::whatif::{Engine, Request, WhatIf};

    let cap = capture_in("newest", "corpus_r18_plans");
    // The shapes this test is about are in the corpus (so it cannot pass vacuously).
    for needle in [
        "\"size_bytes\" * $",
        "< ($3 + $4)",
        ">= ($1 + $2)",
        "($1::date - $2::interval)",
        "SUM(CASE WHEN",
        ") FILTER (WHERE",
    ] {
        assert!(
            cap.corpus
                .statements
                .iter()
                .any(|s| s.query.contains(needle)),
            "no corpus statement contains {needle:?}"
        );
    }
    let mut shapes = Vec::new();
    for s in &cap.corpus.statements {
        if exclusion(&s.query).is_some() {
            continue;
        }
        let stmt = Statement {
            calls: s.calls,
            ..Statement::text(s.queryid, &s.query)
        };
        if let Ok(shape) = parse_statement(&stmt, &cap.catalog) {
            // An INSERT's cost is writing; analyze does not plan it either.
            if shape.kind != StatementKind::Insert {
                shapes.push(shape);
            }
        }
    }
    let text_of: std::collections::BTreeMap<i64, String> = cap
        .corpus
        .statements
        .iter()
        .map(|s| (s.queryid, s.query.clone()))
        .collect();
    let rt = crate::whatif::fixtures::rt();
    let failures: Vec<String> = rt.block_on(async {
        let empty = CandidateSet {
            candidates: vec![],
            advice: vec![],
        };
        let mut engine = Engine::new(
            crate::whatif::fixtures::options(&cap.url, 1),
            &crate::whatif::fixtures::load_server(&cap.url).await,
            &cap.catalog,
            &shapes,
            &empty,
        )
        .await
        .expect("engine");
        let requests: Vec<Request> = shapes
            .iter()
            .map(|s| Request {
                queryid: s.queryid,
                config: vec![],
            })
            .collect();
        let answers = engine.evaluate(&requests).await.expect("evaluate");
        engine.close().await.expect("close");
        requests
            .iter()
            .zip(answers)
            .filter_map(|(r, a)| match a {
                Ok(e) if e.plan.is_some() => None,
                Ok(_) => Some(format!("no plan: {}", text_of[&r.queryid])),
                Err(s) => Some(format!(
                    "{}: {}: {}",
                    s.reason.label(),
                    s.detail,
                    text_of[&r.queryid]
                )),
            })
            .collect()
    });
    eprintln!(
        "{} corpus statements planned, {} not",
        shapes.len() - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} parsed corpus statements do not plan:\n{}",
        failures.len(),
        shapes.len(),
        failures.join("\n")
    );
}

/// Regenerate the fixtures from scratch (tests/django_corpus/capture.sh runs this).
#[test]
#[ignore = "writes tests/fixtures/django_corpus_*.json; run tests/django_corpus/capture.sh"]
fn write_corpus_fixtures() {
    let fixtures = repo_root().join("tests/fixtures");
    for label in ["lts", "newest"] {
        let cap = capture(label);
        let version: String = cap
            .corpus
            .django
            .split('.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".");
        let path = fixtures.join(format!("django_corpus_{version}.json"));
        write(&path, &cap.corpus_json);
        let (kept, shapes, _) = parse_rate(&cap.corpus, &cap.catalog);
        eprintln!(
            "wrote {}: {} statements (django {}, python {}), {kept} kept, {shapes} shapes",
            path.display(),
            cap.corpus.statements.len(),
            cap.corpus.django,
            cap.corpus.python
        );
        if label == "newest" {
            write(
                &fixtures.join("django_corpus_catalog.json"),
                &cap.catalog_json,
            );
        }
        assert!(cap.corpus.statements.len() >= 150);
        assert!(cap.corpus.statements.iter().all(|s| s.calls >= 1));
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}
