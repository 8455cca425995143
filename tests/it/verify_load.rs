//! Issue 14, item 8: `verify` when the two windows ran under different load. The baseline
//! workload runs while CPU-bound neighbour sessions (PL/pgSQL busy loops in another database,
//! bounded by `statement_timeout` and cancelled as soon as the replay ends) slow the whole
//! server; the "after" workload runs without them. The control (statements no recommended
//! index touches) must show the server's own speedup, and every statement's corrected ratio is
//! its measured ratio divided by it.

use std::process::{Child, Stdio};

use idxadvise::verify::Baseline;

use crate::cli::idxadvise;
use crate::support::{
    cluster, example_database, replay_workload_again, replay_workload_under_load, replays,
};
use crate::verify::verify_json;

/// Sessions busy on the CPU in database `postgres`: more than the machine's cores, so every
/// backend of the test database waits for the CPU.
const NEIGHBOURS: usize = 6;
const NEIGHBOUR_APP: &str = "idxadvise_test_neighbour";

struct Neighbours(Vec<Child>);

impl Neighbours {
    fn start() -> Neighbours {
        let c = cluster();
        let children = (0..NEIGHBOURS)
            .map(|_| {
                idxadvise::sandbox::psql_command(&c.bindir, c.port, "postgres")
                    .env("PGAPPNAME", NEIGHBOUR_APP)
                    .arg("-c")
                    .arg("SET statement_timeout = '180s'; DO $$ BEGIN LOOP PERFORM sqrt(random()); END LOOP; END $$")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start a neighbour session")
            })
            .collect();
        // Let them start.
        std::thread::sleep(std::time::Duration::from_secs(1));
        Neighbours(children)
    }
}

impl Drop for Neighbours {
    /// Cancel the busy loops (ours, by application name, on the test cluster only) and reap
    /// the psql processes.
    fn drop(&mut self) {
        cluster().psql(
            "postgres",
            &format!(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = '{NEIGHBOUR_APP}'"
            ),
        );
        for ch in &mut self.0 {
            let _ = ch.wait();
        }
    }
}

#[test]
fn r14_verify_corrects_a_baseline_taken_under_load_with_the_control() {
    let c = cluster();
    let db = example_database("verify_under_load");
    {
        // The neighbours slow every backend of the cluster, not only this test's: no other
        // test's replay is timed while they run (dropped in reverse order: the neighbours
        // stop before the lock is released).
        let heavy = replays().write().unwrap_or_else(|p| p.into_inner());
        let _busy = Neighbours::start();
        replay_workload_under_load(&db, &heavy);
    }
    let url = c.url(&db);
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("analysis");
    let out_s = out.to_str().expect("utf-8 path");
    let a = idxadvise(&["analyze", "--database-url", &url, "--out", out_s, "-q"]);
    assert_eq!(a.code, 1, "analyze recommends indexes:\n{}", a.stderr);
    let baseline = Baseline::from_json(
        &std::fs::read_to_string(out.join("baseline.json")).expect("baseline.json"),
    )
    .expect("a baseline");
    let script = std::fs::read_to_string(out.join("indexes.sql")).expect("indexes.sql");
    for stmt in script
        .lines()
        .filter(|l| !l.starts_with("--") && !l.is_empty())
    {
        c.psql(&db, stmt);
    }
    // The "after" window: the same workload, no neighbours.
    replay_workload_again(&db);

    let (_, report) = verify_json(&url, out_s);
    let text = idxadvise::verify::render::text(&report);
    eprintln!("{text}");
    let control = report.control.as_ref().unwrap_or_else(|| {
        panic!("the untouched statements of the example form a control:\n{text}")
    });
    // The control is made of statements no recommended index touches.
    for q in &control.statements {
        assert!(
            !baseline.indexes.iter().any(|i| i.helps.contains(q)),
            "control statement {q} is helped by an index"
        );
        let p = baseline.prediction(*q).expect("a prediction");
        assert!(p.uses.is_empty(), "control statement {q} uses {:?}", p.uses);
    }
    // The baseline ran under CPU contention: the untouched statements ran faster after.
    assert!(
        control.speedup() > 1.15,
        "the control shows the load: {:.2}×\n{text}",
        control.speedup()
    );
    if control.moved {
        assert!(
            report.notes.iter().any(|n| n.contains("the load differed")),
            "{:?}",
            report.notes
        );
    }
    assert!(text.contains("Control: "), "{text}");
    // Every timed statement's corrected ratio is its measured ratio over the control's.
    let mut checked = 0;
    for s in &report.statements {
        if let (Some(m), Some(k)) = (s.measured_speedup, s.corrected_speedup) {
            assert!(
                (k - m / control.speedup()).abs() <= 1e-6 * m.max(1.0),
                "statement {}: measured {m:.3}×, corrected {k:.3}×, control {:.3}×",
                s.queryid,
                control.speedup()
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "{text}");
}
