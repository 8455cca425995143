//! `idxadvise verify` end to end on the example: baseline workload, `analyze`, apply the
//! generated indexes, the workload again, `verify`.

use idxadvise::verify::compare::{Change, SIZE_TOLERANCE};
use idxadvise::verify::{Baseline, VerifyReport};

use crate::cli::idxadvise;
use crate::support::{cluster, example_database, replay_workload, replay_workload_again};

/// Statements predicted at least this much faster are asserted to have got faster.
const LARGE_PREDICTED_SPEEDUP: f64 = 5.0;

#[test]
fn verify_measures_the_applied_indexes_against_the_prediction() {
    let c = cluster();
    let db = example_database("verify_loop");
    replay_workload(&db);
    let url = c.url(&db);
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("analysis");
    let out_s = out.to_str().expect("utf-8 path");

    let a = idxadvise(&["analyze", "--database-url", &url, "--out", out_s, "-q"]);
    assert_eq!(a.code, 1, "analyze recommends indexes:\n{}", a.stderr);
    let baseline = Baseline::from_json(
        &std::fs::read_to_string(out.join("baseline.json")).expect("baseline.json written"),
    )
    .expect("a valid baseline");
    assert!(!baseline.indexes.is_empty());
    assert!(
        baseline.statements.len() >= 10,
        "{}",
        baseline.statements.len()
    );
    assert!(baseline.predictions.iter().any(|p| !p.uses.is_empty()));

    // Apply indexes.sql: each CREATE INDEX CONCURRENTLY on its own (never in a transaction).
    let script = std::fs::read_to_string(out.join("indexes.sql")).expect("indexes.sql");
    let creates: Vec<&str> = script
        .lines()
        .filter(|l| l.starts_with("CREATE "))
        .collect();
    assert_eq!(creates.len(), baseline.indexes.len(), "{script}");
    for stmt in &creates {
        assert!(stmt.contains("CONCURRENTLY"), "{stmt}");
        c.psql(&db, stmt);
    }
    replay_workload_again(&db);

    let v = idxadvise(&[
        "verify",
        "--database-url",
        &url,
        "--baseline",
        out_s,
        "--format",
        "json",
        "-q",
    ]);
    assert!(v.code == 0 || v.code == 1, "verify ran:\n{}", v.stderr);
    let report: VerifyReport = serde_json::from_str(&v.stdout).expect("verify.json on stdout");
    assert!(!report.reset_detected);
    assert_eq!(report.indexes.len(), baseline.indexes.len());
    let table = idxadvise::verify::render::text(&report);
    eprintln!("{table}");
    for ix in &report.indexes {
        assert!(ix.exists && ix.valid, "{} exists and is valid", ix.name);
        assert!(ix.scans.unwrap_or(0) > 0, "{} is used:\n{table}", ix.name);
    }
    let off: Vec<String> = report
        .indexes
        .iter()
        .filter(|ix| ix.size_error.is_none_or(|e| e.abs() > SIZE_TOLERANCE))
        .map(|ix| format!("{} {}", ix.name, ix.sql))
        .collect();
    assert!(
        off.is_empty(),
        "real sizes outside ±{:.0}% of the estimate: {off:#?}\n{table}",
        100.0 * SIZE_TOLERANCE
    );
    let large: Vec<_> = report
        .statements
        .iter()
        .filter(|s| s.predicted && s.predicted_speedup >= LARGE_PREDICTED_SPEEDUP)
        .collect();
    assert!(!large.is_empty(), "{:#?}", report.statements);
    for s in &large {
        let after = s.after_ms.expect("the statement ran again");
        assert!(
            after < s.before_ms && s.change == Change::Faster,
            "queryid {} predicted {:.1}× faster, measured {:.3} → {after:.3} ms: {}",
            s.queryid,
            s.predicted_speedup,
            s.before_ms,
            s.query
        );
    }

    // The files, next to the baseline; a second run never overwrites them.
    let json = std::fs::read_to_string(out.join("verify.json")).expect("verify.json written");
    assert_eq!(json, v.stdout);
    let md = std::fs::read_to_string(out.join("verify.md")).expect("verify.md written");
    assert!(md.contains("# idxadvise verify"), "{md}");
    let again = idxadvise(&["verify", "--database-url", &url, "--baseline", out_s, "-q"]);
    assert!(again.code == 0 || again.code == 1, "{}", again.stderr);
    assert!(again.stdout.contains("verdict"), "{}", again.stdout);
    assert!(out.join("verify-2.md").exists() && out.join("verify-2.json").exists());
    assert_eq!(
        std::fs::read_to_string(out.join("verify.md")).expect("verify.md"),
        md
    );
}
