//! Faults mid-run: the what-if sessions are terminated, the server restarts, `statement_timeout`
//! fires, the output folder is not writable, the disk is full. Each gives one clear error line,
//! a documented exit code, no panic and no partial or half-written output file.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use idxadvise::error::{EXIT_DATABASE, EXIT_OUTPUT, EXIT_WORKLOAD};

use crate::cli::{idxadvise, Run};
use crate::support::{cluster, Cluster};

/// A table of 24 integer columns and 276 distinct two-column statements on it: enough candidates
/// that a what-if run on one connection takes several seconds.
fn slow_workload(c: &Cluster, db: &str) {
    let cols: Vec<String> = (0..24).map(|i| format!("c{i}")).collect();
    c.psql(
        db,
        &format!(
            "CREATE TABLE wide (id bigserial PRIMARY KEY, {});
             INSERT INTO wide ({}) SELECT {} FROM generate_series(1, 20000) g;",
            cols.iter()
                .map(|c| format!("{c} int"))
                .collect::<Vec<_>>()
                .join(", "),
            cols.join(", "),
            (0..24)
                .map(|i| format!("(g * {}) % {}", i + 7, 50 + i * 37))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    c.psql(db, "VACUUM ANALYZE wide");
    crate::support::reset_statements(c, db);
    let mut sql = String::new();
    for i in 0..24 {
        for j in (i + 1)..24 {
            sql.push_str(&format!(
                "SELECT id FROM wide WHERE c{i} = 3 AND c{j} = 4 ORDER BY c{i}, c{j} LIMIT 5;\n"
            ));
        }
    }
    let f = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(f.path(), sql).expect("write");
    c.psql_file(db, f.path());
}

/// The output folder holds no file at all (it may exist, empty).
fn assert_no_output(out: &Path) {
    if let Ok(entries) = std::fs::read_dir(out) {
        let left: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        assert!(left.is_empty(), "nothing written: {left:?}");
    }
}

/// Start `analyze` on `db` and run `during` while it runs (with the child's start time); return
/// the finished run.
fn analyze_while(url: &str, out: &Path, extra: &[&str], during: impl FnOnce(Instant)) -> Run {
    let child = Command::new(env!("CARGO_BIN_EXE_idxadvise"))
        .args(["analyze", "--database-url", url, "--out"])
        .arg(out)
        .args(["--connections", "1"])
        .args(extra)
        .env("IDXADVISE_WINDOW", "0")
        .env_remove("DATABASE_URL")
        .env_remove("IDXADVISE_PRIMARY_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn idxadvise");
    during(Instant::now());
    let o = child.wait_with_output().expect("wait");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Wait until idxadvise runs EXPLAINs in `db` (its what-if stage has started).
fn wait_for_whatif(c: &Cluster, db: &str, started: Instant) {
    loop {
        let n = c.psql(
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'idxadvise' AND datname = '{db}' AND query ILIKE '%explain%'"
            ),
        );
        if n.trim() != "0" {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "idxadvise never reached the what-if stage"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sessions_terminated_during_whatif() {
    let c = cluster();
    let db = c.create_database("reliability_terminated");
    slow_workload(c, &db);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let mut killed = 0;
    let run = analyze_while(&c.url(&db), &out, &[], |started| {
        wait_for_whatif(c, &db, started);
        let n = c.psql(
            "postgres",
            &format!(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'idxadvise' AND datname = '{db}'"
            ),
        );
        killed = n.trim().parse().expect("count");
    });
    assert!(killed > 0, "a session was terminated");
    eprintln!("terminated: {}", run.stderr);
    run.assert_error(
        EXIT_DATABASE,
        &["connection", "nothing was written: run idxadvise again"],
    );
    // What was completed is on stderr: the stages before what-if.
    assert!(run.stderr.contains("parse:"), "{}", run.stderr);
    assert!(run.stderr.contains("candidates:"), "{}", run.stderr);
    assert_no_output(&out);
}

/// A cluster of its own for the restart (the shared one serves other tests meanwhile).
fn restart_cluster() -> &'static Cluster {
    static C: OnceLock<Cluster> = OnceLock::new();
    C.get_or_init(|| Cluster::start_primary(""))
}

#[test]
fn server_restarts_during_whatif() {
    let c = restart_cluster();
    let db = c.create_database("reliability_restart");
    slow_workload(c, &db);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let run = analyze_while(&c.url(&db), &out, &[], |started| {
        wait_for_whatif(c, &db, started);
        c.restart();
    });
    assert!(
        run.code == EXIT_DATABASE || run.code == idxadvise::error::EXIT_CONNECT,
        "{}",
        run.stderr
    );
    eprintln!("restart: {}", run.stderr);
    run.assert_error(run.code, &[]);
    assert!(run.stderr.contains("parse:"), "{}", run.stderr);
    assert_no_output(&out);
}

#[test]
fn statement_timeout_fires() {
    let c = cluster();
    let db = c.create_database("reliability_timeout");
    slow_workload(c, &db);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let run = idxadvise(&[
        "analyze",
        "--database-url",
        &c.url(&db),
        "--out",
        out.to_str().expect("path"),
        "--statement-timeout",
        "1ms",
    ]);
    // Either reading the workload times out, or every EXPLAIN does (each a skip with its reason):
    // a clear error either way.
    assert!(
        run.code == EXIT_DATABASE || run.code == EXIT_WORKLOAD,
        "{}",
        run.stderr
    );
    eprintln!("timeout: {}", run.stderr);
    run.assert_error(run.code, &["statement timeout"]);
    assert_no_output(&out);
}

/// The example run's files cannot be written; analyze says what it had completed.
fn analyze_into(name: &str, out: &Path) -> Run {
    let c = cluster();
    let db = crate::support::example_database(name);
    crate::support::replay_workload(&db);
    idxadvise(&[
        "analyze",
        "--database-url",
        &c.url(&db),
        "--out",
        out.to_str().expect("path"),
    ])
}

#[test]
fn output_folder_under_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    let out = file.join("out");
    let run = analyze_into("reliability_out_under_file", &out);
    run.assert_error(EXIT_OUTPUT, &["cannot write", "a-file"]);
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "x");
}

/// A small tmpfs (root only: the tests run as root, as CI does; without mount privileges the
/// test fails saying so rather than passing without checking anything).
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(options: &str) -> Tmpfs {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "cannot mount a tmpfs here: these fault tests need root and mount privileges (run the suite as root, as CI does)"
        );
        Tmpfs(dir)
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn read_only_output_folder() {
    let fs = Tmpfs::mount("ro,size=64k");
    let out = fs.path().join("out");
    let run = analyze_into("reliability_out_read_only", &out);
    run.assert_error(EXIT_OUTPUT, &["cannot write", "Read-only file system"]);
    assert!(!out.exists());
}

#[test]
fn disk_full_leaves_no_half_written_file() {
    let fs = Tmpfs::mount("size=64k");
    // Leave about 12 kB free: indexes.sql fits, the reports do not.
    let filler = fs.path().join("filler");
    std::fs::write(&filler, vec![b'x'; 52 * 1024]).expect("filler");
    let out = fs.path().join("out");
    let run = analyze_into("reliability_out_disk_full", &out);
    run.assert_error(
        EXIT_OUTPUT,
        &[
            "cannot write",
            "No space left on device",
            "analysis completed",
        ],
    );
    assert_no_output(&out);
}
